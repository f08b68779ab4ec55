// preflight/prefix.hpp: trimming pasted secrets, finding the most specific known prefix, and
// check_prefix() naming what a secret in the wrong slot is, without repeating the secret.
#include "keyward/preflight/prefix.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "preflight/finding_checks.hpp"

namespace keyward::preflight {
namespace {

using testing::expect_no_secret;

const std::string kKey = "Xq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3Hj5Gs0TyUe";

TEST(PrefixHelpersTest, TrimPastedDropsWhitespaceAndQuotes) {
  EXPECT_EQ(trim_pasted(" \"sk-abc\"\n"), "sk-abc");
  EXPECT_EQ(trim_pasted("\n \t"), "");
  EXPECT_EQ(trim_pasted("a b"), "a b");
}

TEST(PrefixHelpersTest, FindPrefixPrefersTheMostSpecific) {
  ASSERT_NE(find_prefix("sk-ant-api03-xyz"), nullptr);
  EXPECT_EQ(find_prefix("sk-ant-api03-xyz")->prefix, "sk-ant-api03-");
  EXPECT_EQ(find_prefix("sk-ant-zzz")->prefix, "sk-ant-");
  EXPECT_EQ(find_prefix("sk-proj-1")->prefix, "sk-proj-");
  EXPECT_EQ(find_prefix("xyz"), nullptr);
}

TEST(PrefixHelpersTest, CheckPrefixNamesAKnownOtherKindOrTheExpectation) {
  static constexpr auto kAccepted = std::to_array<std::string_view>({"sk-ant-oat01-"});
  const PrefixRule rule{.accepted = kAccepted,
                        .subject = "this",
                        .configured = "an OAuth token",
                        .expectation = "OAuth tokens start with sk-ant-oat01-"};
  std::vector<Finding> findings;
  check_prefix(findings, "sk-ant-oat01-" + kKey, rule);
  EXPECT_TRUE(findings.empty());
  check_prefix(findings, "AIza" + kKey, rule);
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].message,
            "this is a Google API key (AIza) but it is configured as an OAuth token");
  check_prefix(findings, kKey, rule);
  ASSERT_EQ(findings.size(), 2U);
  EXPECT_EQ(findings[1].message, "OAuth tokens start with sk-ant-oat01-, and this token does not");
  PrefixRule optional = rule;
  optional.required = false;
  check_prefix(findings, kKey, optional);
  check_prefix(findings, "", rule);
  EXPECT_EQ(findings.size(), 2U);
  expect_no_secret(findings, "AIza" + kKey);
}

}  // namespace
}  // namespace keyward::preflight
