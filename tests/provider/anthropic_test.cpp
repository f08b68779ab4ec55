// provider::Anthropic: where each kind of credential goes, the merged anthropic-beta list, the
// health request, the tuning, Anthropic's prefix rules, and the bundle driving a
// ResilientCredential end to end.
#include "keyward/provider/anthropic.hpp"

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

static_assert(std::is_same_v<Anthropic::Classifier, classify::Anthropic>);
static_assert(std::is_same_v<Anthropic::Attach, AnthropicAttacher>);
static_assert(
    std::is_same_v<Anthropic::Refresh, refresh::BasicOAuth2RefreshToken<classify::Anthropic>>);
static_assert(keyward::Preflight<Anthropic::Preflight>);
static_assert(Anthropic::tuning().token_body == refresh::BodyFormat::json);
static_assert(Anthropic::tuning().classify.max_wait == std::chrono::hours{1});

const std::string kApiKey = "sk-ant-api03-Xq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3Hj5Gs0TyUe";
const std::string kAccess = "sk-ant-oat01-Rr8Tt2Yy6Uu1Ii5Oo9Pp3AaSs7Dd4Ff";
const std::string kRefresh = "sk-ant-ort01-Mm3Nn8Bb1Vv6Cc9Xx2Zz5LlKk4Jj7Hh";

std::string header(const Request& request, std::string_view name) {
  return std::string{request.headers.get(name).value_or("<none>")};
}

Request attached(const Credential& credential, Headers headers = {}) {
  Request request{.method = "POST", .url = "https://api.anthropic.com/v1/messages"};
  request.headers = std::move(headers);
  AnthropicAttacher{}.attach(request, credential);
  return request;
}

TEST(AnthropicAttacherTest, SendsApiKeysInXApiKey) {
  const Request r = attached(Credential::api_key(kApiKey));
  EXPECT_EQ(header(r, "x-api-key"), kApiKey);
  EXPECT_EQ(header(r, "authorization"), "<none>");
  EXPECT_EQ(header(r, "anthropic-beta"), "<none>");
  EXPECT_EQ(header(r, "anthropic-version"), "2023-06-01");
}

TEST(AnthropicAttacherTest, SendsOAuthAndSetupTokensAsBearerWithTheOAuthBeta) {
  for (const auto& credential :
       {Credential::oauth(kAccess, kRefresh, std::nullopt), Credential::bearer(kAccess)}) {
    const Request r = attached(credential);
    EXPECT_EQ(header(r, "authorization"), "Bearer " + kAccess);
    EXPECT_EQ(header(r, "x-api-key"), "<none>");
    EXPECT_EQ(header(r, "anthropic-beta"), "oauth-2025-04-20");
  }
}

TEST(AnthropicAttacherTest, MergesTheOAuthBetaIntoTheApplicationsBetaFlags) {
  const Request one =
      attached(Credential::oauth(kAccess, "", std::nullopt),
               {{"anthropic-beta", "prompt-caching-2024-07-31, files-api-2025-04-14"}});
  EXPECT_EQ(header(one, "anthropic-beta"),
            "prompt-caching-2024-07-31,files-api-2025-04-14,oauth-2025-04-20");
  const Request fields =
      attached(Credential::oauth(kAccess, "", std::nullopt),
               {{"Anthropic-Beta", "a-1"}, {"x-other", "1"}, {"anthropic-beta", "b-2,,"}});
  EXPECT_EQ(header(fields, "anthropic-beta"), "a-1,b-2,oauth-2025-04-20");
  std::size_t beta_fields = 0;
  for (const auto& [name, value] : fields.headers) {
    beta_fields += detail::iequals(name, "anthropic-beta") ? 1U : 0U;
  }
  EXPECT_EQ(beta_fields, 1U);
  const Request present = attached(Credential::oauth(kAccess, "", std::nullopt),
                                   {{"anthropic-beta", "OAuth-2025-04-20,a-1"}});
  EXPECT_EQ(header(present, "anthropic-beta"), "OAuth-2025-04-20,a-1");
}

