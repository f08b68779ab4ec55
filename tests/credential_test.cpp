// Credentials: fingerprint()'s redaction rules, Secret's value semantics and wiping on move, and
// the Credential factory functions.
#include "keyward/credential.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "support/fake_clock.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;

const std::string kEllipsis = "\xE2\x80\xA6";  // U+2026, as fingerprint() writes it
const std::string kForty = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789x7Qa";  // 40 characters

// --- fingerprint(secret) --------------------------------------------------------------------

TEST(FingerprintTest, ShowsTheAnthropicOAuthPrefixAndTheLastFour) {
  ASSERT_EQ(kForty.size(), 40U);
  EXPECT_EQ(fingerprint("sk-ant-oat01-" + kForty), "sk-ant-oat01-" + kEllipsis + "x7Qa");
}

TEST(FingerprintTest, ShowsOtherWellKnownPublicPrefixes) {
  EXPECT_EQ(fingerprint("sk-proj-" + kForty), "sk-proj-" + kEllipsis + "x7Qa");
  EXPECT_EQ(fingerprint("ghp_" + kForty), "ghp_" + kEllipsis + "x7Qa");
  EXPECT_EQ(fingerprint("sk-ant-api03-" + kForty), "sk-ant-api03-" + kEllipsis + "x7Qa");
  EXPECT_EQ(fingerprint("AIza" + kForty), "AIza" + kEllipsis + "x7Qa");
}

TEST(FingerprintTest, HidesTheStartOfSecretsWithoutAKnownPrefix) {
  // URL-safe base64 tokens often have '-' or '_' early: their first characters stay hidden.
  EXPECT_EQ(fingerprint("a-b_cdefghijklm-" + kForty), kEllipsis + "x7Qa");
  EXPECT_EQ(fingerprint("Zq3-" + kForty), kEllipsis + "x7Qa");
}

TEST(FingerprintTest, ShowsNoPrefixWhenThereIsNoSeparatorInTheFirst13Characters) {
  EXPECT_EQ(fingerprint(kForty), kEllipsis + "x7Qa");
  EXPECT_EQ(fingerprint("abcdefghijklmnop"), kEllipsis + "mnop");
}

TEST(FingerprintTest, ShowsNoPrefixWhenFewerThan12CharactersFollowIt) {
  // 16 characters, 11 after the prefix "sk-ant-": the prefix would reveal too much.
  EXPECT_EQ(fingerprint("sk-ant-abcdefghi"), kEllipsis + "fghi");
  // Exactly 12 after the prefix: shown.
  EXPECT_EQ(fingerprint("sk-ant-abcdefghijkl"), "sk-ant-" + kEllipsis + "ijkl");
}

TEST(FingerprintTest, ShowsNothingButTheEllipsisForSecretsShorterThan16Characters) {
  EXPECT_EQ(fingerprint(""), kEllipsis);
  EXPECT_EQ(fingerprint("a"), kEllipsis);
  EXPECT_EQ(fingerprint("sk-ant-1234567"), kEllipsis);
  EXPECT_EQ(fingerprint("abcdefghijklmno"), kEllipsis);            // 15 characters
  EXPECT_EQ(fingerprint("abcdefghijklmnop"), kEllipsis + "mnop");  // 16 characters
}

TEST(FingerprintTest, NeverContainsTheMiddleOfTheSecret) {
  const std::string secret = "sk-ant-oat01-" + kForty;
  const std::string shown = fingerprint(secret);
  EXPECT_EQ(shown.find(kForty.substr(0, 36)), std::string::npos) << shown;
  EXPECT_EQ(shown.find("AbCd"), std::string::npos) << shown;
}

// --- fingerprint(Credential) ----------------------------------------------------------------

TEST(FingerprintTest, PrefixesACredentialsFingerprintWithItsKind) {
  EXPECT_EQ(fingerprint(Credential::api_key("sk-ant-api03-" + kForty)),
            "api_key sk-ant-api03-" + kEllipsis + "x7Qa");
  EXPECT_EQ(fingerprint(Credential::bearer("sk-ant-oat01-" + kForty)),
            "bearer_token sk-ant-oat01-" + kEllipsis + "x7Qa");
  EXPECT_EQ(fingerprint(Credential::oauth("short", "sk-ant-ort01-" + kForty, std::nullopt)),
            "oauth " + kEllipsis);
}

TEST(FingerprintTest, NamesEveryCredentialKind) {
  EXPECT_EQ(to_string(CredentialKind::api_key), "api_key");
  EXPECT_EQ(to_string(CredentialKind::bearer_token), "bearer_token");
  EXPECT_EQ(to_string(CredentialKind::oauth), "oauth");
}

// --- Secret ---------------------------------------------------------------------------------

TEST(SecretTest, RevealsItsCharacters) {
  const Secret from_literal = "sk-live-123";
  const Secret from_string = std::string{"sk-live-456"};
  EXPECT_EQ(from_literal.reveal(), "sk-live-123");
  EXPECT_EQ(from_string.reveal(), "sk-live-456");
  EXPECT_EQ(from_literal.size(), 11U);
  EXPECT_FALSE(from_literal.empty());
}

TEST(SecretTest, IsEmptyByDefault) {
  const Secret secret;
  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(secret.size(), 0U);
  EXPECT_EQ(secret.reveal(), "");
}

TEST(SecretTest, ComparesByValue) {
  EXPECT_EQ(Secret{"abc"}, Secret{"abc"});
  EXPECT_FALSE(Secret{"abc"} == Secret{"abd"});
  EXPECT_FALSE(Secret{"abc"} == Secret{"abcd"});
  EXPECT_EQ(Secret{}, Secret{""});
}

