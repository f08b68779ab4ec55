// The URL check as it was before it became one pass over scheme and authority (detail/url.hpp),
// kept as the reference the new one must agree with: it searched the whole URL for "://" and
// scanned the authority once per character set. The unit tests and the url fuzz target compare
// the two.
#pragma once

#include <string_view>

#include "keyward/detail/ascii.hpp"
#include "keyward/detail/url.hpp"

namespace keyward::detail::url_reference {

/// What precedes the first "://" anywhere in the URL.
constexpr std::string_view url_scheme(std::string_view url) noexcept {
  const auto colon = url.find("://");
  return colon == std::string_view::npos ? std::string_view{} : url.substr(0, colon);
}

/// The host after the first "://", without userinfo or port.
constexpr std::string_view url_host(std::string_view url) noexcept {
  const auto start = url.find("://");
  if (start == std::string_view::npos) return {};
  std::string_view authority = url.substr(start + 3);
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

/// True when a credential may be sent to `url`: HTTPS, or plain HTTP to a loopback host.
/// The refusals of ambiguous authorities (detail::url_problem()) are shared with the real check.
constexpr bool url_allows_credentials(std::string_view url, bool allow_insecure_http) noexcept {
  if (!detail::url_problem(url).empty()) return false;
  const auto scheme = url_reference::url_scheme(url);
  if (iequals(scheme, "https")) return !url_reference::url_host(url).empty();
  if (!iequals(scheme, "http")) return false;
  return allow_insecure_http || is_loopback_host(url_reference::url_host(url));
}

}  // namespace keyward::detail::url_reference
