// The one URL question keyward asks: may a credential be sent to this URL?
//
// Credentials go over HTTPS, or over plain HTTP only to a loopback host (localhost, 127.0.0.0/8,
// [::1]), where no network can read them. Anything else is refused unless the application opts in.
//
// The check runs on every send, so it reads the scheme and the authority once each, byte by byte,
// and never looks at the path, query or fragment: a long query costs nothing.
//
// Why this header is over 300 lines: the grammar is one piece (scheme, authority, host, IPv6
// literal, dotted quad, port) that every decision and both transports must share, so that no two
// parts of keyward can read a URL differently; split, it would invite a second reader.
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

/// True for 0-9, a-f, A-F.
[[nodiscard]] constexpr bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
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

namespace url_internal {

/// The number of groups in `text`, 1-4 hex digits each and separated by single ':', or -1 when
/// it is not that (an empty `text` has none).
[[nodiscard]] constexpr int ipv6_groups(std::string_view text) noexcept {
  if (text.empty()) return 0;
  int groups = 0;
  std::size_t digits = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ':') {
      if (digits == 0 || digits > 4) return -1;
      ++groups;
      digits = 0;
    } else if (is_hex(text[i])) {
      ++digits;
    } else {
      return -1;
    }
  }
  return groups;
}

/// True when `text` (inside the brackets) is an IPv6 address in hex groups: eight groups, or
/// fewer with one "::". Zone identifiers and the embedded-IPv4 form are not accepted.
[[nodiscard]] constexpr bool is_ipv6(std::string_view text) noexcept {
  const std::size_t gap = text.find("::");
  if (gap == std::string_view::npos) return ipv6_groups(text) == 8;
  if (text.find("::", gap + 1) != std::string_view::npos) return false;
  const int head = ipv6_groups(text.substr(0, gap));
  const int tail = ipv6_groups(text.substr(gap + 2));
  return head >= 0 && tail >= 0 && head + tail <= 7;
}

}  // namespace url_internal

/// The authority of an http(s) URL as keyward reads it, or the reason it refuses it.
struct Authority {
  std::string_view problem{};  ///< Empty when the authority is accepted; else what is wrong.
  std::string_view host{};     ///< The host; IPv6 literals keep their brackets.
  std::uint32_t port = 0;      ///< The port written, 0 when none is.
  std::size_t end = 0;         ///< Where the authority ends (the path, query or fragment).
};

namespace url_internal {

/// Why a byte may not appear in an authority, or "" when it may.
[[nodiscard]] constexpr std::string_view authority_byte_problem(unsigned char c) noexcept {
  if (c == '\\') return "a backslash before the path (parsers disagree on where the host ends)";
  if (c == '@') return "userinfo ('@') in the authority";
  if (c <= 0x20 || c == 0x7f) return "a control or space character in the authority";
  if (c == '%') return "percent-encoding in the host";
  if (c >= 0x80) return "a non-ASCII host";
  return {};
}

/// True for exactly four decimal octets of 1-3 digits, each <= 255, without leading zeros.
[[nodiscard]] constexpr bool is_dotted_quad(std::string_view rest) noexcept {
  for (int octets = 0; octets < 4; ++octets) {
    if (octets > 0) {
      if (rest.empty() || rest.front() != '.') return false;
      rest.remove_prefix(1);
    }
    std::size_t digits = 0;
    int value = 0;
    while (digits < rest.size() && digits < 4 && is_digit(rest[digits])) {
      value = value * 10 + (rest[digits] - '0');
      ++digits;
    }
    if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && rest[0] == '0')) return false;
    rest.remove_prefix(digits);
  }
  return rest.empty();
}

