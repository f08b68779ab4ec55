// preflight::Generic: pasted-token damage with its position, doubled "Bearer ", short tokens,
// expired JWTs and expiries, refresh-token slots, and messages that never repeat the secret.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "keyward/detail/text.hpp"
#include "keyward/preflight.hpp"
#include "preflight/finding_checks.hpp"
#include "support/fake_clock.hpp"

namespace keyward::preflight {
namespace {

using namespace std::chrono_literals;
using testing::codes;
using testing::expect_no_secret;
using testing::finding;
using Codes = std::vector<std::string>;

static_assert(keyward::Preflight<Generic>);

const TimePoint kNow{testing::kFixtureNow};
const std::string kKey = "Xq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3Hj5Gs0TyUe";  // 34 characters

std::vector<Finding> validate(const Credential& credential) {
  auto findings = Generic{}.validate(credential, kNow);
  expect_no_secret(findings, credential.token.reveal());
  expect_no_secret(findings, credential.refresh_token.reveal());
  return findings;
}

std::vector<Finding> validate_key(const std::string& key) {
  return validate(Credential::api_key(key));
}

std::string base64url(std::string_view text) {
  std::string out = detail::base64_encode(text);
  for (char& c : out) c = c == '+' ? '-' : (c == '/' ? '_' : c);
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::string jwt_expiring(TimePoint exp) {
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(exp.time_since_epoch()).count();
  return base64url(R"({"alg":"RS256","typ":"JWT"})") + "." +
         base64url(R"({"sub":"u1","exp":)" + std::to_string(seconds) + "}") + "." +
         base64url("Q9v1Rk3Mx8Wz");
}

TEST(GenericPreflightTest, AcceptsCleanCredentialsAndAnEmptyRefreshSlot) {
  EXPECT_TRUE(validate_key(kKey).empty());
  EXPECT_TRUE(validate(Credential::oauth(kKey, "", kNow + 1h)).empty());
  EXPECT_TRUE(validate(Credential::oauth(kKey, "Rr8Tt2Yy6Uu1Ii5Oo9Pp3Aa", kNow + 1h)).empty());
  EXPECT_TRUE(validate(Credential::bearer(jwt_expiring(kNow + 1h))).empty());
}

TEST(GenericPreflightTest, NamesALineBreakByItsPosition) {
  const std::string cut = kKey + kKey.substr(0, 26) + "\n" + kKey;  // the break is character 61
  const auto findings = validate_key(cut);
  ASSERT_EQ(codes(findings), Codes{"line_break"});
  EXPECT_EQ(findings[0].message,
            "the token contains a line break at character 61: it was probably cut when pasted");
}

TEST(GenericPreflightTest, TrailingOrLeadingWhitespaceIsToBeTrimmed) {
  const auto newline = validate_key(kKey + "\r\n");
  ASSERT_EQ(codes(newline), Codes{"line_break"});
  EXPECT_EQ(newline[0].message, "the token contains a line break at character 35: trim it");
  const auto space = validate_key(" " + kKey);
  ASSERT_EQ(codes(space), Codes{"whitespace"});
  EXPECT_EQ(space[0].message, "the token contains whitespace at character 1: trim it");
}

TEST(GenericPreflightTest, WhitespaceInsideTheTokenWasPastedWithOtherText) {
  const auto findings = validate_key("export KEY " + kKey);
  ASSERT_EQ(codes(findings), Codes{"whitespace"});
  EXPECT_NE(findings[0].message.find("at character 7: it was probably pasted with the text"),
            std::string::npos)
      << findings[0].message;
}

TEST(GenericPreflightTest, ReportsControlAndNonAsciiCharactersByCharacterPosition) {
  const auto control = validate_key(kKey.substr(0, 10) + '\x1b' + kKey);
  ASSERT_EQ(codes(control), Codes{"control_character"});
  EXPECT_NE(control[0].message.find("at character 11"), std::string::npos);
  // A non-breaking space (two bytes) and a typographic quote: positions count characters.
  const auto fancy = validate_key("\xC2\xA0" + kKey + "\xE2\x80\x9D");
  ASSERT_EQ(codes(fancy), Codes{"non_ascii"});
  EXPECT_NE(fancy[0].message.find("at character 1 "), std::string::npos) << fancy[0].message;
}

TEST(GenericPreflightTest, ReportsEachKindOfDamageOnceAtItsFirstPosition) {
  const auto findings = validate_key(kKey.substr(0, 20) + "\n\n \t" + kKey + "\n");
  EXPECT_EQ(codes(findings), (Codes{"line_break", "whitespace"}));
  EXPECT_NE(findings[0].message.find("character 21"), std::string::npos);
}

TEST(GenericPreflightTest, CatchesQuotesAndADoubledBearer) {
  EXPECT_EQ(codes(validate_key("\"" + kKey + "\"")), Codes{"quoted"});
  EXPECT_EQ(codes(validate_key("'" + kKey + "'")), Codes{"quoted"});
  const auto bearer = validate_key("Bearer " + kKey);
  EXPECT_EQ(codes(bearer), (Codes{"whitespace", "doubled_bearer"}));
  EXPECT_NE(finding(bearer, "doubled_bearer").message.find("keyward adds the scheme"),
            std::string::npos);
  EXPECT_EQ(codes(validate_key("bearer " + kKey)), (Codes{"whitespace", "doubled_bearer"}));
}

TEST(GenericPreflightTest, CatchesTruncatedAndEmptyTokens) {
  const auto short_key = validate_key(kKey.substr(0, 12));
  ASSERT_EQ(codes(short_key), Codes{"too_short"});
  EXPECT_NE(short_key[0].message.find("is 12 characters long"), std::string::npos);
  EXPECT_TRUE(
      Generic{{.min_length = 8}}.validate(Credential::api_key(kKey.substr(0, 12)), kNow).empty());
  EXPECT_EQ(codes(validate_key("")), Codes{"empty"});
}

TEST(GenericPreflightTest, AnExpiredJwtThatNothingRefreshesIsReported) {
  const std::string jwt = jwt_expiring(kNow - 2h);
  const auto findings = validate(Credential::bearer(jwt));
  ASSERT_EQ(codes(findings), Codes{"expired_jwt"});
  EXPECT_EQ(findings[0].message,
            "the token is a JWT that expired at 2026-02-04T10:00:00Z, 2 h ago, and nothing can "
            "refresh it: get a new one");
  EXPECT_EQ(codes(validate(Credential::oauth(jwt, "", std::nullopt))), Codes{"expired_jwt"});
}

TEST(GenericPreflightTest, AnExpiredJwtWithARefreshTokenWillBeRefreshed) {
  EXPECT_TRUE(
      validate(Credential::oauth(jwt_expiring(kNow - 2h), "Rr8Tt2Yy6Uu1Ii5Oo9Pp3Aa", kNow - 2h))
          .empty());
}

TEST(GenericPreflightTest, AnExpiryInThePastWithoutARefreshTokenIsReported) {
  const auto findings = validate(Credential::oauth(kKey, "", kNow - 90s));
  ASSERT_EQ(codes(findings), Codes{"expired"});
  EXPECT_NE(findings[0].message.find("2026-02-04T11:58:30Z, 1 min 30 s ago"), std::string::npos)
      << findings[0].message;
  EXPECT_TRUE(validate(Credential::oauth(kKey, "", kNow + 1s)).empty());
  // Absurd expiries are reported without overflowing.
  EXPECT_EQ(codes(validate(Credential::oauth(kKey, "", TimePoint::min()))), Codes{"expired"});
}

TEST(GenericPreflightTest, ChecksTheRefreshTokenToo) {
  const std::string refresh = "Rr8Tt2Yy6Uu1Ii5Oo9Pp3Aa";
  const auto cut = validate(Credential::oauth(kKey, refresh.substr(0, 10) + "\n" + refresh, {}));
  ASSERT_EQ(codes(cut), Codes{"line_break"});
  EXPECT_EQ(cut[0].message.rfind("the refresh token contains a line break at character 11", 0), 0U);
  EXPECT_EQ(codes(validate(Credential::oauth(kKey, jwt_expiring(kNow - 1h), {}))),
            Codes{"expired_refresh_token"});
  EXPECT_EQ(codes(validate(Credential::oauth(kKey, kKey, {}))), Codes{"same_tokens"});
}

TEST(GenericPreflightTest, ARefreshTokenOnAKindThatNeverRefreshesIsReported) {
  Credential credential = Credential::api_key(kKey);
  credential.refresh_token = "Rr8Tt2Yy6Uu1Ii5Oo9Pp3Aa";
  const auto findings = validate(credential);
  ASSERT_EQ(codes(findings), Codes{"unused_refresh_token"});
  EXPECT_NE(findings[0].message.find("configured as an API key"), std::string::npos);
}

TEST(GenericPreflightTest, HostileTokensNeverThrow) {
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  EXPECT_NO_THROW(validate_key(all_bytes));
  EXPECT_NO_THROW(validate_key(std::string(100000, '\n')));
  EXPECT_NO_THROW(validate(Credential::bearer("e30.e30.", TimePoint::max())));
}

}  // namespace
}  // namespace keyward::preflight
