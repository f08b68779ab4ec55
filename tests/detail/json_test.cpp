// Tests for the JSON reader in keyward/detail/json.hpp: what it accepts, each strictness rule, what
// the lenient reading repairs, the size and depth limits, and robustness against truncated and
// random input.

#include "keyward/detail/json.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include "detail/utf8_check.hpp"

namespace {

using keyward::detail::json::Limits;
using keyward::detail::json::parse;
using keyward::detail::json::Strictness;
using keyward::detail::json::Type;
using keyward::detail::json::Value;
using namespace std::string_literals;

bool accepts(std::string_view text) { return parse(text).has_value(); }

// Parses a document that must be valid and returns its root.
Value parse_ok(std::string_view text) {
  auto value = parse(text);
  EXPECT_TRUE(value.has_value()) << "rejected: " << text;
  return value.value_or(Value{});
}

// Parses a single JSON string literal and returns its decoded contents.
std::string decode(std::string_view literal) {
  const Value value = parse_ok(literal);
  const std::string* text = value.as_string();
  EXPECT_NE(text, nullptr) << literal;
  return text != nullptr ? *text : std::string{};
}

// Reads a single JSON string literal leniently and returns its decoded contents.
std::string decode_lenient(std::string_view literal) {
  const auto value = parse(literal, Strictness::lenient);
  EXPECT_TRUE(value.has_value()) << "rejected: " << literal;
  const std::string* text = value ? value->as_string() : nullptr;
  EXPECT_NE(text, nullptr) << literal;
  return text != nullptr ? *text : std::string{};
}

bool accepts_lenient(std::string_view text) { return parse(text, Strictness::lenient).has_value(); }

constexpr std::string_view kFffd = "\xEF\xBF\xBD";

double number(std::string_view text) {
  const Value value = parse_ok(text);
  EXPECT_TRUE(value.is_number()) << text;
  return value.as_number().value_or(-12345.0);
}

std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

// A document exercising every value type, escapes and nesting.
const std::string kRichDocument =
    R"({"access_token": "at-1", "expires_in": 3600, "ratio": -1.25e-2, "ok": true, )"
    R"("off": false, "none": null, "scopes": ["read", "write", [], {}], )"
    R"("nested": {"a": [1, 2, {"b": "\u00e9\ud83d\ude00\n"}]}, "empty": ""})";

TEST(JsonTest, ParsesScalarsAtTopLevel) {
  EXPECT_TRUE(parse_ok("null").is_null());
  EXPECT_EQ(parse_ok("true").as_bool(), true);
  EXPECT_EQ(parse_ok("false").as_bool(), false);
  EXPECT_EQ(parse_ok("42").as_number(), 42.0);
  EXPECT_EQ(*parse_ok(R"("hi")").as_string(), "hi");
  EXPECT_TRUE(parse_ok("[]").is_array());
  EXPECT_TRUE(parse_ok("{}").is_object());
}

TEST(JsonTest, ParsesNestedDocumentWithAllTypes) {
  const Value root = parse_ok(kRichDocument);
  ASSERT_TRUE(root.is_object());
  EXPECT_EQ(root.string_or("access_token"), "at-1");
  EXPECT_EQ(root.find("expires_in")->as_number(), 3600.0);
  EXPECT_DOUBLE_EQ(*root.find("ratio")->as_number(), -0.0125);
  EXPECT_EQ(root.find("ok")->as_bool(), true);
  EXPECT_EQ(root.find("off")->as_bool(), false);
  EXPECT_TRUE(root.find("none")->is_null());
  EXPECT_EQ(root.string_or("empty", "fallback"), "");

  const auto* scopes = root.find("scopes")->as_array();
  ASSERT_NE(scopes, nullptr);
  ASSERT_EQ(scopes->size(), 4u);
  EXPECT_EQ(*(*scopes)[1].as_string(), "write");
  EXPECT_TRUE((*scopes)[2].as_array()->empty());
  EXPECT_TRUE((*scopes)[3].as_object()->empty());

  const auto* inner = root.find("nested")->find("a")->as_array();
  ASSERT_NE(inner, nullptr);
  ASSERT_EQ(inner->size(), 3u);
  EXPECT_EQ((*inner)[1].as_number(), 2.0);
  EXPECT_EQ((*inner)[2].string_or("b"), "\xC3\xA9\xF0\x9F\x98\x80\n");
}

TEST(JsonTest, KeepsObjectMembersInDocumentOrder) {
  const Value root = parse_ok(R"({"z": 1, "a": 2, "m": 3})");
  const auto* members = root.as_object();
  ASSERT_NE(members, nullptr);
  ASSERT_EQ(members->size(), 3u);
  EXPECT_EQ((*members)[0].first, "z");
  EXPECT_EQ((*members)[1].first, "a");
  EXPECT_EQ((*members)[2].first, "m");
  EXPECT_EQ((*members)[2].second.as_number(), 3.0);
}

TEST(JsonTest, KeepsDuplicateKeysAndFindReturnsTheFirst) {
  const Value root = parse_ok(R"({"k": "first", "k": "second"})");
  ASSERT_EQ(root.as_object()->size(), 2u);
  EXPECT_EQ(root.string_or("k"), "first");
  EXPECT_EQ(*(*root.as_object())[1].second.as_string(), "second");
}

TEST(JsonTest, AllowsWhitespaceAroundAndBetweenTokens) {
  EXPECT_TRUE(accepts(" \t\r\n{ \"a\" :\n[ 1 ,\t2 ] , \"b\" : { } }\r\n "));
  EXPECT_TRUE(accepts("  7  "));
}

TEST(JsonTest, RejectsWhitespaceThatJsonDoesNotDefine) {
  EXPECT_FALSE(accepts("\f1"));
  EXPECT_FALSE(accepts("\v1"));
  EXPECT_FALSE(accepts("[1,\xC2\xA0 2]"));  // U+00A0 NO-BREAK SPACE
  EXPECT_FALSE(accepts("\xEF\xBB\xBF{}"));  // A byte order mark is not part of the text.
}

TEST(JsonTest, DecodesSimpleEscapes) {
  EXPECT_EQ(decode(R"("\"\\\/\b\f\n\r\t")"), "\"\\/\b\f\n\r\t");
}

TEST(JsonTest, DecodesUnicodeEscapesToUtf8) {
  EXPECT_EQ(decode(R"("\u0041")"), "A");
  EXPECT_EQ(decode(R"("\u00e9\u00E9")"), "\xC3\xA9\xC3\xA9");
  EXPECT_EQ(decode(R"("\u20AC")"), "\xE2\x82\xAC");
  EXPECT_EQ(decode(R"("\uFFFF")"), "\xEF\xBF\xBF");
  EXPECT_EQ(decode(R"("a\u0000b")"), "a\0b"s);
}

TEST(JsonTest, DecodesSurrogatePairsToOneCodePoint) {
  EXPECT_EQ(decode(R"("\uD83D\uDE00")"), "\xF0\x9F\x98\x80");  // U+1F600
  EXPECT_EQ(decode(R"("\ud800\udc00")"), "\xF0\x90\x80\x80");  // U+10000
  EXPECT_EQ(decode(R"("\uDBFF\uDFFF")"), "\xF4\x8F\xBF\xBF");  // U+10FFFF
}

TEST(JsonTest, PassesRawUtf8Through) {
  EXPECT_EQ(decode("\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\""),
            "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  EXPECT_EQ(decode("\"\x7F\""), "\x7F");  // DEL is not a control character in JSON's sense.
}

