// Tests for keyward/detail/wait_formats.hpp: RFC 3339 timestamps, Go durations and protobuf
// Duration strings, with the providers' real values, every grammar edge, saturation, and a
// fixed-seed random loop.

#include "keyward/detail/wait_formats.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "keyward/detail/text.hpp"

namespace keyward::detail {
namespace {

using std::chrono::milliseconds;
using SysMs = std::chrono::sys_time<milliseconds>;

constexpr milliseconds kMax = milliseconds::max();

constexpr SysMs utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0, int ms = 0) {
  using namespace std::chrono;
  return SysMs{sys_days{year{y} / month{m} / day{d}}} + hours{hh} + minutes{mm} + seconds{ss} +
         milliseconds{ms};
}

static_assert(parse_rfc3339("2026-02-04T12:00:20Z") == utc(2026, 2, 4, 12, 0, 20),
              "parse_rfc3339 is usable in constant expressions");
static_assert(parse_go_duration("2m59.56s") == milliseconds{179560});
static_assert(parse_protobuf_duration("26s") == milliseconds{26000});

// ---- RFC 3339 ----

TEST(Rfc3339Test, ParsesAnthropicResetHeader) {
  EXPECT_EQ(parse_rfc3339("2026-02-04T12:00:20Z"), utc(2026, 2, 4, 12, 0, 20));
}

TEST(Rfc3339Test, ParsesTheRfcExamples) {
  // RFC 3339 section 5.8.
  EXPECT_EQ(parse_rfc3339("1985-04-12T23:20:50.52Z"), utc(1985, 4, 12, 23, 20, 50, 520));
  EXPECT_EQ(parse_rfc3339("1996-12-19T16:39:57-08:00"), utc(1996, 12, 20, 0, 39, 57));
  EXPECT_EQ(parse_rfc3339("1990-12-31T23:59:60Z"), utc(1991, 1, 1));
  EXPECT_EQ(parse_rfc3339("1990-12-31T15:59:60-08:00"), utc(1991, 1, 1));
  EXPECT_EQ(parse_rfc3339("1937-01-01T12:00:27.87+00:20"), utc(1937, 1, 1, 11, 40, 27, 870));
}

TEST(Rfc3339Test, KeepsWholeMillisecondsOfTheFraction) {
  EXPECT_EQ(parse_rfc3339("2026-02-04T12:00:20.5Z"), utc(2026, 2, 4, 12, 0, 20, 500));
  EXPECT_EQ(parse_rfc3339("2026-02-04T12:00:20.05Z"), utc(2026, 2, 4, 12, 0, 20, 50));
  EXPECT_EQ(parse_rfc3339("2026-02-04T12:00:20.123Z"), utc(2026, 2, 4, 12, 0, 20, 123));
  EXPECT_EQ(parse_rfc3339("2026-02-04T12:00:20.123456789Z"), utc(2026, 2, 4, 12, 0, 20, 123));
  EXPECT_EQ(parse_rfc3339("2026-02-04T12:00:20.9999Z"), utc(2026, 2, 4, 12, 0, 20, 999));
  EXPECT_EQ(parse_rfc3339("2026-02-04T12:00:20.000Z"), utc(2026, 2, 4, 12, 0, 20));
  EXPECT_EQ(parse_rfc3339("2026-02-04T12:00:20.0009Z"), utc(2026, 2, 4, 12, 0, 20));
  EXPECT_EQ(parse_rfc3339("2026-02-04T12:00:20." + std::string(10000, '7') + "Z"),
            utc(2026, 2, 4, 12, 0, 20, 777));
}

TEST(Rfc3339Test, AppliesNumericOffsets) {
  EXPECT_EQ(parse_rfc3339("2026-02-04T13:00:20+01:00"), utc(2026, 2, 4, 12, 0, 20));
  EXPECT_EQ(parse_rfc3339("2026-02-04T06:30:20-05:30"), utc(2026, 2, 4, 12, 0, 20));
  EXPECT_EQ(parse_rfc3339("2026-02-04T17:45:20.250+05:45"), utc(2026, 2, 4, 12, 0, 20, 250));
  EXPECT_EQ(parse_rfc3339("2026-02-04T12:00:20+00:00"), utc(2026, 2, 4, 12, 0, 20));
  // "-00:00" says the local offset is unknown; the UTC instant is still exact.
  EXPECT_EQ(parse_rfc3339("2026-02-04T12:00:20-00:00"), utc(2026, 2, 4, 12, 0, 20));
  EXPECT_EQ(parse_rfc3339("2026-02-04T23:59:00+23:59"), utc(2026, 2, 4));
  EXPECT_EQ(parse_rfc3339("2026-02-04T00:00:00-23:59"), utc(2026, 2, 4, 23, 59));
}

TEST(Rfc3339Test, OffsetsCrossDayMonthAndYearBoundaries) {
  EXPECT_EQ(parse_rfc3339("2026-01-01T00:30:00+01:00"), utc(2025, 12, 31, 23, 30));
  EXPECT_EQ(parse_rfc3339("2025-12-31T23:30:00-01:00"), utc(2026, 1, 1, 0, 30));
  EXPECT_EQ(parse_rfc3339("2024-03-01T00:00:00+00:01"), utc(2024, 2, 29, 23, 59));
}

TEST(Rfc3339Test, AcceptsLowerCaseTAndZ) {
  EXPECT_EQ(parse_rfc3339("2026-02-04t12:00:20z"), utc(2026, 2, 4, 12, 0, 20));
  EXPECT_EQ(parse_rfc3339("2026-02-04t12:00:20Z"), utc(2026, 2, 4, 12, 0, 20));
  EXPECT_EQ(parse_rfc3339("2026-02-04T12:00:20.5z"), utc(2026, 2, 4, 12, 0, 20, 500));
}

TEST(Rfc3339Test, AcceptsLeapSecondsAsTheNextSecond) {
  EXPECT_EQ(parse_rfc3339("2016-12-31T23:59:60Z"), utc(2017, 1, 1));
  EXPECT_EQ(parse_rfc3339("2016-12-31T23:59:60.5Z"), utc(2017, 1, 1, 0, 0, 0, 500));
  EXPECT_EQ(parse_rfc3339("2017-01-01T05:29:60+05:30"), utc(2017, 1, 1));
}

TEST(Rfc3339Test, ChecksTheCalendar) {
  EXPECT_EQ(parse_rfc3339("2024-02-29T00:00:00Z"), utc(2024, 2, 29));
  EXPECT_EQ(parse_rfc3339("2000-02-29T00:00:00Z"), utc(2000, 2, 29));
  EXPECT_EQ(parse_rfc3339("2026-12-31T00:00:00Z"), utc(2026, 12, 31));
  for (const std::string_view text :
       {"2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-06-31T00:00:00Z", "2026-00-10T00:00:00Z", "2026-13-10T00:00:00Z",
        "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z", "2026-01-99T00:00:00Z"}) {
    EXPECT_EQ(parse_rfc3339(text), std::nullopt) << text;
  }
}

TEST(Rfc3339Test, ChecksTimeAndOffsetRanges) {
  EXPECT_EQ(parse_rfc3339("2026-02-04T23:59:59Z"), utc(2026, 2, 4, 23, 59, 59));
  for (const std::string_view text :
       {"2026-02-04T24:00:00Z", "2026-02-04T12:60:00Z", "2026-02-04T12:00:61Z",
        "2026-02-04T12:00:99Z", "2026-02-04T12:00:00+24:00", "2026-02-04T12:00:00+00:60",
        "2026-02-04T12:00:00-99:99"}) {
    EXPECT_EQ(parse_rfc3339(text), std::nullopt) << text;
  }
}

TEST(Rfc3339Test, CoversTheWholeFourDigitYearRange) {
  EXPECT_EQ(parse_rfc3339("0000-01-01T00:00:00Z"), utc(0, 1, 1));
  EXPECT_EQ(parse_rfc3339("0000-01-01T00:00:00+23:59"), utc(-1, 12, 31, 0, 1));
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59.999Z"), SysMs{milliseconds{-1}});
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), SysMs{});
  EXPECT_EQ(parse_rfc3339("9999-12-31T23:59:59.999Z"), utc(9999, 12, 31, 23, 59, 59, 999));
  EXPECT_EQ(parse_rfc3339("9999-12-31T23:59:60-23:59"), utc(10000, 1, 1, 23, 59));
}

