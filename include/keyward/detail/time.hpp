// Saturating time arithmetic: a window, a backoff or a server's wait added to `now` clamps at
// the end of representable time instead of overflowing, whatever cap a user configured.
#pragma once

#include <chrono>
#include <limits>
#include <type_traits>

#include "keyward/classifier.hpp"

namespace keyward::detail {

/// `d` in TimePoint ticks, clamped to the representable range instead of overflowing.
template <class Rep, class Period>
[[nodiscard]] constexpr TimePoint::duration clamp_to_ticks(
    std::chrono::duration<Rep, Period> d) noexcept {
  using Ticks = TimePoint::duration;
  using D = std::chrono::duration<Rep, Period>;
  static_assert(std::ratio_greater_equal_v<Period, Ticks::period>,
                "clamp_to_ticks: only durations at least as coarse as a TimePoint tick");
  constexpr D kMax = std::chrono::duration_cast<D>(Ticks::max());
  constexpr D kMin = std::chrono::duration_cast<D>(Ticks::min());
  if (d >= kMax) return Ticks::max();
  if (d <= kMin) return Ticks::min();
  return std::chrono::duration_cast<Ticks>(d);
}

/// `t + d`, clamped to TimePoint's range.
template <class Rep, class Period>
[[nodiscard]] constexpr TimePoint saturating_add(TimePoint t,
                                                 std::chrono::duration<Rep, Period> d) noexcept {
  using R = TimePoint::rep;
  const R base = t.time_since_epoch().count();
  const R delta = clamp_to_ticks(d).count();
  if (delta > 0 && base > std::numeric_limits<R>::max() - delta) return TimePoint::max();
  if (delta < 0 && base < std::numeric_limits<R>::min() - delta) return TimePoint::min();
  return TimePoint{TimePoint::duration{base + delta}};
}

/// `t - d`, clamped to TimePoint's range.
template <class Rep, class Period>
[[nodiscard]] constexpr TimePoint saturating_sub(TimePoint t,
                                                 std::chrono::duration<Rep, Period> d) noexcept {
  using R = TimePoint::rep;
  const R base = t.time_since_epoch().count();
  const R delta = clamp_to_ticks(d).count();
  if (delta > 0 && base < std::numeric_limits<R>::min() + delta) return TimePoint::min();
  if (delta < 0 && base > std::numeric_limits<R>::max() + delta) return TimePoint::max();
  return TimePoint{TimePoint::duration{base - delta}};
}

/// `later - earlier` in milliseconds, clamped instead of overflowing.
[[nodiscard]] constexpr std::chrono::milliseconds saturating_diff(TimePoint later,
                                                                  TimePoint earlier) noexcept {
  using R = TimePoint::rep;
  const R a = later.time_since_epoch().count();
  const R b = earlier.time_since_epoch().count();
  if (b < 0 && a > std::numeric_limits<R>::max() + b) return std::chrono::milliseconds::max();
  if (b > 0 && a < std::numeric_limits<R>::min() + b) return std::chrono::milliseconds::min();
  return std::chrono::duration_cast<std::chrono::milliseconds>(TimePoint::duration{a - b});
}

/// The time `now` gives: a TimePoint itself, or the result of calling it (a lazy clock read).
template <class Now>
[[nodiscard]] TimePoint time_of(Now&& now) {
  if constexpr (std::is_invocable_r_v<TimePoint, Now&>) {
    return now();
  } else {
    return now;
  }
}

}  // namespace keyward::detail