TEST(JsonTest, RejectsInvalidUtf8InStrings) {
  EXPECT_FALSE(accepts("\"\x80\""));              // Lone continuation byte.
  EXPECT_FALSE(accepts("\"\xC0\xAF\""));          // Overlong '/'.
  EXPECT_FALSE(accepts("\"\xE0\x80\xAF\""));      // Overlong three-byte form.
  EXPECT_FALSE(accepts("\"\xED\xA0\x80\""));      // Encoded surrogate U+D800.
  EXPECT_FALSE(accepts("\"\xF4\x90\x80\x80\""));  // Past U+10FFFF.
  EXPECT_FALSE(accepts("\"\xF5\x80\x80\x80\""));
  EXPECT_FALSE(accepts("\"\xE2\x82\""));  // Truncated sequence.
  EXPECT_FALSE(accepts("\"\xFF\""));
  EXPECT_FALSE(accepts("\xC3\xA9"));  // Outside a string, any non-ASCII byte is garbage.
}

TEST(JsonTest, ParsesNumbersWithFractionsAndExponents) {
  EXPECT_EQ(number("0"), 0.0);
  EXPECT_EQ(number("-0"), 0.0);
  EXPECT_EQ(number("-0.0"), 0.0);
  EXPECT_EQ(number("1e3"), 1000.0);
  EXPECT_EQ(number("1E3"), 1000.0);
  EXPECT_EQ(number("1e+3"), 1000.0);
  EXPECT_EQ(number("25e-1"), 2.5);
  EXPECT_EQ(number("-2.5E-3"), -0.0025);
  EXPECT_EQ(number("0.5"), 0.5);
  EXPECT_EQ(number("0e0"), 0.0);
  EXPECT_EQ(number("10.000e00"), 10.0);
}

