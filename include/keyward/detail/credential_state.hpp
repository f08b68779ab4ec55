// The immutable state ResilientCredential publishes, and the messages it writes about it.
//
// A Token is one generation of a credential; a Snapshot is the credential's whole state (token,
// state, window, counters, the error that took it out). Both are immutable once published, so
// the hot path reads them without locks; every change publishes a new Snapshot.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/credential.hpp"
#include "keyward/detail/ascii.hpp"
#include "keyward/detail/text.hpp"
#include "keyward/error.hpp"
#include "keyward/status.hpp"

namespace keyward::detail {

/// One generation of a credential, with the refresh thresholds computed when it was installed.
struct Token {
  Credential credential;
  std::uint64_t generation = 1;
  std::string fingerprint;           // computed once: messages and events use it
  bool refreshable = false;          // the refresh strategy's answer for this credential
  bool from_refresh = false;         // obtained by a refresh rather than given by the application
  std::optional<TimePoint> soft_at;  // one caller refreshes, the others carry on
  std::optional<TimePoint> hard_at;  // callers wait for the refresh
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
  std::shared_ptr<const Error> error;  // why it is out, for every request it refuses
};

/// " (HTTP 401 authentication_error: Invalid bearer token; request id req_1)" or "".
[[nodiscard]] inline std::string describe(const Verdict& verdict) {
  std::string out;
  if (verdict.status != 0) out += "HTTP " + std::to_string(verdict.status);
  if (!verdict.provider_code.empty()) out += (out.empty() ? "" : " ") + verdict.provider_code;
  if (!verdict.message.empty()) out += (out.empty() ? "" : ": ") + verdict.message;
  if (!verdict.request_id.empty()) out += "; request id " + verdict.request_id;
  return out.empty() ? out : " (" + out + ")";
}

/// "for 20 s, until 2026-02-04T12:00:20Z": stays true however much later it is read.
[[nodiscard]] inline std::string describe_until(TimePoint until, TimePoint now) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
  return "for " + format_duration(std::max(left, std::chrono::milliseconds::zero())) + ", until " +
         format_rfc3339(until);
}

}  // namespace keyward::detail