TEST(Rfc3339Test, ToleratesSurroundingSpacesAndTabs) {
  EXPECT_EQ(parse_rfc3339(" \t2026-02-04T12:00:20Z\t "), utc(2026, 2, 4, 12, 0, 20));
}

TEST(Rfc3339Test, RejectsOtherTimestampShapes) {
  for (const std::string_view text : {
           "",
           " \t ",
           "2026-02-04 12:00:20Z",  // space separator (RFC 3339 note, not its grammar)
           "2026-02-04_12:00:20Z",
           "2026-02-04T12:00:20",  // no offset
           "2026-02-04",           // full-date only
           "12:00:20Z",            // full-time only
           "2026-02-04T12:00Z",    // seconds are required
           "2026-2-04T12:00:20Z",  // fixed widths
           "2026-02-4T12:00:20Z",
           "2026-02-04T2:00:20Z",
           "26-02-04T12:00:20Z",
           "+2026-02-04T12:00:20Z",  // expanded years (ISO 8601) are not RFC 3339
           "20260-02-04T12:00:20Z",
           "-0001-02-04T12:00:20Z",
           "20260204T120020Z",          // ISO 8601 basic format
           "2026-02-04T12:00:20.Z",     // fraction needs a digit
           "2026-02-04T12:00:20,5Z",    // comma fraction
           "2026-02-04T12:00:20+0100",  // offset needs the colon
           "2026-02-04T12:00:20+01",
           "2026-02-04T12:00:20+1:00",
           "2026-02-04T12:00:20 +01:00",
           "2026-02-04T12:00:20 Z",
           "2026-02-04T12:00:20UTC",
           "2026-02-04T12:00:20GMT",
           "2026-02-04T12:00:20ZZ",  // trailing garbage
           "2026-02-04T12:00:20Z,",
           "2026-02-04T12:00:20+01:00Z",
           "2026-02-04T12:00:20Z\r",  // only SP and HTAB are forgiven
           "\n2026-02-04T12:00:20Z",
           "2026/02/04T12:00:20Z",
           "2026-02-04T12-00-20Z",
           "Wed, 04 Feb 2026 12:00:20 GMT",
           "1770206420",
           "20s",
       }) {
    EXPECT_EQ(parse_rfc3339(text), std::nullopt) << text;
  }
  EXPECT_EQ(parse_rfc3339(std::string_view("2026-02-04T12:00:20Z\0", 21)), std::nullopt);
  // Full-width digits are not ASCII digits.
  EXPECT_EQ(parse_rfc3339("\xEF\xBC\x92\xEF\xBC\x90\xEF\xBC\x92\xEF\xBC\x96-02-04T12:00:20Z"),
            std::nullopt);
}

