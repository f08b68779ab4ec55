// What the driver needs around its policies: pre-flight findings joined into one text, whether
// and why not a refresh strategy renews a credential, the strategy's own secrets (scrubbed from
// every outside text), placing a credential (lent when the attacher prepares it), the wait
// before retrying a provider-scoped failure, and the bookkeeping of one send().
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keyward/attacher.hpp"
#include "keyward/classifier.hpp"
#include "keyward/credential.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/detail/credential_state.hpp"
#include "keyward/options.hpp"
#include "keyward/transport.hpp"

namespace keyward::detail {

/// Every pre-flight finding, joined for a person, or nothing when the credential looks usable.
template <class Preflight>
[[nodiscard]] std::optional<std::string> preflight_problems(const Preflight& preflight,
                                                            const Credential& credential,
                                                            TimePoint now) {
  const auto findings = preflight.validate(credential, now);
  if (findings.empty()) return std::nullopt;
  std::string text;
  for (const auto& finding : findings) text += (text.empty() ? "" : "; ") + finding.message;
  return text;
}

/// Whether `strategy` can renew `credential`, and if not, why not in words.
template <class Strategy>
[[nodiscard]] TokenTraits token_traits(const Strategy& strategy, const Credential& credential) {
  TokenTraits traits{strategy.refreshable(credential), {}};
  if (traits.refreshable) return traits;
  if (credential.kind != CredentialKind::oauth) {
    traits.not_refreshable =
        "and an " + std::string{to_string(credential.kind)} + " cannot be refreshed";
  } else if (credential.refresh_token.empty()) {
    traits.not_refreshable = "and it has no refresh token to renew it with";
  } else if constexpr (requires { strategy.why_not_refreshable(credential); }) {
    traits.not_refreshable =
        "and it cannot be refreshed: " + std::string{strategy.why_not_refreshable(credential)};
  } else {
    traits.not_refreshable =
        "and this policy does not refresh tokens, although the credential has a refresh token "
        "(give the policy a refresh strategy, e.g. the provider bundle's or "
        "refresh::OAuth2RefreshToken)";
  }
  return traits;
}

/// The strategy's own secrets (a client secret), when it names them.
template <class Strategy>
[[nodiscard]] std::vector<Secret> strategy_secrets(const Strategy& strategy) {
  if constexpr (requires { strategy.secrets(); }) {
    return strategy.secrets();
  } else {
    return {};
  }
}

/// The wait before attempt `attempts + 1` at a provider-scoped failure, or none when retries end:
/// the server's wait when it names one, else capped doubling with full jitter (`jitter` in [0, 1)).
[[nodiscard]] KEYWARD_DECL std::optional<std::chrono::milliseconds> retry_wait(
    const Verdict& verdict, std::uint32_t attempts, const RetryOptions& retry, double jitter);

/// Places `token` on `request`: lends its prepared fields when the attacher prepares them.
template <class Attach>
void place(const Attach& attacher, Request& request, const Token& token) {
  if constexpr (PreparingAttacher<Attach>) {
    attacher.attach(request, token.credential, token.placement);
  } else {
    attacher.attach(request, token.credential);
  }
}

/// How far one send() has come.
struct Progress {
  std::uint32_t replays = 0;          ///< Sent again with a newer token.
  std::uint32_t attempts = 0;         ///< Provider-scoped failures retried.
  bool refresh_tried = false;         ///< A threshold refresh was asked for once.
  std::chrono::milliseconds wait{0};  ///< Before the next attempt (Next::wait).
};

/// The clock, read at most once and only when asked.
template <class Clock>
class LazyNow {
 public:
  /// Reads `clock` when first asked.
  explicit LazyNow(const Clock& clock) noexcept : clock_(clock) {}
  /// Answers `known` when it holds a time, else reads `clock` when first asked.
  LazyNow(const Clock& clock, std::optional<TimePoint> known) noexcept
      : clock_(clock), at_(known.value_or(TimePoint{})), read_(known.has_value()) {}
  /// The time, read now or earlier.
  TimePoint operator()() {
    if (!read_) {
      at_ = clock_.now();
      read_ = true;
    }
    return at_;
  }
  /// The time if it was read, else nothing.
  [[nodiscard]] std::optional<TimePoint> read() const noexcept {
    return read_ ? std::optional<TimePoint>{at_} : std::nullopt;
  }

 private:
  const Clock& clock_;
  TimePoint at_{};
  bool read_ = false;
};

/// Takes back the fields lent to a request, however send() ends.
class Loan {
 public:
  /// Takes the loan of `headers` back when destroyed.
  explicit Loan(Headers& headers) noexcept : headers_(headers) {}
  Loan(const Loan&) = delete;
  Loan& operator=(const Loan&) = delete;
  Loan(Loan&&) = delete;
  Loan& operator=(Loan&&) = delete;
  ~Loan() { headers_.lend({}); }

 private:
  Headers& headers_;
};

}  // namespace keyward::detail

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/detail/impl/policy_support.ipp"
#endif
