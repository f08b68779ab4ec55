// Jitter: a thread-safe source of uniform fractions for backoff jitter.
//
// SplitMix64 over an atomic counter: one fetch_add per draw, so concurrent retries never share a
// draw and never take a lock. It is not for cryptography; it spreads retries out.
#pragma once

#include <atomic>
#include <cstdint>

namespace keyward::detail {

/// Draws uniform fractions in [0, 1) from a seed, safely from many threads.
class Jitter {
 public:
  /// Starts the sequence at `seed`.
  explicit Jitter(std::uint64_t seed) noexcept : state_(seed) {}

  /// The next fraction in [0, 1).
  [[nodiscard]] double next() noexcept {
    std::uint64_t z =
        state_.fetch_add(0x9E3779B97F4A7C15ULL, std::memory_order_relaxed) + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    z ^= z >> 31U;
    // The top 53 bits fill a double's mantissa exactly.
    return static_cast<double>(z >> 11U) * 0x1.0p-53;
  }

 private:
  std::atomic<std::uint64_t> state_;
};

}  // namespace keyward::detail
