// Parser for WWW-Authenticate field values (RFC 9110 section 11.6.1).
//
// The field is a comma-separated list of challenges, and each challenge's auth-params are
// themselves comma-separated, so commas alone cannot split it: an element that is a token followed
// by "=" continues the current challenge, anything else starts a new one. The parser is a single
// forward pass (each byte is looked at a bounded number of times), rejects the whole value on the
// first syntax error, and throws nothing but std::bad_alloc.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/detail/ascii.hpp"
#include "keyward/detail/config.hpp"

namespace keyward::detail {

/// One name=value auth-param; the name is lower-cased and the value is fully unquoted.
struct AuthParam {
  std::string name;
  std::string value;
};

/// One challenge: its scheme plus either a token68 or a list of auth-params.
struct Challenge {
  std::string scheme;
  std::optional<std::string> token68;
  std::vector<AuthParam> params;

  /// Returns the value of the first auth-param named `name` (ASCII case-insensitive), else nullptr.
  const std::string* param(std::string_view name) const noexcept {
    for (const AuthParam& p : params) {
      if (iequals(p.name, name)) return &p.value;
    }
    return nullptr;
  }
};

/// Parses a WWW-Authenticate field value into its challenges, or std::nullopt if malformed.
KEYWARD_DECL std::optional<std::vector<Challenge>> parse_www_authenticate(std::string_view header);

/// Returns the first challenge whose scheme equals `scheme` ASCII case-insensitively, else nullptr.
inline const Challenge* find_challenge(const std::vector<Challenge>& challenges,
                                       std::string_view scheme) noexcept {
  for (const Challenge& challenge : challenges) {
    if (iequals(challenge.scheme, scheme)) return &challenge;
  }
  return nullptr;
}

}  // namespace keyward::detail

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/detail/impl/www_authenticate.ipp"
#endif
