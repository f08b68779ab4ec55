// The helpers the provider classifiers share: challenges across fields, rate-limit windows, waits
// until a time, and key-echo redaction (error documents have error_document_test.cpp).
#include "keyward/classify/provider_support.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <string>
#include <string_view>

#include "support/fake_clock.hpp"

namespace keyward::classify {
namespace {

using namespace std::chrono_literals;

TEST(ChallengesTest, CollectsEveryFieldAndFindsTheFirstBearerOrDpopError) {
  const Headers headers{{"WWW-Authenticate", R"(Basic realm="a")"},
                        {"x-other", "Bearer error=\"nope\""},
                        {"www-authenticate", R"(Bearer realm="b", DPoP error="use_dpop_nonce")"},
                        {"www-authenticate", R"(Bearer error="invalid_token")"}};
  const auto challenges = all_challenges(headers);
  ASSERT_EQ(challenges.size(), 4U);
  const auto* error = error_challenge(challenges);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->scheme, "DPoP");
}

TEST(WindowWaitTest, PrefersTheLatestExhaustedWindowThenTheLatestOfAll) {
  const std::array<RateLimitWindow, 3> windows{{{false, 50s}, {true, 20s}, {true, 30s}}};
  EXPECT_EQ(*window_wait(windows, 1h), 30s);
  const std::array<RateLimitWindow, 2> none{{{false, 5s}, {false, 9s}}};
  EXPECT_EQ(*window_wait(none, 1h), 9s);
  const std::array<RateLimitWindow, 2> unknown{{{true, std::nullopt}, {false, 4s}}};
  EXPECT_EQ(*window_wait(unknown, 1h), 4s);
  EXPECT_EQ(*window_wait(windows, 25s), 25s);
  EXPECT_FALSE(window_wait({}, 1h));
}

TEST(IsZeroCountTest, AcceptsOnlyZero) {
  EXPECT_TRUE(is_zero_count("0"));
  EXPECT_TRUE(is_zero_count(" 00 "));
  EXPECT_FALSE(is_zero_count(""));
  EXPECT_FALSE(is_zero_count("10"));
  EXPECT_FALSE(is_zero_count("-0"));
}

TEST(WaitUntilTest, NamesOnlyFutureTimesAndSurvivesExtremeClocks) {
  const TimePoint now{testing::kFixtureNow};
  const auto at = std::chrono::floor<std::chrono::milliseconds>(now);
  EXPECT_EQ(*wait_until(at + 1500ms, now), 1500ms);
  EXPECT_FALSE(wait_until(at, now));
  EXPECT_FALSE(wait_until(at - 1s, now));
  EXPECT_TRUE(wait_until(at, TimePoint::min()));
  EXPECT_FALSE(wait_until(at, TimePoint::max()));
}

TEST(RedactKeyEchoesTest, ReplacesMaskedKeysAndKeepsTheRest) {
  std::string message = "Incorrect API key provided: sk-proj-****21sA. You can find it (sk-***x).";
  redact_key_echoes(message);
  EXPECT_EQ(message, "Incorrect API key provided: [redacted]. You can find it ([redacted]).");
  std::string plain = "nothing to hide * here ** either";
  redact_key_echoes(plain);
  EXPECT_EQ(plain, "nothing to hide * here ** either");
  std::string edge = "***";
  redact_key_echoes(edge);
  EXPECT_EQ(edge, "[redacted]");
}

TEST(RedactKeyEchoesTest, KeepsSpacesAndPunctuationOnlyWords) {
  std::string message = "  ... sk-***x  ((***)) ! ";
  redact_key_echoes(message);
  EXPECT_EQ(message, "  ... [redacted]  (([redacted])) ! ");
  std::string stars_inside_punctuation = "(*)**";
  redact_key_echoes(stars_inside_punctuation);
  EXPECT_EQ(stars_inside_punctuation, "(*)**");
}

TEST(RedactKeyEchoesTest, RedactsAMegabyteFullOfMaskedKeys) {
  constexpr std::string_view kPiece = "key sk-proj-****21sA, (sk-***x). * ok\t";
  constexpr std::string_view kRedactedPiece = "key [redacted], ([redacted]). * ok\t";
  std::string message;
  std::string expected;
  while (message.size() < (1U << 20U)) {
    message.append(kPiece).push_back(' ');
    expected.append(kRedactedPiece).push_back(' ');
  }
  redact_key_echoes(message);
  EXPECT_EQ(message, expected);
}

}  // namespace
}  // namespace keyward::classify
