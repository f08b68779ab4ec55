// Definitions for keyward/provider/tuning.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "keyward/provider/tuning.hpp"
#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "keyward/transport.hpp"

namespace keyward::provider {

KEYWARD_DECL refresh::OAuth2Options oauth_options(const Tuning& tuning, std::string client_id,
                                                  std::string token_url) {
  refresh::OAuth2Options options;
  options.token_url = token_url.empty() ? std::string{tuning.token_url} : std::move(token_url);
  options.client_id = std::move(client_id);
  options.body_format = tuning.token_body;
  return options;
}

KEYWARD_DECL Request get_request(std::string_view base_url, std::string_view path) {
  while (base_url.ends_with('/')) base_url.remove_suffix(1);
  Request request;
  request.method = "GET";
  request.url.reserve(base_url.size() + path.size());
  request.url.append(base_url).append(path);
  return request;
}

}  // namespace keyward::provider
