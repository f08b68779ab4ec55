#include "keyward/detail/retry_after.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace keyward::detail {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

constexpr milliseconds kMax = milliseconds::max();

system_clock::time_point at(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  using namespace std::chrono;
  return system_clock::time_point{sys_days{year{y} / month{m} / day{d}}} + hours{hh} + minutes{mm} +
         seconds{ss};
}

// Half a minute before the RFC 9110 example date, 1994-11-06 08:49:37 UTC.
const system_clock::time_point kNow = at(1994, 11, 6, 8, 49, 7);

static_assert(parse_delta_seconds("120") == milliseconds{120000});
static_assert(parse_retry_after_ms("1500.5") == milliseconds{1500});

// ---- delta-seconds ----

TEST(DeltaSecondsTest, ParsesRfcExample) {
  EXPECT_EQ(parse_delta_seconds("120"), milliseconds{120000});
}

TEST(DeltaSecondsTest, ParsesZeroAndLeadingZeros) {
  EXPECT_EQ(parse_delta_seconds("0"), milliseconds{0});
  EXPECT_EQ(parse_delta_seconds("007"), milliseconds{7000});
  EXPECT_EQ(parse_delta_seconds("0000000000000000000000000001"), milliseconds{1000});
}

TEST(DeltaSecondsTest, ToleratesSurroundingSpacesAndTabs) {
  EXPECT_EQ(parse_delta_seconds("  120\t"), milliseconds{120000});
  EXPECT_EQ(parse_delta_seconds("\t5 "), milliseconds{5000});
}

TEST(DeltaSecondsTest, RejectsEmptyAndBlank) {
  EXPECT_EQ(parse_delta_seconds(""), std::nullopt);
  EXPECT_EQ(parse_delta_seconds(" \t "), std::nullopt);
}

TEST(DeltaSecondsTest, RejectsSignsFractionsAndGarbage) {
  for (const std::string_view text :
       {"-1", "+1", "1.5", "1.", ".5", "1e3", "12a", "a12", "1 2", "0x10", "1,000", "\xEF\xBC\x91",
        "120s", "\r120", "120\n", "Sun, 06 Nov 1994 08:49:37 GMT"}) {
    EXPECT_EQ(parse_delta_seconds(text), std::nullopt) << text;
  }
}

TEST(DeltaSecondsTest, SaturatesInsteadOfOverflowing) {
  // milliseconds::max() is 9223372036854775807, so 9223372036854775 s still fits exactly.
  EXPECT_EQ(parse_delta_seconds("9223372036854775"), milliseconds{9223372036854775000LL});
  EXPECT_EQ(parse_delta_seconds("9223372036854776"), kMax);
  EXPECT_EQ(parse_delta_seconds("18446744073709551616"), kMax);
  EXPECT_EQ(parse_delta_seconds(std::string(5000, '9')), kMax);
}

TEST(DeltaSecondsTest, RejectsGarbageAfterSaturating) {
  EXPECT_EQ(parse_delta_seconds("99999999999999999999999x"), std::nullopt);
  EXPECT_EQ(parse_delta_seconds("99999999999999999999999 1"), std::nullopt);
}

// ---- retry-after-ms ----

TEST(RetryAfterMsTest, ParsesWholeMilliseconds) {
  EXPECT_EQ(parse_retry_after_ms("1500"), milliseconds{1500});
  EXPECT_EQ(parse_retry_after_ms("0"), milliseconds{0});
  EXPECT_EQ(parse_retry_after_ms("00250"), milliseconds{250});
}

TEST(RetryAfterMsTest, TruncatesFractionalPart) {
  EXPECT_EQ(parse_retry_after_ms("1500.5"), milliseconds{1500});
  EXPECT_EQ(parse_retry_after_ms("1500.999999"), milliseconds{1500});
  EXPECT_EQ(parse_retry_after_ms("0.9"), milliseconds{0});
  EXPECT_EQ(parse_retry_after_ms("7.000"), milliseconds{7});
}

TEST(RetryAfterMsTest, ToleratesSurroundingSpacesAndTabs) {
  EXPECT_EQ(parse_retry_after_ms(" 250 "), milliseconds{250});
  EXPECT_EQ(parse_retry_after_ms("\t1500.5\t"), milliseconds{1500});
}

TEST(RetryAfterMsTest, RejectsNegativeValues) {
  EXPECT_EQ(parse_retry_after_ms("-1"), std::nullopt);
  EXPECT_EQ(parse_retry_after_ms("-0"), std::nullopt);
  EXPECT_EQ(parse_retry_after_ms("-0.5"), std::nullopt);
}

TEST(RetryAfterMsTest, RejectsEmptyAndMalformedNumbers) {
  for (const std::string_view text : {"", "   ", ".", ".5", "5.", "1.2.3", "1..2", "+5", "1 000",
                                      "1,5", "0x1F", "1e3", "1E3", "1.5e2", "12ms", "1. 5"}) {
    EXPECT_EQ(parse_retry_after_ms(text), std::nullopt) << text;
  }
}

TEST(RetryAfterMsTest, RejectsNanAndInfinity) {
  for (const std::string_view text :
       {"NaN", "nan", "-nan", "inf", "INF", "-inf", "Infinity", "+Infinity", "1.#INF", "1.#QNAN"}) {
    EXPECT_EQ(parse_retry_after_ms(text), std::nullopt) << text;
  }
}

