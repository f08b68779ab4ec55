// detail/text.hpp: JSON string literals, form URL encoding, base64, RFC 3339 timestamps and
// durations for people.
#include "keyward/detail/text.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>

#include "detail/utf8_check.hpp"
#include "keyward/detail/json.hpp"
#include "support/fake_clock.hpp"

namespace keyward::detail {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

std::string form_encoded(std::string_view text) {
  std::string out;
  append_form_encoded(out, text);
  return out;
}

// --- append_json_string ---------------------------------------------------------------------

TEST(AppendJsonStringTest, QuotesPlainText) {
  EXPECT_EQ(json_string("hello world"), R"("hello world")");
  EXPECT_EQ(json_string(""), R"("")");
}

TEST(AppendJsonStringTest, AppendsToWhatIsAlreadyThere) {
  std::string out = "{\"a\":";
  append_json_string(out, "b");
  EXPECT_EQ(out, R"({"a":"b")");
}

TEST(AppendJsonStringTest, EscapesQuotesBackslashesAndCommonControls) {
  EXPECT_EQ(json_string("say \"hi\""), R"("say \"hi\"")");
  EXPECT_EQ(json_string("C:\\path"), R"("C:\\path")");
  EXPECT_EQ(json_string("a\nb\rc\td"), R"("a\nb\rc\td")");
}

TEST(AppendJsonStringTest, WritesOtherControlCharactersAsUnicodeEscapes) {
  EXPECT_EQ(json_string(std::string_view{"\0", 1}), R"("\u0000")");
  EXPECT_EQ(json_string("\x01"), R"("\u0001")");
  EXPECT_EQ(json_string("\b"), R"("\u0008")");
  EXPECT_EQ(json_string("\f"), R"("\u000c")");
  EXPECT_EQ(json_string("\x1f"), R"("\u001f")");
}

TEST(AppendJsonStringTest, EscapesDelete) {
  EXPECT_EQ(json_string("a\x7f"
                        "b"),
            R"("a\u007fb")");
}

TEST(AppendJsonStringTest, WritesInvalidUtf8AsReplacementCharacters) {
  // One \ufffd per maximal ill-formed subpart: stray continuation, truncated sequence, overlong
  // form, UTF-8-encoded surrogate, past U+10FFFF, bytes that never appear.
  EXPECT_EQ(json_string("a\x80z"), R"("a\ufffdz")");
  EXPECT_EQ(json_string("a\xe2\x82z"), R"("a\ufffdz")");
  EXPECT_EQ(json_string("a\xf0\x9f\x94"), R"("a\ufffd")");
  EXPECT_EQ(json_string("\xc0\xaf"), R"("\ufffd\ufffd")");
  EXPECT_EQ(json_string("\xed\xa0\xbd"), R"("\ufffd\ufffd\ufffd")");
  EXPECT_EQ(json_string("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");
  EXPECT_EQ(json_string("\xfe\xff\xf5"), R"("\ufffd\ufffd\ufffd")");
  EXPECT_EQ(json_string("\xe2\x82\xe2\x82\xac"), "\"\\ufffd\xe2\x82\xac\"");
}

TEST(AppendJsonStringTest, AlwaysWritesValidUtf8ThatParsesBack) {
  std::string every_byte_pair;
  for (unsigned a = 0; a < 256; ++a) {
    for (unsigned b = 0; b < 256; ++b) {
      every_byte_pair.push_back(static_cast<char>(a));
      every_byte_pair.push_back(static_cast<char>(b));
    }
  }
  const std::string literal = json_string(every_byte_pair);
  EXPECT_TRUE(test::well_formed_utf8(literal));
  for (const char c : literal) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == '\x7f');
  const auto parsed = json::parse(literal);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(test::well_formed_utf8(*parsed->as_string()));
}

TEST(AppendJsonStringTest, KeepsSlashAndUtf8AsTheyAre) {
  EXPECT_EQ(json_string("a/b"), R"("a/b")");
  EXPECT_EQ(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91\"");
}

TEST(AppendJsonStringTest, RoundTripsEveryAsciiByteThroughTheJsonParser) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  all += "caf\xc3\xa9 \xf0\x9f\x94\x91";
  const std::string literal = json_string(all);
  const auto parsed = json::parse(literal);
  ASSERT_TRUE(parsed.has_value()) << literal;
  ASSERT_TRUE(parsed->is_string());
  EXPECT_EQ(*parsed->as_string(), all);
}

