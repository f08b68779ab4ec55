// The one URL question keyward asks: may a credential be sent to this URL?
//
// Credentials go over HTTPS, or over plain HTTP only to a loopback host (localhost, 127.0.0.0/8,
// [::1]), where no network can read them. Anything else is refused unless the application opts in.
#pragma once

#include <string_view>

#include "keyward/detail/ascii.hpp"

namespace keyward::detail {

/// The scheme of an absolute URL, lower-cased comparison left to the caller ("" if none).
[[nodiscard]] constexpr std::string_view url_scheme(std::string_view url) noexcept {
  const auto colon = url.find("://");
  return colon == std::string_view::npos ? std::string_view{} : url.substr(0, colon);
}

/// The host of an absolute URL, without userinfo or port; IPv6 literals keep their brackets.
[[nodiscard]] constexpr std::string_view url_host(std::string_view url) noexcept {
  const auto start = url.find("://");
  if (start == std::string_view::npos) return {};
  std::string_view authority = url.substr(start + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    return close == std::string_view::npos ? std::string_view{} : authority.substr(0, close + 1);
  }
  return authority.substr(0, authority.find(':'));
}

/// True for localhost, any 127.0.0.0/8 address and [::1].
[[nodiscard]] constexpr bool is_loopback_host(std::string_view host) noexcept {
  if (iequals(host, "localhost") || host == "[::1]") return true;
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  for (const char c : host) {
    if (c == '.') {
      ++dots;
    } else if (!is_digit(c)) {
      return false;
    }
  }
  return dots == 3;
}

/// True when a credential may be sent to `url`: HTTPS, or plain HTTP to a loopback host.
[[nodiscard]] constexpr bool url_allows_credentials(std::string_view url,
                                                    bool allow_insecure_http) noexcept {
  const auto scheme = url_scheme(url);
  if (iequals(scheme, "https")) return !url_host(url).empty();
  if (!iequals(scheme, "http")) return false;
  return allow_insecure_http || is_loopback_host(url_host(url));
}

}  // namespace keyward::detail
