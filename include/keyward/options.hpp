// The options of one credential: retries, refresh thresholds, fix texts, and their validation.
//
// ResilientCredential<T, P>::Options is CredentialOptions; designated initializers make the
// overrides read well:
//
//     {.profile = "anthropic:work", .refresh = {.wait_timeout = std::chrono::seconds{10}}}
//
// validate() is the one place where an unusable combination is refused, with the field named.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "keyward/detail/config.hpp"

namespace keyward {

/// Retries of provider-scoped failures (transient, overloaded) within one send().
struct RetryOptions {
  std::uint32_t max_attempts = 3;                  ///< Attempts per send(), >= 1.
  std::chrono::milliseconds initial_backoff{500};  ///< First backoff, before jitter.
  std::chrono::milliseconds max_backoff = std::chrono::seconds{8};  ///< Backoff cap.
  /// A server's wait longer than this ends the retries instead of sleeping through it.
  std::chrono::milliseconds max_server_wait = std::chrono::seconds{60};
};

/// When and how the credential is refreshed (docs/state-machine.md, "Refresh").
struct RefreshOptions {
  /// One caller refreshes this long before expiry while the others carry on. For a token from a
  /// refresh, whose lifetime is known, never earlier than half that lifetime.
  std::chrono::milliseconds soft_margin = std::chrono::minutes{5};
  /// From this long before expiry callers wait for the refresh (scaled like soft_margin).
  std::chrono::milliseconds hard_margin = std::chrono::seconds{30};
  std::chrono::milliseconds long_lived = std::chrono::hours{2};  ///< Refresh these at half-life.
  /// Each instance's soft threshold comes later by up to this fraction of the time between the
  /// soft and hard thresholds, drawn once per instance, so that a fleet sharing one login does
  /// not refresh in the same second (0 turns the spread off).
  double soft_spread = 0.2;
  std::chrono::milliseconds failure_backoff_first = std::chrono::seconds{5};  ///< After a failure.
  std::chrono::milliseconds failure_backoff_max = std::chrono::minutes{5};    ///< Cap on that wait.
  /// How long a caller that needs a new token waits for another thread's refresh.
  std::chrono::milliseconds wait_timeout = std::chrono::seconds{30};
};

/// The fix text of each terminal error; keyward does not know the application's login command.
/// An empty text falls back to the classifier's own fix (Verdict::fix), then a generic one.
struct FixOptions {
  std::string unauthenticated{};  ///< A rejected credential.
  std::string misconfigured{};    ///< A misconfigured credential.
  std::string quota_exhausted{};  ///< Quota or credits gone.
};

/// Everything one credential is tuned with.
struct CredentialOptions {
  std::string profile = "default";             ///< The name used in messages, events and status.
  RetryOptions retry{};                        ///< Retries of provider-scoped failures.
  RefreshOptions refresh{};                    ///< Refresh thresholds and backoff.
  FixOptions fix{};                            ///< Fix texts.
  bool allow_insecure_http = false;            ///< Permit plain http to non-loopback hosts.
  std::optional<std::uint64_t> jitter_seed{};  ///< Fixes the jitter sequence (tests).
};

/// Throws std::invalid_argument naming the first unusable field of `options`.
KEYWARD_DECL void validate(const CredentialOptions& options);

}  // namespace keyward

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/impl/options.ipp"
#endif
