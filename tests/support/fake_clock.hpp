// Test doubles for time: a clock that moves only when told, and a sleeper that records each wait
// and moves that clock instead of sleeping. Copies share the same time, so a test keeps a copy
// while the ResilientCredential holds another.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "keyward/classifier.hpp"

namespace keyward::testing {

/// 2026-02-04T12:00:00Z, the `now` of the fixtures.
inline constexpr auto kFixtureNow =
    std::chrono::sys_days{std::chrono::year{2026} / std::chrono::February / 4} +
    std::chrono::hours{12};

/// A clock that only moves when advanced.
class FakeClock {
 public:
  FakeClock() : ticks_(std::make_shared<std::atomic<TimePoint::rep>>(start())) {}

  /// The fake time.
  [[nodiscard]] TimePoint now() const noexcept {
    return TimePoint{TimePoint::duration{ticks_->load(std::memory_order_acquire)}};
  }
  /// Moves the fake time forward.
  void advance(std::chrono::nanoseconds by) const noexcept {
    ticks_->fetch_add(std::chrono::duration_cast<TimePoint::duration>(by).count(),
                      std::memory_order_acq_rel);
  }

 private:
  static TimePoint::rep start() {
    return std::chrono::time_point_cast<TimePoint::duration>(TimePoint{kFixtureNow})
        .time_since_epoch()
        .count();
  }
  std::shared_ptr<std::atomic<TimePoint::rep>> ticks_;
};

/// Records every wait and advances a FakeClock by it instead of sleeping.
class RecordingSleeper {
 public:
  RecordingSleeper() = default;
  /// Advances `clock` on every sleep.
  explicit RecordingSleeper(FakeClock clock) : clock_(std::move(clock)) {}

  /// Records the wait and moves the fake time.
  void sleep_for(std::chrono::milliseconds duration) {
    {
      const std::scoped_lock lock(state_->mutex);
      state_->waits.push_back(duration);
    }
    clock_.advance(duration);
  }
  /// Every wait so far, in order.
  [[nodiscard]] std::vector<std::chrono::milliseconds> waits() const {
    const std::scoped_lock lock(state_->mutex);
    return state_->waits;
  }

 private:
  struct State {
    std::mutex mutex;
    std::vector<std::chrono::milliseconds> waits;
  };
  FakeClock clock_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace keyward::testing