TEST(Rfc3339Test, RoundTripsFormatRfc3339) {
  // format_rfc3339 takes a system_clock::time_point, whose nanoseconds span only 1678..2262.
  std::mt19937_64 rng(3339u);
  const SysMs first = utc(1700, 1, 1);
  const auto span = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(utc(2250, 1, 1) - first).count());
  for (int i = 0; i < 2000; ++i) {
    const SysMs time = first + std::chrono::seconds{static_cast<std::int64_t>(rng() % span)};
    const std::string text = format_rfc3339(time);
    EXPECT_EQ(parse_rfc3339(text), time) << text;
  }
}

// ---- Go durations ----

TEST(GoDurationTest, ParsesOpenAiResetHeaders) {
  EXPECT_EQ(parse_go_duration("6m0s"), milliseconds{360000});
  EXPECT_EQ(parse_go_duration("644ms"), milliseconds{644});
  EXPECT_EQ(parse_go_duration("2m59.56s"), milliseconds{179560});
  EXPECT_EQ(parse_go_duration("1s"), milliseconds{1000});
  EXPECT_EQ(parse_go_duration("20s"), milliseconds{20000});
  EXPECT_EQ(parse_go_duration("7.66s"), milliseconds{7660});
  EXPECT_EQ(parse_go_duration("1h2m3s"), milliseconds{3723000});
}

TEST(GoDurationTest, ParsesZero) {
  EXPECT_EQ(parse_go_duration("0"), milliseconds{0});
  EXPECT_EQ(parse_go_duration("+0"), milliseconds{0});
  EXPECT_EQ(parse_go_duration("0s"), milliseconds{0});
  EXPECT_EQ(parse_go_duration("0h0m0s"), milliseconds{0});
  EXPECT_EQ(parse_go_duration("0.0s"), milliseconds{0});
}

