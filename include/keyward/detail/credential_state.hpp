// The immutable state a CredentialCell publishes: Token (one generation of a credential, with the
// refresh thresholds make_token() computes for it) and Snapshot (the credential's whole state).
// Both are immutable once published, so the hot path reads them without locks; every change
// publishes a new Snapshot.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/credential.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/detail/wipe.hpp"
#include "keyward/error.hpp"
#include "keyward/observer.hpp"
#include "keyward/options.hpp"
#include "keyward/status.hpp"
#include "keyward/transport.hpp"

namespace keyward {

/// What the policies say about a credential when it is installed.
struct TokenTraits {
  bool refreshable = false;       ///< Whether the refresh strategy can renew it.
  std::string not_refreshable{};  ///< Why not, for the message a rejection gets.
  /// The header fields it places, prepared once (PreparingAttacher), or none.
  std::vector<Headers::Field> placement{};
};

}  // namespace keyward

namespace keyward::detail {

/// One generation of a credential, with the refresh thresholds computed when it was installed.
/// It starts a cache line, with the generation, the credential's kind and its token first: code
/// that reads them through the Token (a send's admission, `CurrentCredential::credential`) pays
/// one miss per token object, not two. A plain read takes copies from the Snapshot instead.
struct alignas(64) Token {
  std::uint64_t generation = 1;
  Credential credential;
  std::string fingerprint;           // computed once: messages and events use it
  bool refreshable = false;          // the refresh strategy's answer for this credential
  std::string not_refreshable;       // why not, for the message a rejection gets
  bool from_refresh = false;         // obtained by a refresh rather than given by the application
  std::optional<TimePoint> soft_at;  // one caller refreshes, the others carry on
  std::optional<TimePoint> hard_at;  // callers wait for the refresh
  std::vector<Headers::Field> placement;  // lent to each request; wiped with the token
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
  Token() = default;
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;
  Token(Token&&) = delete;
  Token& operator=(Token&&) = delete;
  // The placement holds the secret in plain strings: wipe them as Secret does.
  ~Token() {
    for (auto& field : placement) wipe(field.second);
  }

  /// True when the token has an expiry and `now` is past it.
  [[nodiscard]] bool expired(TimePoint now) const noexcept {
    return credential.expires_at && now >= *credential.expires_at;
  }
};

/// A credential's whole state at one moment. It starts a cache line, and what a read takes sits
/// in its first 64 bytes: the token's bytes and generation are copied here from the Token, so a
/// thread reading many credentials in turn touches one line per snapshot and none of the Token.
struct alignas(64) Snapshot {
  std::shared_ptr<const Token> token;  // set with hold(), which fills the next three
  // token->credential.token's bytes, as a pointer and a size rather than a string_view: g++
  // copies a string_view member with one 16-byte vector move, which a read of its size then
  // waits on (store forwarding), about a nanosecond a read.
  const char* access_data = nullptr;
  std::size_t access_size = 0;
  std::uint64_t generation = 0;    // token->generation
  std::optional<TimePoint> until;  // end of the window; none while waiting for a person
  CredentialState state = CredentialState::ready;
  std::optional<VerdictKind> reason;  // what took it out of ready; kept while failures > 0
  TimePoint since{};
  std::uint32_t failures = 0;          // consecutive credential-scoped failures of `reason`
  bool verified = true;                // false for a refreshed token not yet accepted once
  std::uint64_t probe = 0;             // the probe ticket that owns `probing`, 0 when none
  std::shared_ptr<const Error> error;  // why it is out, for every request it refuses

  /// Holds `held`, with the copies a read takes.
  void hold(std::shared_ptr<const Token> held) noexcept {
    token = std::move(held);
    const std::string_view bytes = token->credential.token.reveal();
    access_data = bytes.data();
    access_size = bytes.size();
    generation = token->generation;
  }
};

/// The Status fields a snapshot knows (the refresh coordinator adds its own).
[[nodiscard]] KEYWARD_DECL Status describe(const Snapshot& snapshot, const std::string& profile);

/// Tells `observer` about a decision on `token`; compiles to nothing for NoObserver.
template <class Observer>
void emit(Observer& observer, EventKind kind, std::string_view profile, const Token& token,
          const Verdict* verdict, std::optional<TimePoint> until) {
  if constexpr (!std::is_same_v<Observer, NoObserver>) {
    observer.on_event(Event{.kind = kind,
                            .profile = profile,
                            .fingerprint = token.fingerprint,
                            .generation = token.generation,
                            .verdict = verdict,
                            .until = until,
                            .detail = {}});
  } else {
    static_cast<void>(observer);
    static_cast<void>(kind);
    static_cast<void>(profile);
    static_cast<void>(token);
    static_cast<void>(verdict);
    static_cast<void>(until);
  }
}

/// True when two credentials carry the same secrets.
[[nodiscard]] inline bool same_secrets(const Credential& a, const Credential& b) noexcept {
  return a.token == b.token && a.refresh_token == b.refresh_token;
}

/// A new generation, with its refresh thresholds. For a token from a refresh the lifetime is
/// known, and the soft threshold comes no earlier than half of it (the hard one scaled alike),
/// so that a short-lived token is refreshed once per lifetime, not every few seconds. `spread`,
/// in [0, 1), places this instance within RefreshOptions::soft_spread.
[[nodiscard]] KEYWARD_DECL std::shared_ptr<const Token> make_token(
    Credential credential, TokenTraits traits, std::uint64_t generation, bool from_refresh,
    TimePoint obtained, std::optional<std::chrono::seconds> refresh_in, const Token* previous,
    const RefreshOptions& options, double spread = 0.0);

}  // namespace keyward::detail

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/detail/impl/credential_state.ipp"
#endif
