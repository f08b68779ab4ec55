// provider::Google: x-goog-api-key or Bearer placement, the Gemini health request, the shape of
// Google API keys, and the bundle classifying a leaked key as dead rather than forbidden.
#include "keyward/provider/google.hpp"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "keyward/resilient_credential.hpp"
#include "preflight/finding_checks.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_transport.hpp"

namespace keyward::provider {
namespace {

using namespace std::chrono_literals;
using testing::codes;
using testing::expect_no_secret;
using Codes = std::vector<std::string>;

static_assert(std::is_same_v<Google::Classifier, classify::Google>);
static_assert(std::is_same_v<Google::Attach, GoogleAttacher>);
static_assert(keyward::Preflight<Google::Preflight>);
static_assert(Google::tuning().token_url == "https://oauth2.googleapis.com/token");

const std::string kKey = "AIzaSyXq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3Hj5Gs0TyU";  // 39 characters
const std::string kAccess = "ya29.a0Xq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3Hj5Gs0TyUe";
const TimePoint kNow{testing::kFixtureNow};

std::string header(const Request& request, std::string_view name) {
  return std::string{request.headers.get(name).value_or("<none>")};
}

TEST(GoogleAttacherTest, SendsApiKeysInXGoogApiKeyAndOAuthTokensAsBearer) {
  Request request{.url = "https://generativelanguage.googleapis.com/v1beta/models"};
  const GoogleAttacher attacher;
  attacher.attach(request, Credential::api_key(kKey));
  EXPECT_EQ(header(request, "x-goog-api-key"), kKey);
  EXPECT_EQ(header(request, "authorization"), "<none>");
  EXPECT_EQ(request.url.find(kKey), std::string::npos);  // never in the URL, where logs keep it
  attacher.attach(request, Credential::oauth(kAccess, "", std::nullopt));
  EXPECT_EQ(header(request, "authorization"), "Bearer " + kAccess);
  EXPECT_EQ(header(request, "x-goog-api-key"), "<none>");
}

TEST(GooglePolicyTest, HealthRequestListsGeminiModels) {
  const Request r = Google::health_request();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, "https://generativelanguage.googleapis.com/v1beta/models");
}

std::vector<Finding> preflight(const Credential& credential) {
  auto findings = GooglePreflight{}.validate(credential, kNow);
  expect_no_secret(findings, credential.token.reveal());
  expect_no_secret(findings, credential.refresh_token.reveal());
  return findings;
}

TEST(GooglePreflightTest, AcceptsWellFormedKeysAndTokens) {
  EXPECT_TRUE(preflight(Credential::api_key(kKey)).empty());
  EXPECT_TRUE(
      preflight(Credential::oauth(kAccess, "1//0gXq7Zp2Lm9Rt4Vb8Nc1Kd6", kNow + 1h)).empty());
  // Vertex AI takes other token shapes too (workload identity federation).
  EXPECT_TRUE(preflight(Credential::bearer("Xq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3Hj5Gs0TyUe")).empty());
}

TEST(GooglePreflightTest, AKeyOfTheWrongLengthWasCutOrJoined) {
  const auto cut = preflight(Credential::api_key(kKey.substr(0, 38)));
  ASSERT_EQ(codes(cut), Codes{"wrong_length"});
  EXPECT_EQ(cut[0].message,
            "Google API keys are 39 characters long, and this one has 38: it was probably cut or "
            "joined when pasted");
  EXPECT_EQ(codes(preflight(Credential::api_key(kKey + "Zq"))), Codes{"wrong_length"});
}

TEST(GooglePreflightTest, WrongPrefixesAreNamed) {
  const auto token_as_key = preflight(Credential::api_key(kAccess));
  ASSERT_EQ(codes(token_as_key), Codes{"wrong_prefix"});
  EXPECT_EQ(token_as_key[0].message,
            "this is a Google OAuth access token (ya29.) but it is configured as a Google API key");
  const auto key_as_token = preflight(Credential::oauth(kKey, "", std::nullopt));
  ASSERT_EQ(codes(key_as_token), Codes{"wrong_prefix"});
  EXPECT_EQ(key_as_token[0].message,
            "this is a Google API key (AIza) but it is configured as a Google OAuth token");
  const auto unknown = preflight(Credential::api_key("Xq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3Hj5Gs0TyUe"));
  ASSERT_EQ(codes(unknown), Codes{"wrong_prefix"});
  EXPECT_EQ(unknown[0].message, "Google API keys start with AIza, and this token does not");
  const auto swapped = preflight(Credential::oauth(kAccess, kAccess + "Zz", std::nullopt));
  ASSERT_EQ(codes(swapped), Codes{"wrong_prefix"});
  EXPECT_NE(swapped[0].message.find("the refresh token is a Google OAuth access token (ya29.)"),
            std::string::npos);
}

struct TestGoogle : Google {
  using Clock = testing::FakeClock;
  using Sleeper = testing::RecordingSleeper;
};
using GoogleRC = ResilientCredential<testing::FakeTransport, TestGoogle>;

TEST(GooglePolicyTest, ALeakedKeyNeedsAPersonInsteadOfLookingForbidden) {
  const testing::FakeTransport transport;
  transport.on("https://generativelanguage.googleapis.com/", [](const Request&) {
    return testing::json_response(
        403,
        R"({"error":{"code":403,"message":"Your API key was reported as leaked. Please use another API key.","status":"PERMISSION_DENIED"}})");
  });
  const testing::FakeClock clock;
  GoogleRC api{transport,
               Credential::api_key(kKey),
               {.profile = "gemini"},
               {.clock = clock, .sleeper = testing::RecordingSleeper{clock}}};
  const auto first = api.send(Google::health_request());
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, Errc::needs_reauth);
  EXPECT_EQ(first.error().message.find(kKey.substr(6, 20)), std::string::npos);
  EXPECT_FALSE(api.send(Google::health_request()));
  EXPECT_EQ(transport.requests().size(), 1U);  // the dead key is not sent again
}

}  // namespace
}  // namespace keyward::provider