TEST(GoDurationTest, ParsesEveryUnit) {
  EXPECT_EQ(parse_go_duration("1h"), milliseconds{3600000});
  EXPECT_EQ(parse_go_duration("1m"), milliseconds{60000});
  EXPECT_EQ(parse_go_duration("1s"), milliseconds{1000});
  EXPECT_EQ(parse_go_duration("1ms"), milliseconds{1});
  EXPECT_EQ(parse_go_duration("1500us"), milliseconds{1});
  EXPECT_EQ(parse_go_duration("1500\xC2\xB5s"), milliseconds{1});  // U+00B5 MICRO SIGN
  EXPECT_EQ(parse_go_duration("1500\xCE\xBCs"), milliseconds{1});  // U+03BC GREEK SMALL MU
  EXPECT_EQ(parse_go_duration("2000000ns"), milliseconds{2});
}

TEST(GoDurationTest, ParsesGoDurationStringOutput) {
  // What Go's Duration.String() prints, including its extreme value.
  EXPECT_EQ(parse_go_duration("1h0m0s"), milliseconds{3600000});
  EXPECT_EQ(parse_go_duration("1m30.5s"), milliseconds{90500});
  EXPECT_EQ(parse_go_duration("1.5\xC2\xB5s"), milliseconds{0});
  EXPECT_EQ(parse_go_duration("2562047h47m16.854775807s"), milliseconds{9223372036854});
}

TEST(GoDurationTest, TruncatesBelowOneMillisecond) {
  EXPECT_EQ(parse_go_duration("300us"), milliseconds{0});
  EXPECT_EQ(parse_go_duration("999999ns"), milliseconds{0});
  EXPECT_EQ(parse_go_duration("1000000ns"), milliseconds{1});
  EXPECT_EQ(parse_go_duration("1.9999999ms"), milliseconds{1});
  EXPECT_EQ(parse_go_duration("0.0001s"), milliseconds{0});
  EXPECT_EQ(parse_go_duration("1.999999999999999999999s"), milliseconds{1999});
  EXPECT_EQ(parse_go_duration("0.99999999999999999999999999h"), milliseconds{3599999});
}

TEST(GoDurationTest, SumsTermsExactlyBeforeTruncating) {
  EXPECT_EQ(parse_go_duration("0.5ms0.5ms"), milliseconds{1});
  EXPECT_EQ(parse_go_duration("999us1000ns"), milliseconds{1});
  EXPECT_EQ(parse_go_duration("1s500ms"), milliseconds{1500});
  // Units may repeat and come in any order, as Go allows.
  EXPECT_EQ(parse_go_duration("1h1h"), milliseconds{7200000});
  EXPECT_EQ(parse_go_duration("1s1h"), milliseconds{3601000});
  // Like Go, each term is first truncated to whole nanoseconds.
  EXPECT_EQ(parse_go_duration("0.9999995ms0.0000005ms"), milliseconds{0});
}

TEST(GoDurationTest, ParsesFractionsOfEveryUnit) {
  EXPECT_EQ(parse_go_duration("1.5h"), milliseconds{5400000});
  EXPECT_EQ(parse_go_duration("0.25m"), milliseconds{15000});
  EXPECT_EQ(parse_go_duration("2.5ms"), milliseconds{2});
  EXPECT_EQ(parse_go_duration("1.000001h"), milliseconds{3600003});
  // Go's number grammar: a digit on either side of the point is enough.
  EXPECT_EQ(parse_go_duration(".5s"), milliseconds{500});
  EXPECT_EQ(parse_go_duration("1.s"), milliseconds{1000});
  EXPECT_EQ(parse_go_duration("007s"), milliseconds{7000});
}

TEST(GoDurationTest, ToleratesSurroundingSpacesAndTabs) {
  EXPECT_EQ(parse_go_duration(" \t6m0s\t "), milliseconds{360000});
  EXPECT_EQ(parse_go_duration(" 0 "), milliseconds{0});
}

TEST(GoDurationTest, SaturatesInsteadOfOverflowing) {
  EXPECT_EQ(parse_go_duration("9223372036854775807ms"), kMax);
  EXPECT_EQ(parse_go_duration("9223372036854775806ms"), milliseconds{9223372036854775806LL});
  EXPECT_EQ(parse_go_duration("9223372036854775808ms"), kMax);
  EXPECT_EQ(parse_go_duration("9223372036854775807ms1h"), kMax);
  EXPECT_EQ(parse_go_duration("9223372036854775807999999ns"), kMax);
  EXPECT_EQ(parse_go_duration("99999999999999999999h"), kMax);
  EXPECT_EQ(parse_go_duration("2562047788015h"), milliseconds{9223372036854000000LL});
  EXPECT_EQ(parse_go_duration("2562047788016h"), kMax);
  EXPECT_EQ(parse_go_duration(std::string(5000, '9') + "h"), kMax);
  EXPECT_EQ(parse_go_duration("1h" + std::string(5000, '9') + "s1ms"), kMax);
}

