// Definitions for keyward/cooldown/exponential_backoff.hpp: included by it when header-only,
// compiled once by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION
// (keyward/detail/config.hpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "keyward/cooldown/exponential_backoff.hpp"
#include "keyward/detail/backoff.hpp"

namespace keyward::cooldown {

KEYWARD_DECL ExponentialBackoff::ExponentialBackoff(Options options) : options_(options) {
  check(options_.rate_limit_first, options_.rate_limit_max, "rate_limit");
  check(options_.quota_first, options_.quota_max, "quota");
  check(options_.reauth_probe_first, options_.reauth_probe_max, "reauth_probe");
}

KEYWARD_DECL std::optional<ExponentialBackoff::milliseconds> ExponentialBackoff::on_failure(
    const Verdict& verdict, std::uint32_t consecutive, double jitter) const noexcept {
  switch (verdict.kind) {
    case VerdictKind::rate_limited:
      if (options_.honor_server_wait && verdict.retry_after) return *verdict.retry_after;
      // Full jitter: anywhere in [0, window], so that many clients do not return together.
      return milliseconds{static_cast<milliseconds::rep>(
          static_cast<double>(
              doubled(options_.rate_limit_first, options_.rate_limit_max, consecutive).count()) *
          (jitter >= 0.0 ? std::min(jitter, 1.0) : 0.0))};  // NaN counts as 0
    case VerdictKind::quota_exhausted:
      return doubled(options_.quota_first, options_.quota_max, consecutive);
    case VerdictKind::unauthenticated:
      if (!options_.probe_unauthenticated) return std::nullopt;
      return doubled(options_.reauth_probe_first, options_.reauth_probe_max, consecutive);
    case VerdictKind::misconfigured:
      if (!options_.probe_misconfigured) return std::nullopt;
      return doubled(options_.reauth_probe_first, options_.reauth_probe_max, consecutive);
    default:
      return std::nullopt;
  }
}

KEYWARD_DECL ExponentialBackoff::milliseconds ExponentialBackoff::doubled(
    milliseconds first, milliseconds cap, std::uint32_t n) noexcept {
  return detail::doubled(first, cap, n);
}

KEYWARD_DECL void ExponentialBackoff::check(milliseconds first, milliseconds cap,
                                            const char* name) {
  if (first <= milliseconds::zero() || first > cap) {
    throw std::invalid_argument(std::string("keyward::cooldown::ExponentialBackoff: ") + name +
                                "_first must be positive and no larger than " + name + "_max");
  }
}

}  // namespace keyward::cooldown
