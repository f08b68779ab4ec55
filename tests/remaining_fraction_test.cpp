// detail::remaining_fraction's one-pass reject: whatever the case of the field names, among
// other long fields, the rate-limit fields are still found; without them nothing is.
#include <gtest/gtest.h>

#include "keyward/pool/selection.hpp"

namespace keyward {
namespace {

TEST(RemainingFraction, FindsTheFieldsInAnyCaseAmongOtherLongFields) {
  const Headers headers{{"Anthropic-Organization-Id", "0b1c"},
                        {"X-Request-Id-Of-A-Long-Proxy", "1"},
                        {"Anthropic-RateLimit-Requests-Remaining", "10"},
                        {"ANTHROPIC-RATELIMIT-REQUESTS-LIMIT", "40"}};
  ASSERT_TRUE(detail::remaining_fraction(headers));
  EXPECT_DOUBLE_EQ(*detail::remaining_fraction(headers), 0.25);
  const Headers openai{{"X-RateLimit-Remaining-Requests", "3"},
                       {"X-RateLimit-Limit-Requests", "4"}};
  EXPECT_DOUBLE_EQ(*detail::remaining_fraction(openai), 0.75);
}

TEST(RemainingFraction, NothingWithoutARateLimitField) {
  EXPECT_FALSE(detail::remaining_fraction(Headers{}));
  EXPECT_FALSE(detail::remaining_fraction(Headers{{"anthropic-organization-id", "0b1c"},
                                                  {"x-ratelimit-", "1"},
                                                  {"anthropic-ratelimit-", "1"},
                                                  {"content-type", "application/json"}}));
}

}  // namespace
}  // namespace keyward
