// cooldown::ExponentialBackoff: the default cooldown windows (README, "What it does with each
// response").
//
// Rate limits: the server's wait when it names one, else 30 s doubling to a 5 min cap, with full
// jitter. Quota: 5 h doubling to 24 h, no jitter, so that the probe at the end of each window comes
// when announced. Credentials waiting for a person: an optional slow probe, on by default for
// `unauthenticated` (providers have been seen to send transient 401s; 10 min doubling to 1 h) and
// off for `misconfigured` (sending the same thing again cannot help).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "keyward/classifier.hpp"
#include "keyward/cooldown_policy.hpp"
#include "keyward/detail/config.hpp"

namespace keyward::cooldown {

/// Doubling windows with caps, per verdict kind.
class ExponentialBackoff {
 public:
  using milliseconds = std::chrono::milliseconds;  ///< The unit of every window.

  /// The windows; every `*_first` must be positive and no larger than its `*_max`.
  struct Options {
    milliseconds rate_limit_first = std::chrono::seconds{30};  ///< First rate-limit window.
    milliseconds rate_limit_max = std::chrono::minutes{5};     ///< Rate-limit cap.
    bool honor_server_wait = true;  ///< Use the server's wait for rate limits when it names one.
    milliseconds quota_first = std::chrono::hours{5};  ///< First quota window.
    milliseconds quota_max = std::chrono::hours{24};   ///< Quota cap.
    bool probe_unauthenticated = true;                 ///< Probe rejected credentials slowly.
    bool probe_misconfigured = false;                  ///< Probe misconfigured credentials slowly.
    milliseconds reauth_probe_first = std::chrono::minutes{10};  ///< First probe delay.
    milliseconds reauth_probe_max = std::chrono::hours{1};       ///< Probe delay cap.
  };

  /// Uses the default windows, those of Options.
  ExponentialBackoff() = default;
  /// Uses `options`; throws std::invalid_argument when a window is not positive or exceeds its cap.
  KEYWARD_DECL explicit ExponentialBackoff(Options options);

  /// The window earned by the `consecutive`-th failure in a row of this verdict's kind.
  [[nodiscard]] KEYWARD_DECL std::optional<milliseconds> on_failure(const Verdict& verdict,
                                                                    std::uint32_t consecutive,
                                                                    double jitter) const noexcept;

  /// The options in use.
  [[nodiscard]] const Options& options() const noexcept { return options_; }

 private:
  KEYWARD_DECL static milliseconds doubled(milliseconds first, milliseconds cap,
                                           std::uint32_t n) noexcept;
  KEYWARD_DECL static void check(milliseconds first, milliseconds cap, const char* name);

  Options options_;
};

static_assert(CooldownPolicy<ExponentialBackoff>);

}  // namespace keyward::cooldown

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/cooldown/impl/exponential_backoff.ipp"
#endif
