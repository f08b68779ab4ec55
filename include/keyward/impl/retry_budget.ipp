// Definitions for keyward/retry_budget.hpp: included by it when header-only, compiled once by
// keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "keyward/retry_budget.hpp"

namespace keyward {

KEYWARD_DECL RetryBudget::RetryBudget(Options options)
    : RetryBudget(milli(options.max_tokens, "max_tokens", 1, kMilli * 1'000'000),
                  milli(options.token_ratio, "token_ratio", 1, kMilli * 1'000'000)) {
  if (ratio_ > max_) {
    throw std::invalid_argument(
        "keyward: invalid retry budget: token_ratio must not exceed max_tokens");
  }
}

KEYWARD_DECL std::int64_t RetryBudget::milli(double value, const char* field, std::int64_t low,
                                             std::int64_t high) {
  const double scaled = value * static_cast<double>(kMilli);
  if (!std::isfinite(scaled) || scaled < static_cast<double>(low) - 0.5 ||
      scaled > static_cast<double>(high) + 0.5) {
    throw std::invalid_argument(std::string{"keyward: invalid retry budget: "} + field +
                                " is out of range");
  }
  return static_cast<std::int64_t>(std::llround(scaled));
}

}  // namespace keyward
