// The policy bundles most driver tests build a ResilientCredential or a CredentialPool with: the
// fake clock, a sleeper that records its waits instead of sleeping, and a recording observer.
#pragma once

#include "keyward/default_policies.hpp"
#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "support/fake_clock.hpp"
#include "support/recording_observer.hpp"

namespace keyward::testing {

/// The default policies on the fake clock, with a recording sleeper and observer.
struct ObservedPolicies : DefaultPolicies {
  using Clock = FakeClock;
  using Sleeper = RecordingSleeper;
  using Observer = RecordingObserver;
};

/// ObservedPolicies with OAuth refresh.
struct ObservedOAuthPolicies : ObservedPolicies {
  using Refresh = refresh::OAuth2RefreshToken;
};

}  // namespace keyward::testing
