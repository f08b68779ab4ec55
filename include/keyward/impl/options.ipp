// Definitions for keyward/options.hpp: included by it when header-only, compiled once by
// keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

#include "keyward/options.hpp"

namespace keyward {

KEYWARD_DECL void validate(const CredentialOptions& options) {
  using std::chrono::milliseconds;
  const auto fail = [&options](const std::string& what) {
    throw std::invalid_argument("keyward: profile '" + options.profile +
                                "': invalid options: " + what);
  };
  const RetryOptions& retry = options.retry;
  const RefreshOptions& refresh = options.refresh;
  if (options.profile.empty()) fail("profile must not be empty");
  if (retry.max_attempts == 0) fail("retry.max_attempts must be at least 1");
  if (retry.initial_backoff < milliseconds::zero() || retry.max_backoff < retry.initial_backoff) {
    fail("need 0 <= retry.initial_backoff <= retry.max_backoff");
  }
  if (retry.max_server_wait < milliseconds::zero()) fail("retry.max_server_wait must be >= 0");
  if (refresh.hard_margin < milliseconds::zero() || refresh.soft_margin < refresh.hard_margin) {
    fail("need 0 <= refresh.hard_margin <= refresh.soft_margin");
  }
  if (refresh.long_lived <= milliseconds::zero()) fail("refresh.long_lived must be positive");
  if (!(refresh.soft_spread >= 0.0 && refresh.soft_spread <= 1.0)) {
    fail("refresh.soft_spread must be between 0 and 1");
  }
  if (refresh.failure_backoff_first <= milliseconds::zero() ||
      refresh.failure_backoff_max < refresh.failure_backoff_first) {
    fail("need 0 < refresh.failure_backoff_first <= refresh.failure_backoff_max");
  }
  if (refresh.wait_timeout < milliseconds::zero()) fail("refresh.wait_timeout must be >= 0");
}

}  // namespace keyward
