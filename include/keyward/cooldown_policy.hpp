// The CooldownPolicy role: how long a credential stays out after a credential-scoped failure.
//
// ResilientCredential counts consecutive failures of one kind (reset by a success) and asks the
// policy for the window that the n-th failure earns. The policy is a pure function of the verdict,
// the count and a jitter fraction supplied by the caller, so it never reads a clock or a random
// source of its own. Windows are immutable once chosen: ResilientCredential never extends one.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>

#include "keyward/classifier.hpp"

namespace keyward {

/// Chooses cooldown windows; returns std::nullopt when only a person can bring the credential back.
///
/// Called with verdicts of kind rate_limited, quota_exhausted, unauthenticated and misconfigured.
/// For the last two the window is the time until an optional probe, since such a credential
/// waits for a person. `jitter` is uniformly distributed in [0, 1).
template <class P>
concept CooldownPolicy = requires(const P& policy, const Verdict& verdict,
                                  std::uint32_t consecutive, double jitter) {
  {
    policy.on_failure(verdict, consecutive, jitter)
    } -> std::same_as<std::optional<std::chrono::milliseconds>>;
};

}  // namespace keyward
