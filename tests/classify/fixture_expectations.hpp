// What every provider classifier's fixture test checks, and how its parameterised cases are
// named, so that anthropic_test.cpp, openai_test.cpp, google_test.cpp and rfc6750_test.cpp read
// the fixtures the same way.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "keyward/classifier.hpp"
#include "support/fixtures.hpp"

namespace keyward::testing {

/// Checks `verdict` against everything the fixture expects.
inline void expect_fixture_verdict(const Fixture& f, const Verdict& verdict) {
  EXPECT_EQ(to_string(verdict.kind), f.kind);
  EXPECT_EQ(to_string(verdict.scope), f.scope);
  EXPECT_EQ(verdict.retryable, f.retryable);
  if (f.retry_after_ms) {
    ASSERT_TRUE(verdict.retry_after.has_value());
    EXPECT_EQ(verdict.retry_after->count(), *f.retry_after_ms);
  } else {
    EXPECT_FALSE(verdict.retry_after.has_value()) << verdict.retry_after->count();
  }
  if (f.provider_code) {
    EXPECT_EQ(verdict.provider_code, *f.provider_code);
  }
  EXPECT_EQ(verdict.status, f.response.status);
  // A misconfigured or quota verdict from a provider classifier always says what to do.
  if (f.provider != "generic" && (verdict.kind == VerdictKind::misconfigured ||
                                  verdict.kind == VerdictKind::quota_exhausted)) {
    EXPECT_FALSE(verdict.fix.empty());
  }
}

/// "anthropic/401-invalid-x-api-key-oauth.json" becomes "anthropic_401_invalid_x_api_key_oauth".
inline std::string fixture_test_name(const ::testing::TestParamInfo<Fixture>& info) {
  const std::string& file = info.param.name;
  std::string name;
  for (const char c : file.substr(0, file.size() - 5)) {
    name += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '_';
  }
  return name;
}

}  // namespace keyward::testing
