// provider::Rfc6750: the policy bundle for any OAuth-protected API (RFC 6750 bearer tokens).
//
// It classifies with classify::Rfc6750 (WWW-Authenticate first, then classify::HttpStatus), sends
// the credential as `Authorization: Bearer`, and runs the provider-independent pre-flight checks.
// Such APIs have no common health endpoint, so the health request is the URL the application
// names.
#pragma once

#include <string>
#include <string_view>

#include "keyward/attacher.hpp"
#include "keyward/classify/rfc6750.hpp"
#include "keyward/default_policies.hpp"
#include "keyward/preflight.hpp"
#include "keyward/provider/tuning.hpp"
#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "keyward/transport.hpp"

namespace keyward::provider {

/// The policy bundle for OAuth-protected APIs.
struct Rfc6750 : DefaultPolicies {
  using Classifier = classify::Rfc6750;  ///< WWW-Authenticate first, then HttpStatus.
  using Attach = BearerAttacher;         ///< `Authorization: Bearer`.
  using Preflight = preflight::Generic;  ///< The provider-independent checks.
  /// The refresh-token grant; configure it with the API's token endpoint and client id.
  using Refresh = refresh::OAuth2RefreshToken;

  /// The defaults: no base URL or token endpoint is known for an arbitrary API.
  [[nodiscard]] static constexpr Tuning tuning() noexcept { return {}; }

  /// A GET of `url`, a resource that needs the credential and costs nothing (a userinfo or
  /// profile endpoint, say).
  [[nodiscard]] static Request health_request(std::string_view url) {
    Request request;
    request.url = url;
    return request;
  }
};

}  // namespace keyward::provider
