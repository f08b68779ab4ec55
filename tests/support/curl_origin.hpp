// libcurl's own reading of a URL's origin (curl_url), for comparing keyward's URL grammar with it:
// tests/transport/url_differential_test.cpp and fuzz/url_curl_fuzz.cpp.
#pragma once

#include <arpa/inet.h>
#include <curl/curl.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/detail/ascii.hpp"
#include "keyward/detail/url_parts.hpp"

namespace keyward::testing {

struct CurlOrigin {
  std::string scheme;
  std::string host;
  std::string port;
};

// libcurl's reading of `text`, or nothing when libcurl refuses it.
inline std::optional<CurlOrigin> curl_origin(const std::string& text) {
  const std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url{curl_url(), &curl_url_cleanup};
  if (!url || curl_url_set(url.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return std::nullopt;
  }
  CurlOrigin out;
  const auto get = [&](CURLUPart part, unsigned flags, std::string& into) {
    char* value = nullptr;
    if (curl_url_get(url.get(), part, &value, flags) != CURLUE_OK) return false;
    into = value;
    curl_free(value);
    return true;
  };
  if (!get(CURLUPART_SCHEME, 0, out.scheme) || !get(CURLUPART_HOST, 0, out.host) ||
      !get(CURLUPART_PORT, CURLU_DEFAULT_PORT, out.port)) {
    return std::nullopt;
  }
  return out;
}

// The same host: equal but for ASCII case, or the same IPv6 address however written (libcurl
// writes IPv6 literals in their shortest form: [0:0:0:0:0:0:0:1] becomes [::1]).
inline bool same_host(std::string_view a, std::string_view b) {
  if (detail::iequals(a, b)) return true;
  if (a.size() < 2 || b.size() < 2 || a.front() != '[' || b.front() != '[') return false;
  const std::string inner_a{a.substr(1, a.size() - 2)};
  const std::string inner_b{b.substr(1, b.size() - 2)};
  in6_addr address_a{};
  in6_addr address_b{};
  return ::inet_pton(AF_INET6, inner_a.c_str(), &address_a) == 1 &&
         ::inet_pton(AF_INET6, inner_b.c_str(), &address_b) == 1 &&
         std::memcmp(&address_a, &address_b, sizeof address_a) == 0;
}

// True when `url` is refused by keyward, or libcurl reads from it the scheme, host and port
// keyward does.
inline bool curl_agrees(std::string_view url) {
  const auto parts = detail::split_url(url);
  if (!parts) return true;
  const auto curl = curl_origin(std::string{url});
  return curl && detail::iequals(curl->scheme, parts->https ? "https" : "http") &&
         same_host(curl->host, parts->host) && curl->port == std::to_string(parts->port);
}

}  // namespace keyward::testing
