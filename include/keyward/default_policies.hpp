// DefaultPolicies: the one place where keyward's defaults are chosen.
//
// ResilientCredential takes a policy bundle as its second template parameter. To change one role,
// derive from DefaultPolicies and replace that type:
//
//     struct OAuthPolicies : keyward::DefaultPolicies {
//       using Refresh = keyward::refresh::OAuth2RefreshToken;
//     };
//
// Stateful policies are then configured through ResilientCredential's Components argument,
// Components<Policies>, with designated initializers.
#pragma once

#include <memory>

#include "keyward/attacher.hpp"
#include "keyward/classify/http_status.hpp"
#include "keyward/clock.hpp"
#include "keyward/cooldown/exponential_backoff.hpp"
#include "keyward/observer.hpp"
#include "keyward/preflight.hpp"
#include "keyward/provider_guard.hpp"
#include "keyward/refresh/static_credential.hpp"
#include "keyward/store/memory.hpp"

namespace keyward {

/// The default policy bundle.
struct DefaultPolicies {
  using Classifier = classify::HttpStatus;        ///< Status codes, RFC 6750, RFC 6749 errors.
  using Refresh = refresh::StaticCredential;      ///< Never refresh.
  using Cooldown = cooldown::ExponentialBackoff;  ///< Doubling windows, with caps.
  using Attach = BearerAttacher;                  ///< `Authorization: Bearer`.
  using Preflight = preflight::Generic;           ///< Checks a credential before first use.
  using Store = store::Memory;                    ///< In memory; a persist hook makes it durable.
  using Clock = SystemClock;                      ///< The system clock.
  using Sleeper = ThreadSleeper;                  ///< Real sleeps between retries.
  using Observer = NoObserver;                    ///< No events.
};

/// The policy instances of a bundle, as ResilientCredential takes them; each defaults to a
/// default-constructed policy, and designated initializers set the ones that need settings.
template <class Policies>
struct Components {
  typename Policies::Classifier classifier{};  ///< Classifies responses.
  typename Policies::Refresh refresh{};        ///< Redeems refresh tokens.
  typename Policies::Cooldown cooldown{};      ///< Chooses cooldown windows.
  typename Policies::Attach attach{};          ///< Places the credential on requests.
  typename Policies::Preflight preflight{};    ///< Checks credentials before they are used.
  typename Policies::Store store{};            ///< Keeps (and persists) the credential.
  typename Policies::Clock clock{};            ///< Tells the time.
  typename Policies::Sleeper sleeper{};        ///< Waits between retries.
  typename Policies::Observer observer{};      ///< Receives events.
  /// The provider's retry budget and circuit breaker, shared with its other credentials; when
  /// null the credential makes its own (docs/retries.md).
  std::shared_ptr<ProviderGuard> provider{};
};

}  // namespace keyward
