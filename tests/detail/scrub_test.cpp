// detail/scrub.hpp: secrets scrubbed from outside text, invalid UTF-8 and controls repaired,
// long text cut at a character boundary.
#include "keyward/detail/scrub.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "detail/utf8_check.hpp"

namespace keyward::detail {
namespace {

constexpr std::string_view kFffd = "\xEF\xBF\xBD";
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";

std::string scrub(std::string_view text, std::initializer_list<std::string_view> secrets) {
  return scrub_secrets(text, std::span<const std::string_view>{secrets.begin(), secrets.size()});
}

std::string repeat(std::string_view piece, std::size_t times) {
  std::string out;
  out.reserve(piece.size() * times);
  for (std::size_t i = 0; i < times; ++i) out.append(piece);
  return out;
}

// --- scrub_secrets --------------------------------------------------------------------------

TEST(ScrubSecretsTest, ReplacesTheFormEncodedFormKeywardSendsInATokenRequest) {
  // A token endpoint that echoes the request body quotes the refresh token form-encoded.
  EXPECT_EQ(scrub("bad grant_type=refresh_token&refresh_token=1%2F%2F0gAbCdEf%2Btoken&x=1",
                  {"1//0gAbCdEf+token"}),
            "bad grant_type=refresh_token&refresh_token=[redacted]&x=1");
  EXPECT_EQ(scrub("refresh_token=my+secret+phrase", {"my secret phrase"}),
            "refresh_token=[redacted]");
}

TEST(ScrubSecretsTest, ReplacesTheJsonEscapedForm) {
  EXPECT_EQ(scrub(R"({"echo":"abc\"def\\ghi12"})", {R"(abc"def\ghi12)"}),
            R"({"echo":"[redacted]"})");
}

TEST(ScrubSecretsTest, ReplacesAFormEncodedFirstPartLeftAtACut) {
  EXPECT_EQ(scrub("body: refresh_token=1%2F%2F0gAbC", {"1//0gAbCdEf+token"}),
            "body: refresh_token=[redacted]");
}

TEST(ScrubSecretsTest, ReplacesEveryOccurrence) {
  EXPECT_EQ(scrub("key sk-ant-12345678 rejected; sk-ant-12345678 again", {"sk-ant-12345678"}),
            "key [redacted] rejected; [redacted] again");
}

TEST(ScrubSecretsTest, ReplacesEverySecret) {
  EXPECT_EQ(scrub("a=secret-one-111 b=secret-two-222", {"secret-one-111", "secret-two-222"}),
            "a=[redacted] b=[redacted]");
}

TEST(ScrubSecretsTest, LeavesTextWithoutSecretsAlone) {
  EXPECT_EQ(scrub("nothing to see here", {"sk-ant-12345678"}), "nothing to see here");
  EXPECT_EQ(scrub("nothing to see here", {}), "nothing to see here");
  EXPECT_EQ(scrub("", {"sk-ant-12345678"}), "");
}

TEST(ScrubSecretsTest, IgnoresEmptyAndShortSecrets) {
  EXPECT_EQ(scrub("the token was rejected", {"", "token", "1234567"}), "the token was rejected");
  EXPECT_EQ(scrub("code 12345678 seen", {"12345678"}), "code [redacted] seen");
}

TEST(ScrubSecretsTest, RemovesASecretThatIsAPrefixOfAnother) {
  // Whatever order the secrets come in, no trace of the longer one may remain.
  EXPECT_EQ(scrub("x abcdefgh12345 y abcdefgh z", {"abcdefgh", "abcdefgh12345"}),
            "x [redacted] y [redacted] z");
  EXPECT_EQ(scrub("x abcdefgh12345 y abcdefgh z", {"abcdefgh12345", "abcdefgh"}),
            "x [redacted] y [redacted] z");
}

TEST(ScrubSecretsTest, RemovesOverlappingOccurrencesOfDifferentSecrets) {
  // "AAAABBBB" and "BBBBCCCC" overlap in "AAAABBBBCCCC": neither may leave a piece behind.
  EXPECT_EQ(scrub("<AAAABBBBCCCC>", {"AAAABBBB", "BBBBCCCC"}), "<[redacted]>");
  EXPECT_EQ(scrub("<AAAABBBBCCCC>", {"BBBBCCCC", "AAAABBBB"}), "<[redacted]>");
}

