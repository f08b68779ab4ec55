#include "keyward/detail/http_date.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace keyward::detail {
namespace {

using std::chrono::sys_seconds;

sys_seconds at(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  using namespace std::chrono;
  return sys_seconds{sys_days{year{y} / month{m} / day{d}}} + hours{hh} + minutes{mm} + seconds{ss};
}

// A fixed "now" keeps two-digit-year resolution deterministic: 2024-06-01 00:00:00 UTC.
const sys_seconds kNow = at(2024, 6, 1);

std::optional<sys_seconds> parse(std::string_view text, sys_seconds now = kNow) {
  return parse_http_date(text, now);
}

// The RFC 9110 section 5.6.7 example instant, 1994-11-06 08:49:37 UTC.
constexpr sys_seconds kRfcExample{std::chrono::seconds{784111777}};

static_assert(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", sys_seconds{}) == kRfcExample,
              "parse_http_date is usable in constant expressions");

TEST(HttpDateTest, ParsesRfcImfFixdateExample) {
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 GMT"), kRfcExample);
}

TEST(HttpDateTest, ParsesRfcObsoleteRfc850Example) {
  EXPECT_EQ(parse("Sunday, 06-Nov-94 08:49:37 GMT"), kRfcExample);
}

TEST(HttpDateTest, ParsesRfcAsctimeExampleWithSingleDigitDay) {
  EXPECT_EQ(parse("Sun Nov  6 08:49:37 1994"), kRfcExample);
}

TEST(HttpDateTest, ParsesAsctimeWithTwoDigitDay) {
  EXPECT_EQ(parse("Thu Feb 29 23:59:59 2024"), at(2024, 2, 29, 23, 59, 59));
}

TEST(HttpDateTest, ParsesAsctimeWithZeroPaddedDay) {
  EXPECT_EQ(parse("Sun Nov 06 08:49:37 1994"), kRfcExample);
}

TEST(HttpDateTest, ParsesEpochAndPreEpochDates) {
  EXPECT_EQ(parse("Thu, 01 Jan 1970 00:00:00 GMT"), sys_seconds{});
  EXPECT_EQ(parse("Mon, 01 Jan 1900 00:00:00 GMT"),
            sys_seconds{std::chrono::seconds{-2208988800LL}});
}

TEST(HttpDateTest, ParsesExtremeFourDigitYears) {
  EXPECT_EQ(parse("Fri, 31 Dec 9999 23:59:59 GMT"),
            sys_seconds{std::chrono::seconds{253402214400LL + 86399}});
  EXPECT_EQ(parse("Sat, 01 Jan 0000 00:00:00 GMT"), at(0, 1, 1));
}

TEST(HttpDateTest, ParsesEveryMonthAndDayName) {
  const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (unsigned m = 1; m <= 12; ++m) {
    const std::string text = std::string("Mon, 01 ") + months[m - 1] + " 2001 00:00:00 GMT";
    EXPECT_EQ(parse(text), at(2001, m, 1)) << text;
  }
  const char* const short_days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  const char* const long_days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                   "Friday", "Saturday", "Sunday"};
  for (int i = 0; i < 7; ++i) {
    const std::string imf = std::string(short_days[i]) + ", 06 Nov 1994 08:49:37 GMT";
    const std::string rfc850 = std::string(long_days[i]) + ", 06-Nov-94 08:49:37 GMT";
    const std::string asctime = std::string(short_days[i]) + " Nov  6 08:49:37 1994";
    EXPECT_EQ(parse(imf), kRfcExample) << imf;
    EXPECT_EQ(parse(rfc850), kRfcExample) << rfc850;
    EXPECT_EQ(parse(asctime), kRfcExample) << asctime;
  }
}

TEST(HttpDateTest, AcceptsFebruary29InLeapYears) {
  EXPECT_EQ(parse("Thu, 29 Feb 2024 12:00:00 GMT"), at(2024, 2, 29, 12));
  EXPECT_EQ(parse("Tue, 29 Feb 2000 00:00:00 GMT"), at(2000, 2, 29));
  EXPECT_EQ(parse("Tue Feb 29 00:00:00 2000"), at(2000, 2, 29));
}

TEST(HttpDateTest, RejectsFebruary29OutsideLeapYears) {
  EXPECT_EQ(parse("Wed, 29 Feb 2023 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Thu, 29 Feb 1900 00:00:00 GMT"), std::nullopt);  // Century, not leap.
  EXPECT_EQ(parse("Mon, 29 Feb 2100 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Wed Feb 29 00:00:00 2023"), std::nullopt);
}

TEST(HttpDateTest, RejectsDaysBeyondTheEndOfTheMonth) {
  EXPECT_EQ(parse("Fri, 30 Feb 2024 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Thu, 31 Apr 2024 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Mon, 31 Jun 2024 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Tue, 31 Sep 2024 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 31 Nov 2024 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Tue, 31 Dec 2024 00:00:00 GMT"), at(2024, 12, 31));
  EXPECT_EQ(parse("Fri, 32 Jan 2024 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Fri, 00 Jan 2024 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun Nov  0 08:49:37 1994"), std::nullopt);
}

