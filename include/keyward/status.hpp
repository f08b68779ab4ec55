// Credential states and Status, the snapshot status() returns, as a struct and as JSON.
//
// ready -> (401 on a refreshable credential) refreshing -> ready | needs_reauth;
// ready -> (rate_limited / quota_exhausted) cooling -> (window ends) probing -> ready | cooling;
// needs_reauth -> (credential replaced) ready.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/classifier.hpp"
#include "keyward/detail/config.hpp"

namespace keyward {

/// Where a credential stands.
enum class CredentialState : std::uint8_t {
  ready,         ///< Usable.
  refreshing,    ///< Usable while one thread refreshes it (status() only reports this).
  cooling,       ///< Out until a window ends (rate limit or quota).
  probing,       ///< The window ended; one request is testing the credential.
  needs_reauth,  ///< Rejected or misconfigured: waits for a person (or an optional slow probe).
};

/// The name of a credential state.
[[nodiscard]] constexpr std::string_view to_string(CredentialState state) noexcept {
  switch (state) {
    case CredentialState::ready:
      return "ready";
    case CredentialState::refreshing:
      return "refreshing";
    case CredentialState::cooling:
      return "cooling";
    case CredentialState::probing:
      return "probing";
    case CredentialState::needs_reauth:
      return "needs_reauth";
  }
  return "unknown";
}

/// A point-in-time description of one credential, free of secrets.
struct Status {
  std::string profile;                             ///< The profile's name.
  CredentialState state = CredentialState::ready;  ///< Where it stands.
  std::optional<VerdictKind> reason;       ///< The verdict that took it out of ready, if out.
  TimePoint since{};                       ///< When it entered this state.
  std::optional<TimePoint> until{};        ///< When it may be used or probed again, if ever.
  std::uint32_t consecutive_failures = 0;  ///< Credential-scoped failures since the last success.
  std::string fingerprint;                 ///< The credential's redacted fingerprint.
  std::uint64_t generation = 0;            ///< Incremented by every refresh and replacement.
  std::optional<TimePoint> expires_at;     ///< When the token expires, if known.
  std::optional<TimePoint> last_refresh;   ///< When the last successful refresh happened.
  std::uint32_t refresh_failures = 0;      ///< Failed refresh attempts since the last success.
  std::string last_error;                  ///< The message of the error that took it out.
  /// Why the last refresh failed, or that the token endpoint refused the refresh token.
  std::string refresh_error;
  /// When the token endpoint refused the refresh token: the access token's expiry, by when a
  /// person must log in again.
  std::optional<TimePoint> reauth_by;
  /// True when a rotated refresh token is held only in memory (the store is not durable).
  bool rotation_unpersisted = false;
};

/// Renders a Status as one JSON object.
[[nodiscard]] KEYWARD_DECL std::string to_json(const Status& status);

}  // namespace keyward

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/impl/status.ipp"
#endif