TEST(JsonTest, ParsesBigNumbers) {
  EXPECT_EQ(number("12345678901234567890"), 12345678901234567890.0);
  EXPECT_EQ(number("1.7976931348623157e308"), 1.7976931348623157e308);
  EXPECT_EQ(number("-1.7976931348623157e308"), -1.7976931348623157e308);
  EXPECT_EQ(number("1e308"), 1e308);
  EXPECT_EQ(number("9007199254740993"), 9007199254740992.0);  // Rounds to nearest double.
  EXPECT_EQ(number("1" + std::string(300, '0')), 1e300);
  EXPECT_EQ(number("4.9e-324"), 4.9e-324);
}

TEST(JsonTest, RejectsNumbersOutsideTheRangeOfDouble) {
  EXPECT_FALSE(accepts("1e400"));
  EXPECT_FALSE(accepts("-1e400"));
  EXPECT_FALSE(accepts("1" + std::string(400, '0')));
  EXPECT_FALSE(accepts("1e-400"));
}

TEST(JsonTest, RejectsLeadingZeros) {
  EXPECT_FALSE(accepts("01"));
  EXPECT_FALSE(accepts("-01"));
  EXPECT_FALSE(accepts("00"));
  EXPECT_FALSE(accepts("00.5"));
  EXPECT_FALSE(accepts("[01]"));
  EXPECT_FALSE(accepts(R"({"a": 007})"));
}

TEST(JsonTest, RejectsPlusSign) {
  EXPECT_FALSE(accepts("+1"));
  EXPECT_FALSE(accepts("[+1]"));
}

TEST(JsonTest, RejectsMissingIntegerPart) {
  EXPECT_FALSE(accepts(".5"));
  EXPECT_FALSE(accepts("-.5"));
  EXPECT_FALSE(accepts("-"));
}

TEST(JsonTest, RejectsMissingFractionOrExponentDigits) {
  EXPECT_FALSE(accepts("1."));
  EXPECT_FALSE(accepts("1.e5"));
  EXPECT_FALSE(accepts("1e"));
  EXPECT_FALSE(accepts("1e+"));
  EXPECT_FALSE(accepts("1E-"));
  EXPECT_FALSE(accepts("[1.]"));
}

TEST(JsonTest, RejectsOtherNumberForms) {
  EXPECT_FALSE(accepts("0x10"));
  EXPECT_FALSE(accepts("1_000"));
  EXPECT_FALSE(accepts("1e5.5"));
  EXPECT_FALSE(accepts("--1"));
}

