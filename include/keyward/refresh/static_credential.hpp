// refresh::StaticCredential: for API keys and long-lived tokens, which never refresh.
//
// With this strategy a rejected credential goes straight to needs_reauth: there is nothing to
// refresh, and sending it again cannot help.
#pragma once

#include "keyward/credential.hpp"
#include "keyward/error.hpp"
#include "keyward/refresh_strategy.hpp"
#include "keyward/result.hpp"
#include "keyward/transport.hpp"

namespace keyward::refresh {

/// Never refreshes.
struct StaticCredential {
  /// Always false: a static credential cannot be renewed.
  [[nodiscard]] bool refreshable(const Credential& /*credential*/) const noexcept { return false; }

  /// Never succeeds; ResilientCredential does not call it, since refreshable() is false.
  template <Transport T>
  Result<RefreshOutcome> refresh(const Credential& /*credential*/, T& /*transport*/,
                                 TimePoint /*now*/) {
    return unexpected(make_error(Errc::needs_reauth, "a static credential cannot be refreshed"));
  }
};

static_assert(RefreshStrategy<StaticCredential, TransportArchetype>);

}  // namespace keyward::refresh
