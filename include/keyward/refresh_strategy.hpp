// The RefreshStrategy role: how a credential is renewed.
//
// A strategy says whether a credential can be refreshed at all and, when asked, renews it by
// sending its own request through the same Transport (an OAuth token endpoint, for instance).
// ResilientCredential guarantees single flight: refresh() is never called concurrently on one
// strategy instance, so a strategy may keep state between calls without locking.
#pragma once

#include <chrono>
#include <concepts>
#include <optional>

#include "keyward/credential.hpp"
#include "keyward/error.hpp"
#include "keyward/result.hpp"
#include "keyward/transport.hpp"

namespace keyward {

/// A renewed credential and what the server said about renewing it next time.
struct RefreshOutcome {
  Credential credential{};                         ///< The new credential.
  std::optional<std::chrono::seconds> refresh_in;  ///< The server's hint for the next refresh.
  bool rotated = false;                            ///< True when the refresh token changed.
};

/// Renews credentials; refresh() errors carry the token endpoint's verdict when there is one.
template <class S, class T>
concept RefreshStrategy = Transport<T> &&
    requires(S& strategy, const S& const_strategy, const Credential& credential, T& transport,
             TimePoint now) {
  { const_strategy.refreshable(credential) } -> std::same_as<bool>;
  { strategy.refresh(credential, transport, now) } -> std::same_as<Result<RefreshOutcome>>;
};

}  // namespace keyward
