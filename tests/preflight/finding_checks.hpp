// Checks shared by the pre-flight tests: which codes were found, and that no finding repeats any
// part of a secret beyond the public prefix a provider puts on it.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/detail/ascii.hpp"
#include "keyward/preflight.hpp"
#include "keyward/preflight/prefix.hpp"

namespace keyward::testing {

/// The codes of `findings`, in order.
inline std::vector<std::string> codes(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  out.reserve(findings.size());
  for (const auto& finding : findings) out.push_back(finding.code);
  return out;
}

/// The finding with `code`, or an empty one.
inline Finding finding(const std::vector<Finding>& findings, std::string_view code) {
  const auto it = std::find_if(findings.begin(), findings.end(),
                               [code](const Finding& f) { return f.code == code; });
  return it != findings.end() ? *it : Finding{};
}

/// Expects that no finding contains any 5 consecutive characters of `secret` after its public
/// prefix and a pasted "Bearer " (its middle and its end): a message may name those, never the
/// secret.
inline void expect_no_secret(const std::vector<Finding>& findings, std::string_view secret) {
  secret = preflight::trim_pasted(secret);
  if (secret.size() >= 7 && detail::iequals(secret.substr(0, 7), "Bearer ")) {
    secret.remove_prefix(7);
  }
  const auto* known = preflight::find_prefix(secret);
  const std::size_t skip = known != nullptr ? known->prefix.size() : 0;
  constexpr std::size_t kWindow = 5;
  for (const auto& f : findings) {
    for (std::size_t i = skip; i + kWindow <= secret.size(); ++i) {
      const std::string_view piece = secret.substr(i, kWindow);
      EXPECT_EQ(f.message.find(piece), std::string::npos)
          << "finding " << f.code << " repeats part of the secret: " << f.message;
      EXPECT_EQ(f.code.find(piece), std::string::npos);
    }
  }
}

}  // namespace keyward::testing