TEST(AnthropicAttacherTest, KeepsTheApplicationsVersion) {
  const Request r = attached(Credential::api_key(kApiKey), {{"Anthropic-Version", "2024-01-01"}});
  EXPECT_EQ(header(r, "anthropic-version"), "2024-01-01");
}

TEST(AnthropicAttacherTest, ReplacesAnEarlierAttemptsPlacement) {
  Request request{.url = "https://api.anthropic.com/v1/messages",
                  .headers = {{"anthropic-beta", "a-1"}}};
  const AnthropicAttacher attacher;
  attacher.attach(request, Credential::oauth(kAccess, "", std::nullopt));
  attacher.attach(request, Credential::api_key(kApiKey));
  EXPECT_EQ(header(request, "authorization"), "<none>");
  EXPECT_EQ(header(request, "x-api-key"), kApiKey);
  EXPECT_EQ(header(request, "anthropic-beta"), "a-1");
  attacher.attach(request, Credential::oauth(kAccess, "", std::nullopt));
  EXPECT_EQ(header(request, "x-api-key"), "<none>");
  EXPECT_EQ(header(request, "anthropic-beta"), "a-1,oauth-2025-04-20");
}

TEST(AnthropicPolicyTest, HealthRequestListsModels) {
  const Request r = Anthropic::health_request();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, "https://api.anthropic.com/v1/models");
  EXPECT_EQ(Anthropic::health_request("https://proxy.test/anthropic/").url,
            "https://proxy.test/anthropic/v1/models");
}

// --- pre-flight ---------------------------------------------------------------------------

const TimePoint kNow{testing::kFixtureNow};

std::vector<Finding> preflight(const Credential& credential) {
  auto findings = AnthropicPreflight{}.validate(credential, kNow);
  expect_no_secret(findings, credential.token.reveal());
  expect_no_secret(findings, credential.refresh_token.reveal());
  return findings;
}

TEST(AnthropicPreflightTest, AcceptsEachKindWithItsOwnPrefix) {
  EXPECT_TRUE(preflight(Credential::api_key(kApiKey)).empty());
  EXPECT_TRUE(preflight(Credential::api_key("sk-ant-admin01-Xq7Zp2Lm9Rt4Vb8Nc1Kd6")).empty());
  EXPECT_TRUE(preflight(Credential::oauth(kAccess, kRefresh, kNow + 1h)).empty());
  EXPECT_TRUE(preflight(Credential::oauth(kAccess, "", kNow + 1h)).empty());
  EXPECT_TRUE(preflight(Credential::bearer(kAccess)).empty());
}

TEST(AnthropicPreflightTest, AnApiKeyConfiguredAsOAuthIsNamed) {
  const auto findings = preflight(Credential::oauth(kApiKey, "", std::nullopt));
  ASSERT_EQ(codes(findings), Codes{"wrong_prefix"});
  EXPECT_EQ(findings[0].message,
            "this is an Anthropic API key (sk-ant-api03-) but it is configured as an Anthropic "
            "OAuth token");
}

TEST(AnthropicPreflightTest, AnOAuthTokenConfiguredAsAnApiKeyIsNamed) {
  const auto findings = preflight(Credential::api_key(kAccess));
  ASSERT_EQ(codes(findings), Codes{"wrong_prefix"});
  EXPECT_EQ(findings[0].message,
            "this is an Anthropic OAuth access token (sk-ant-oat01-) but it is configured as an "
            "Anthropic API key");
}

TEST(AnthropicPreflightTest, SwappedTokensAreNamed) {
  const auto findings = preflight(Credential::oauth(kRefresh, kAccess, std::nullopt));
  ASSERT_EQ(codes(findings), (Codes{"wrong_prefix", "wrong_prefix"}));
  EXPECT_NE(findings[0].message.find("an Anthropic OAuth refresh token (sk-ant-ort01-)"),
            std::string::npos);
  EXPECT_EQ(findings[1].message,
            "the refresh token is an Anthropic OAuth access token (sk-ant-oat01-) but it is "
            "configured as a refresh token: the two tokens may be swapped");
}

