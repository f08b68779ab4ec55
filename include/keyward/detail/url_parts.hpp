// The parts of an absolute http(s) URL that sending and redirecting need: the origin (scheme,
// host, port; RFC 6454) and the request target (path and query, without the fragment).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/detail/ascii.hpp"
#include "keyward/detail/url.hpp"

namespace keyward::detail {

/// An absolute http(s) URL taken apart.
struct UrlParts {
  bool https = false;         ///< The scheme is https (else http).
  std::string_view host{};    ///< The host as written; IPv6 literals keep their brackets.
  std::uint16_t port = 0;     ///< The port, the scheme's default when none is written.
  std::string_view target{};  ///< The path and query, without the fragment; may be empty.

  /// The origin, normalised: lower-case scheme and host, and the port always written.
  [[nodiscard]] std::string origin() const {
    std::string out = https ? "https://" : "http://";
    for (const char c : host) out += to_lower(c);
    out += ':';
    out += std::to_string(port);
    return out;
  }
  /// The target as a request line needs it: "/" when empty, a leading "/" before a query.
  [[nodiscard]] std::string request_target() const {
    if (target.empty()) return "/";
    if (target.front() != '/') return "/" + std::string{target};
    return std::string{target};
  }
};

/// `url` taken apart, or nothing when it is not an absolute http(s) URL with a host and a valid
/// port.
[[nodiscard]] inline std::optional<UrlParts> split_url(std::string_view url) {
  const std::string_view scheme = url_scheme(url);
  UrlParts parts;
  if (iequals(scheme, "https")) {
    parts.https = true;
  } else if (!iequals(scheme, "http")) {
    return std::nullopt;
  }
  parts.host = url_host(url);
  if (parts.host.empty()) return std::nullopt;
  const std::size_t authority = scheme.size() + 3;
  std::size_t end = url.find_first_of("/?#\\", authority);
  if (end == std::string_view::npos) end = url.size();
  // url_host() returns a view into `url`; the host is the last thing in the authority but for an
  // optional ":port".
  const auto host_end =
      static_cast<std::size_t>(parts.host.data() - url.data()) + parts.host.size();
  std::string_view port = url.substr(host_end, end - host_end);
  parts.port = parts.https ? 443 : 80;
  if (!port.empty()) {
    if (port.front() != ':') return std::nullopt;
    port.remove_prefix(1);
    if (!port.empty()) {
      unsigned value = 0;
      for (const char c : port) {
        if (!is_digit(c) || value > 6553) return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
      }
      if (value == 0 || value > 65535) return std::nullopt;
      parts.port = static_cast<std::uint16_t>(value);
    }
  }
  std::string_view target = url.substr(end);
  if (const auto hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  parts.target = target;
  return parts;
}

/// True when `a` and `b` are absolute http(s) URLs of the same origin (scheme, host, port).
[[nodiscard]] inline bool same_origin(std::string_view a, std::string_view b) {
  const auto pa = split_url(a);
  const auto pb = split_url(b);
  return pa && pb && pa->https == pb->https && pa->port == pb->port && iequals(pa->host, pb->host);
}

}  // namespace keyward::detail
