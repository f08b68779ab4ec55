#include "keyward/detail/www_authenticate.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace keyward::detail {
namespace {

std::vector<Challenge> parse_ok(std::string_view header) {
  std::optional<std::vector<Challenge>> parsed = parse_www_authenticate(header);
  EXPECT_TRUE(parsed.has_value()) << header;
  return parsed ? std::move(*parsed) : std::vector<Challenge>{};
}

std::string param_or(const Challenge& challenge, std::string_view name, std::string fallback) {
  const std::string* value = challenge.param(name);
  return value ? *value : fallback;
}

TEST(WwwAuthenticateTest, ParsesRfcExampleWithEscapedQuotes) {
  const auto challenges =
      parse_ok(R"(Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple")");
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_EQ(challenges[0].scheme, "Newauth");
  EXPECT_FALSE(challenges[0].token68.has_value());
  ASSERT_EQ(challenges[0].params.size(), 3u);
  EXPECT_EQ(challenges[0].params[0].name, "realm");
  EXPECT_EQ(challenges[0].params[0].value, "apps");
  EXPECT_EQ(challenges[0].params[1].name, "type");
  EXPECT_EQ(challenges[0].params[1].value, "1");
  EXPECT_EQ(challenges[0].params[2].name, "title");
  EXPECT_EQ(challenges[0].params[2].value, R"(Login to "apps")");
  EXPECT_EQ(challenges[1].scheme, "Basic");
  ASSERT_EQ(challenges[1].params.size(), 1u);
  EXPECT_EQ(param_or(challenges[1], "realm", "-"), "simple");
}

TEST(WwwAuthenticateTest, ParsesBearerErrorChallengeFollowedByBasic) {
  const auto challenges = parse_ok(
      R"(Bearer realm="example", error="invalid_token", error_description="The access token expired", Basic realm="x")");
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_EQ(challenges[0].scheme, "Bearer");
  EXPECT_EQ(param_or(challenges[0], "realm", "-"), "example");
  EXPECT_EQ(param_or(challenges[0], "error", "-"), "invalid_token");
  EXPECT_EQ(param_or(challenges[0], "error_description", "-"), "The access token expired");
  EXPECT_EQ(challenges[1].scheme, "Basic");
  EXPECT_EQ(param_or(challenges[1], "realm", "-"), "x");
}

TEST(WwwAuthenticateTest, ParsesToken68WithPadding) {
  const auto challenges = parse_ok("Negotiate abc123==");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(challenges[0].scheme, "Negotiate");
  EXPECT_EQ(challenges[0].token68, "abc123==");
  EXPECT_TRUE(challenges[0].params.empty());
}

TEST(WwwAuthenticateTest, ParsesToken68WithEveryAllowedCharacter) {
  const auto challenges = parse_ok("Custom aZ09-._~+/=");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(challenges[0].token68, "aZ09-._~+/=");
}

TEST(WwwAuthenticateTest, ParsesToken68FollowedByAnotherChallenge) {
  const auto challenges = parse_ok(R"(Negotiate abc==, Basic realm="x")");
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_EQ(challenges[0].token68, "abc==");
  EXPECT_EQ(challenges[1].scheme, "Basic");
  EXPECT_EQ(param_or(challenges[1], "realm", "-"), "x");
}

TEST(WwwAuthenticateTest, StartsNewChallengeWhenTokenIsFollowedByToken68) {
  const auto challenges = parse_ok(R"(Basic realm="x", Negotiate abc==, NTLM)");
  ASSERT_EQ(challenges.size(), 3u);
  EXPECT_EQ(challenges[0].params.size(), 1u);
  EXPECT_EQ(challenges[1].scheme, "Negotiate");
  EXPECT_EQ(challenges[1].token68, "abc==");
  EXPECT_EQ(challenges[2].scheme, "NTLM");
}

TEST(WwwAuthenticateTest, TreatsLoneNameWithTrailingEqualsAsToken68) {
  // By the grammar "realm=" is a valid token68, not an auth-param with an empty value.
  const auto challenges = parse_ok("Basic realm=");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(challenges[0].token68, "realm=");
  EXPECT_TRUE(challenges[0].params.empty());
}

TEST(WwwAuthenticateTest, ReadsSingleEqualsBetweenTokensAsAuthParam) {
  const auto challenges = parse_ok("Negotiate abc=def");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_FALSE(challenges[0].token68.has_value());
  EXPECT_EQ(param_or(challenges[0], "abc", "-"), "def");
}

TEST(WwwAuthenticateTest, ParsesSchemesWithoutParameters) {
  const auto challenges = parse_ok("Negotiate, NTLM,Basic");
  ASSERT_EQ(challenges.size(), 3u);
  EXPECT_EQ(challenges[0].scheme, "Negotiate");
  EXPECT_EQ(challenges[1].scheme, "NTLM");
  EXPECT_EQ(challenges[2].scheme, "Basic");
  for (const Challenge& c : challenges) {
    EXPECT_FALSE(c.token68.has_value());
    EXPECT_TRUE(c.params.empty());
  }
}

TEST(WwwAuthenticateTest, ToleratesEmptyListElementsEverywhere) {
  const auto challenges =
      parse_ok(R"( , ,Bearer realm="x", , error="y" ,, Basic , , realm="z",Negotiate abc=,, )");
  ASSERT_EQ(challenges.size(), 3u);
  EXPECT_EQ(challenges[0].scheme, "Bearer");
  ASSERT_EQ(challenges[0].params.size(), 2u);
  EXPECT_EQ(param_or(challenges[0], "error", "-"), "y");
  // "Basic , , realm=..." is Basic with a param list that starts with empty elements.
  EXPECT_EQ(challenges[1].scheme, "Basic");
  EXPECT_EQ(param_or(challenges[1], "realm", "-"), "z");
  EXPECT_EQ(challenges[2].token68, "abc=");
}

TEST(WwwAuthenticateTest, ReturnsNoChallengesForEmptyList) {
  for (const std::string_view header : {"", "   ", ",", ", ,", "\t,\t"}) {
    const std::optional<std::vector<Challenge>> parsed = parse_www_authenticate(header);
    ASSERT_TRUE(parsed.has_value()) << header;
    EXPECT_TRUE(parsed->empty()) << header;
  }
}

TEST(WwwAuthenticateTest, AllowsWhitespaceAroundEquals) {
  const auto challenges = parse_ok("Basic realm = \"x\" ,charset\t=\tUTF-8");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(param_or(challenges[0], "realm", "-"), "x");
  EXPECT_EQ(param_or(challenges[0], "charset", "-"), "UTF-8");
}

TEST(WwwAuthenticateTest, LowerCasesParamNamesButKeepsSchemeAndValues) {
  const auto challenges = parse_ok(R"(BEARER Realm="MixedCase", ERROR=Invalid_Token)");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(challenges[0].scheme, "BEARER");
  ASSERT_EQ(challenges[0].params.size(), 2u);
  EXPECT_EQ(challenges[0].params[0].name, "realm");
  EXPECT_EQ(challenges[0].params[0].value, "MixedCase");
  EXPECT_EQ(challenges[0].params[1].name, "error");
  EXPECT_EQ(challenges[0].params[1].value, "Invalid_Token");
}

TEST(WwwAuthenticateTest, LooksUpParamsCaseInsensitively) {
  const auto challenges = parse_ok(R"(Bearer realm="a", scope="read write")");
  ASSERT_EQ(challenges.size(), 1u);
  ASSERT_NE(challenges[0].param("REALM"), nullptr);
  EXPECT_EQ(*challenges[0].param("Realm"), "a");
  EXPECT_EQ(*challenges[0].param("scope"), "read write");
  EXPECT_EQ(challenges[0].param("error"), nullptr);
  EXPECT_EQ(challenges[0].param(""), nullptr);
}

TEST(WwwAuthenticateTest, ParamLookupReturnsFirstOfDuplicates) {
  const auto challenges = parse_ok(R"(Basic realm="first", realm="second")");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(challenges[0].params.size(), 2u);
  EXPECT_EQ(*challenges[0].param("realm"), "first");
}

TEST(WwwAuthenticateTest, FindsChallengeBySchemeCaseInsensitively) {
  const auto challenges = parse_ok(R"(Negotiate, bearer realm="api", Basic realm="b")");
  const Challenge* bearer = find_challenge(challenges, "Bearer");
  ASSERT_NE(bearer, nullptr);
  EXPECT_EQ(bearer, &challenges[1]);
  EXPECT_EQ(find_challenge(challenges, "BASIC"), &challenges[2]);
  EXPECT_EQ(find_challenge(challenges, "Digest"), nullptr);
  EXPECT_EQ(find_challenge(challenges, "Bear"), nullptr);
  EXPECT_EQ(find_challenge({}, "Basic"), nullptr);
}

TEST(WwwAuthenticateTest, ResolvesQuotedPairEscapes) {
  const auto challenges = parse_ok(R"(X a="back\\slash", b="\q\u\o\t\e", c="", d="\"", e=" \, ")");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(param_or(challenges[0], "a", "-"), R"(back\slash)");
  EXPECT_EQ(param_or(challenges[0], "b", "-"), "quote");
  EXPECT_EQ(param_or(challenges[0], "c", "-"), "");
  EXPECT_EQ(param_or(challenges[0], "d", "-"), "\"");
  EXPECT_EQ(param_or(challenges[0], "e", "-"), " , ");
}

TEST(WwwAuthenticateTest, KeepsCommasAndEqualsInsideQuotedStrings) {
  const auto challenges = parse_ok(R"(Bearer scope="a=b, Basic c", realm="x")");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(param_or(challenges[0], "scope", "-"), "a=b, Basic c");
  EXPECT_EQ(param_or(challenges[0], "realm", "-"), "x");
}

TEST(WwwAuthenticateTest, AcceptsObsTextAndTabsInQuotedStrings) {
  const auto challenges = parse_ok("Basic realm=\"caf\xC3\xA9\tbar\", x=\"\\\xC3\\\t\"");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(param_or(challenges[0], "realm", "-"), "caf\xC3\xA9\tbar");
  EXPECT_EQ(param_or(challenges[0], "x", "-"), "\xC3\t");
}

TEST(WwwAuthenticateTest, RejectsUnterminatedQuotedString) {
  EXPECT_EQ(parse_www_authenticate(R"(Basic realm="x)"), std::nullopt);
  EXPECT_EQ(parse_www_authenticate(R"(Basic realm="x\")"), std::nullopt);
  EXPECT_EQ(parse_www_authenticate(R"(Basic realm="x\)"), std::nullopt);
  EXPECT_EQ(parse_www_authenticate(R"(Basic realm=")"), std::nullopt);
}

TEST(WwwAuthenticateTest, RejectsControlCharactersInQuotedString) {
  EXPECT_EQ(parse_www_authenticate("Basic realm=\"a\x01z\""), std::nullopt);
  EXPECT_EQ(parse_www_authenticate("Basic realm=\"a\x7Fz\""), std::nullopt);
  EXPECT_EQ(parse_www_authenticate("Basic realm=\"a\nz\""), std::nullopt);
  EXPECT_EQ(parse_www_authenticate("Basic realm=\"a\\\nz\""), std::nullopt);
  EXPECT_EQ(parse_www_authenticate(std::string_view("Basic realm=\"a\0z\"", 17)), std::nullopt);
}

TEST(WwwAuthenticateTest, RejectsMissingScheme) {
  for (const std::string_view header :
       {R"(realm="x")", R"(="x")", R"(, =x)", R"("Basic")", "=", R"(Basic realm="x", ="y")"}) {
    EXPECT_EQ(parse_www_authenticate(header), std::nullopt) << header;
  }
}

TEST(WwwAuthenticateTest, RejectsParamWithoutEqualsWhereParamIsExpected) {
  EXPECT_EQ(parse_www_authenticate(R"(Basic realm "x")"), std::nullopt);
  EXPECT_EQ(parse_www_authenticate(R"(Bearer realm, error="x")"), std::nullopt);
  EXPECT_EQ(parse_www_authenticate(R"(Bearer realm="x" error="y")"), std::nullopt);
}

TEST(WwwAuthenticateTest, RejectsParamWithMissingValue) {
  EXPECT_EQ(parse_www_authenticate(R"(Basic a=b, realm=)"), std::nullopt);
  EXPECT_EQ(parse_www_authenticate(R"(Basic a=b, realm= , c=d)"), std::nullopt);
  EXPECT_EQ(parse_www_authenticate(R"(Basic a=b, realm=,)"), std::nullopt);
}

TEST(WwwAuthenticateTest, RejectsJunkAfterValues) {
  for (const std::string_view header :
       {R"(Basic realm="x"y)", R"(Basic realm="x""y")", R"(Basic type=1 2)", R"(Basic type=1")",
        R"(Basic type=a@b)", R"(Basic realm="x";)", R"(Negotiate abc== def)",
        R"(Negotiate abc==def)", "Basic realm=\"x\"\r\n"}) {
    EXPECT_EQ(parse_www_authenticate(header), std::nullopt) << header;
  }
}

TEST(WwwAuthenticateTest, RejectsParamsAfterToken68) {
  EXPECT_EQ(parse_www_authenticate(R"(Negotiate abc==, realm="x")"), std::nullopt);
}

TEST(WwwAuthenticateTest, RejectsSchemeNotFollowedByWhitespace) {
  for (const std::string_view header :
       {R"(Basic"x")", "B@sic realm=x", "Basic/realm=x", "Basic=x", "Basic;"}) {
    EXPECT_EQ(parse_www_authenticate(header), std::nullopt) << header;
  }
}

TEST(WwwAuthenticateTest, SurvivesPseudoRandomInput) {
  std::mt19937 rng(11611u);
  const std::string_view alphabet = "aBz09=,\" \t\\-./+~_!";
  const std::string_view seeds[] = {
      R"(Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple")",
      "Negotiate abc123==, Bearer error=\"invalid_token\""};
  for (int i = 0; i < 6000; ++i) {
    std::string text;
    if (i % 2 == 0) {
      text = seeds[rng() % 2];
      for (int e = 0; e < 3; ++e) {
        const std::size_t pos = rng() % text.size();
        text[pos] =
            rng() % 4 == 0 ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
      }
    } else {
      const std::size_t len = rng() % 48;
      for (std::size_t j = 0; j < len; ++j) {
        text.push_back(rng() % 4 == 0 ? static_cast<char>(rng() % 256)
                                      : alphabet[rng() % alphabet.size()]);
      }
    }
    const std::optional<std::vector<Challenge>> parsed = parse_www_authenticate(text);
    if (parsed) {
      for (const Challenge& c : *parsed) {
        EXPECT_FALSE(c.scheme.empty()) << text;
        EXPECT_TRUE(!c.token68 || c.params.empty()) << text;
        for (const AuthParam& p : c.params) EXPECT_FALSE(p.name.empty()) << text;
      }
    }
  }
}

TEST(WwwAuthenticateTest, ParsesLargeInputsInLinearTime) {
  // Quadratic rescanning would take far longer than the generous bound below.
  std::string params = "Basic ";
  std::string commas = "Basic";
  std::string schemes;
  std::string spaces = "Basic ";
  for (int i = 0; i < 100000; ++i) {
    params += "a=b, ";
    commas += " , ";
    schemes += "Negotiate abc==, ";
  }
  spaces += std::string(300000, ' ');
  spaces += "x";
  const auto start = std::chrono::steady_clock::now();
  const auto many_params = parse_www_authenticate(params);
  const auto many_commas = parse_www_authenticate(commas);
  const auto many_schemes = parse_www_authenticate(schemes);
  const auto many_spaces = parse_www_authenticate(spaces + "=");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(many_params.has_value());
  EXPECT_EQ(many_params->at(0).params.size(), 100000u);
  ASSERT_TRUE(many_commas.has_value());
  EXPECT_EQ(many_commas->size(), 1u);
  ASSERT_TRUE(many_schemes.has_value());
  EXPECT_EQ(many_schemes->size(), 100000u);
  ASSERT_TRUE(many_spaces.has_value());
  EXPECT_LT(elapsed, std::chrono::seconds{10});
}

}  // namespace
}  // namespace keyward::detail
