// Definitions for keyward/provider/google.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/credential.hpp"
#include "keyward/preflight.hpp"
#include "keyward/preflight/prefix.hpp"
#include "keyward/provider/google.hpp"
#include "keyward/provider/tuning.hpp"
#include "keyward/refresh/oauth2_refresh_token.hpp"

namespace keyward::provider {

KEYWARD_DECL std::vector<Finding> GooglePreflight::validate(const Credential& credential,
                                                            TimePoint now) const {
  static constexpr auto kApiKeys = std::to_array<std::string_view>({"AIza"});
  static constexpr auto kAccessTokens = std::to_array<std::string_view>({"ya29."});
  static constexpr auto kRefreshTokens = std::to_array<std::string_view>({"1//"});
  std::vector<Finding> findings = generic.validate(credential, now);
  const bool api_key = credential.kind == CredentialKind::api_key;
  // Vertex AI also takes tokens of other shapes (workload identity federation): only an API
  // key is required to look like one.
  preflight::check_prefix(findings, credential.token.reveal(),
                          {.accepted = api_key ? std::span<const std::string_view>{kApiKeys}
                                               : std::span<const std::string_view>{kAccessTokens},
                           .required = api_key,
                           .subject = "this",
                           .configured = describe_google(credential.kind),
                           .expectation = "Google API keys start with AIza"});
  const std::string_view key = preflight::trim_pasted(credential.token.reveal());
  if (api_key && key.starts_with("AIza") && key.size() != kApiKeyLength) {
    findings.push_back({"wrong_length",
                        "Google API keys are 39 characters long, and this one "
                        "has " +
                            std::to_string(key.size()) +
                            ": it was probably cut or joined when pasted"});
  }
  if (credential.kind == CredentialKind::oauth && !credential.refresh_token.empty()) {
    preflight::check_prefix(findings, credential.refresh_token.reveal(),
                            {.accepted = kRefreshTokens,
                             .required = false,
                             .subject = "the refresh token",
                             .configured = "a refresh token: the two tokens may be swapped"});
  }
  return findings;
}

KEYWARD_DECL Google::Refresh Google::oauth_refresh(std::string client_id, Secret client_secret,
                                                   std::string token_url) {
  refresh::OAuth2Options options =
      oauth_options(tuning(), std::move(client_id), std::move(token_url));
  options.client_secret = std::move(client_secret);
  options.client_auth = refresh::ClientAuth::client_secret_post;
  return Refresh{std::move(options)};
}

}  // namespace keyward::provider
