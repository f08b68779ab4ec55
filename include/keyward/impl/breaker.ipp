// Definitions for keyward/breaker.hpp: included by it when header-only, compiled once by
// keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "keyward/breaker.hpp"
#include "keyward/detail/backoff.hpp"
#include "keyward/detail/time.hpp"

namespace keyward {

KEYWARD_DECL CircuitBreaker::CircuitBreaker(Options options) : options_(options) {
  if (options_.failures_to_open == 0) {
    throw std::invalid_argument("keyward: invalid circuit breaker: failures_to_open must be >= 1");
  }
  if (options_.decay < std::chrono::milliseconds::zero()) {
    throw std::invalid_argument("keyward: invalid circuit breaker: decay must be >= 0");
  }
  if (options_.cool_off <= std::chrono::milliseconds::zero() ||
      options_.max_cool_off < options_.cool_off) {
    throw std::invalid_argument(
        "keyward: invalid circuit breaker: need 0 < cool_off <= max_cool_off");
  }
}

KEYWARD_DECL CircuitBreaker::Snapshot CircuitBreaker::snapshot() const {
  const std::scoped_lock lock(mutex_);
  const BreakerState state = state_.load(std::memory_order_relaxed);
  return {state, failures_, openings_,
          state == BreakerState::closed ? std::nullopt : std::optional<TimePoint>{until_}};
}

KEYWARD_DECL BreakerState CircuitBreaker::open(TimePoint at, std::uint32_t openings) {
  openings_ = openings;
  window_ = detail::doubled(options_.cool_off, options_.max_cool_off, openings);
  until_ = detail::saturating_add(at, window_);
  failures_ = 0;
  probe_ = 0;
  clean_.store(false, std::memory_order_release);
  set_state(BreakerState::open);
  return BreakerState::open;
}

KEYWARD_DECL std::uint32_t CircuitBreaker::forget(std::uint32_t count, TimePoint since,
                                                  TimePoint at) const {
  if (count == 0 || options_.decay <= std::chrono::milliseconds::zero()) return count;
  const auto elapsed = detail::saturating_diff(at, since);
  if (elapsed <= std::chrono::milliseconds::zero()) return count;
  const auto steps = elapsed / options_.decay;
  return steps >= count ? 0U : count - static_cast<std::uint32_t>(steps);
}

}  // namespace keyward
