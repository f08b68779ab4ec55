// Prefix rules for provider pre-flight validators: the public prefixes providers put on their
// secrets, and check_prefix(), which reports a secret in the wrong slot by naming what it is
// ("this is an Anthropic API key (sk-ant-api03-) but it is configured as an OAuth token") or
// what the slot expects. Messages name prefixes only, never any other part of a secret.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "keyward/detail/config.hpp"
#include "keyward/detail/known_prefixes.hpp"
#include "keyward/preflight.hpp"

namespace keyward::preflight {

using detail::kKnownPrefixes;  ///< The published prefixes keyward knows, most specific first.
using detail::KnownPrefix;     ///< A public prefix and what to call its kind of secret.

/// The secret without the surrounding whitespace and quotes that Generic reports on its own.
[[nodiscard]] constexpr std::string_view trim_pasted(std::string_view secret) noexcept {
  constexpr std::string_view kPasted = " \t\r\n\"'";
  const std::size_t first = secret.find_first_not_of(kPasted);
  if (first == std::string_view::npos) return {};
  return secret.substr(first, secret.find_last_not_of(kPasted) - first + 1);
}

/// The first entry of `known` whose prefix `secret` starts with, else nullptr.
[[nodiscard]] constexpr const KnownPrefix* find_prefix(
    std::string_view secret, std::span<const KnownPrefix> known = kKnownPrefixes) noexcept {
  for (const auto& entry : known) {
    if (secret.starts_with(entry.prefix)) return &entry;
  }
  return nullptr;
}

/// What a slot of a credential must hold, for check_prefix().
struct PrefixRule {
  std::span<const std::string_view> accepted{};  ///< Prefixes the slot accepts.
  bool required = true;            ///< False: an unknown prefix is fine, only known others are not.
  std::string_view subject{};      ///< "this" or "the refresh token", starting the message.
  std::string_view configured{};   ///< "an OAuth token": what the slot is configured as.
  std::string_view expectation{};  ///< "Anthropic API keys start with sk-ant-api03-".
};

/// Adds a "wrong_prefix" finding when `secret` does not start with a prefix `rule` accepts,
/// naming what the secret is when it carries another known prefix.
KEYWARD_DECL void check_prefix(std::vector<Finding>& findings, std::string_view secret,
                               const PrefixRule& rule);

}  // namespace keyward::preflight

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/preflight/impl/prefix.ipp"
#endif
