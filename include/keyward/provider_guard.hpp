// ProviderGuard: the retry budget and the circuit breaker of one provider, in one object that
// every credential (and pool) of that provider shares (docs/retries.md).
//
// Overload and server failures belong to the provider, not to a credential: ten API keys for the
// same provider see the same outage, so they must spend the same retry budget and trip the same
// breaker. Share one guard by std::shared_ptr through Components::provider:
//
//     auto anthropic = std::make_shared<keyward::ProviderGuard>();
//     keyward::ResilientCredential<Http> work{http, key_a, {.profile = "work"}, {.provider =
//     anthropic}}; keyward::ResilientCredential<Http> home{http, key_b, {.profile = "home"},
//     {.provider = anthropic}};
//
// A credential given no guard makes its own. The guard holds no clock and does no I/O: the
// driver passes the time in and sends the requests.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/breaker.hpp"
#include "keyward/classifier.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/error.hpp"
#include "keyward/retry_budget.hpp"
#include "keyward/transport.hpp"

namespace keyward {

/// The retry budget and circuit breaker shared by every credential of one provider.
class ProviderGuard {
 public:
  /// The budget's and the breaker's options.
  struct Options {
    RetryBudget::Options budget{};      ///< The retry budget.
    CircuitBreaker::Options breaker{};  ///< The circuit breaker.
  };

  /// A guard with the default options.
  ProviderGuard() = default;
  /// A guard with `options`; throws std::invalid_argument naming an unusable field.
  explicit ProviderGuard(Options options) : budget_(options.budget), breaker_(options.breaker) {}

  /// The retry budget.
  [[nodiscard]] RetryBudget& budget() noexcept { return budget_; }
  /// The retry budget.
  [[nodiscard]] const RetryBudget& budget() const noexcept { return budget_; }
  /// The circuit breaker.
  [[nodiscard]] CircuitBreaker& breaker() noexcept { return breaker_; }
  /// The circuit breaker.
  [[nodiscard]] const CircuitBreaker& breaker() const noexcept { return breaker_; }

  /// What recording one attempt's verdict changed.
  struct Recorded {
    std::optional<BreakerState> breaker{};  ///< The state the breaker moved to, if it moved.
    bool retry_allowed = true;              ///< The budget allows a retry after this attempt.
  };

  /// Records the verdict of an attempt admitted with `pass`, answered at `now` (a TimePoint, or
  /// a callable returning one, called only when the breaker needs it), in the budget and the
  /// breaker: overloaded and transient count as provider failures, an ok as the budget's
  /// success, and any other response as the breaker's success.
  template <class Now>
  Recorded record(CircuitBreaker::Pass& pass, const Verdict& verdict, Now&& now) {
    const bool failed = provider_failure(verdict.kind);
    Recorded recorded;
    if (failed) {
      recorded.retry_allowed = budget_.record_failure();
    } else if (verdict.kind == VerdictKind::ok) {
      budget_.record_success();
    }
    recorded.breaker = breaker_.record(pass, failed, std::forward<Now>(now));
    return recorded;
  }

  /// Why a failed attempt that its verdict and attempts would let retry is not retried.
  enum class Hold : std::uint8_t {
    none,     ///< Nothing holds it back.
    unsafe,   ///< Sending it again could do its work twice (may_resend()).
    breaker,  ///< The breaker is not closed: the next attempt would be refused.
    budget,   ///< The provider's retry budget is spent.
  };

  /// The first reason not to send `request` again after `sent`, classified as `verdict` and
  /// recorded as `recorded`.
  [[nodiscard]] KEYWARD_DECL Hold hold(const Request& request, const TransportResult& sent,
                                       const Verdict& verdict,
                                       const Recorded& recorded) const noexcept;

  /// What the error of a request that got no response adds when `hold` kept it from being
  /// sent again; empty when the reason needs no words.
  [[nodiscard]] static constexpr std::string_view explain(Hold hold) noexcept {
    switch (hold) {
      case Hold::unsafe:
        return " It was not sent again: a request that is not idempotent (POST, PATCH) and got no "
               "response may have been processed; give it an Idempotency-Key header to let "
               "keyward retry it (docs/retries.md).";
      case Hold::budget:
        return " It was not sent again: so many of the provider's requests are failing that "
               "retries would only add to its load (the retry budget, docs/retries.md).";
      case Hold::none:
      case Hold::breaker:
        break;
    }
    return {};
  }

  /// True for the verdicts that are the provider's failures, not the credential's or request's.
  [[nodiscard]] static constexpr bool provider_failure(VerdictKind kind) noexcept {
    return kind == VerdictKind::overloaded || kind == VerdictKind::transient;
  }

 private:
  RetryBudget budget_;
  CircuitBreaker breaker_;
};

/// The error of a request the open breaker refused: it names when a request may go through
/// again, says that the credential is not at fault, and carries `until`.
[[nodiscard]] KEYWARD_DECL Error provider_unavailable(std::string_view profile, TimePoint until,
                                                      TimePoint now);

}  // namespace keyward

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/impl/provider_guard.ipp"
#endif
