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

/// Why keyward refuses `url` for sending or redirecting (split_url()), or "" when it accepts
/// it.
[[nodiscard]] inline std::string_view split_url_problem(std::string_view url) {
  if (const std::string_view problem = url_problem(url); !problem.empty()) return problem;
  for (const char c : url) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) return "a control or space character in the URL";
    if (c == '\\') return "a backslash in the URL";
  }
  return {};
}

/// `url` taken apart, or nothing when keyward refuses it (split_url_problem() says why): not an
/// absolute http(s) URL, an ambiguous authority (parse_authority()), or a backslash, control or
/// space character anywhere in it.
[[nodiscard]] inline std::optional<UrlParts> split_url(std::string_view url) {
  if (!split_url_problem(url).empty()) return std::nullopt;
  UrlParts parts;
  parts.https = url_scheme(url).size() == 5;
  const Authority authority = parse_authority(url, parts.https ? 8 : 7);
  parts.host = authority.host;
  parts.port = authority.port != 0 ? static_cast<std::uint16_t>(authority.port)
                                   : static_cast<std::uint16_t>(parts.https ? 443 : 80);
  std::string_view target = url.substr(authority.end);
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
