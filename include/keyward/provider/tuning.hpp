// provider::Tuning: what a provider policy knows about its provider besides how to classify and
// place credentials: where its API and its OAuth token endpoint are, how that endpoint wants to
// be asked, and the classifier and cooldown settings that suit it.
//
// Every provider policy offers its values as `static constexpr Tuning tuning()`, for configuring
// the stateful policies through ResilientCredential's Components:
//
//     constexpr auto tuning = keyward::provider::Anthropic::tuning();
//     ... {.classifier = keyward::classify::Anthropic{tuning.classify},
//          .cooldown = keyward::cooldown::ExponentialBackoff{tuning.cooldown}} ...
#pragma once

#include <string>
#include <string_view>

#include "keyward/classify/http_status.hpp"
#include "keyward/cooldown/exponential_backoff.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "keyward/transport.hpp"

namespace keyward::provider {

/// A provider's defaults, usable in constant expressions.
struct Tuning {
  std::string_view base_url{};   ///< The API's base URL, without a trailing slash.
  std::string_view token_url{};  ///< Its OAuth token endpoint; empty when it has none to offer.
  refresh::BodyFormat token_body = refresh::BodyFormat::form;  ///< How refreshes are encoded.
  classify::HttpStatus::Options classify{};                    ///< The classifier's tuning.
  cooldown::ExponentialBackoff::Options cooldown{};            ///< Cooldown windows.
};

/// The refresh-token grant's options for a provider: its token endpoint (or `token_url` when
/// given) and body format, with the client id a user must supply.
[[nodiscard]] KEYWARD_DECL refresh::OAuth2Options oauth_options(const Tuning& tuning,
                                                                std::string client_id,
                                                                std::string token_url = {});

/// A GET request for `path` under `base_url`, whatever trailing slash the base URL has.
[[nodiscard]] KEYWARD_DECL Request get_request(std::string_view base_url, std::string_view path);

}  // namespace keyward::provider

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/provider/impl/tuning.ipp"
#endif