TEST(AnthropicPreflightTest, ForeignOrUnknownPrefixesAreReported) {
  const auto foreign = preflight(Credential::api_key("sk-proj-Xq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3"));
  ASSERT_EQ(codes(foreign), Codes{"wrong_prefix"});
  EXPECT_NE(foreign[0].message.find("an OpenAI project API key (sk-proj-)"), std::string::npos);
  const auto unknown = preflight(Credential::api_key("Xq7Zp2Lm9Rt4Vb8Nc1Kd6Wf3Hj5Gs0"));
  ASSERT_EQ(codes(unknown), Codes{"wrong_prefix"});
  EXPECT_EQ(unknown[0].message,
            "Anthropic API keys start with sk-ant-api03-, and this token does not");
  const auto refresh = preflight(Credential::oauth(kAccess, "Mm3Nn8Bb1Vv6Cc9Xx2Zz5Ll", {}));
  ASSERT_EQ(codes(refresh), Codes{"wrong_prefix"});
  EXPECT_EQ(refresh[0].message,
            "Anthropic OAuth refresh tokens start with sk-ant-ort01-, and the refresh token does "
            "not");
}

TEST(AnthropicPreflightTest, GenericFindingsComeFirstAndThePrefixIsCheckedOnTheTrimmedToken) {
  const auto findings = preflight(Credential::api_key(kApiKey.substr(0, 40) + "\n"));
  EXPECT_EQ(codes(findings), Codes{"line_break"});
  const auto both = preflight(Credential::oauth(" " + kApiKey, "", std::nullopt));
  EXPECT_EQ(codes(both), (Codes{"whitespace", "wrong_prefix"}));
}

// --- the bundle driving a ResilientCredential --------------------------------------------

struct TestAnthropic : Anthropic {
  using Clock = testing::FakeClock;
  using Sleeper = testing::RecordingSleeper;
};
using AnthropicRC = ResilientCredential<testing::FakeTransport, TestAnthropic>;

std::unique_ptr<AnthropicRC> make(const testing::FakeTransport& transport, Credential credential) {
  const testing::FakeClock clock;
  return std::make_unique<AnthropicRC>(
      transport, std::move(credential), AnthropicRC::Options{.profile = "anthropic:work"},
      AnthropicRC::Components{.clock = clock, .sleeper = testing::RecordingSleeper{clock}});
}

TEST(AnthropicPolicyTest, ResilientCredentialPlacesAnOAuthTokenTheAnthropicWay) {
  const testing::FakeTransport transport;
  transport.on("https://api.anthropic.com/",
               [](const Request&) { return testing::json_response(200, R"({"data":[]})"); });
  auto api = make(transport, Credential::oauth(kAccess, "", std::nullopt));
  ASSERT_TRUE(api->send(Anthropic::health_request()));
  const auto sent = transport.requests();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(header(sent[0], "authorization"), "Bearer " + kAccess);
  EXPECT_EQ(header(sent[0], "anthropic-beta"), "oauth-2025-04-20");
}

TEST(AnthropicPolicyTest, AMisplacedOAuthTokenNeedsAPersonWithTheClassifiersFix) {
  const testing::FakeTransport transport;
  transport.on("https://api.anthropic.com/", [](const Request&) {
    return testing::json_response(
        401,
        R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}})");
  });
  auto api = make(transport, Credential::oauth(kAccess, "", std::nullopt));
  const auto result = api->send(Anthropic::health_request());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::needs_reauth);
  EXPECT_NE(result.error().message.find("anthropic-beta: oauth-2025-04-20"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(result.error().message.find(kAccess.substr(13, 20)), std::string::npos);
  EXPECT_EQ(result.error().message.find("rate limit,"), std::string::npos);
}

}  // namespace
}  // namespace keyward::provider
