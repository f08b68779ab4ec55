// The one URL question keyward asks: may a credential be sent to this URL?
//
// Credentials go over HTTPS, or over plain HTTP only to a loopback host (localhost, 127.0.0.0/8,
// [::1]), where no network can read them. Anything else is refused unless the application opts in.
//
// The check runs on every send, so it reads the scheme and the authority once each, byte by byte,
// and never looks at the path, query or fragment: a long query costs nothing.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "keyward/detail/ascii.hpp"

namespace keyward::detail {

namespace url_internal {

/// Where the scheme of `url` ends: the index of the ':' of its first "://", or npos when a '/',
/// '?', '#' or a ':' not followed by "//" comes first (then the URL has no authority).
[[nodiscard]] constexpr std::size_t scheme_end(std::string_view url) noexcept {
  for (std::size_t i = 0; i < url.size(); ++i) {
    switch (url[i]) {
      case ':':
        return url.substr(i, 3) == "://" ? i : std::string_view::npos;
      case '/':
      case '?':
      case '#':
        return std::string_view::npos;
      default:
        break;
    }
  }
  return std::string_view::npos;
}

// What a byte means to the authority; everything else is part of it.
enum class Role : std::uint8_t { plain, end, at, colon, close };

inline constexpr auto kRoles = [] {
  std::array<Role, 256> roles{};
  // A backslash ends the authority too, as WHATWG URL parsers treat it for http(s).
  for (const char c : {'/', '?', '#', '\\'}) roles[static_cast<unsigned char>(c)] = Role::end;
  roles[static_cast<unsigned char>('@')] = Role::at;
  roles[static_cast<unsigned char>(':')] = Role::colon;
  roles[static_cast<unsigned char>(']')] = Role::close;
  return roles;
}();

/// The host of the authority that starts at `start`, in one pass over the authority only: it
/// ends at the first '/', '?', '#' or '\\'; the last '@' ends the userinfo; a ':' after the host
/// starts the port. IPv6 literals keep their brackets; an unclosed one is no host.
[[nodiscard]] constexpr std::string_view authority_host(std::string_view url,
                                                        std::size_t start) noexcept {
  constexpr auto npos = std::string_view::npos;
  std::size_t host = start;    // just after the last '@' so far
  std::size_t colon = npos;    // the first ':' after it
  std::size_t bracket = npos;  // the first ']' after it
  std::size_t end = start;
  for (; end < url.size(); ++end) {
    const Role role = kRoles[static_cast<unsigned char>(url[end])];
    if (role == Role::plain) continue;
    if (role == Role::end) break;
    if (role == Role::at) {
      host = end + 1;
      colon = npos;
      bracket = npos;
    } else if (role == Role::colon) {
      colon = std::min(colon, end);
    } else {
      bracket = std::min(bracket, end);
    }
  }
  if (host < end && url[host] == '[') {
    return bracket == npos ? std::string_view{} : url.substr(host, bracket + 1 - host);
  }
  return url.substr(host, (colon == npos ? end : colon) - host);
}

/// True when `url` begins with `scheme` (lower case) in any case, then "://".
[[nodiscard]] constexpr bool has_scheme(std::string_view url, std::string_view scheme) noexcept {
  const std::size_t n = scheme.size();
  if (url.size() < n + 3) return false;
  for (std::size_t i = 0; i < n; ++i) {
    if (to_lower(url[i]) != scheme[i]) return false;
  }
  return url[n] == ':' && url[n + 1] == '/' && url[n + 2] == '/';
}

}  // namespace url_internal

/// The scheme of an absolute URL, lower-cased comparison left to the caller ("" if none).
[[nodiscard]] constexpr std::string_view url_scheme(std::string_view url) noexcept {
  const auto end = url_internal::scheme_end(url);
  return end == std::string_view::npos ? std::string_view{} : url.substr(0, end);
}

/// The host of an absolute URL, without userinfo or port; IPv6 literals keep their brackets.
[[nodiscard]] constexpr std::string_view url_host(std::string_view url) noexcept {
  const auto end = url_internal::scheme_end(url);
  return end == std::string_view::npos ? std::string_view{}
                                       : url_internal::authority_host(url, end + 3);
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
  // "https" and "http" hold no ':' or '/', so a URL that starts with one of them and "://" has
  // that scheme: nothing before the authority needs scanning.
  if (url_internal::has_scheme(url, "https")) {
    return !url_internal::authority_host(url, 8).empty();
  }
  if (!url_internal::has_scheme(url, "http")) return false;
  return allow_insecure_http || is_loopback_host(url_internal::authority_host(url, 7));
}

}  // namespace keyward::detail
