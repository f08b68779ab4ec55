// Definitions for keyward/detail/jwt.hpp: included by it when header-only, compiled once by
// keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <chrono>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/detail/base64.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/jwt.hpp"

namespace keyward::detail {

namespace jwt_internal {

/// Decodes one base64url segment that must hold a JSON object.
inline std::optional<json::Value> decode_object(std::string_view segment) noexcept {
  const std::optional<std::string> bytes = base64url_decode(segment);
  if (!bytes) return std::nullopt;
  std::optional<json::Value> value = json::parse(*bytes);
  if (!value || !value->is_object()) return std::nullopt;
  return value;
}

/// Returns the claims of a JWS compact serialization whose protected header is a JSON object
/// with an "alg" string, whose payload is a JSON object and whose signature is base64url.
inline std::optional<json::Value> decode_claims(std::string_view token) noexcept {
  const std::size_t first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const std::size_t second = token.find('.', first + 1);
  // Exactly three segments: a JWE compact serialization has five and is never read here.
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  const std::optional<json::Value> header = decode_object(token.substr(0, first));
  if (!header || header->find("alg") == nullptr || !header->find("alg")->is_string()) {
    return std::nullopt;
  }
  // The signature is never checked, but it must at least be base64url (empty for "alg":"none").
  if (!base64url_decode(token.substr(second + 1))) return std::nullopt;
  return decode_object(token.substr(first + 1, second - first - 1));
}

}  // namespace jwt_internal

KEYWARD_DECL bool looks_like_jwt(std::string_view token) noexcept {
  return jwt_internal::decode_claims(token).has_value();
}

KEYWARD_DECL std::optional<std::chrono::sys_seconds> jwt_expiry(std::string_view token) noexcept {
  using std::chrono::seconds;
  using std::chrono::sys_seconds;
  const std::optional<json::Value> claims = jwt_internal::decode_claims(token);
  if (!claims) return std::nullopt;
  const json::Value* exp = nullptr;
  for (const auto& [name, value] : *claims->as_object()) {
    if (name != "exp") continue;
    // RFC 7519 section 4 lets a reader reject duplicate claim names; a reader that picked one of
    // two "exp" values could disagree with the server about which one counts.
    if (exp != nullptr) return std::nullopt;
    exp = &value;
  }
  const std::optional<double> number = exp != nullptr ? exp->as_number() : std::nullopt;
  // A NumericDate is a non-negative number of seconds and may have a fraction (RFC 7519
  // section 2); json::parse only ever yields finite numbers.
  if (!number || *number < 0) return std::nullopt;
  // 2^63 is the first double past seconds::max(); converting a double that is out of range for
  // the integer type would be undefined behaviour.
  constexpr double kPastMax = 9223372036854775808.0;
  if (*number >= kPastMax) return sys_seconds::max();
  return sys_seconds{seconds{static_cast<seconds::rep>(std::floor(*number))}};
}

}  // namespace keyward::detail
