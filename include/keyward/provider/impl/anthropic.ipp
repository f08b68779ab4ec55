// Definitions for keyward/provider/anthropic.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/attacher.hpp"
#include "keyward/credential.hpp"
#include "keyward/detail/ascii.hpp"
#include "keyward/preflight.hpp"
#include "keyward/preflight/prefix.hpp"
#include "keyward/provider/anthropic.hpp"
#include "keyward/transport.hpp"

namespace keyward::provider {

KEYWARD_DECL std::vector<Headers::Field> AnthropicAttacher::prepare(
    const Credential& credential) const {
  std::vector<Headers::Field> fields;
  if (credential.kind == CredentialKind::api_key) {
    fields.emplace_back("x-api-key", std::string{credential.token.reveal()});
  } else {
    fields = BearerAttacher{}.prepare(credential);
  }
  fields.emplace_back("anthropic-version", std::string{kApiVersion});
  if (credential.kind != CredentialKind::api_key) {
    fields.emplace_back("anthropic-beta", std::string{kOAuthBeta});
  }
  return fields;
}

// anthropic-beta is a comma-separated list, possibly over several fields: the application's
// own flags are kept, in order, in one field, with the OAuth flag added or removed.
KEYWARD_DECL void AnthropicAttacher::merge_beta(Headers& headers, bool oauth) {
  std::string merged;
  bool present = false;
  for (const auto& [name, value] : headers) {
    if (!detail::iequals(name, "anthropic-beta")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const std::size_t comma = std::min(rest.find(','), rest.size());
      const std::string_view flag = detail::trim_ows(rest.substr(0, comma));
      rest.remove_prefix(std::min(comma + 1, rest.size()));
      if (flag.empty()) continue;
      if (detail::iequals(flag, kOAuthBeta)) {
        if (!oauth || std::exchange(present, true)) continue;
      }
      if (!merged.empty()) merged.push_back(',');
      merged.append(flag);
    }
  }
  if (oauth && !present) {
    if (!merged.empty()) merged.push_back(',');
    merged.append(kOAuthBeta);
  }
  if (merged.empty()) {
    headers.erase("anthropic-beta");
  } else {
    headers.set("anthropic-beta", std::move(merged));
  }
}

KEYWARD_DECL std::vector<Finding> AnthropicPreflight::validate(const Credential& credential,
                                                               TimePoint now) const {
  static constexpr auto kApiKeys =
      std::to_array<std::string_view>({"sk-ant-api03-", "sk-ant-admin01-"});
  static constexpr auto kAccessTokens = std::to_array<std::string_view>({"sk-ant-oat01-"});
  static constexpr auto kRefreshTokens = std::to_array<std::string_view>({"sk-ant-ort01-"});
  std::vector<Finding> findings = generic.validate(credential, now);
  const bool api_key = credential.kind == CredentialKind::api_key;
  preflight::check_prefix(
      findings, credential.token.reveal(),
      {.accepted = api_key ? std::span<const std::string_view>{kApiKeys}
                           : std::span<const std::string_view>{kAccessTokens},
       .subject = "this",
       .configured = describe_anthropic(credential.kind),
       .expectation = api_key ? "Anthropic API keys start with sk-ant-api03-"
                              : "Anthropic OAuth and setup tokens start with sk-ant-oat01-"});
  if (credential.kind == CredentialKind::oauth && !credential.refresh_token.empty()) {
    preflight::check_prefix(
        findings, credential.refresh_token.reveal(),
        {.accepted = kRefreshTokens,
         .subject = "the refresh token",
         .configured = "a refresh token: the two tokens may be swapped",
         .expectation = "Anthropic OAuth refresh tokens start with sk-ant-ort01-"});
  }
  return findings;
}

}  // namespace keyward::provider