/// Why a host name (not an IPv6 literal) is refused, or "" when it is accepted.
[[nodiscard]] constexpr std::string_view host_name_problem(std::string_view host) noexcept {
  if (host.empty()) return "an empty host";
  std::size_t label = 0;  // where the current label starts
  std::size_t last = 0;   // where the last non-empty label starts
  for (std::size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      if (i == label && i != host.size()) return "an empty label in the host";
      if (i > label) last = label;
      label = i + 1;
    } else if (const char c = host[i]; !is_digit(c) && !is_alpha(c) && c != '-' && c != '_') {
      return "an invalid character in the host";
    }
  }
  // A host whose last label is a number is an IPv4 address to resolvers, which also read
  // octal, hex and fewer than four parts: only the plain dotted quad means one thing.
  std::string_view tail = host.substr(last);
  if (!tail.empty() && tail.back() == '.') tail.remove_suffix(1);
  if (!tail.empty() && is_digit(tail.front()) && !is_dotted_quad(host)) {
    return "a numeric host that is not a dotted-quad IPv4 address";
  }
  return {};
}

/// The port after its ':' (1-65535), or 0 when it is not one.
[[nodiscard]] constexpr std::uint32_t parse_port(std::string_view port) noexcept {
  if (port.empty() || port.size() > 5) return 0;
  std::uint32_t value = 0;
  for (const char c : port) {
    if (!is_digit(c)) return 0;
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return value <= 65535 ? value : 0;
}

}  // namespace url_internal

/// The authority of `url` that starts at `start`, read once under one grammar, and refused
/// whenever parsers could disagree on where it goes: it ends at the first '/', '?' or '#'; a
/// backslash, userinfo ('@'), control or space characters, percent-encoding or non-ASCII bytes
/// in it, an empty or invalid host, a number-like host that is not a dotted quad, or a port that
/// is not 1-65535 are refused.
[[nodiscard]] constexpr Authority parse_authority(std::string_view url,
                                                  std::size_t start) noexcept {
  Authority out;
  std::size_t end = start;
  for (; end < url.size(); ++end) {
    const auto c = static_cast<unsigned char>(url[end]);
    if (c == '/' || c == '?' || c == '#') break;
    out.problem = url_internal::authority_byte_problem(c);
    if (!out.problem.empty()) return out;
  }
  out.end = end;
  std::string_view authority = url.substr(start, end - start);
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return {"an unclosed IPv6 literal", {}, 0, end};
    out.host = authority.substr(0, close + 1);
    if (!url_internal::is_ipv6(out.host.substr(1, out.host.size() - 2))) {
      return {"an invalid IPv6 literal", {}, 0, end};
    }
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') {
      return {"text after an IPv6 literal", {}, 0, end};
    }
    port = authority;
  } else {
    const std::size_t colon = authority.find(':');
    out.host = authority.substr(0, colon);
    port = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon);
    if (auto problem = url_internal::host_name_problem(out.host); !problem.empty()) {
      return {problem, {}, 0, end};
    }
  }
  if (!port.empty()) {
    out.port = url_internal::parse_port(port.substr(1));  // after the ':'
    if (out.port == 0) return {"an invalid port", {}, 0, end};
  }
  return out;
}

/// Why keyward refuses `url` as an absolute http(s) URL, or "" when it accepts it: the scheme
/// is http or https followed by "://", and the authority passes parse_authority().
[[nodiscard]] constexpr std::string_view url_problem(std::string_view url) noexcept {
  std::size_t start = 0;
  if (url_internal::has_scheme(url, "https")) {
    start = 8;
  } else if (url_internal::has_scheme(url, "http")) {
    start = 7;
  } else {
    return "not an absolute http or https URL";
  }
  return parse_authority(url, start).problem;
}

/// True when a credential may be sent to `url`: HTTPS, or plain HTTP to a loopback host, and
/// an authority keyward accepts (parse_authority()).
[[nodiscard]] constexpr bool url_allows_credentials(std::string_view url,
                                                    bool allow_insecure_http) noexcept {
  // "https" and "http" hold no ':' or '/', so a URL that starts with one of them and "://" has
  // that scheme: nothing before the authority needs scanning.
  if (url_internal::has_scheme(url, "https")) return parse_authority(url, 8).problem.empty();
  if (!url_internal::has_scheme(url, "http")) return false;
  const Authority authority = parse_authority(url, 7);
  return authority.problem.empty() && (allow_insecure_http || is_loopback_host(authority.host));
}

}  // namespace keyward::detail