TEST(JsonTest, RejectsNanAndInfinity) {
  for (const char* text : {"NaN", "nan", "-NaN", "Infinity", "-Infinity", "inf", "-inf", "[NaN]"}) {
    EXPECT_FALSE(accepts(text)) << text;
  }
}

TEST(JsonTest, RejectsTrailingComma) {
  EXPECT_FALSE(accepts("[1,]"));
  EXPECT_FALSE(accepts("[1, ]"));
  EXPECT_FALSE(accepts(R"({"a": 1,})"));
  EXPECT_FALSE(accepts(R"({"a": 1, })"));
  EXPECT_FALSE(accepts("[,]"));
  EXPECT_FALSE(accepts("[,1]"));
  EXPECT_FALSE(accepts("[1,,2]"));
  EXPECT_FALSE(accepts("{,}"));
}

TEST(JsonTest, RejectsSingleQuotes) {
  EXPECT_FALSE(accepts("'a'"));
  EXPECT_FALSE(accepts("{'a': 1}"));
  EXPECT_FALSE(accepts(R"({"a": 'b'})"));
}

TEST(JsonTest, RejectsComments) {
  EXPECT_FALSE(accepts("// note\n{}"));
  EXPECT_FALSE(accepts("{} // note"));
  EXPECT_FALSE(accepts("/* note */ {}"));
  EXPECT_FALSE(accepts("[1, /* note */ 2]"));
  EXPECT_FALSE(accepts("# note\n{}"));
}

TEST(JsonTest, RejectsUnescapedControlCharactersInStrings) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string text = "\"a"s + static_cast<char>(c) + "b\"";
    EXPECT_FALSE(accepts(text)) << "control character " << c;
  }
}

TEST(JsonTest, RejectsInvalidEscapes) {
  for (const char* text : {R"("\x41")", R"("\'")", R"("\a")", R"("\0")", R"("\U0041")", R"("\u12")",
                           R"("\u12G4")", R"("\u 123")", R"("\)", R"("\u00e")"}) {
    EXPECT_FALSE(accepts(text)) << text;
  }
}

TEST(JsonTest, RejectsLoneSurrogateEscapes) {
  for (const char* text :
       {R"("\uD800")", R"("\uDBFF")", R"("\uDC00")", R"("\uDFFF")", R"("\uD800x")", R"("\uD800\n")",
        R"("\uD800\u0041")", R"("\uD83D\uD83D")", R"("\uDE00\uD83D")", R"("\uD83D\u")"}) {
    EXPECT_FALSE(accepts(text)) << text;
  }
}

TEST(JsonTest, RejectsTrailingGarbage) {
  EXPECT_FALSE(accepts("{} x"));
  EXPECT_FALSE(accepts("{}{}"));
  EXPECT_FALSE(accepts("1 2"));
  EXPECT_FALSE(accepts("[]]"));
  EXPECT_FALSE(accepts("nullx"));
  EXPECT_FALSE(accepts("truefalse"));
  EXPECT_FALSE(accepts(R"("a""b")"));
  EXPECT_FALSE(accepts("{}\0"s));
  EXPECT_FALSE(accepts("1\0"s));
}

TEST(JsonTest, RejectsEmptyAndWhitespaceOnlyInput) {
  EXPECT_FALSE(accepts(""));
  EXPECT_FALSE(accepts(" \n\t\r"));
  EXPECT_FALSE(accepts("\0"s));
}

TEST(JsonTest, RejectsMisspelledLiteralsAndBareWords) {
  for (const char* text : {"tru", "nul", "fals", "True", "NULL", "undefined", "none", "nulll"}) {
    EXPECT_FALSE(accepts(text)) << text;
  }
}

