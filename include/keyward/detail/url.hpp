// The one URL question keyward asks: may a credential be sent to this URL?
//
// Credentials go over HTTPS, or over plain HTTP only to a loopback host (localhost, 127.0.0.0/8,
// [::1]), where no network can read them. Anything else is refused unless the application opts in.
#pragma once

#include <cstddef>
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
  // A backslash ends the authority too, as WHATWG URL parsers treat it for http(s).
  authority = authority.substr(0, authority.find_first_of("/?#\\"));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    return close == std::string_view::npos ? std::string_view{} : authority.substr(0, close + 1);
  }
  return authority.substr(0, authority.find(':'));
}

/// True for localhost, any 127.0.0.0/8 address in dotted-quad form, and [::1].
[[nodiscard]] constexpr bool is_loopback_host(std::string_view host) noexcept {
  if (iequals(host, "localhost") || host == "[::1]") return true;
  // Exactly four decimal octets of 1-3 digits, each <= 255, the first 127: anything else is a
  // name a resolver might send anywhere.
  int octets = 0;
  while (octets < 4) {
    std::size_t digits = 0;
    int value = 0;
    while (digits < host.size() && digits < 4 && is_digit(host[digits])) {
      value = value * 10 + (host[digits] - '0');
      ++digits;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    if (octets == 0 && value != 127) return false;
    host.remove_prefix(digits);
    ++octets;
    if (octets < 4) {
      if (host.empty() || host.front() != '.') return false;
      host.remove_prefix(1);
    }
  }
  return host.empty();
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
