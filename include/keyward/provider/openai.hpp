// provider::OpenAI: the policy bundle for the OpenAI API.
//
// It classifies with classify::OpenAI (`error.code` first, so that `insufficient_quota` is not
// taken for a rate limit) and sends every kind of credential as `Authorization: Bearer`. Its
// Preflight checks that API keys carry OpenAI's `sk-` prefix and that no API key is configured
// as an OAuth token (OpenAI's OAuth access tokens are JWTs). API keys never refresh; OAuth
// logins refresh at OpenAI's token endpoint through oauth_refresh(client_id).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/attacher.hpp"
#include "keyward/classifier.hpp"
#include "keyward/classify/openai.hpp"
#include "keyward/credential.hpp"
#include "keyward/default_policies.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/preflight.hpp"
#include "keyward/provider/tuning.hpp"
#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "keyward/transport.hpp"

namespace keyward::provider {

/// OpenAI's pre-flight checks: preflight::Generic, plus OpenAI's `sk-` key prefixes.
struct OpenAIPreflight {
  preflight::Generic generic{};  ///< The checks that hold for every provider.

  /// Every problem found in `credential` at `now`.
  [[nodiscard]] KEYWARD_DECL std::vector<Finding> validate(const Credential& credential,
                                                           TimePoint now) const;
};

static_assert(Preflight<OpenAIPreflight>);

/// The policy bundle for the OpenAI API.
struct OpenAI : DefaultPolicies {
  using Classifier = classify::OpenAI;  ///< error.code, then error.type; reset headers.
  using Attach = BearerAttacher;        ///< `Authorization: Bearer`.
  using Preflight = OpenAIPreflight;    ///< Generic checks plus OpenAI's prefixes.
  /// The refresh-token grant, with OpenAI's reading of token errors (refresh_token_reused).
  using Refresh = refresh::BasicOAuth2RefreshToken<classify::OpenAI>;

  /// OpenAI's defaults: API keys are static; OAuth logins refresh at auth.openai.com (form body).
  [[nodiscard]] static constexpr Tuning tuning() noexcept {
    return {.base_url = "https://api.openai.com",
            .token_url = "https://auth.openai.com/oauth/token"};
  }

  /// Refreshes OAuth logins of the client `client_id` at OpenAI's token endpoint (or at
  /// `token_url`); throws std::invalid_argument when `token_url` is not https.
  [[nodiscard]] static Refresh oauth_refresh(std::string client_id, std::string token_url = {}) {
    return Refresh{oauth_options(tuning(), std::move(client_id), std::move(token_url))};
  }

  /// A request that tests the credential without cost: `GET /v1/models`.
  [[nodiscard]] static Request health_request(std::string_view base_url = tuning().base_url) {
    return get_request(base_url, "/v1/models");
  }
};

}  // namespace keyward::provider

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/provider/impl/openai.ipp"
#endif