TEST(JsonTest, RejectsMalformedObjects) {
  EXPECT_FALSE(accepts("{a: 1}"));              // Unquoted key.
  EXPECT_FALSE(accepts("{1: 1}"));              // Non-string key.
  EXPECT_FALSE(accepts(R"({"a" 1})"));          // Missing colon.
  EXPECT_FALSE(accepts(R"({"a": 1 "b": 2})"));  // Missing comma.
  EXPECT_FALSE(accepts(R"({"a"})"));
  EXPECT_FALSE(accepts(R"({"a":})"));
  EXPECT_FALSE(accepts("{]"));
  EXPECT_FALSE(accepts("[}"));
}

TEST(JsonTest, AcceptsNestingExactlyAtMaxDepth) {
  EXPECT_TRUE(accepts(nested_arrays(64)));
  std::string objects;
  for (int i = 0; i < 63; ++i) objects += R"({"k":)";
  objects += "[]" + std::string(63, '}');
  EXPECT_TRUE(accepts(objects));
  EXPECT_TRUE(parse(nested_arrays(3), Limits{3, 1 << 20}).has_value());
}

TEST(JsonTest, RejectsNestingOneLevelBeyondMaxDepth) {
  EXPECT_FALSE(accepts(nested_arrays(65)));
  std::string objects;
  for (int i = 0; i < 64; ++i) objects += R"({"k":)";
  objects += "{}" + std::string(64, '}');
  EXPECT_FALSE(accepts(objects));
  EXPECT_FALSE(parse(nested_arrays(4), Limits{3, 1 << 20}).has_value());
}

TEST(JsonTest, ZeroMaxDepthAllowsOnlyScalars) {
  const Limits limits{0, 1 << 20};
  EXPECT_TRUE(parse("\"s\"", limits).has_value());
  EXPECT_FALSE(parse("[]", limits).has_value());
  EXPECT_FALSE(parse("{}", limits).has_value());
}

TEST(JsonTest, RejectsVeryDeepNestingWithoutExhaustingTheStack) {
  EXPECT_FALSE(accepts(std::string(500000, '[')));
  EXPECT_FALSE(accepts(nested_arrays(200000)));
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += R"({"k":)";
  EXPECT_FALSE(accepts(objects));
}

TEST(JsonTest, AcceptsInputExactlyAtMaxSize) {
  const Limits limits{64, 10};
  EXPECT_TRUE(parse(R"("12345678")", limits).has_value());  // 10 bytes.
  const std::string big = '"' + std::string((1 << 20) - 2, 'x') + '"';
  EXPECT_TRUE(accepts(big));
}

TEST(JsonTest, RejectsInputLargerThanMaxSize) {
  const Limits limits{64, 10};
  EXPECT_FALSE(parse(R"("123456789")", limits).has_value());  // 11 bytes.
  EXPECT_FALSE(parse("1          ", limits).has_value());     // Trailing whitespace still counts.
  const std::string big = '"' + std::string((1 << 20) - 1, 'x') + '"';
  EXPECT_FALSE(accepts(big));
}

TEST(JsonTest, RejectsEveryTruncationOfAValidDocument) {
  ASSERT_TRUE(accepts(kRichDocument));
  for (std::size_t length = 0; length < kRichDocument.size(); ++length) {
    EXPECT_FALSE(accepts(std::string_view(kRichDocument).substr(0, length))) << length;
  }
}

TEST(JsonTest, RejectsEveryTruncationOfEscapesAndNumbers) {
  for (const std::string document : {R"(["\uD83D\uDE00\t"])", R"([-12.5e+10])",
                                     "[\"\xF0\x9F\x98\x80\"]", R"({"a":[true,false,null]})"}) {
    ASSERT_TRUE(accepts(document)) << document;
    for (std::size_t length = 0; length < document.size(); ++length) {
      EXPECT_FALSE(accepts(document.substr(0, length))) << document.substr(0, length);
    }
  }
}

