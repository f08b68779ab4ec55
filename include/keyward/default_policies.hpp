// DefaultPolicies: the one place where keyward's defaults are chosen.
//
// ResilientCredential takes a policy bundle as its second template parameter. To change one role,
// derive from DefaultPolicies and replace that type:
//
//     struct OAuthPolicies : keyward::DefaultPolicies {
//       using Refresh = keyward::refresh::OAuth2RefreshToken;
//     };
//
// Stateful policies are then configured through ResilientCredential's Components argument.
#pragma once

#include "keyward/attacher.hpp"
#include "keyward/classify/http_status.hpp"
#include "keyward/clock.hpp"
#include "keyward/cooldown/exponential_backoff.hpp"
#include "keyward/observer.hpp"
#include "keyward/preflight.hpp"
#include "keyward/refresh/static_credential.hpp"
#include "keyward/store/memory.hpp"

namespace keyward {

/// The default policy bundle.
struct DefaultPolicies {
  using Classifier = classify::HttpStatus;        ///< Status codes, RFC 6750, RFC 6749 errors.
  using Refresh = refresh::StaticCredential;      ///< Never refresh.
  using Cooldown = cooldown::ExponentialBackoff;  ///< BRIEF section 4 windows.
  using Attach = BearerAttacher;                  ///< `Authorization: Bearer`.
  using Preflight = preflight::Generic;           ///< Checks a credential before first use.
  using Store = store::Memory;                    ///< In memory; a persist hook makes it durable.
  using Clock = SystemClock;                      ///< The system clock.
  using Sleeper = ThreadSleeper;                  ///< Real sleeps between retries.
  using Observer = NoObserver;                    ///< No events.
};

}  // namespace keyward