TEST(GoDurationTest, StaysExactPastTheRangeOfNanosecondCounts) {
  // 1e20 ns is beyond any 64-bit count of nanoseconds but only 1e14 ms.
  EXPECT_EQ(parse_go_duration("100000000000000000000ns"), milliseconds{100000000000000});
  EXPECT_EQ(parse_go_duration("99999999999999999999ns"), milliseconds{99999999999999});
  EXPECT_EQ(parse_go_duration("9223372036854775807000us"), milliseconds{9223372036854775807});
}

TEST(GoDurationTest, RejectsNegativeDurations) {
  for (const std::string_view text : {"-1s", "-0s", "-0", "-6m0s", "-.5s", "1s-1s", " -1s"}) {
    EXPECT_EQ(parse_go_duration(text), std::nullopt) << text;
  }
}

TEST(GoDurationTest, RejectsUnitlessNumbersOtherThanZero) {
  for (const std::string_view text : {"1", "10", "00", "0.0", "1.5", "644", "1s5"}) {
    EXPECT_EQ(parse_go_duration(text), std::nullopt) << text;
  }
}

TEST(GoDurationTest, RejectsGarbage) {
  for (const std::string_view text : {
           "",       " ",     "+",      "++1s",   "+-1s",       "s",         "ms",
           ".s",     ".",     "1..5s",  "1.5.5s", "1 s",        "1s 2m",     "1s,2m",
           "1S",     "1H",    "1Ms",    "1sec",   "1d",         "1w",        "1y",
           "1e3s",   "0x10s", "1_000s", "1,5s",   "NaN",        "inf",       "Infinity",
           "1s+1s",  "1u",    "1n",     "1\xC2s", "1\xB5s",     "\xC2\xB5s", "1\xC2\xB5",
           "1mss",   "1hh",   "P1D",    "PT20S",  "20 seconds", "\"6m0s\"",  "6m0s\r",
           "\v6m0s",
       }) {
    EXPECT_EQ(parse_go_duration(text), std::nullopt) << text;
  }
  EXPECT_EQ(parse_go_duration(std::string_view("1s\0", 3)), std::nullopt);
  EXPECT_EQ(parse_go_duration(std::string(5000, '9') + "hx"), std::nullopt);
}

// ---- protobuf Duration ----

TEST(ProtobufDurationTest, ParsesGoogleRetryDelay) {
  EXPECT_EQ(parse_protobuf_duration("26s"), milliseconds{26000});
  EXPECT_EQ(parse_protobuf_duration("1.5s"), milliseconds{1500});
  EXPECT_EQ(parse_protobuf_duration("3600s"), milliseconds{3600000});
  EXPECT_EQ(parse_protobuf_duration("0s"), milliseconds{0});
  EXPECT_EQ(parse_protobuf_duration("56.123456789s"), milliseconds{56123});
}

TEST(ProtobufDurationTest, TruncatesBelowOneMillisecond) {
  EXPECT_EQ(parse_protobuf_duration("0.000001s"), milliseconds{0});
  EXPECT_EQ(parse_protobuf_duration("0.000999999s"), milliseconds{0});
  EXPECT_EQ(parse_protobuf_duration("0.001s"), milliseconds{1});
  EXPECT_EQ(parse_protobuf_duration("1.999999999s"), milliseconds{1999});
  EXPECT_EQ(parse_protobuf_duration("1.000000001s"), milliseconds{1000});
}

TEST(ProtobufDurationTest, AcceptsOneToNineFractionalDigitsAndLeadingZeros) {
  EXPECT_EQ(parse_protobuf_duration("1.1s"), milliseconds{1100});
  EXPECT_EQ(parse_protobuf_duration("1.12s"), milliseconds{1120});
  EXPECT_EQ(parse_protobuf_duration("1.123s"), milliseconds{1123});
  EXPECT_EQ(parse_protobuf_duration("1.123000s"), milliseconds{1123});
  EXPECT_EQ(parse_protobuf_duration("00026s"), milliseconds{26000});
  EXPECT_EQ(parse_protobuf_duration("0.5s"), milliseconds{500});
}

TEST(ProtobufDurationTest, ToleratesSurroundingSpacesAndTabs) {
  EXPECT_EQ(parse_protobuf_duration("\t 26s \t"), milliseconds{26000});
}

