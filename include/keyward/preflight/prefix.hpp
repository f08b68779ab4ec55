// Prefix rules for provider pre-flight validators: the public prefixes providers put on their
// secrets, and check_prefix(), which reports a secret in the wrong slot by naming what it is
// ("this is an Anthropic API key (sk-ant-api03-) but it is configured as an OAuth token") or
// what the slot expects. Messages name prefixes only, never any other part of a secret.
#pragma once

#include <algorithm>
#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/preflight.hpp"

namespace keyward::preflight {

/// A public prefix that a provider puts on one kind of secret, and what to call that kind.
struct KnownPrefix {
  std::string_view prefix;  ///< The prefix, e.g. "sk-ant-api03-".
  std::string_view what;    ///< What a secret with it is, e.g. "an Anthropic API key".
};

/// The published prefixes of the secrets keyward knows, most specific first.
inline constexpr auto kKnownPrefixes = std::to_array<KnownPrefix>({
    {"sk-ant-api03-", "an Anthropic API key"},
    {"sk-ant-admin01-", "an Anthropic Admin API key"},
    {"sk-ant-oat01-", "an Anthropic OAuth access token"},
    {"sk-ant-ort01-", "an Anthropic OAuth refresh token"},
    {"sk-ant-", "an Anthropic key"},
    {"sk-proj-", "an OpenAI project API key"},
    {"sk-svcacct-", "an OpenAI service account key"},
    {"sk-admin-", "an OpenAI admin key"},
    {"sk-", "an OpenAI API key"},
    {"AIza", "a Google API key"},
    {"ya29.", "a Google OAuth access token"},
    {"1//", "a Google OAuth refresh token"},
    {"github_pat_", "a GitHub personal access token"},
    {"ghp_", "a GitHub personal access token"},
    {"gho_", "a GitHub OAuth token"},
});

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
  std::span<const std::string_view> accepted;  ///< Prefixes the slot accepts.
  bool required = true;          ///< False: an unknown prefix is fine, only known others are not.
  std::string_view subject;      ///< "this" or "the refresh token", starting the message.
  std::string_view configured;   ///< "an OAuth token": what the slot is configured as.
  std::string_view expectation;  ///< "Anthropic API keys start with sk-ant-api03-".
};

/// Adds a "wrong_prefix" finding when `secret` does not start with a prefix `rule` accepts,
/// naming what the secret is when it carries another known prefix.
inline void check_prefix(std::vector<Finding>& findings, std::string_view secret,
                         const PrefixRule& rule) {
  using preflight_internal::join;
  secret = trim_pasted(secret);
  if (secret.empty()) return;
  const auto accepted = [&rule](std::string_view prefix) {
    return std::ranges::find(rule.accepted, prefix) != rule.accepted.end();
  };
  if (const KnownPrefix* known = find_prefix(secret)) {
    if (accepted(known->prefix)) return;
    findings.push_back({"wrong_prefix", join(rule.subject, " is ", known->what, " (", known->prefix,
                                             ") but it is configured as ", rule.configured)});
    return;
  }
  const bool starts_accepted = std::ranges::any_of(
      rule.accepted, [secret](std::string_view prefix) { return secret.starts_with(prefix); });
  if (starts_accepted || !rule.required) return;
  findings.push_back({"wrong_prefix", join(rule.expectation, ", and ", rule.subject,
                                           rule.subject == "this" ? " token" : "", " does not")});
}

}  // namespace keyward::preflight