TEST(JsonTest, SurvivesRandomBytes) {
  std::mt19937 rng(20240601u);
  // Mostly JSON punctuation so inputs get past the first byte, plus arbitrary bytes.
  const std::string alphabet = "{}[]:,\"\\ -+.0123456789eEtrufalsn\\u\x01\x7F\xC3\xA9\xED\xF0\xFF";
  std::uniform_int_distribution<std::size_t> length_dist(0, 48);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> byte_dist(0, 255);
  std::uniform_int_distribution<int> coin(0, 3);
  int accepted = 0;
  for (int round = 0; round < 5000; ++round) {
    std::string input(length_dist(rng), '\0');
    for (char& c : input) {
      c = coin(rng) == 0 ? static_cast<char>(byte_dist(rng)) : alphabet[pick(rng)];
    }
    if (parse(input, Limits{8, 1 << 20}).has_value()) ++accepted;
  }
  SUCCEED() << accepted << " random inputs happened to be valid JSON";
}

TEST(JsonTest, SurvivesRandomMutationsOfAValidDocument) {
  std::mt19937 rng(7u);
  std::uniform_int_distribution<std::size_t> position(0, kRichDocument.size() - 1);
  std::uniform_int_distribution<int> byte_dist(0, 255);
  std::uniform_int_distribution<int> edits(1, 4);
  for (int round = 0; round < 3000; ++round) {
    std::string input = kRichDocument;
    for (int edit = edits(rng); edit > 0; --edit) {
      input[position(rng)] = static_cast<char>(byte_dist(rng));
    }
    const auto value = parse(input);
    if (value.has_value()) {
      EXPECT_TRUE(value->is_object());  // No few-byte edit can turn the root into another type.
    }
  }
}

// --- lenient reading --------------------------------------------------------------------------

TEST(JsonLenientTest, ReadsValidDocumentsExactlyAsStrictDoes) {
  const auto strict = parse(kRichDocument);
  const auto lenient = parse(kRichDocument, Strictness::lenient);
  ASSERT_TRUE(strict && lenient);
  EXPECT_EQ(lenient->find("nested")->find("a")->as_array()->at(2).string_or("b"),
            strict->find("nested")->find("a")->as_array()->at(2).string_or("b"));
  EXPECT_EQ(decode_lenient(R"("\uD83D\uDE00 \u00e9 \"\\\/\b\f\n\r\t")"),
            "\xF0\x9F\x98\x80 \xC3\xA9 \"\\/\b\f\n\r\t");
}

TEST(JsonLenientTest, ReplacesLoneSurrogatesWithReplacementCharacters) {
  const std::string fffd{kFffd};
  EXPECT_EQ(decode_lenient(R"("low \ud83d")"), "low " + fffd);
  EXPECT_EQ(decode_lenient(R"("\uDC00 first")"), fffd + " first");
  EXPECT_EQ(decode_lenient(R"("\uD800x")"), fffd + "x");
  EXPECT_EQ(decode_lenient(R"("\uD800\n")"), fffd + "\n");
  EXPECT_EQ(decode_lenient(R"("\uDE00\uD83D")"), fffd + fffd);
}

TEST(JsonLenientTest, ReadsWhatFollowsAMismatchedSurrogateOnItsOwn) {
  const std::string fffd{kFffd};
  EXPECT_EQ(decode_lenient(R"("\uD800\u0041")"), fffd + "A");
  EXPECT_EQ(decode_lenient(R"("\uD83D\uD83D\uDE00")"), fffd + "\xF0\x9F\x98\x80");
  EXPECT_EQ(decode_lenient(R"("\uD83D\u")"), fffd + fffd);
}

TEST(JsonLenientTest, ReplacesBadUnicodeEscapes) {
  const std::string fffd{kFffd};
  EXPECT_EQ(decode_lenient(R"("\u12")"), fffd);
  EXPECT_EQ(decode_lenient(R"("\u12G4")"), fffd + "G4");
  EXPECT_EQ(decode_lenient(R"("\u 123")"), fffd + " 123");
  EXPECT_EQ(decode_lenient(R"("a\u00e")"), "a" + fffd);
  EXPECT_EQ(decode_lenient(R"("\U0041")"), fffd + "0041");
}

