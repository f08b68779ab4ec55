// Definitions for keyward/provider/openai.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <array>
#include <span>
#include <string_view>
#include <vector>

#include "keyward/credential.hpp"
#include "keyward/preflight.hpp"
#include "keyward/preflight/prefix.hpp"
#include "keyward/provider/openai.hpp"

namespace keyward::provider {

KEYWARD_DECL std::vector<Finding> OpenAIPreflight::validate(const Credential& credential,
                                                            TimePoint now) const {
  static constexpr auto kKeys =
      std::to_array<std::string_view>({"sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"});
  static constexpr std::array<std::string_view, 0> kNoKeys{};
  std::vector<Finding> findings = generic.validate(credential, now);
  // An OAuth token may look like anything but a key: only a known prefix is a finding.
  const bool oauth = credential.kind == CredentialKind::oauth;
  preflight::check_prefix(findings, credential.token.reveal(),
                          {.accepted = oauth ? std::span<const std::string_view>{kNoKeys}
                                             : std::span<const std::string_view>{kKeys},
                           .required = !oauth,
                           .subject = "this",
                           .configured = oauth ? "an OAuth token" : "an OpenAI API key",
                           .expectation = "OpenAI API keys start with sk-"});
  return findings;
}

}  // namespace keyward::provider
