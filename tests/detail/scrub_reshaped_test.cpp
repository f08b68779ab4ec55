// detail/scrub.hpp and detail/messages.hpp: a secret is redacted however the outside text
// reshaped it (ASCII case, inserted whitespace and line breaks, any run of 12 characters or
// more), in every form keyward writes it in; an error's text is cleaned of C1 controls and bidi
// overrides like C0 ones.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>

#include "keyward/credential.hpp"
#include "keyward/detail/messages.hpp"
#include "keyward/detail/scrub.hpp"
#include "keyward/detail/text.hpp"

namespace keyward::detail {
namespace {

std::string scrub(std::string_view text, std::initializer_list<std::string_view> secrets) {
  return scrub_secrets(text, std::span<const std::string_view>{secrets.begin(), secrets.size()});
}

std::string upper(std::string_view text) {
  std::string out{text};
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

constexpr std::string_view kRefresh = "1//0gAbCdEfGhIjKlMnOpQrStUvWxYz+token/0123456789abcdef";
constexpr std::string_view kAccess = "ya29.a0AfH6SMBx-0123456789abcdefghijklmnopqrstuvwxyz";

// --- case and whitespace --------------------------------------------------------------------

TEST(ScrubReshapedTest, RedactsAnUpperCasedCopy) {
  EXPECT_EQ(scrub("echo: " + upper(kAccess) + " end", {kAccess}), "echo: [redacted] end");
}

TEST(ScrubReshapedTest, RedactsACopyWrappedAcrossALineWithOneSpaceInserted) {
  const std::string wrapped =
      std::string{kAccess.substr(0, 20)} + "\n " + std::string{kAccess.substr(20)};
  EXPECT_EQ(scrub("token " + wrapped + " end", {kAccess}), "token [redacted] end");
  const std::string spaced =
      std::string{kAccess.substr(0, 9)} + " " + std::string{kAccess.substr(9)};
  EXPECT_EQ(scrub("token " + spaced + " end", {kAccess}), "token [redacted] end");
}

TEST(ScrubReshapedTest, RedactsReshapedCopiesOfTheFormEncodedForm) {
  std::string form;
  append_form_encoded(form, kRefresh);
  ASSERT_NE(form, kRefresh);
  // Lower-case percent escapes, and the body wrapped with a line break and a tab.
  std::string lower_hex = form;
  for (char& c : lower_hex) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  EXPECT_EQ(scrub("refresh_token=" + lower_hex + "&x=1", {kRefresh}),
            "refresh_token=[redacted]&x=1");
  const std::string wrapped = form.substr(0, 25) + "\r\n\t" + form.substr(25);
  EXPECT_EQ(scrub("refresh_token=" + upper(wrapped) + "&x=1", {kRefresh}),
            "refresh_token=[redacted]&x=1");
}

TEST(ScrubReshapedTest, RedactsReshapedCopiesOfTheBasicBase64) {
  // The strategy registers the base64 of client_id:client_secret; the provider echoes the
  // Authorization header wrapped and upper-cased, or only part of it.
  const std::string pair = base64_encode("my-client:client-secret-0123456789abcdef");
  EXPECT_EQ(scrub("Authorization: Basic " + upper(pair), {pair}),
            "Authorization: Basic [redacted]");
  EXPECT_EQ(scrub("auth=" + pair.substr(0, 30) + "\n " + pair.substr(30) + ";", {pair}),
            "auth=[redacted];");
  EXPECT_EQ(scrub("auth=" + pair.substr(10, 20) + ";", {pair}), "auth=[redacted];");
}

TEST(ScrubReshapedTest, RedactsAShortSecretWithWhitespaceOrCaseChanged) {
  // Under 12 bytes a secret is matched whole, still without regard to case and whitespace.
  EXPECT_EQ(scrub("code ABCD 1234 rejected", {"abcd1234"}), "code [redacted] rejected");
}

// --- runs of 12 characters or more ----------------------------------------------------------

TEST(ScrubReshapedTest, RedactsAllButTheFirst17Bytes) {
  EXPECT_EQ(scrub("tail: " + std::string{kRefresh.substr(17)} + " end", {kRefresh}),
            "tail: [redacted] end");
}

TEST(ScrubReshapedTest, RedactsA40BytePrefixFollowedByMoreText) {
  EXPECT_EQ(scrub("got " + std::string{kAccess.substr(0, 40)} + "XYZ-not-secret end", {kAccess}),
            "got [redacted]XYZ-not-secret end");
}

TEST(ScrubReshapedTest, RedactsAMiddleRunOfTwelveAndKeepsElevenCharacters) {
  EXPECT_EQ(scrub("[" + std::string{kAccess.substr(10, 12)} + "]", {kAccess}), "[[redacted]]");
  const std::string eleven{kAccess.substr(10, 11)};
  EXPECT_EQ(scrub("[" + eleven + "]", {kAccess}), "[" + eleven + "]");
}

TEST(ScrubReshapedTest, RedactsAMiddleRunOfTheJsonEscapedForm) {
  const std::string_view secret = R"(pass"word\with-quotes-0123456789)";
  std::string json;
  append_json_string(json, secret);
  const std::string escaped = json.substr(5, 20);  // from inside the escaped text
  EXPECT_EQ(scrub(R"({"echo":")" + upper(escaped) + R"("})", {secret}), R"({"echo":"[redacted]"})");
}

TEST(ScrubReshapedTest, RedactsSeveralRunsOfOneSecretSeparately) {
  const std::string a{kAccess.substr(0, 14)};
  const std::string b{kAccess.substr(30, 14)};
  EXPECT_EQ(scrub(a + " | " + b, {kAccess}), "[redacted] | [redacted]");
}

TEST(ScrubReshapedTest, KeepsAPublicPrefixAndAFingerprint) {
  // A provider's published prefix is not secret: a fingerprint keyward wrote, or a message that
  // names the prefix, keeps it.
  const std::string key = "sk-ant-api03-" + std::string(40, 'Q') + "x7Qa";
  const std::string named = "a key (sk-ant-api03-) named " + fingerprint(key) + " here";
  EXPECT_EQ(scrub(named, {key}), named);
  // The prefix and 12 secret characters after it are redacted.
  EXPECT_EQ(scrub("key sk-ant-api03-QQQQQQQQQQQQ end", {key}), "key sk[redacted] end");
}

TEST(ScrubReshapedTest, ScrubsAMegabyteOfReshapedSecrets) {
  std::string text;
  const std::string piece = "err " + upper(kAccess.substr(3, 20)) + "\n " +
                            std::string{kAccess.substr(23)} + " and " +
                            std::string{kRefresh.substr(5, 13)} + "; ";
  while (text.size() < 1'000'000U) text += piece;
  const std::string out = scrub(text, {kAccess, kRefresh});
  EXPECT_EQ(out.find("0123456789"), std::string::npos);
  EXPECT_EQ(out.find("ABCDEFGH"), std::string::npos);
  EXPECT_NE(out.find("err [redacted] and [redacted]; err"), std::string::npos);
}

// --- scrub(Error&) --------------------------------------------------------------------------

TEST(ScrubErrorTest, ReplacesC1ControlsAndBidiOverridesLikeC0) {
  Error error = make_error(Errc::refresh_failed,
                           "persist failed: \x1B[31mred \xC2\x9B"
                           "31m \xE2\x80\xAEtxt.exe \xE2\x81\xA6iso\xE2\x81\xA9 \xD8\x9C"
                           "x");
  const std::array<std::string_view, 1> secrets{kAccess};
  detail::scrub(error, secrets);
  EXPECT_EQ(error.message, "persist failed:  [31mred  31m  txt.exe  iso   x");
}

TEST(ScrubErrorTest, RemovesAReshapedSecretFromTheMessage) {
  Error error = make_error(Errc::persist_failed, "store said: " + upper(kRefresh.substr(4, 30)));
  const std::array<std::string_view, 1> secrets{kRefresh};
  detail::scrub(error, secrets);
  EXPECT_EQ(error.message, "store said: [redacted]");
}

}  // namespace
}  // namespace keyward::detail