TEST(SecretTest, CopiesKeepBothValues) {
  const Secret original = "a-long-secret-that-is-not-in-the-small-buffer";
  const Secret copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(copy.reveal(), "a-long-secret-that-is-not-in-the-small-buffer");
  EXPECT_EQ(original.reveal(), "a-long-secret-that-is-not-in-the-small-buffer");
}

TEST(SecretTest, MoveLeavesTheSourceEmpty) {
  for (const char* value : {"short", "a-long-secret-that-is-not-in-the-small-buffer"}) {
    Secret source = value;
    const Secret target = std::move(source);
    EXPECT_EQ(target.reveal(), value);
    EXPECT_TRUE(source.empty()) << value;  // NOLINT(bugprone-use-after-move): the behaviour tested
    EXPECT_EQ(source.reveal(), "");        // NOLINT(bugprone-use-after-move)
  }
}

TEST(SecretTest, MoveAssignmentReplacesTheTargetAndEmptiesTheSource) {
  for (const char* value : {"short", "a-long-secret-that-is-not-in-the-small-buffer"}) {
    Secret source = value;
    Secret target = "previous-value-of-the-target-long-enough-for-the-heap";
    target = std::move(source);
    EXPECT_EQ(target.reveal(), value);
    EXPECT_TRUE(source.empty()) << value;  // NOLINT(bugprone-use-after-move): the behaviour tested
  }
}

TEST(SecretTest, CopyAssignmentReplacesTheTargetAndKeepsTheSource) {
  const Secret source = "new";
  Secret target = "previous-value-of-the-target-long-enough-for-the-heap";
  target = source;
  EXPECT_EQ(target.reveal(), "new");
  EXPECT_EQ(source.reveal(), "new");
  target = Secret{"longer-than-before-and-longer-than-the-small-string-buffer"};
  EXPECT_EQ(target.reveal(), "longer-than-before-and-longer-than-the-small-string-buffer");
}

TEST(SecretTest, SelfAssignmentKeepsTheValue) {
  Secret secret = "a-long-secret-that-is-not-in-the-small-buffer";
  Secret& alias = secret;
  secret = alias;
  EXPECT_EQ(secret.reveal(), "a-long-secret-that-is-not-in-the-small-buffer");
  secret = std::move(alias);
  EXPECT_EQ(secret.reveal(), "a-long-secret-that-is-not-in-the-small-buffer");
}

TEST(SecretTest, AssignsFromAString) {
  Secret secret;
  secret = std::string{"from-a-string"};
  EXPECT_EQ(secret.reveal(), "from-a-string");
  secret = "from-a-literal";
  EXPECT_EQ(secret.reveal(), "from-a-literal");
}

TEST(SecretTest, MovesWithoutThrowing) {
  static_assert(std::is_nothrow_move_constructible_v<Secret>);
  static_assert(std::is_nothrow_move_assignable_v<Secret>);
}

// --- Credential -----------------------------------------------------------------------------

TEST(CredentialTest, ApiKeyHasNoRefreshTokenAndNoExpiry) {
  const Credential c = Credential::api_key("sk-ant-api03-key");
  EXPECT_EQ(c.kind, CredentialKind::api_key);
  EXPECT_EQ(c.token.reveal(), "sk-ant-api03-key");
  EXPECT_TRUE(c.refresh_token.empty());
  EXPECT_EQ(c.expires_at, std::nullopt);
}

TEST(CredentialTest, BearerKeepsItsExpiryWhenGiven) {
  const TimePoint expiry = TimePoint{testing::kFixtureNow} + 1h;
  const Credential with = Credential::bearer("setup-token", expiry);
  EXPECT_EQ(with.kind, CredentialKind::bearer_token);
  EXPECT_EQ(with.token.reveal(), "setup-token");
  EXPECT_TRUE(with.refresh_token.empty());
  EXPECT_EQ(with.expires_at, expiry);
  EXPECT_EQ(Credential::bearer("setup-token").expires_at, std::nullopt);
}

TEST(CredentialTest, OAuthKeepsAccessTokenRefreshTokenAndExpiry) {
  const TimePoint expiry = TimePoint{testing::kFixtureNow} + 8h;
  const Credential c = Credential::oauth("at-1", "rt-1", expiry);
  EXPECT_EQ(c.kind, CredentialKind::oauth);
  EXPECT_EQ(c.token.reveal(), "at-1");
  EXPECT_EQ(c.refresh_token.reveal(), "rt-1");
  EXPECT_EQ(c.expires_at, expiry);
  const Credential without = Credential::oauth("at-1", "", std::nullopt);
  EXPECT_TRUE(without.refresh_token.empty());
  EXPECT_EQ(without.expires_at, std::nullopt);
}

TEST(CredentialTest, DefaultCredentialIsAnEmptyApiKey) {
  const Credential c;
  EXPECT_EQ(c.kind, CredentialKind::api_key);
  EXPECT_TRUE(c.token.empty());
  EXPECT_TRUE(c.refresh_token.empty());
  EXPECT_EQ(c.expires_at, std::nullopt);
}

TEST(CredentialTest, MovingACredentialEmptiesTheSourceSecrets) {
  Credential source = Credential::oauth("access-token-long-enough-for-the-heap",
                                        "refresh-token-long-enough-for-the-heap", std::nullopt);
  const Credential target = std::move(source);
  EXPECT_EQ(target.token.reveal(), "access-token-long-enough-for-the-heap");
  EXPECT_EQ(target.refresh_token.reveal(), "refresh-token-long-enough-for-the-heap");
  EXPECT_TRUE(source.token.empty());          // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(source.refresh_token.empty());  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace keyward
