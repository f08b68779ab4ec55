// Capped doubling, the arithmetic shared by cooldown windows, retry backoff and refresh backoff.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace keyward::detail {

/// `first * 2^(n-1)`, capped at `cap`, for n >= 1; never overflows, whatever the inputs.
[[nodiscard]] constexpr std::chrono::milliseconds doubled(std::chrono::milliseconds first,
                                                          std::chrono::milliseconds cap,
                                                          std::uint32_t n) noexcept {
  std::chrono::milliseconds window = std::min(first, cap);
  if (window <= std::chrono::milliseconds::zero()) return window;
  // At most 63 doublings reach any cap, so the loop is short, and it never passes the cap.
  for (std::uint32_t i = 1; i < n; ++i) {
    if (window > cap / 2) return cap;
    window *= 2;
  }
  return window;
}

}  // namespace keyward::detail