TEST(HttpDateTest, RejectsOutOfRangeTimeFields) {
  EXPECT_EQ(parse("Sun, 06 Nov 1994 24:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:60:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:61 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 99:99:99 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 23:59:59 GMT"), at(1994, 11, 6, 23, 59, 59));
}

TEST(HttpDateTest, MapsLeapSecondOntoTheNextSecond) {
  EXPECT_EQ(parse("Sat, 31 Dec 2016 23:59:60 GMT"), at(2017, 1, 1));
}

TEST(HttpDateTest, RejectsUnknownOrMiscasedNames) {
  EXPECT_EQ(parse("Sun, 06 Foo 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Xyz, 06 Nov 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("sun, 06 Nov 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 nov 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("SUN, 06 NOV 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 gmt"), std::nullopt);
  EXPECT_EQ(parse("Sunday, 06-November-94 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sundae, 06-Nov-94 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Su, 06 Nov 1994 08:49:37 GMT"), std::nullopt);
}

TEST(HttpDateTest, RequiresGmtInImfFixdateAndRfc850) {
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 UTC"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 +0000"), std::nullopt);
  EXPECT_EQ(parse("Sunday, 06-Nov-94 08:49:37"), std::nullopt);
  EXPECT_EQ(parse("Sunday, 06-Nov-94 08:49:37 UT"), std::nullopt);
}

TEST(HttpDateTest, RejectsDayNameOfTheWrongLengthForTheForm) {
  EXPECT_EQ(parse("Sunday, 06 Nov 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06-Nov-94 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sunday Nov  6 08:49:37 1994"), std::nullopt);
}