TEST(RetryAfterMsTest, SaturatesInsteadOfOverflowing) {
  EXPECT_EQ(parse_retry_after_ms("9223372036854775807"), kMax);
  EXPECT_EQ(parse_retry_after_ms("9223372036854775806.9"), milliseconds{9223372036854775806LL});
  EXPECT_EQ(parse_retry_after_ms("9223372036854775808"), kMax);
  EXPECT_EQ(parse_retry_after_ms("99999999999999999999.5"), kMax);
  EXPECT_EQ(parse_retry_after_ms("99999999999999999999.x"), std::nullopt);
}

// ---- Retry-After ----

TEST(RetryAfterTest, ParsesDeltaSeconds) {
  EXPECT_EQ(parse_retry_after("120", kNow), milliseconds{120000});
  EXPECT_EQ(parse_retry_after(" 0 ", kNow), milliseconds{0});
}

TEST(RetryAfterTest, ParsesImfFixdateRelativeToNow) {
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kNow), milliseconds{30000});
}

TEST(RetryAfterTest, ParsesObsoleteDateForms) {
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", kNow), milliseconds{30000});
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", kNow), milliseconds{30000});
}

TEST(RetryAfterTest, ToleratesSurroundingWhitespaceAroundDates) {
  EXPECT_EQ(parse_retry_after("\t Sun, 06 Nov 1994 08:49:37 GMT \t", kNow), milliseconds{30000});
}

TEST(RetryAfterTest, AccountsForSubSecondNow) {
  using std::chrono::microseconds;
  const system_clock::time_point date = at(1994, 11, 6, 8, 49, 37);
  const std::string_view text = "Sun, 06 Nov 1994 08:49:37 GMT";
  EXPECT_EQ(parse_retry_after(text, date - milliseconds{750}), milliseconds{750});
  EXPECT_EQ(parse_retry_after(text, date - milliseconds{1250}), milliseconds{1250});
  // Partial milliseconds are truncated, like the fraction in retry-after-ms.
  EXPECT_EQ(parse_retry_after(text, date - microseconds{2500}), milliseconds{2});
  EXPECT_EQ(parse_retry_after(text, date - microseconds{500}), milliseconds{0});
}

TEST(RetryAfterTest, GivesZeroForDatesInThePast) {
  const std::string_view text = "Sun, 06 Nov 1994 08:49:37 GMT";
  EXPECT_EQ(parse_retry_after(text, at(1994, 11, 6, 8, 49, 37)), milliseconds{0});
  EXPECT_EQ(parse_retry_after(text, at(1994, 11, 6, 8, 49, 37) + milliseconds{1}), milliseconds{0});
  EXPECT_EQ(parse_retry_after(text, at(2024, 1, 1)), milliseconds{0});
  EXPECT_EQ(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", at(2024, 1, 1)), milliseconds{0});
}

TEST(RetryAfterTest, ResolvesTwoDigitYearsAgainstNow) {
  // From 2024 "94" means 1994 (the past); from 1990 it is four years ahead.
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", at(2024, 6, 1)), milliseconds{0});
  const std::optional<milliseconds> ahead =
      parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", at(1990, 11, 6, 8, 49, 37));
  ASSERT_TRUE(ahead.has_value());
  EXPECT_EQ(*ahead, std::chrono::duration_cast<milliseconds>(at(1994, 11, 6) - at(1990, 11, 6)));
}

TEST(RetryAfterTest, HandlesFarFutureDatesWithoutOverflow) {
  const std::optional<milliseconds> delay =
      parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", system_clock::time_point{});
  EXPECT_EQ(delay, milliseconds{(253402214400LL + 86399) * 1000});
}

TEST(RetryAfterTest, SaturatesHugeDeltaSeconds) {
  EXPECT_EQ(parse_retry_after("99999999999999999999999999", kNow), kMax);
}

TEST(RetryAfterTest, SurvivesExtremeNowValues) {
  const std::string_view date = "Sun, 06 Nov 1994 08:49:37 GMT";
  const std::optional<milliseconds> from_min =
      parse_retry_after(date, system_clock::time_point::min());
  ASSERT_TRUE(from_min.has_value());
  EXPECT_GT(*from_min, milliseconds{0});
  EXPECT_EQ(parse_retry_after(date, system_clock::time_point::max()), milliseconds{0});
  EXPECT_TRUE(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", system_clock::time_point::min()));
  EXPECT_TRUE(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", system_clock::time_point::max()));
  EXPECT_EQ(parse_retry_after("120", system_clock::time_point::max()), milliseconds{120000});
}

TEST(RetryAfterTest, RejectsInvalidValues) {
  for (const std::string_view text :
       {"", "  ", "soon", "-5", "+5", "1.5", "120 seconds", "120, 60", "Sun, 06 Nov 1994",
        "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 GMT, 120",
        "sun, 06 nov 1994 08:49:37 gmt", "Wed, 29 Feb 2023 00:00:00 GMT"}) {
    EXPECT_EQ(parse_retry_after(text, kNow), std::nullopt) << text;
  }
}

TEST(RetryAfterTest, SurvivesPseudoRandomInput) {
  std::mt19937 rng(120u);
  const std::string_view alphabet = "0123456789.-+ \teE,SunNovGMT:";
  for (int i = 0; i < 5000; ++i) {
    std::string text;
    const std::size_t len = rng() % 32;
    for (std::size_t j = 0; j < len; ++j) {
      text.push_back(rng() % 2 == 0 ? alphabet[rng() % alphabet.size()]
                                    : static_cast<char>(rng() % 256));
    }
    const auto check = [&](std::optional<milliseconds> result) {
      if (result) {
        EXPECT_GE(*result, milliseconds{0}) << text;
      }
    };
    check(parse_delta_seconds(text));
    check(parse_retry_after_ms(text));
    check(parse_retry_after(text, kNow));
  }
}

}  // namespace
}  // namespace keyward::detail