TEST(ProtobufDurationTest, SaturatesInsteadOfOverflowing) {
  // The largest Duration protobuf allows, about 10,000 years, fits easily.
  EXPECT_EQ(parse_protobuf_duration("315576000000s"), milliseconds{315576000000000});
  EXPECT_EQ(parse_protobuf_duration("9223372036854775.807s"), kMax);
  EXPECT_EQ(parse_protobuf_duration("9223372036854775.806999999s"),
            milliseconds{9223372036854775806LL});
  EXPECT_EQ(parse_protobuf_duration("9223372036854775.808s"), kMax);
  EXPECT_EQ(parse_protobuf_duration("9999999999999999999999s"), kMax);
  EXPECT_EQ(parse_protobuf_duration(std::string(5000, '9') + "s"), kMax);
}

TEST(ProtobufDurationTest, RejectsNegativeDurations) {
  for (const std::string_view text : {"-1s", "-0s", "-1.5s", "-0.000000001s"}) {
    EXPECT_EQ(parse_protobuf_duration(text), std::nullopt) << text;
  }
}

TEST(ProtobufDurationTest, RejectsGarbage) {
  for (const std::string_view text : {
           "",
           " ",
           "s",
           "26",
           "26 s",
           "+1s",
           ".5s",
           "1.s",
           "1.0000000001s",  // ten fractional digits
           "1e3s",
           "1.5ms",
           "1m",
           "1h",
           "26S",
           "26ss",
           "\"26s\"",
           "0x1as",
           "1,5s",
           "1.5.5s",
           "1..5s",
           "1m30s",
           "NaNs",
           "infs",
           "26s\r",
           "\xD9\xA1s",  // ARABIC-INDIC DIGIT ONE
       }) {
    EXPECT_EQ(parse_protobuf_duration(text), std::nullopt) << text;
  }
  EXPECT_EQ(parse_protobuf_duration(std::string_view("2\0s", 3)), std::nullopt);
}

TEST(ProtobufDurationTest, AgreesWithGoDurationsOnCommonSyntax) {
  for (const std::string_view text : {"26s", "1.5s", "0.000001s", "3600s", "2.999999999s"}) {
    EXPECT_EQ(parse_protobuf_duration(text), parse_go_duration(text)) << text;
  }
}

// ---- all three ----

TEST(WaitFormatsTest, SurvivePseudoRandomInput) {
  std::mt19937 rng(7u);
  constexpr std::string_view kAlphabet = "0123456789.+-:TtZzsmhnu \t\xC2\xB5\xCE\xBC";
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const std::size_t len = rng() % 28;
    for (std::size_t j = 0; j < len; ++j) {
      text.push_back(rng() % 4 != 0 ? kAlphabet[rng() % kAlphabet.size()]
                                    : static_cast<char>(rng() % 256));
    }
    const std::optional<milliseconds> go = parse_go_duration(text);
    const std::optional<milliseconds> proto = parse_protobuf_duration(text);
    if (go) {
      ++accepted;
      EXPECT_GE(*go, milliseconds{0}) << text;
    }
    if (proto) {
      EXPECT_GE(*proto, milliseconds{0}) << text;
      // Every protobuf Duration is also a Go duration with the same value.
      EXPECT_EQ(go, proto) << text;
    }
    if (const std::optional<SysMs> time = parse_rfc3339(text)) {
      EXPECT_GE(*time, utc(-1, 12, 31)) << text;
      EXPECT_LE(*time, utc(10000, 1, 2)) << text;
    }
  }
  EXPECT_GT(accepted, 0);
}

TEST(WaitFormatsTest, SurviveRandomMutationsOfValidValues) {
  std::mt19937 rng(9095u);
  const std::string_view seeds[] = {"2026-02-04T12:00:20.123+05:30", "2m59.56s", "1.000000001s"};
  for (int i = 0; i < 20000; ++i) {
    std::string text(seeds[static_cast<std::size_t>(i) % 3]);
    const std::size_t edits = 1 + rng() % 3;
    for (std::size_t e = 0; e < edits; ++e) {
      text[rng() % text.size()] = static_cast<char>(rng() % 128);
    }
    const auto go = parse_go_duration(text);
    const auto proto = parse_protobuf_duration(text);
    if (go) {
      EXPECT_GE(*go, milliseconds{0}) << text;
    }
    if (proto) {
      EXPECT_EQ(go, proto) << text;
    }
    (void)parse_rfc3339(text);
  }
}

}  // namespace
}  // namespace keyward::detail