TEST(AppendJsonStringTest, RoundTripsAsAnObjectMember) {
  std::string body = "{";
  append_json_string(body, "key \"1\"");
  body += ':';
  append_json_string(body, "value\\\n\x02");
  body += '}';
  const auto parsed = json::parse(body);
  ASSERT_TRUE(parsed.has_value()) << body;
  EXPECT_EQ(parsed->string_or("key \"1\"", "<missing>"), "value\\\n\x02");
}

// --- append_form_encoded --------------------------------------------------------------------

TEST(AppendFormEncodedTest, KeepsRfc3986UnreservedCharacters) {
  const std::string unreserved =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
  EXPECT_EQ(form_encoded(unreserved), unreserved);
}

TEST(AppendFormEncodedTest, EncodesSpaceAsPlus) {
  EXPECT_EQ(form_encoded("a b  c"), "a+b++c");
  EXPECT_EQ(form_encoded("+"), "%2B");  // so a literal '+' is not read back as a space
}

TEST(AppendFormEncodedTest, PercentEncodesEverythingElseInUpperCase) {
  EXPECT_EQ(form_encoded("!*'();:@&=$,/?#[]%"),
            "%21%2A%27%28%29%3B%3A%40%26%3D%24%2C%2F%3F%23%5B%5D%25");
  EXPECT_EQ(form_encoded("\"<>\\^`{|}"), "%22%3C%3E%5C%5E%60%7B%7C%7D");
  EXPECT_EQ(form_encoded(std::string_view{"\0\n\x7f", 3}), "%00%0A%7F");
}

TEST(AppendFormEncodedTest, PercentEncodesEachUtf8Byte) {
  EXPECT_EQ(form_encoded("caf\xc3\xa9"), "caf%C3%A9");
  EXPECT_EQ(form_encoded("\xe2\x82\xac"), "%E2%82%AC");
  EXPECT_EQ(form_encoded("\xf0\x9f\x94\x91"), "%F0%9F%94%91");
  EXPECT_EQ(form_encoded("\xff"), "%FF");
}

TEST(AppendFormEncodedTest, AppendsToWhatIsAlreadyThere) {
  std::string out = "a=1&b=";
  append_form_encoded(out, "x y");
  EXPECT_EQ(out, "a=1&b=x+y");
}

// --- base64_encode --------------------------------------------------------------------------

TEST(Base64EncodeTest, MatchesTheRfc4648TestVectors) {
  // RFC 4648 section 10.
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64EncodeTest, EncodesHighBytesWithTheStandardAlphabet) {
  EXPECT_EQ(base64_encode("\xff\xff\xff"), "////");
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64_encode(std::string_view{"\0\x01\x02", 3}), "AAEC");
  EXPECT_EQ(base64_encode("Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");  // RFC 7617
}

// --- format_rfc3339 -------------------------------------------------------------------------

TEST(FormatRfc3339Test, FormatsUtcWithSecondPrecision) {
  const std::chrono::system_clock::time_point now{testing::kFixtureNow};
  EXPECT_EQ(format_rfc3339(now), "2026-02-04T12:00:00Z");
  EXPECT_EQ(format_rfc3339(now + 20s), "2026-02-04T12:00:20Z");
  EXPECT_EQ(format_rfc3339(now + 11h + 59min + 59s), "2026-02-04T23:59:59Z");
  EXPECT_EQ(format_rfc3339(now + 12h), "2026-02-05T00:00:00Z");
}

