// Definitions for keyward/refresh/oauth2_refresh_token.hpp: included by it when header-only,
// compiled once by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION
// (keyward/detail/config.hpp).
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/credential.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/text.hpp"
#include "keyward/detail/url.hpp"
#include "keyward/detail/wipe.hpp"
#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "keyward/refresh_strategy.hpp"
#include "keyward/transport.hpp"

namespace keyward::refresh::oauth2_internal {

KEYWARD_DECL void check_options(const OAuth2Options& options) {
  if (!detail::url_allows_credentials(options.token_url, options.allow_insecure_http)) {
    throw std::invalid_argument(
        "keyward::refresh::OAuth2RefreshToken: token_url must be an absolute https URL (or "
        "http to a loopback host)");
  }
  if (options.client_auth != ClientAuth::none &&
      (options.client_id.empty() || options.client_secret.empty())) {
    throw std::invalid_argument(
        "keyward::refresh::OAuth2RefreshToken: client_secret_basic and client_secret_post "
        "need both client_id and client_secret");
  }
}

// RFC 6749 section 2.3.1: both parts are form-encoded before base64.
KEYWARD_DECL Secret basic_credentials(const OAuth2Options& options) {
  std::string text;
  detail::append_form_encoded(text, options.client_id);
  text += ':';
  detail::append_form_encoded(text, options.client_secret.reveal());
  Secret pair{detail::base64_encode(text)};
  detail::wipe(text);
  return pair;
}

KEYWARD_DECL std::vector<Secret> secrets(const OAuth2Options& options) {
  if (options.client_secret.empty()) return {};
  if (options.client_auth != ClientAuth::client_secret_basic) return {options.client_secret};
  return {options.client_secret, basic_credentials(options)};
}

KEYWARD_DECL Request token_request(const OAuth2Options& options, const Credential& current) {
  Request request{
      .method = "POST", .url = options.token_url, .headers = options.extra_headers, .body = {}};
  request.headers.set("accept", "application/json");
  const bool secret_in_body = options.client_auth == ClientAuth::client_secret_post;
  const bool id_in_body =
      options.client_auth != ClientAuth::client_secret_basic && !options.client_id.empty();
  if (options.client_auth == ClientAuth::client_secret_basic) {
    request.headers.set("authorization",
                        "Basic " + std::string{basic_credentials(options).reveal()});
  }
  const auto fields = std::to_array<std::pair<std::string_view, std::string_view>>({
      {"grant_type", "refresh_token"},
      {"refresh_token", current.refresh_token.reveal()},
      {"client_id", id_in_body ? std::string_view{options.client_id} : std::string_view{}},
      {"client_secret", secret_in_body ? options.client_secret.reveal() : std::string_view{}},
      {"scope", options.scope},
  });
  std::string& body = request.body;
  if (options.body_format == BodyFormat::json) {
    request.headers.set("content-type", "application/json");
    body += '{';
    for (const auto& [name, value] : fields) {
      if (value.empty()) continue;
      if (body.size() > 1) body += ',';
      detail::append_json_string(body, name);
      body += ':';
      detail::append_json_string(body, value);
    }
    body += '}';
  } else {
    request.headers.set("content-type", "application/x-www-form-urlencoded");
    for (const auto& [name, value] : fields) {
      if (value.empty()) continue;
      if (!body.empty()) body += '&';
      body += name;
      body += '=';
      detail::append_form_encoded(body, value);
    }
  }
  return request;
}

// A non-negative number of seconds, sent as a JSON number or, by some servers, as a string.
inline std::optional<std::chrono::seconds> whole_seconds(const detail::json::Value* value) {
  if (value == nullptr) return std::nullopt;
  std::optional<double> number = value->as_number();
  if (const auto* text = value->as_string(); !number && text != nullptr) {
    if (const auto parsed = detail::json::parse(*text)) number = parsed->as_number();
  }
  constexpr double kTenYears = 10.0 * 365 * 24 * 3600;
  if (!number || !(*number >= 0) || *number > kTenYears) return std::nullopt;
  return std::chrono::seconds{static_cast<std::chrono::seconds::rep>(*number)};
}

KEYWARD_DECL RefreshOutcome parse_token_response(std::string_view body, const Credential& current,
                                                 TimePoint now) {
  const auto json = detail::json::parse(body);
  RefreshOutcome outcome;
  outcome.credential.kind = CredentialKind::oauth;
  outcome.credential.token = std::string{json->string_or("access_token")};
  const auto rotated = json->string_or("refresh_token");
  outcome.rotated = !rotated.empty() && rotated != current.refresh_token.reveal();
  outcome.credential.refresh_token =
      rotated.empty() ? current.refresh_token : Secret{std::string{rotated}};
  if (const auto seconds = whole_seconds(json->find("expires_in"))) {
    outcome.credential.expires_at = now + *seconds;
  }
  outcome.refresh_in = whole_seconds(json->find("refresh_in"));
  return outcome;
}

}  // namespace keyward::refresh::oauth2_internal