TEST(JsonLenientTest, ReplacesUnknownEscapeLetters) {
  const std::string fffd{kFffd};
  EXPECT_EQ(decode_lenient(R"("\x41")"), fffd + "41");
  EXPECT_EQ(decode_lenient(R"("it\'s")"), "it" + fffd + "s");
  EXPECT_EQ(decode_lenient(R"("\a\0")"), fffd + fffd);
  // A character after the backslash that is not ASCII is kept, or repaired on its own.
  EXPECT_EQ(decode_lenient("\"\\\xC3\xA9\""), fffd + "\xC3\xA9");
  EXPECT_EQ(decode_lenient("\"\\\xFF\""), fffd + fffd);
}

TEST(JsonLenientTest, ReplacesInvalidUtf8WithOneReplacementCharacterPerMaximalSubpart) {
  const std::string fffd{kFffd};
  EXPECT_EQ(decode_lenient("\"a\x80z\""), "a" + fffd + "z");
  EXPECT_EQ(decode_lenient("\"\xC0\xAF\""), fffd + fffd);
  EXPECT_EQ(decode_lenient("\"\xED\xA0\x80\""), fffd + fffd + fffd);
  EXPECT_EQ(decode_lenient("\"\xF4\x90\x80\x80\""), fffd + fffd + fffd + fffd);
  // A truncated sequence right before the closing quote leaves the quote closing the string.
  EXPECT_EQ(decode_lenient("\"\xE2\x82\""), fffd);
  EXPECT_EQ(decode_lenient("\"\xF0\x9F\x98\""), fffd);
}

TEST(JsonLenientTest, KeepsUnescapedControlCharacters) {
  EXPECT_EQ(decode_lenient("\"a\tb\nc\x01\""), "a\tb\nc\x01");
}

TEST(JsonLenientTest, StillRejectsBrokenStructure) {
  for (const char* text :
       {"", "{", R"({"a":)", R"({"a" 1})", R"({"a":1,})", "[1,]", R"("open)", R"("\)", R"("\u12)",
        R"("\ud83d)", "{'a':1}", "[01]", "[1.]", "nul", "{} x", "\xEF\xBB\xBF{}", "\xFF"}) {
    EXPECT_FALSE(accepts_lenient(text)) << text;
  }
  EXPECT_FALSE(accepts_lenient("{\"\xFF\":1"));
  EXPECT_FALSE(parse(nested_arrays(65), Strictness::lenient));
  EXPECT_FALSE(parse(R"(["\ud83d"])", Strictness::lenient, Limits{.max_depth = 64, .max_size = 4}));
}

TEST(JsonLenientTest, RepairsKeysAsWellAsValues) {
  const auto value = parse(R"({"k\ud83d": "v\q"})", Strictness::lenient);
  ASSERT_TRUE(value);
  EXPECT_EQ(value->string_or("k\xEF\xBF\xBD"), "v\xEF\xBF\xBD");
}

TEST(JsonLenientTest, AcceptsEverythingStrictAcceptsAndAlwaysDecodesValidUtf8) {
  std::mt19937 random(20260204);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> position(1, 6);
  const std::string alphabet = "\\u\"dD8ABCE0 x\x80\xC3\xED\xA0";
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  for (int round = 0; round < 5000; ++round) {
    std::string inside;
    const std::size_t size = position(random) * 3;
    for (std::size_t i = 0; i < size; ++i) {
      inside.push_back(round % 2 == 0 ? alphabet[pick(random)] : static_cast<char>(byte(random)));
    }
    const std::string text = "[\"" + inside + "\"]";
    const auto strict = parse(text);
    const auto lenient = parse(text, Strictness::lenient);
    if (strict) {
      ASSERT_TRUE(lenient) << text;
      EXPECT_EQ(*strict->as_array()->at(0).as_string(), *lenient->as_array()->at(0).as_string());
    }
    if (lenient) {
      for (const auto& element : *lenient->as_array()) {
        if (element.is_string()) {
          EXPECT_TRUE(keyward::test::well_formed_utf8(*element.as_string()));
        }
      }
    }
  }
}

TEST(JsonTest, DefaultValueIsNull) {
  const Value value;
  EXPECT_EQ(value.type(), Type::null);
  EXPECT_TRUE(value.is_null());
  EXPECT_EQ(value.find("a"), nullptr);
}

TEST(JsonTest, ReportsTypeThroughPredicates) {
  const Value root = parse_ok(R"([null, true, 1, "s", [], {}])");
  const auto& items = *root.as_array();
  const Type expected[] = {Type::null,   Type::boolean, Type::number,
                           Type::string, Type::array,   Type::object};
  for (std::size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i].type(), expected[i]);
    EXPECT_EQ(items[i].is_null(), expected[i] == Type::null);
    EXPECT_EQ(items[i].is_bool(), expected[i] == Type::boolean);
    EXPECT_EQ(items[i].is_number(), expected[i] == Type::number);
    EXPECT_EQ(items[i].is_string(), expected[i] == Type::string);
    EXPECT_EQ(items[i].is_array(), expected[i] == Type::array);
    EXPECT_EQ(items[i].is_object(), expected[i] == Type::object);
  }
}