TEST(ScrubSecretsTest, RemovesOverlappingOccurrencesOfOneSecret) {
  EXPECT_EQ(scrub("<abababababab>", {"abababab"}), "<[redacted]>");
  EXPECT_EQ(scrub("<aaaaaaaaaaaa>", {"aaaaaaaa"}), "<[redacted]>");
}

TEST(ScrubSecretsTest, KeepsAdjacentOccurrencesApart) {
  EXPECT_EQ(scrub("12345678123456789", {"12345678"}), "[redacted][redacted]9");
}

TEST(ScrubSecretsTest, ReplacesRunsOfTwelveBytesOrMoreAndNothingShorter) {
  // Fourteen bytes of a secret go; eleven stay (scrub_reshaped_test.cpp has more).
  EXPECT_EQ(scrub("sk-ant-1234567 and sk-ant-123456789", {"sk-ant-12345678"}),
            "[redacted] and [redacted]9");
  EXPECT_EQ(scrub("ant-1234567 and", {"sk-ant-12345678"}), "ant-1234567 and");
}

TEST(ScrubSecretsTest, HandlesSecretsAtBothEndsAndSecretsLongerThanTheText) {
  EXPECT_EQ(scrub("12345678 middle 12345678", {"12345678"}), "[redacted] middle [redacted]");
  EXPECT_EQ(scrub("1234567", {"12345678"}), "1234567");
  EXPECT_EQ(scrub("12345678", {"12345678"}), "[redacted]");
}

TEST(ScrubSecretsTest, ScrubsAMegabyteFullOfSecrets) {
  const std::string text = repeat("err sk-live-0123456789 and aaaaaaaab; ", 1U << 15U);
  ASSERT_GE(text.size(), 1'000'000U);
  // A periodic secret that almost matches everywhere would make a naive search quadratic.
  const std::string out = scrub(text, {"sk-live-0123456789", "aaaaaaaaaaaaaaab", "aaaaaaab"});
  EXPECT_EQ(out, repeat("err [redacted] and a[redacted]; ", 1U << 15U));
  EXPECT_EQ(out.find("sk-live"), std::string::npos);
}

TEST(ScrubSecretsTest, ScrubsAMegabyteOfOneRepeatedCharacter) {
  const std::string text = std::string(1U << 20U, 'a') + "c";
  // Every run of twelve bytes or more of the secret goes.
  EXPECT_EQ(scrub(text, {std::string(1000, 'a') + "b"}), "[redacted]c");
  EXPECT_EQ(scrub(text, {std::string(1000, 'b') + "a"}), text);
  EXPECT_EQ(scrub(text, {"aaaaaaaa"}), "[redacted]c");
}

// --- clean_outside_text ---------------------------------------------------------------------

