// The pieces of the one-pass event-stream reader: lines, the search for "error", which mentions
// of it can make an error event, and where the event around a mention starts.
#include "keyward/classify/event_stream.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keyward::classify::sse_internal {
namespace {

std::vector<std::string> lines_of(std::string_view stream) {
  std::vector<std::string> out;
  for (Lines lines{stream}; !lines.empty();) out.emplace_back(lines.next());
  return out;
}

TEST(LinesTest, EndsLinesAtCrlfLfOrCr) {
  using V = std::vector<std::string>;
  EXPECT_EQ(lines_of("a\r\nb\nc\rd"), (V{"a", "b", "c", "d"}));
  EXPECT_EQ(lines_of("a\n\nb\r\rc\r\n\r\nd\n\r"), (V{"a", "", "b", "", "c", "", "d", ""}));
  EXPECT_EQ(lines_of("\r\n"), (V{""}));
  EXPECT_EQ(lines_of("\n\r\n\r"), (V{"", "", ""}));
  EXPECT_EQ(lines_of(""), (V{}));
}

TEST(LinesTest, SkipsAheadToALineStart) {
  Lines lines{"a\nb\r\nc\rd"};
  lines.skip_to(5);
  EXPECT_EQ(lines.next(), "c");
  EXPECT_EQ(lines.position(), 7U);
  EXPECT_EQ(lines.next(), "d");
  EXPECT_TRUE(lines.empty());
}

TEST(FieldValueTest, ReadsANamedFieldAndDropsOneSpace) {
  EXPECT_EQ(field_value("data: x", "data"), "x");
  EXPECT_EQ(field_value("data:  x", "data"), " x");
  EXPECT_EQ(field_value("data:x:y", "data"), "x:y");
  EXPECT_EQ(field_value("data", "data"), "");
  EXPECT_FALSE(field_value("database: x", "data"));
  EXPECT_FALSE(field_value(": data", "data"));
  EXPECT_FALSE(field_value("dat", "data"));
}

// The search by each of its means: the one a constant expression uses, SSE2's and AVX2's where
// the CPU has them, and the one find_error() picks.
using FindError = std::size_t (*)(std::string_view, std::size_t);
std::vector<std::pair<std::string, FindError>> means_of_search() {
  std::vector<std::pair<std::string, FindError>> means{
      {"portable",
       [](std::string_view t, std::size_t f) { return find_error_by<PortablePairs>(t, f); }},
      {"chosen", find_error}};
#if defined(__SSE2__)
  means.emplace_back(
      "sse2", [](std::string_view t, std::size_t f) { return find_error_by<Sse2Pairs>(t, f); });
#endif
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx2")) means.emplace_back("avx2", find_error_avx2);
#endif
  return means;
}

TEST(FindErrorTest, FindsEveryErrorAsFindDoesByEveryMeans) {
  static_assert(find_error("an error", 0) == 3);  // usable in constant expressions
  for (const auto& [name, find] : means_of_search()) {
    for (const std::string_view text :
         {"error", "xerror", "errerror", "erroerror", "rrorerror", "error error", "eerrorr", "",
          "erro", "rror", "an error occurred", "no such thing", "ERROR"}) {
      for (std::size_t from = 0; from <= text.size() + 1; ++from) {
        EXPECT_EQ(find(text, from), text.find("error", from)) << name << " " << text << " " << from;
      }
    }
    // Every placement in texts long enough for whole blocks of the search, and across them.
    std::mt19937 random{5};
    const std::string_view alphabet = "erro x\"";
    for (int i = 0; i < 20000; ++i) {
      std::string text;
      const std::size_t size = random() % 300;
      for (std::size_t j = 0; j < size; ++j) text.push_back(alphabet[random() % alphabet.size()]);
      const std::size_t from = random() % (size + 1);
      ASSERT_EQ(find(text, from), text.find("error", from)) << name << " " << text << " " << from;
    }
  }
}

TEST(FindErrorTest, FindsAnErrorAtEveryOffsetOfALongText) {
  // "error" alone in 1,000 bytes of "rr" pairs, at each place: the block edges and the last byte.
  for (const auto& [name, find] : means_of_search()) {
    for (std::size_t at = 0; at + 5 <= 1000; ++at) {
      std::string text(1000, 'r');
      for (std::size_t i = 1; i < text.size(); i += 3) text[i] = ' ';
      text.replace(at, 5, "error");
      const auto expected = text.find("error");
      ASSERT_EQ(find(text, 0), expected) << name << " " << at;
      ASSERT_EQ(find(std::string_view{text}.substr(0, at + 4), 0), std::string_view::npos)
          << name << " " << at;  // cut one byte short
    }
  }
}

TEST(PairsTest, EveryMeansMarksTheSamePairs) {
  std::mt19937 random{7};
  for (int i = 0; i < 4000; ++i) {
    // 129 bytes, mostly 'x', with a few "r" so that blocks with and without a pair both occur.
    std::string block(129, 'x');
    for (int r = static_cast<int>(random() % 6); r > 0; --r) block[random() % block.size()] = 'r';
    const std::uint64_t pairs = PortablePairs::pairs(block.data());
    ASSERT_EQ(pairs >> 63, 0U);  // the 64th byte's pair is the next mask's
    bool any = false;            // a pair among the first 126
    for (std::size_t j = 0; j + 1 < 127; ++j) any = any || (block[j] == 'r' && block[j + 1] == 'r');
    ASSERT_EQ(PortablePairs::any(block.data()), any) << block;
#if defined(__SSE2__)
    ASSERT_EQ(Sse2Pairs::pairs(block.data()), pairs) << block;
    if (any) {
      ASSERT_TRUE(Sse2Pairs::any(block.data())) << block;  // may say yes for 126 and 127 too
    }
#endif
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx2")) {
      ASSERT_EQ(Avx2Pairs::pairs(block.data()), pairs) << block;
      if (any) {
        ASSERT_TRUE(Avx2Pairs::any(block.data())) << block;
      }
    }
#endif
  }
}

