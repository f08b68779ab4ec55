// RetryBudget: a token bucket per provider that stops retries from multiplying an outage.
//
// gRPC's retry throttling (docs/retries.md, "The retry budget"): the bucket starts full at
// `max_tokens`; every attempt that fails at the provider (overloaded, transient) takes one token,
// every success gives back `token_ratio`, and the count stays within [0, max_tokens]. While the
// count is at or below half of `max_tokens` no request is retried; first attempts are never held
// back. With the defaults (10 tokens, 0.1 per success) retries stop once failures outnumber
// about one in ten requests, and come back after the provider has answered enough requests.
//
// The count is kept in thousandths of a token in one atomic, so that it is exact, lock-free and
// safe from any number of threads; it needs no clock.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "keyward/detail/config.hpp"

namespace keyward {

/// A retry budget shared by every credential of one provider; thread-safe and lock-free.
class RetryBudget {
 public:
  /// The bucket's size and refill.
  struct Options {
    double max_tokens = 10.0;  ///< The bucket's size, in (0, 1000000]; it starts full.
    double token_ratio = 0.1;  ///< Given back per success, in [0.001, max_tokens].
  };

  /// A budget with the default options.
  RetryBudget() noexcept : RetryBudget(kDefaultMax, kDefaultRatio) {}

  /// A budget with `options`; throws std::invalid_argument naming an unusable field.
  KEYWARD_DECL explicit RetryBudget(Options options);

  /// Records an attempt that failed at the provider; returns whether a retry may follow it.
  bool record_failure() noexcept {
    std::int64_t now = tokens_.load(std::memory_order_relaxed);
    std::int64_t next = 0;
    do {
      next = std::max<std::int64_t>(0, now - kMilli);
    } while (!tokens_.compare_exchange_weak(now, next, std::memory_order_acq_rel,
                                            std::memory_order_relaxed));
    return next > max_ / 2;
  }

  /// Records a success; a full bucket is left alone without a write.
  void record_success() noexcept {
    std::int64_t now = tokens_.load(std::memory_order_relaxed);
    while (now < max_) {
      const std::int64_t next = std::min(max_, now + ratio_);
      if (tokens_.compare_exchange_weak(now, next, std::memory_order_acq_rel,
                                        std::memory_order_relaxed)) {
        return;
      }
    }
  }

  /// Whether a failed attempt may be retried now (more than half the bucket is left).
  [[nodiscard]] bool allows_retry() const noexcept {
    return tokens_.load(std::memory_order_acquire) > max_ / 2;
  }

  /// The tokens left, for status and tests.
  [[nodiscard]] double tokens() const noexcept {
    return static_cast<double>(tokens_.load(std::memory_order_acquire)) / kMilli;
  }

  /// The bucket's size.
  [[nodiscard]] double max_tokens() const noexcept { return static_cast<double>(max_) / kMilli; }

 private:
  static constexpr std::int64_t kMilli = 1000;
  static constexpr std::int64_t kDefaultMax = 10 * kMilli;
  static constexpr std::int64_t kDefaultRatio = kMilli / 10;

  RetryBudget(std::int64_t max, std::int64_t ratio) noexcept
      : max_(max), ratio_(ratio), tokens_(max) {}

  // `value` in thousandths, or std::invalid_argument when outside [low, high] thousandths.
  KEYWARD_DECL static std::int64_t milli(double value, const char* field, std::int64_t low,
                                         std::int64_t high);

  std::int64_t max_;
  std::int64_t ratio_;
  std::atomic<std::int64_t> tokens_;
};

}  // namespace keyward

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/impl/retry_budget.ipp"
#endif
