// provider::Anthropic: the policy bundle for the Anthropic API.
//
// It classifies with classify::Anthropic and places credentials the way Anthropic requires: API
// keys in `x-api-key`; OAuth and long-lived bearer tokens as `Authorization: Bearer` together
// with the `anthropic-beta: oauth-2025-04-20` flag, merged into any beta flags the request
// already has (without it the API answers "OAuth authentication is currently not supported");
// `anthropic-version` when the request has none. Its Preflight checks the prefix each kind of
// Anthropic secret carries, so that an API key configured as an OAuth token is caught before the
// first request. OAuth logins refresh at Anthropic's token endpoint with a JSON body, given the
// client id of the application that logged in:
//
//     using Api = keyward::ResilientCredential<MyHttpClient, keyward::provider::Anthropic>;
//     Api api{client, keyward::Credential::oauth(access, refresh, expiry), {.profile = "work"},
//             {.refresh = keyward::provider::Anthropic::oauth_refresh("my-client-id")}};
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/attacher.hpp"
#include "keyward/classifier.hpp"
#include "keyward/classify/anthropic.hpp"
#include "keyward/credential.hpp"
#include "keyward/default_policies.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/preflight.hpp"
#include "keyward/provider/tuning.hpp"
#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "keyward/transport.hpp"

namespace keyward::provider {

/// Places Anthropic credentials: API keys in x-api-key, OAuth and bearer tokens as Bearer with
/// the OAuth beta flag; adds anthropic-version when missing.
struct AnthropicAttacher {
  static constexpr std::string_view kOAuthBeta = "oauth-2025-04-20";  ///< The OAuth beta flag.
  static constexpr std::string_view kApiVersion = "2023-06-01";       ///< The default version.

  /// The fields this credential places: its key or bearer token, anthropic-version, and the
  /// OAuth beta flag for OAuth and bearer tokens (in that order).
  [[nodiscard]] KEYWARD_DECL std::vector<Headers::Field> prepare(
      const Credential& credential) const;

  /// Lends the prepared fields, merging the OAuth flag into the request's own anthropic-beta
  /// and keeping its own anthropic-version; replaces any placement from an earlier attempt.
  void attach(Request& request, const Credential& credential,
              std::span<const Headers::Field> prepared) const {
    Headers& headers = request.headers;
    headers.lend({});
    headers.erase("authorization");
    headers.erase("x-api-key");
    const bool oauth = credential.kind != CredentialKind::api_key;
    const bool own_beta = headers.contains("anthropic-beta");
    if (own_beta || !oauth) merge_beta(headers, oauth);
    const bool lend_beta = oauth && !own_beta;  // the prepared beta field is the third
    if (!headers.contains("anthropic-version")) {
      headers.lend(prepared.first(lend_beta ? 3 : 2));
      return;
    }
    headers.lend(prepared.first(1));
    if (lend_beta) headers.set("anthropic-beta", std::string{kOAuthBeta});
  }

  /// Replaces any placement from an earlier attempt with this credential's.
  void attach(Request& request, const Credential& credential) const {
    Headers& headers = request.headers;
    headers.lend({});
    if (credential.kind == CredentialKind::api_key) {
      headers.erase("authorization");
      headers.set("x-api-key", std::string{credential.token.reveal()});
      merge_beta(headers, false);
    } else {
      headers.erase("x-api-key");
      std::string value = "Bearer ";
      value.append(credential.token.reveal());
      headers.set("authorization", std::move(value));
      merge_beta(headers, true);
    }
    if (!headers.contains("anthropic-version")) {
      headers.set("anthropic-version", std::string{kApiVersion});
    }
  }

 private:
  // anthropic-beta is a comma-separated list, possibly over several fields: the application's
  // own flags are kept, in order, in one field, with the OAuth flag added or removed.
  KEYWARD_DECL static void merge_beta(Headers& headers, bool oauth);
};

static_assert(PreparingAttacher<AnthropicAttacher>);

/// How a credential slot of this provider is named in findings: "an Anthropic API key", ...
[[nodiscard]] constexpr std::string_view describe_anthropic(CredentialKind kind) noexcept {
  switch (kind) {
    case CredentialKind::api_key:
      return "an Anthropic API key";
    case CredentialKind::oauth:
      return "an Anthropic OAuth token";
    case CredentialKind::bearer_token:
      break;
  }
  return "an Anthropic bearer token";
}

/// Anthropic's pre-flight checks: preflight::Generic, plus the prefix of each kind of secret
/// (API keys sk-ant-api03-, OAuth access tokens sk-ant-oat01-, refresh tokens sk-ant-ort01-).
struct AnthropicPreflight {
  preflight::Generic generic{};  ///< The checks that hold for every provider.

  /// Every problem found in `credential` at `now`.
  [[nodiscard]] KEYWARD_DECL std::vector<Finding> validate(const Credential& credential,
                                                           TimePoint now) const;
};

static_assert(Preflight<AnthropicPreflight>);

/// The policy bundle for the Anthropic API.
struct Anthropic : DefaultPolicies {
  using Classifier = classify::Anthropic;  ///< error.type first; credential-kind aware.
  using Attach = AnthropicAttacher;        ///< x-api-key, or Bearer with the OAuth beta flag.
  using Preflight = AnthropicPreflight;    ///< Generic checks plus Anthropic's prefixes.
  /// The refresh-token grant, with Anthropic's reading of token errors.
  using Refresh = refresh::BasicOAuth2RefreshToken<classify::Anthropic>;

  /// Anthropic's defaults; its token endpoint takes JSON bodies.
  [[nodiscard]] static constexpr Tuning tuning() noexcept {
    return {.base_url = "https://api.anthropic.com",
            .token_url = "https://platform.claude.com/v1/oauth/token",
            .token_body = refresh::BodyFormat::json};
  }

  /// Refreshes OAuth logins of the client `client_id` at Anthropic's token endpoint (or at
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
#include "keyward/provider/impl/anthropic.ipp"
#endif
