// The public prefixes providers put on their secrets: what pre-flight checks compare against and
// the only part of a secret that fingerprint() ever shows.
#pragma once

#include <array>
#include <string_view>

namespace keyward::detail {

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
    {"ghu_", "a GitHub user-to-server token"},
    {"ghs_", "a GitHub server-to-server token"},
    {"glpat-", "a GitLab personal access token"},
    {"xoxb-", "a Slack bot token"},
    {"xoxp-", "a Slack user token"},
});

}  // namespace keyward::detail
