// Definitions for keyward/preflight/prefix.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/detail/known_prefixes.hpp"
#include "keyward/preflight.hpp"
#include "keyward/preflight/prefix.hpp"

namespace keyward::preflight {

KEYWARD_DECL void check_prefix(std::vector<Finding>& findings, std::string_view secret,
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
