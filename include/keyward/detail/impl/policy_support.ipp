// Definitions for keyward/detail/policy_support.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "keyward/classifier.hpp"
#include "keyward/detail/backoff.hpp"
#include "keyward/detail/policy_support.hpp"
#include "keyward/options.hpp"

namespace keyward::detail {

KEYWARD_DECL std::optional<std::chrono::milliseconds> retry_wait(const Verdict& verdict,
                                                                 std::uint32_t attempts,
                                                                 const RetryOptions& retry,
                                                                 double jitter) {
  if (!verdict.retryable || attempts >= retry.max_attempts) return std::nullopt;
  if (verdict.retry_after) {
    if (*verdict.retry_after > retry.max_server_wait) return std::nullopt;
    return *verdict.retry_after;
  }
  const auto window = doubled(retry.initial_backoff, retry.max_backoff, attempts);
  return std::chrono::milliseconds{
      static_cast<std::chrono::milliseconds::rep>(static_cast<double>(window.count()) * jitter)};
}

}  // namespace keyward::detail
