// The immutable state a CredentialCell publishes: Token (one generation of a credential) and
// Snapshot (the credential's whole state). Both are immutable once published, so the hot path
// reads them without locks; every change publishes a new Snapshot.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/credential.hpp"
#include "keyward/error.hpp"
#include "keyward/status.hpp"

namespace keyward::detail {

/// One generation of a credential, with the refresh thresholds computed when it was installed.
struct Token {
  Credential credential;
  std::uint64_t generation = 1;
  std::string fingerprint;           // computed once: messages and events use it
  bool refreshable = false;          // the refresh strategy's answer for this credential
  std::string not_refreshable;       // why not, for the message a rejection gets
  bool from_refresh = false;         // obtained by a refresh rather than given by the application
  std::optional<TimePoint> soft_at;  // one caller refreshes, the others carry on
  std::optional<TimePoint> hard_at;  // callers wait for the refresh
  // The previous generation's secrets: a late response to a request sent with them may echo
  // them, and they are scrubbed like the current ones.
  std::vector<Secret> retired;

  /// Every secret this generation knows, for scrubbing outside text.
  void secrets(std::vector<std::string_view>& out) const {
    for (const Secret* s : {&credential.token, &credential.refresh_token}) {
      if (!s->empty()) out.push_back(s->reveal());
    }
    for (const Secret& s : retired) out.push_back(s.reveal());
  }
  /// True when the token has an expiry and `now` is past it.
  [[nodiscard]] bool expired(TimePoint now) const noexcept {
    return credential.expires_at && now >= *credential.expires_at;
  }
};

/// A credential's whole state at one moment.
struct Snapshot {
  std::shared_ptr<const Token> token;
  CredentialState state = CredentialState::ready;
  std::optional<VerdictKind> reason;  // what took it out of ready; kept while failures > 0
  TimePoint since{};
  std::optional<TimePoint> until;      // end of the window; none while waiting for a person
  std::uint32_t failures = 0;          // consecutive credential-scoped failures of `reason`
  bool verified = true;                // false for a refreshed token not yet accepted once
  std::uint64_t probe = 0;             // the probe ticket that owns `probing`, 0 when none
  std::shared_ptr<const Error> error;  // why it is out, for every request it refuses
};

}  // namespace keyward::detail