TEST(HttpDateTest, RejectsWrongFieldWidthsAndSeparators) {
  EXPECT_EQ(parse("Sun, 6 Nov 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 94 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 01994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 8:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08.49.37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun,06 Nov 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06  Nov 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06-Nov-1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sunday, 06-Nov-1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sunday, 6-Nov-94 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sunday, 06 Nov 94 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun Nov 6 08:49:37 1994"), std::nullopt);
  EXPECT_EQ(parse("Sun Nov   6 08:49:37 1994"), std::nullopt);
  EXPECT_EQ(parse("Sun Nov  6 08:49:37 94"), std::nullopt);
  EXPECT_EQ(parse("Sun Nov  6 08:49:37 1994 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, Nov  6 08:49:37 1994"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 GMT", kNow), kRfcExample);
  EXPECT_EQ(parse("Sun, -6 Nov 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, +6 Nov 1994 08:49:37 GMT"), std::nullopt);
}

TEST(HttpDateTest, ToleratesSurroundingSpacesAndTabs) {
  EXPECT_EQ(parse("  Sun, 06 Nov 1994 08:49:37 GMT"), kRfcExample);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 GMT \t "), kRfcExample);
  EXPECT_EQ(parse("\tSunday, 06-Nov-94 08:49:37 GMT\t"), kRfcExample);
  EXPECT_EQ(parse(" Sun Nov  6 08:49:37 1994 "), kRfcExample);
}

TEST(HttpDateTest, RejectsOtherSurroundingWhitespace) {
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 GMT\r\n"), std::nullopt);
  EXPECT_EQ(parse("\nSun, 06 Nov 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("\vSun, 06 Nov 1994 08:49:37 GMT"), std::nullopt);
}

TEST(HttpDateTest, RejectsTrailingAndLeadingJunk) {
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 GMTx"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 GMT 1"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 GMT,"), std::nullopt);
  EXPECT_EQ(parse("Sun Nov  6 08:49:37 19945"), std::nullopt);
  EXPECT_EQ(parse("xSun, 06 Nov 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse(std::string_view("Sun, 06 Nov 1994 08:49:37 GMT\0", 30)), std::nullopt);
}

TEST(HttpDateTest, RejectsGarbageAndTruncatedInput) {
  EXPECT_EQ(parse(""), std::nullopt);
  EXPECT_EQ(parse("   "), std::nullopt);
  EXPECT_EQ(parse("120"), std::nullopt);
  EXPECT_EQ(parse("tomorrow"), std::nullopt);
  EXPECT_EQ(parse("1994-11-06T08:49:37Z"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 GM\xC3\x9F"), std::nullopt);
  const std::string_view full = "Sun, 06 Nov 1994 08:49:37 GMT";
  for (std::size_t n = 0; n < full.size(); ++n) {
    EXPECT_EQ(parse(full.substr(0, n)), std::nullopt) << n;
  }
}

TEST(HttpDateTest, ResolvesTwoDigitYearsWithinFiftyYearsOfNow) {
  // now = 2024-06-01: years up to 2074-06-01 read as the future, later ones as last century.
  EXPECT_EQ(parse("Sunday, 06-Nov-94 08:49:37 GMT"), kRfcExample);
  EXPECT_EQ(parse("Saturday, 01-Jun-24 00:00:00 GMT"), at(2024, 6, 1));
  EXPECT_EQ(parse("Saturday, 01-Jan-00 00:00:00 GMT"), at(2000, 1, 1));
  EXPECT_EQ(parse("Monday, 15-Jan-74 00:00:00 GMT"), at(2074, 1, 15));
  EXPECT_EQ(parse("Sunday, 15-Dec-74 00:00:00 GMT"), at(1974, 12, 15));
  EXPECT_EQ(parse("Wednesday, 01-Jan-75 00:00:00 GMT"), at(1975, 1, 1));
  EXPECT_EQ(parse("Friday, 31-Dec-99 00:00:00 GMT"), at(1999, 12, 31));
  EXPECT_EQ(parse("Monday, 01-Jan-73 00:00:00 GMT"), at(2073, 1, 1));
}

TEST(HttpDateTest, TreatsExactlyFiftyYearsAheadAsFuture) {
  const sys_seconds now = at(2024, 6, 1, 12, 0, 0);
  EXPECT_EQ(parse("Friday, 01-Jun-74 12:00:00 GMT", now), at(2074, 6, 1, 12));
  EXPECT_EQ(parse("Friday, 01-Jun-74 12:00:01 GMT", now), at(1974, 6, 1, 12, 0, 1));
  EXPECT_EQ(parse("Friday, 02-Jun-74 00:00:00 GMT", now), at(1974, 6, 2));
  EXPECT_EQ(parse("Friday, 31-May-74 23:59:59 GMT", now), at(2074, 5, 31, 23, 59, 59));
}

TEST(HttpDateTest, ResolvesTwoDigitYearsIntoTheNextCenturyWhenNowIsLate) {
  const sys_seconds now = at(2090, 1, 1);
  EXPECT_EQ(parse("Sunday, 01-Mar-05 00:00:00 GMT", now), at(2105, 3, 1));
  EXPECT_EQ(parse("Sunday, 01-Mar-41 00:00:00 GMT", now), at(2041, 3, 1));
  EXPECT_EQ(parse("Sunday, 01-Jan-40 00:00:00 GMT", now), at(2140, 1, 1));
}

TEST(HttpDateTest, ValidatesLeapDayAfterResolvingTheCentury) {
  EXPECT_EQ(parse("Tuesday, 29-Feb-00 00:00:00 GMT", at(2024, 1, 1)), at(2000, 2, 29));
  // From 2060 the year "00" means 2100, which is not a leap year.
  EXPECT_EQ(parse("Monday, 29-Feb-00 00:00:00 GMT", at(2060, 1, 1)), std::nullopt);
  EXPECT_EQ(parse("Thursday, 29-Feb-24 00:00:00 GMT"), at(2024, 2, 29));
  EXPECT_EQ(parse("Wednesday, 29-Feb-23 00:00:00 GMT"), std::nullopt);
}

TEST(HttpDateTest, IgnoresNowForFourDigitYears) {
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 GMT", at(2500, 1, 1)), kRfcExample);
  EXPECT_EQ(parse("Sun Nov  6 08:49:37 1994", at(1000, 1, 1)), kRfcExample);
}

TEST(HttpDateTest, SurvivesExtremeNowValues) {
  const sys_seconds lo = sys_seconds::min();
  const sys_seconds hi = sys_seconds::max();
  EXPECT_TRUE(parse("Sunday, 06-Nov-94 08:49:37 GMT", lo).has_value());
  EXPECT_TRUE(parse("Sunday, 06-Nov-94 08:49:37 GMT", hi).has_value());
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 GMT", lo), kRfcExample);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 GMT", hi), kRfcExample);
}

TEST(HttpDateTest, SurvivesPseudoRandomInput) {
  std::mt19937 rng(20240601u);
  const std::string_view seeds[] = {"Sun, 06 Nov 1994 08:49:37 GMT",
                                    "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"};
  const std::string_view alphabet = "SundayMoFrTWhNvJebGMT0123456789:-, \t";
  const sys_seconds lo = at(0, 1, 1);
  const sys_seconds hi = at(10000, 1, 1) + std::chrono::seconds{1};
  for (int i = 0; i < 6000; ++i) {
    std::string text;
    if (i % 2 == 0) {
      // Mutations of valid dates reach deep into the grammar.
      text = seeds[rng() % 3];
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        const std::size_t pos = rng() % (text.size() + 1);
        switch (rng() % 3) {
          case 0:
            if (pos < text.size()) text[pos] = alphabet[rng() % alphabet.size()];
            break;
          case 1:
            text.insert(pos, 1, static_cast<char>(rng() % 256));
            break;
          default:
            text.resize(pos);
            break;
        }
      }
    } else {
      const std::size_t len = rng() % 40;
      for (std::size_t j = 0; j < len; ++j) {
        text.push_back(rng() % 2 == 0 ? alphabet[rng() % alphabet.size()]
                                      : static_cast<char>(rng() % 256));
      }
    }
    const sys_seconds now = (i % 3 == 0) ? at(2090, 1, 1) : kNow;
    const std::optional<sys_seconds> result = parse_http_date(text, now);
    if (result) {
      EXPECT_GE(*result, lo) << text;
      EXPECT_LE(*result, hi) << text;
    }
  }
}

}  // namespace
}  // namespace keyward::detail