TEST(HasLetterEscapeTest, SeesEscapesOfTheLettersOfError) {
  EXPECT_TRUE(has_letter_escape(R"({"\u0065rror":{}})"));
  EXPECT_TRUE(has_letter_escape(R"("err\u006Fr")"));
  EXPECT_TRUE(has_letter_escape(R"("\u0072")"));
  EXPECT_FALSE(has_letter_escape(R"("caf\u00e9 \u2028 \\n")"));
  EXPECT_FALSE(has_letter_escape(R"(\u00)"));
}

bool telling(std::string_view stream) { return telling_mention(stream, stream.find("error")); }

TEST(TellingMentionTest, AnEventNamedErrorTells) {
  EXPECT_TRUE(telling("event: error\ndata: x"));
  EXPECT_TRUE(telling("event:error"));
  EXPECT_TRUE(telling("data: {}\r\nevent: error\r\n"));
  EXPECT_FALSE(telling("event: errors\n"));
  EXPECT_FALSE(telling("event:  error\n"));  // its name is " error"
  EXPECT_FALSE(telling("xevent: error\n"));
  EXPECT_FALSE(telling("data: event: error\n"));
}

TEST(TellingMentionTest, AQuotedKeyWhoseValueMayBeAnObjectTells) {
  EXPECT_TRUE(telling(R"(data: {"error":{"type":"x"}})"));
  EXPECT_TRUE(telling(R"(data: {"error" :	{"type":"x"}})"));
  EXPECT_TRUE(telling("data: {\"error\":\ndata: {}}"));  // decided on the next line
  EXPECT_TRUE(telling("data: {\"error\"\ndata: :{}}"));
  EXPECT_FALSE(telling(R"(data: {"type":"response.created","error":null})"));
  EXPECT_FALSE(telling(R"(data: {"error":"invalid_grant"})"));
  EXPECT_FALSE(telling(R"(data: {"error":[]})"));
}

TEST(TellingMentionTest, AQuotedValueAfterAColonTells) {
  EXPECT_TRUE(telling(R"(data: {"type":"error","message":"x"})"));
  EXPECT_TRUE(telling(R"(data: {"type": "error"})"));
  EXPECT_TRUE(telling("data: {\"type\":\ndata: \"error\"}"));
  EXPECT_TRUE(telling("\"error\"}"));
  EXPECT_FALSE(telling(R"(data: ["warning", "error"])"));
}

TEST(TellingMentionTest, ErrorInTextDoesNotTell) {
  EXPECT_FALSE(telling(R"(data: {"text":"an error occurred"})"));
  EXPECT_FALSE(telling(R"(data: {"text":"the \"error\" field"})"));
  EXPECT_FALSE(telling(R"(data: {"type":"rate_limit_error"})"));
  EXPECT_FALSE(telling(R"(data: {"errors":{}})"));
  EXPECT_FALSE(telling(": error"));
}

TEST(EventStartTest, FindsTheLineAfterTheLastBlankLine) {
  const std::string_view stream = "event: a\ndata: 1\n\nevent: b\ndata: error\n";
  EXPECT_EQ(event_start(stream, 0, stream.find("error")), stream.find("event: b"));
  EXPECT_EQ(event_start(stream, 0, stream.find("data: 1")), 0U);
  const std::string_view crlf = "data: 1\r\n\r\ndata: 2\r\ndata: error\r\n";
  EXPECT_EQ(event_start(crlf, 0, crlf.find("error")), crlf.find("data: 2"));
  const std::string_view cr = "data: 1\r\rdata: error";
  EXPECT_EQ(event_start(cr, 0, cr.find("error")), cr.find("data: error"));
  const std::string_view lf_cr = "data: 1\n\rdata: error";
  EXPECT_EQ(event_start(lf_cr, 0, lf_cr.find("error")), lf_cr.find("data: error"));
}

TEST(EventStartTest, ALineEndRightAfterTheFloorEndsABlankLine) {
  // The floor starts a line, so the line end there ends an empty line.
  const std::string_view stream = "data: 1\n\ndata: error";
  EXPECT_EQ(event_start(stream, 8, stream.find("error")), 9U);
  EXPECT_EQ(event_start(stream, 9, stream.find("error")), 9U);
}

}  // namespace
}  // namespace keyward::classify::sse_internal
