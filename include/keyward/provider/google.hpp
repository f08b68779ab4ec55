// provider::Google: the policy bundle for Google's Gemini API and Vertex AI.
//
// It classifies with classify::Google (ErrorInfo reasons first: a bad key is a 400, a leaked one
// a 403) and places API keys in `x-goog-api-key` (never in the URL, where logs keep them) and
// OAuth access tokens as `Authorization: Bearer`. Its Preflight checks that API keys look like
// Google's (`AIza`, 39 characters) and that no API key is configured as an OAuth token or the
// other way round.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/attacher.hpp"
#include "keyward/classifier.hpp"
#include "keyward/classify/google.hpp"
#include "keyward/credential.hpp"
#include "keyward/default_policies.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/preflight.hpp"
#include "keyward/provider/tuning.hpp"
#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "keyward/transport.hpp"

namespace keyward::provider {

/// Places Google credentials: API keys in x-goog-api-key, OAuth and bearer tokens as Bearer.
struct GoogleAttacher {
  /// The field this credential places: x-goog-api-key for an API key, else a bearer token.
  [[nodiscard]] std::vector<Headers::Field> prepare(const Credential& credential) const {
    if (credential.kind == CredentialKind::api_key) {
      return {{"x-goog-api-key", std::string{credential.token.reveal()}}};
    }
    return BearerAttacher{}.prepare(credential);
  }
  /// Lends the prepared field, replacing any placement from an earlier attempt.
  void attach(Request& request, const Credential& /*credential*/,
              std::span<const Headers::Field> prepared) const {
    request.headers.lend({});
    request.headers.erase("authorization");
    request.headers.erase("x-goog-api-key");
    request.headers.lend(prepared);
  }
  /// Replaces any placement from an earlier attempt with this credential's.
  void attach(Request& request, const Credential& credential) const {
    request.headers.lend({});
    request.headers.erase("authorization");
    request.headers.erase("x-goog-api-key");
    for (auto& [name, value] : prepare(credential)) request.headers.set(name, std::move(value));
  }
};

static_assert(PreparingAttacher<GoogleAttacher>);

/// How a credential slot of this provider is named in findings: "a Google API key", ...
[[nodiscard]] constexpr std::string_view describe_google(CredentialKind kind) noexcept {
  switch (kind) {
    case CredentialKind::api_key:
      return "a Google API key";
    case CredentialKind::oauth:
      return "a Google OAuth token";
    case CredentialKind::bearer_token:
      break;
  }
  return "a Google bearer token";
}

/// Google's pre-flight checks: preflight::Generic, plus the shape of Google API keys.
struct GooglePreflight {
  preflight::Generic generic{};  ///< The checks that hold for every provider.

  static constexpr std::size_t kApiKeyLength = 39;  ///< "AIza" and 35 more characters.

  /// Every problem found in `credential` at `now`.
  [[nodiscard]] KEYWARD_DECL std::vector<Finding> validate(const Credential& credential,
                                                           TimePoint now) const;
};

static_assert(Preflight<GooglePreflight>);

/// The policy bundle for the Gemini API and Vertex AI.
struct Google : DefaultPolicies {
  using Classifier = classify::Google;  ///< ErrorInfo reason, then error.status; RetryInfo.
  using Attach = GoogleAttacher;        ///< x-goog-api-key, or Bearer for OAuth tokens.
  using Preflight = GooglePreflight;    ///< Generic checks plus the shape of Google's keys.
  /// The refresh-token grant, with Google's reading of token errors.
  using Refresh = refresh::BasicOAuth2RefreshToken<classify::Google>;

  /// Google's defaults: the Gemini API and Google's OAuth token endpoint.
  [[nodiscard]] static constexpr Tuning tuning() noexcept {
    return {.base_url = "https://generativelanguage.googleapis.com",
            .token_url = "https://oauth2.googleapis.com/token"};
  }

  /// Refreshes OAuth logins of the client `client_id` at Google's token endpoint (or at
  /// `token_url`), sending the client secret in the body as Google's installed apps do.
  [[nodiscard]] KEYWARD_DECL static Refresh oauth_refresh(std::string client_id,
                                                          Secret client_secret,
                                                          std::string token_url = {});

  /// A request that tests the credential without cost: `GET /v1beta/models`.
  [[nodiscard]] static Request health_request(std::string_view base_url = tuning().base_url) {
    return get_request(base_url, "/v1beta/models");
  }
};

}  // namespace keyward::provider

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/provider/impl/google.ipp"
#endif