TEST(CleanOutsideTextTest, KeepsValidTextAsItIs) {
  EXPECT_EQ(clean_outside_text("plain ascii"), "plain ascii");
  EXPECT_EQ(clean_outside_text("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(clean_outside_text(""), "");
}

TEST(CleanOutsideTextTest, ReplacesControlCharactersAndDeleteWithSpaces) {
  EXPECT_EQ(clean_outside_text("a\nb\rc\td\x1B[31me\x7F"), "a b c d [31me ");
  EXPECT_EQ(clean_outside_text(std::string_view{"x\0y", 3}), "x y");
}

TEST(CleanOutsideTextTest, ReplacesC1ControlsWithSpaces) {
  // U+009B is the one-byte CSI of a terminal, U+0085 a next-line.
  EXPECT_EQ(clean_outside_text("a\xC2\x9B"
                               "31mb\xC2\x85"
                               "c\xC2\x80\xC2\x9F"),
            "a 31mb c  ");
  // U+00A0 and U+00E9 are ordinary characters.
  EXPECT_EQ(clean_outside_text("\xC2\xA0\xC3\xA9"), "\xC2\xA0\xC3\xA9");
}

TEST(CleanOutsideTextTest, ReplacesBidiOverridesIsolatesAndMarksWithSpaces) {
  for (const std::string_view mark :
       {"\xE2\x80\xAA", "\xE2\x80\xAB", "\xE2\x80\xAC", "\xE2\x80\xAD", "\xE2\x80\xAE",
        "\xE2\x81\xA6", "\xE2\x81\xA7", "\xE2\x81\xA8", "\xE2\x81\xA9", "\xE2\x80\x8E",
        "\xE2\x80\x8F", "\xD8\x9C"}) {
    EXPECT_EQ(clean_outside_text("x" + std::string{mark} + "y"), "x y");
  }
  // Neighbours stay: U+2010 (hyphen), U+2026 (ellipsis), U+2065 (unassigned), U+061B.
  for (const std::string_view keep : {"\xE2\x80\x90", "\xE2\x80\xA6", "\xE2\x81\xA5", "\xD8\x9B"}) {
    EXPECT_EQ(clean_outside_text(keep), keep);
  }
}

TEST(CleanOutsideTextTest, ReplacesInvalidUtf8WithReplacementCharacters) {
  const auto fffd = std::string{kFffd};
  // Stray continuation byte, bytes that never appear, a lead byte with nothing after it.
  EXPECT_EQ(clean_outside_text("a\x80z"), "a" + fffd + "z");
  EXPECT_EQ(clean_outside_text("a\xFFz\xF5"), "a" + fffd + "z" + fffd);
  EXPECT_EQ(clean_outside_text("a\xC3"), "a" + fffd);
  // Overlong encodings of '/' and of U+0000.
  EXPECT_EQ(clean_outside_text("\xC0\xAF"), fffd + fffd);
  EXPECT_EQ(clean_outside_text("\xE0\x80\xAF"), fffd + fffd + fffd);
  EXPECT_EQ(clean_outside_text("\xF0\x80\x80\xAF"), fffd + fffd + fffd + fffd);
  // A UTF-16 surrogate (U+D83D) encoded in UTF-8, and a code point above U+10FFFF.
  EXPECT_EQ(clean_outside_text("\xED\xA0\xBD"), fffd + fffd + fffd);
  EXPECT_EQ(clean_outside_text("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);
}

TEST(CleanOutsideTextTest, ReplacesATruncatedSequenceWithOneReplacementCharacter) {
  const auto fffd = std::string{kFffd};
  EXPECT_EQ(clean_outside_text("\xE2\x82z"), fffd + "z");
  EXPECT_EQ(clean_outside_text("\xF0\x9F\x98z"), fffd + "z");
  EXPECT_EQ(clean_outside_text("\xF0\x9F\x98"), fffd);
  EXPECT_EQ(clean_outside_text("\xE2\x82\xE2\x82\xAC"), fffd + "\xE2\x82\xAC");
}

TEST(CleanOutsideTextTest, AlwaysReturnsValidUtf8) {
  std::string every_byte_pair;
  for (unsigned a = 0; a < 256; ++a) {
    for (unsigned b = 0; b < 256; ++b) {
      every_byte_pair.push_back(static_cast<char>(a));
      every_byte_pair.push_back(static_cast<char>(b));
    }
  }
  const std::string out = clean_outside_text(every_byte_pair, every_byte_pair.size() * 3);
  EXPECT_TRUE(test::well_formed_utf8(out));
  for (const char c : out) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == '\x7F');
}

TEST(CleanOutsideTextTest, LeavesTextThatFitsUncut) {
  EXPECT_EQ(clean_outside_text("12345", 5), "12345");
  EXPECT_EQ(clean_outside_text(std::string(1024, 'x')), std::string(1024, 'x'));
}

TEST(CleanOutsideTextTest, CutsLongTextAndAppendsAnEllipsis) {
  EXPECT_EQ(clean_outside_text("123456", 5), "12345" + std::string{kEllipsis});
  EXPECT_EQ(clean_outside_text(std::string(2000, 'x')),
            std::string(1024, 'x') + std::string{kEllipsis});
  EXPECT_EQ(clean_outside_text("abc", 0), kEllipsis);
}

TEST(CleanOutsideTextTest, CutsAtACharacterBoundary) {
  // "é" is two bytes, "€" three: a cut inside either keeps the whole character out.
  EXPECT_EQ(clean_outside_text("ab\xC3\xA9", 3), "ab" + std::string{kEllipsis});
  EXPECT_EQ(clean_outside_text("a\xE2\x82\xAC\xE2\x82\xAC", 5),
            "a\xE2\x82\xAC" + std::string{kEllipsis});
  // A replacement character counts three bytes against the limit.
  EXPECT_EQ(clean_outside_text("ab\xFF", 4), "ab" + std::string{kEllipsis});
}

TEST(CleanOutsideTextTest, NeverExceedsTheLimitPlusTheEllipsis) {
  const std::string text = repeat("\xF0\x9F\x98\x80\xFF\xC3\xA9x\n", 300);
  for (std::size_t max = 0; max < 64; ++max) {
    const std::string out = clean_outside_text(text, max);
    EXPECT_LE(out.size(), max + 3) << max;
    EXPECT_TRUE(test::well_formed_utf8(out)) << max;
    EXPECT_TRUE(out.ends_with(kEllipsis)) << max;
  }
}

TEST(CleanOutsideTextTest, CleansAMegabyte) {
  const std::string text = repeat("ok\xFF\n", 1U << 18U);
  const std::string out = clean_outside_text(text, text.size() * 3);
  EXPECT_EQ(out, repeat("ok" + std::string{kFffd} + " ", 1U << 18U));
  const std::string cut = clean_outside_text(text);
  EXPECT_LE(cut.size(), 1024U + 3U);
  EXPECT_TRUE(cut.ends_with(kEllipsis));
}

// --- clean_and_scrub ------------------------------------------------------------------------

TEST(CleanAndScrubTest, ScrubsThenCleans) {
  const std::array<std::string_view, 1> secrets{"sk-ant-12345678"};
  EXPECT_EQ(clean_and_scrub("bad key\nsk-ant-12345678\xFF", secrets),
            "bad key [redacted]" + std::string{kFffd});
}

TEST(CleanAndScrubTest, ScrubsASecretThatStraddlesTheCut) {
  const std::array<std::string_view, 1> secrets{"sk-ant-12345678"};
  const std::string out = clean_and_scrub("0123456789sk-ant-12345678 tail", secrets, 16);
  EXPECT_EQ(out, "0123456789[redac" + std::string{kEllipsis});
  EXPECT_EQ(out.find("sk-ant"), std::string::npos);
}

TEST(CleanAndScrubTest, ScrubsASecretWithASpaceThatTheTextCarriedWithATab) {
  const std::array<std::string_view, 1> secrets{"correct horse battery"};
  EXPECT_EQ(clean_and_scrub("password correct\thorse battery rejected", secrets),
            "password [redacted] rejected");
}

TEST(CleanAndScrubTest, ScrubsAndCutsAMegabyte) {
  const std::array<std::string_view, 2> secrets{"sk-ant-12345678", "refresh-token-abcdef"};
  const std::string text = repeat("sk-ant-12345678\r\nrefresh-token-abcdef\x80 ", 1U << 15U);
  ASSERT_GE(text.size(), 1'000'000U);
  const std::string out = clean_and_scrub(text, secrets);
  EXPECT_LE(out.size(), 1024U + 3U);
  EXPECT_TRUE(test::well_formed_utf8(out));
  EXPECT_EQ(out.find("sk-ant"), std::string::npos);
  EXPECT_EQ(out.find("refresh-token"), std::string::npos);
  EXPECT_TRUE(out.starts_with("[redacted]  [redacted]" + std::string{kFffd} + " [redacted]"));
}

TEST(ScrubSecretsTest, RemovesTheFirstPartOfASecretLeftAtTheEndOfACutText) {
  const std::string secret = "sk-test-access-0123456789abcdef";
  const std::array<std::string_view, 1> secrets{secret};
  EXPECT_EQ(scrub_secrets("invalid key sk-test-access-0123", secrets), "invalid key [redacted]");
  EXPECT_EQ(scrub_secrets("ends in sk-test", secrets), "ends in sk-test");  // under 8 bytes
}

}  // namespace
}  // namespace keyward::detail
