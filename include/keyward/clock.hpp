// The Clock and Sleeper roles: time is injected, so that no policy reads a clock or sleeps.
//
// Production code uses SystemClock and ThreadSleeper; tests inject a fake clock and a sleeper
// that advances it, so state-machine tests run instantly and deterministically.
#pragma once

#include <chrono>
#include <concepts>
#include <thread>

#include "keyward/classifier.hpp"

namespace keyward {

/// Tells the current wall-clock time.
template <class C>
concept Clock = requires(const C& clock) {
  { clock.now() } -> std::convertible_to<TimePoint>;
};

/// Waits for a duration between retries.
template <class S>
concept Sleeper = requires(S& sleeper, std::chrono::milliseconds duration) {
  sleeper.sleep_for(duration);
};

/// The system's wall clock.
struct SystemClock {
  /// The current time.
  [[nodiscard]] TimePoint now() const noexcept { return std::chrono::system_clock::now(); }
};

/// Sleeps the calling thread.
struct ThreadSleeper {
  /// Blocks the calling thread for `duration`.
  void sleep_for(std::chrono::milliseconds duration) const {
    std::this_thread::sleep_for(duration);
  }
};

static_assert(Clock<SystemClock>);
static_assert(Sleeper<ThreadSleeper>);

}  // namespace keyward
