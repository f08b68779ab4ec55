// provider::OpenAI: Bearer placement, the health request, OpenAI's prefix rules, and the bundle
// turning quota exhaustion into a long cooldown instead of a rate-limit retry.
#include "keyward/provider/openai.hpp"

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

static_assert(std::is_same_v<OpenAI::Classifier, classify::OpenAI>);
static_assert(std::is_same_v<OpenAI::Attach, BearerAttacher>);
static_assert(keyward::Preflight<OpenAI::Preflight>);
static_assert(OpenAI::tuning().base_url == "https://api.openai.com");
static_assert(OpenAI::tuning().token_url == "https://auth.openai.com/oauth/token");

const std::string kKey = "sk-proj-Xq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3Hj5Gs0TyUe";
const TimePoint kNow{testing::kFixtureNow};

TEST(OpenAIPolicyTest, SendsEveryKindAsBearer) {
  Request request{.url = "https://api.openai.com/v1/chat/completions"};
  OpenAI::Attach{}.attach(request, Credential::api_key(kKey));
  EXPECT_EQ(request.headers.get("authorization").value_or(""), "Bearer " + kKey);
}

TEST(OpenAIPolicyTest, HealthRequestListsModels) {
  EXPECT_EQ(OpenAI::health_request().url, "https://api.openai.com/v1/models");
  EXPECT_EQ(OpenAI::health_request().method, "GET");
  EXPECT_EQ(OpenAI::health_request("https://gateway.test//").url, "https://gateway.test/v1/models");
}

std::vector<Finding> preflight(const Credential& credential) {
  auto findings = OpenAIPreflight{}.validate(credential, kNow);
  expect_no_secret(findings, credential.token.reveal());
  return findings;
}

TEST(OpenAIPreflightTest, AcceptsEveryOpenAIKeyPrefix) {
  for (const char* key : {"sk-proj-Xq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3", "sk-svcacct-Xq7Zp2Lm9Rt4Vb8Nc1Kd6",
                          "sk-Xq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3Hj5G"}) {
    EXPECT_TRUE(preflight(Credential::api_key(key)).empty()) << key;
  }
}

TEST(OpenAIPreflightTest, KeysOfOtherProvidersAreNamed) {
  const auto anthropic = preflight(Credential::api_key("sk-ant-api03-Xq7Zp2Lm9Rt4Vb8Nc1Kd6"));
  ASSERT_EQ(codes(anthropic), Codes{"wrong_prefix"});
  EXPECT_EQ(anthropic[0].message,
            "this is an Anthropic API key (sk-ant-api03-) but it is configured as an OpenAI API "
            "key");
  const auto google = preflight(Credential::api_key("AIzaXq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3Hj5Gs0TyUe12"));
  ASSERT_EQ(codes(google), Codes{"wrong_prefix"});
  const auto unknown = preflight(Credential::bearer("Xq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3Hj5Gs0"));
  ASSERT_EQ(codes(unknown), Codes{"wrong_prefix"});
  EXPECT_EQ(unknown[0].message, "OpenAI API keys start with sk-, and this token does not");
}

TEST(OpenAIPreflightTest, OAuthTokensMayBeAnyJwtButNotAKey) {
  EXPECT_TRUE(preflight(Credential::oauth("eyJhbGciOiJSUzI1NiJ9.Xq7Zp2Lm9Rt4Vb8Nc1Kd6.Wf3Hj5", "",
                                          std::nullopt))
                  .empty());
  const auto key = preflight(Credential::oauth(kKey, "", std::nullopt));
  ASSERT_EQ(codes(key), Codes{"wrong_prefix"});
  EXPECT_EQ(key[0].message,
            "this is an OpenAI project API key (sk-proj-) but it is configured as an OAuth token");
}

struct TestOpenAI : OpenAI {
  using Clock = testing::FakeClock;
  using Sleeper = testing::RecordingSleeper;
};
using OpenAIRC = ResilientCredential<testing::FakeTransport, TestOpenAI>;

TEST(OpenAIPolicyTest, QuotaExhaustionCoolsTheKeyForHoursNotSeconds) {
  const testing::FakeTransport transport;
  transport.on("https://api.openai.com/", [](const Request&) {
    return testing::json_response(
        429,
        R"({"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}})",
        {{"x-ratelimit-remaining-requests", "0"}, {"x-ratelimit-reset-requests", "1s"}});
  });
  const testing::FakeClock clock;
  OpenAIRC api{transport,
               Credential::api_key(kKey),
               {.profile = "openai"},
               {.clock = clock, .sleeper = testing::RecordingSleeper{clock}}};
  const auto result = api.send(OpenAI::health_request());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::cooling_down);
  const auto status = api.status();
  ASSERT_TRUE(status.until);
  EXPECT_GE(*status.until - clock.now(), 5h);
  EXPECT_EQ(transport.requests().size(), 1U);  // not retried: waiting seconds cannot help
}

}  // namespace
}  // namespace keyward::provider
