// CircuitBreaker: stops sending to a provider that keeps failing, and lets one probe find out
// when it has recovered (docs/retries.md, "The circuit breaker").
//
//   closed    --(failures_to_open provider failures, no success between)-->  open
//   open      --(cool-off over: the next request)-->                          half-open
//   half-open --(the one probe succeeds)-->  closed
//   half-open --(the probe fails)-->         open, for twice as long (up to max_cool_off)
//
// Only provider-scoped failures (overloaded, transient) count; any other response is the
// provider answering for itself and counts as a success. A success while closed forgets every
// failure, and each `decay` without a failure forgets one, so scattered failures never add up to
// an opening. The cool-off doubles per consecutive opening, and each `decay` spent closed forgets
// one opening. Time comes from the caller (no clock here); a clock that goes back never makes a
// refusal last longer than one cool-off from the time given.
//
// Thread-safe. The path taken by almost every request (closed, no failure counted) reads one or
// two atomics and takes no lock; transitions take a mutex. A probe's Pass hands the probe back
// when it is destroyed undecided (an exception between admit() and record()), so the breaker
// can never be stuck half-open; a probe that never returns is given up after one cool-off.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include "keyward/classifier.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/detail/time.hpp"

namespace keyward {

/// Where a circuit breaker stands.
enum class BreakerState : std::uint8_t {
  closed,     ///< Requests are sent.
  open,       ///< Requests are refused without being sent, until the cool-off ends.
  half_open,  ///< One probe is let through; its outcome closes or re-opens the breaker.
};

/// The name of a breaker state.
[[nodiscard]] constexpr std::string_view to_string(BreakerState state) noexcept {
  switch (state) {
    case BreakerState::closed:
      return "closed";
    case BreakerState::open:
      return "open";
    case BreakerState::half_open:
      return "half_open";
  }
  return "unknown";
}

/// A circuit breaker for one provider, shared by all its credentials; thread-safe.
class CircuitBreaker {
 public:
  /// Thresholds and windows (docs/retries.md explains the defaults).
  struct Options {
    std::uint32_t failures_to_open = 5;  ///< Provider failures in a row that open it, >= 1.
    /// Each this long without a failure forgets one failure; each this long closed forgets one
    /// opening. Zero: nothing is forgotten with time.
    std::chrono::milliseconds decay = std::chrono::minutes{1};
    std::chrono::milliseconds cool_off = std::chrono::seconds{30};     ///< First open window.
    std::chrono::milliseconds max_cool_off = std::chrono::minutes{5};  ///< Cap on the window.
  };

  /// What admit() decided: send or not, and whether this request is the probe.
  class Pass {
   public:
    Pass() = default;
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    /// Takes over `other`'s probe.
    Pass(Pass&& other) noexcept
        : breaker_(std::exchange(other.breaker_, nullptr)),
          probe_(std::exchange(other.probe_, 0)),
          until_(other.until_),
          changed_(other.changed_) {}
    /// Hands back this pass's probe and takes over `other`'s.
    Pass& operator=(Pass&& other) noexcept {
      if (this != &other) {
        hand_back();
        breaker_ = std::exchange(other.breaker_, nullptr);
        probe_ = std::exchange(other.probe_, 0);
        until_ = other.until_;
        changed_ = other.changed_;
      }
      return *this;
    }
    ~Pass() { hand_back(); }

    /// True when the request may be sent.
    explicit operator bool() const noexcept { return !until_.has_value(); }
    /// For a refused request: when the breaker may let a request through again.
    [[nodiscard]] std::optional<TimePoint> until() const noexcept { return until_; }
    /// True when this request is the half-open breaker's probe.
    [[nodiscard]] bool probe() const noexcept { return probe_ != 0; }
    /// The state the breaker moved to while admitting, if it moved (open to half-open).
    [[nodiscard]] std::optional<BreakerState> changed() const noexcept { return changed_; }

   private:
    friend class CircuitBreaker;
    Pass(CircuitBreaker* breaker, std::uint64_t probe, std::optional<TimePoint> until,
         std::optional<BreakerState> changed) noexcept
        : breaker_(breaker), probe_(probe), until_(until), changed_(changed) {}
    void hand_back() noexcept {
      if (breaker_ != nullptr && probe_ != 0) breaker_->release(probe_);
      probe_ = 0;
    }

    CircuitBreaker* breaker_ = nullptr;
    std::uint64_t probe_ = 0;
    std::optional<TimePoint> until_{};
    std::optional<BreakerState> changed_{};
  };

  /// What the breaker holds, for status and tests.
  struct Snapshot {
    BreakerState state = BreakerState::closed;  ///< Where it stands.
    std::uint32_t failures = 0;                 ///< Failures counted while closed.
    std::uint32_t openings = 0;                 ///< Consecutive openings (doubles the cool-off).
    std::optional<TimePoint> until{};  ///< Open: end of the cool-off; half-open: the probe's limit.
  };

  /// A breaker with the default options.
  CircuitBreaker() noexcept = default;