TEST(JsonTest, AccessorsReturnNothingForOtherTypes) {
  const Value root = parse_ok(R"([null, true, 1, "s", [], {}])");
  for (const Value& item : *root.as_array()) {
    EXPECT_EQ(item.as_string() != nullptr, item.is_string());
    EXPECT_EQ(item.as_number().has_value(), item.is_number());
    EXPECT_EQ(item.as_bool().has_value(), item.is_bool());
    EXPECT_EQ(item.as_array() != nullptr, item.is_array());
    EXPECT_EQ(item.as_object() != nullptr, item.is_object());
  }
}

TEST(JsonTest, FindReturnsNullForMissingKeysAndNonObjects) {
  const Value root = parse_ok(R"({"a": {"b": 1}, "list": [{"a": 1}]})");
  EXPECT_NE(root.find("a"), nullptr);
  EXPECT_EQ(root.find("b"), nullptr);  // Lookup does not descend into children.
  EXPECT_EQ(root.find("A"), nullptr);  // Keys are case-sensitive.
  EXPECT_EQ(root.find(""), nullptr);
  EXPECT_EQ(root.find("list")->find("a"), nullptr);
  EXPECT_EQ(parse_ok("\"a\"").find("a"), nullptr);
}

TEST(JsonTest, FindMatchesKeysByDecodedValue) {
  const Value root = parse_ok(R"({"\u0061": 1, "a\u0000b": 2})");
  EXPECT_EQ(root.find("a")->as_number(), 1.0);
  EXPECT_EQ(root.find("a\0b"s)->as_number(), 2.0);
  EXPECT_EQ(root.find("a\0c"s), nullptr);
}

TEST(JsonTest, StringOrFallsBackWhenMissingOrNotAString) {
  const Value root = parse_ok(R"({"token": "t", "count": 3, "none": null})");
  EXPECT_EQ(root.string_or("token", "x"), "t");
  EXPECT_EQ(root.string_or("count", "x"), "x");
  EXPECT_EQ(root.string_or("none", "x"), "x");
  EXPECT_EQ(root.string_or("missing", "x"), "x");
  EXPECT_EQ(root.string_or("missing"), "");
  EXPECT_EQ(parse_ok("[]").string_or("token", "x"), "x");
}

TEST(JsonTest, ValuesCanBeCopiedAndMoved) {
  const Value original = parse_ok(kRichDocument);
  Value copy = original;
  EXPECT_EQ(copy.string_or("access_token"), "at-1");
  const Value moved = std::move(copy);
  EXPECT_EQ(moved.find("nested")->find("a")->as_array()->size(), 3u);
  EXPECT_EQ(original.string_or("access_token"), "at-1");
}

}  // namespace