TEST(FormatRfc3339Test, TruncatesFractionsOfASecond) {
  const std::chrono::system_clock::time_point now{testing::kFixtureNow};
  EXPECT_EQ(format_rfc3339(now + 20s + 999ms), "2026-02-04T12:00:20Z");
}

TEST(FormatRfc3339Test, FormatsTheEpochLeapDaysAndTimesBeforeTheEpoch) {
  using std::chrono::sys_days;
  const std::chrono::system_clock::time_point epoch{};
  EXPECT_EQ(format_rfc3339(epoch), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(epoch - 1s), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_rfc3339(epoch - 1ms), "1969-12-31T23:59:59Z");
  const std::chrono::system_clock::time_point leap{
      sys_days{std::chrono::year{2024} / std::chrono::February / 29} + 23h + 59min + 59s};
  EXPECT_EQ(format_rfc3339(leap), "2024-02-29T23:59:59Z");
}

// --- format_duration ------------------------------------------------------------------------

TEST(FormatDurationTest, ShowsMillisecondsBelowOneSecond) {
  EXPECT_EQ(format_duration(0ms), "0 ms");
  EXPECT_EQ(format_duration(250ms), "250 ms");
  EXPECT_EQ(format_duration(999ms), "999 ms");
}

TEST(FormatDurationTest, ShowsWholeSecondsBelowOneMinute) {
  EXPECT_EQ(format_duration(1s), "1 s");
  EXPECT_EQ(format_duration(1500ms), "1 s");
  EXPECT_EQ(format_duration(20s), "20 s");
  EXPECT_EQ(format_duration(59999ms), "59 s");
}

TEST(FormatDurationTest, ShowsMinutesAndSecondsBelowOneHour) {
  EXPECT_EQ(format_duration(1min), "1 min");
  EXPECT_EQ(format_duration(5min), "5 min");
  EXPECT_EQ(format_duration(90s), "1 min 30 s");
  EXPECT_EQ(format_duration(59min + 59s), "59 min 59 s");
}

TEST(FormatDurationTest, ShowsHoursAndMinutesFromOneHour) {
  EXPECT_EQ(format_duration(1h), "1 h");
  EXPECT_EQ(format_duration(1h + 30min), "1 h 30 min");
  EXPECT_EQ(format_duration(1h + 59s), "1 h");  // seconds are dropped at this scale
  EXPECT_EQ(format_duration(23h + 59min), "23 h 59 min");
}

TEST(FormatDurationTest, ShowsDaysAndYearsFromOneDay) {
  EXPECT_EQ(format_duration(24h), "1 day");
  EXPECT_EQ(format_duration(27h + 5min), "1 day 3 h");
  EXPECT_EQ(format_duration(100h + 1min), "4 days");
  EXPECT_EQ(format_duration(729 * 24h), "729 days");
  EXPECT_EQ(format_duration(221267h + 6min), "25 years");  // not "221267 h 6 min"
}

TEST(FormatDurationTest, ReadsANegativeDurationAsItsSize) {
  EXPECT_EQ(format_duration(-20s), "20 s");
  EXPECT_EQ(format_duration(std::chrono::milliseconds::min()).empty(), false);
}

TEST(FormatDeadlineTest, RoundsUpToTheNextWholeSecond) {
  const auto now = std::chrono::sys_days{std::chrono::year{2026} / 2 / 4} + 12h;
  EXPECT_EQ(format_deadline(now + 20s), "2026-02-04T12:00:20Z");
  EXPECT_EQ(format_deadline(now + 20s + 1ms), "2026-02-04T12:00:21Z");
  EXPECT_EQ(format_deadline(now + 20s + 999ms), "2026-02-04T12:00:21Z");
}

TEST(FormatDeadlineTest, RoundsUpTheLatestTimeWithoutOverflowing) {
  EXPECT_EQ(format_deadline(std::chrono::system_clock::time_point::max()), "2262-04-11T23:47:17Z");
}

}  // namespace
}  // namespace keyward::detail