  /// A breaker with `options`; throws std::invalid_argument naming an unusable field.
  KEYWARD_DECL explicit CircuitBreaker(Options options);

  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;
  CircuitBreaker(CircuitBreaker&&) = delete;
  CircuitBreaker& operator=(CircuitBreaker&&) = delete;
  ~CircuitBreaker() = default;

  /// Decides whether a request may be sent. `now` is a TimePoint, or a callable returning one
  /// that is called only when the breaker is not closed.
  template <class Now>
  [[nodiscard]] Pass admit(Now&& now) {
    if (state_.load(std::memory_order_acquire) == BreakerState::closed) return {};
    const std::scoped_lock lock(mutex_);
    // Read under the lock, so that no caller decides on a time older than the last decision's;
    // a clock that throws here has changed nothing.
    const TimePoint at = detail::time_of(now);
    std::optional<BreakerState> changed;
    switch (state_.load(std::memory_order_relaxed)) {
      case BreakerState::closed:
        return {};
      case BreakerState::open:
        if (at < until_) return refuse(at, changed);
        set_state(BreakerState::half_open);
        changed = BreakerState::half_open;
        probe_ = 0;
        break;
      case BreakerState::half_open:
        // A probe in flight keeps the others out until its limit; a probe that outlived it is
        // given up (its transport hung), and this request probes instead.
        if (probe_ != 0 && at < until_) return refuse(at, changed);
        break;
    }
    probe_ = ++probes_;
    until_ = detail::saturating_add(at, window_);
    return {this, probe_, std::nullopt, changed};
  }

  /// Records the outcome of a request admitted with `pass`, answered at `now` (a TimePoint, or a
  /// callable returning one, called only when the outcome changes something): `failed` for a
  /// provider failure (overloaded, transient), else a success. Returns the state the breaker
  /// moved to, if it moved. A request sent before the breaker opened changes nothing once it has
  /// opened: only the probe decides.
  template <class Now>
  std::optional<BreakerState> record(Pass& pass, bool failed, Now&& now) {
    const std::uint64_t probe = std::exchange(pass.probe_, 0);
    if (!failed && probe == 0 && clean_.load(std::memory_order_acquire)) return std::nullopt;
    const std::scoped_lock lock(mutex_);
    const TimePoint at = detail::time_of(now);  // a clock that throws here has changed nothing
    const BreakerState state = state_.load(std::memory_order_relaxed);
    if (probe != 0) {
      if (probe != probe_ || state != BreakerState::half_open) return std::nullopt;  // given up
      probe_ = 0;
      if (failed) return open(at, openings_ + 1);
      close(at);
      return BreakerState::closed;
    }
    if (state != BreakerState::closed) return std::nullopt;
    if (!failed) {
      failures_ = 0;
      clean_.store(true, std::memory_order_release);
      return std::nullopt;
    }
    failures_ = forget(failures_, last_failure_, at) + 1;
    last_failure_ = at;
    clean_.store(false, std::memory_order_release);
    if (failures_ < options_.failures_to_open) return std::nullopt;
    return open(at, forget(openings_, closed_at_, at) + 1);
  }

  /// The state, read without a lock.
  [[nodiscard]] BreakerState state() const noexcept {
    return state_.load(std::memory_order_acquire);
  }

  /// Where the breaker stands.
  [[nodiscard]] KEYWARD_DECL Snapshot snapshot() const;

  /// The options in use.
  [[nodiscard]] const Options& options() const noexcept { return options_; }

 private:
  Pass refuse(TimePoint at, std::optional<BreakerState> changed) {
    // A clock that went back must not stretch the refusal beyond one window from now.
    until_ = std::min(until_, detail::saturating_add(at, window_));
    return {nullptr, 0, until_, changed};
  }

  KEYWARD_DECL BreakerState open(TimePoint at, std::uint32_t openings);

  void close(TimePoint at) {
    failures_ = 0;
    closed_at_ = at;
    set_state(BreakerState::closed);
    clean_.store(true, std::memory_order_release);
  }

  void set_state(BreakerState state) noexcept { state_.store(state, std::memory_order_release); }

  // `count` less one for each `decay` from `since` to `at`; a clock that went back forgets nothing.
  [[nodiscard]] KEYWARD_DECL std::uint32_t forget(std::uint32_t count, TimePoint since,
                                                  TimePoint at) const;

  // A probe's request ended without a verdict: the next request probes.
  void release(std::uint64_t probe) noexcept {
    const std::scoped_lock lock(mutex_);
    if (probe_ == probe) probe_ = 0;
  }

  Options options_{};
  std::atomic<BreakerState> state_{BreakerState::closed};
  std::atomic<bool> clean_{true};  // closed with no failure counted: a success changes nothing
  mutable std::mutex mutex_;       // guards what follows, and every change of state_
  std::uint32_t failures_ = 0;
  TimePoint last_failure_{};
  std::uint32_t openings_ = 0;
  TimePoint closed_at_{};
  TimePoint until_{};  // open: the cool-off's end; half-open: the probe's limit
  std::chrono::milliseconds window_{};
  std::uint64_t probe_ = 0;  // the probe in flight, 0 when none
  std::uint64_t probes_ = 0;
};

}  // namespace keyward

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/impl/breaker.ipp"
#endif
