// refresh::OAuth2RefreshToken against a scripted token endpoint: the request it sends for each
// client authentication method and body format, how it reads the token response, how it reports
// token-endpoint failures, and what the strategy leaves to the store. Time is a fixed time point;
// nothing sleeps.
#include "keyward/refresh/oauth2_refresh_token.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "keyward/classify/openai.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/text.hpp"
#include "keyward/refresh/static_credential.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_transport.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using refresh::BodyFormat;
using refresh::ClientAuth;
using refresh::OAuth2RefreshToken;
using testing::FakeTransport;
using testing::json_response;
using testing::response;

static_assert(RefreshStrategy<refresh::OAuth2RefreshToken, testing::FakeTransport>);
static_assert(RefreshStrategy<refresh::StaticCredential, testing::FakeTransport>);

const std::string kTokenUrl = "https://auth.example.test/oauth/token";
const TimePoint kNow{testing::kFixtureNow};
constexpr std::string_view kGoodTokenBody =
    R"({"access_token": "at-2", "token_type": "Bearer", "expires_in": 3600,
        "refresh_token": "rt-2"})";

Credential current(std::string refresh_token = "rt-1") {
  return Credential::oauth("at-1", std::move(refresh_token), kNow - 1min);
}

OAuth2RefreshToken::Options options(ClientAuth auth = ClientAuth::none,
                                    BodyFormat format = BodyFormat::form) {
  OAuth2RefreshToken::Options o;
  o.token_url = kTokenUrl;
  o.client_id = "keyward-app";
  o.client_auth = auth;
  o.body_format = format;
  if (auth != ClientAuth::none) o.client_secret = "hunter2";
  return o;
}

// A transport whose token endpoint answers every request with `answer`.
FakeTransport answering(Response answer) {
  FakeTransport transport;
  transport.on(kTokenUrl, [answer](const Request&) -> TransportResult { return answer; });
  return transport;
}

FakeTransport answering_ok() { return answering(json_response(200, std::string{kGoodTokenBody})); }

// Refreshes `credential` once and returns the single request the strategy sent.
Request sent_request(OAuth2RefreshToken::Options o, const Credential& credential = current()) {
  OAuth2RefreshToken strategy{std::move(o)};
  auto transport = answering_ok();
  auto result = strategy.refresh(credential, transport, kNow);
  EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().message);
  const auto requests = transport.requests();
  EXPECT_EQ(requests.size(), 1U);
  return requests.empty() ? Request{} : requests.front();
}

std::string header(const Request& request, std::string_view name) {
  return std::string{request.headers.get(name).value_or("<absent>")};
}

// The members of a JSON object body as name/value strings, in order; fails the test otherwise.
std::vector<std::pair<std::string, std::string>> json_members(const std::string& body) {
  const auto json = detail::json::parse(body);
  EXPECT_TRUE(json.has_value()) << "not valid JSON: " << body;
  if (!json) return {};
  EXPECT_TRUE(json->is_object()) << body;
  std::vector<std::pair<std::string, std::string>> members;
  if (const auto* object = json->as_object()) {
    for (const auto& [name, value] : *object) {
      EXPECT_TRUE(value.is_string()) << name << " is not a string in " << body;
      members.emplace_back(name, value.is_string() ? *value.as_string() : std::string{});
    }
  }
  return members;
}

using Members = std::vector<std::pair<std::string, std::string>>;

// --- the request, per client authentication method ------------------------------------------

TEST(OAuth2RefreshTokenTest, PostsTheRefreshTokenGrantToTheTokenUrl) {
  const Request request = sent_request(options());
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, kTokenUrl);
  EXPECT_EQ(header(request, "accept"), "application/json");
}

TEST(OAuth2RefreshTokenTest, SendsClientIdInTheBodyForClientAuthNone) {
  const Request request = sent_request(options(ClientAuth::none));
  EXPECT_EQ(request.body, "grant_type=refresh_token&refresh_token=rt-1&client_id=keyward-app");
  EXPECT_FALSE(request.headers.contains("authorization"));
}

TEST(OAuth2RefreshTokenTest, OmitsAnEmptyClientIdForClientAuthNone) {
  auto o = options(ClientAuth::none);
  o.client_id.clear();
  const Request request = sent_request(std::move(o));
  EXPECT_EQ(request.body, "grant_type=refresh_token&refresh_token=rt-1");
}

TEST(OAuth2RefreshTokenTest, SendsClientSecretBasicAsRfc6749Says) {
  const Request request = sent_request(options(ClientAuth::client_secret_basic));
  // base64("keyward-app:hunter2")
  EXPECT_EQ(header(request, "authorization"), "Basic a2V5d2FyZC1hcHA6aHVudGVyMg==");
  EXPECT_EQ(request.body, "grant_type=refresh_token&refresh_token=rt-1");
  EXPECT_EQ(request.body.find("hunter2"), std::string::npos);
  EXPECT_EQ(request.body.find("client_id"), std::string::npos);
}

TEST(OAuth2RefreshTokenTest, FormEncodesBothPartsOfClientSecretBasicBeforeBase64) {
  auto o = options(ClientAuth::client_secret_basic);
  o.client_id = "my client/1";
  o.client_secret = "s3cr:t+/=%";
  const Request request = sent_request(std::move(o));
  // RFC 6749 section 2.3.1: base64("my+client%2F1" ":" "s3cr%3At%2B%2F%3D%25").
  EXPECT_EQ(header(request, "authorization"),
            "Basic bXkrY2xpZW50JTJGMTpzM2NyJTNBdCUyQiUyRiUzRCUyNQ==");
  EXPECT_EQ(request.body.find("s3cr"), std::string::npos);
}

TEST(OAuth2RefreshTokenTest, SendsClientIdAndSecretInTheBodyForClientSecretPost) {
  const Request request = sent_request(options(ClientAuth::client_secret_post));
  EXPECT_EQ(request.body,
            "grant_type=refresh_token&refresh_token=rt-1&client_id=keyward-app&"
            "client_secret=hunter2");
  EXPECT_FALSE(request.headers.contains("authorization"));
}

// --- the request, per body format ----------------------------------------------------------

TEST(OAuth2RefreshTokenTest, SendsAFormBodyByDefault) {
  const Request request = sent_request(options());
  EXPECT_EQ(header(request, "content-type"), "application/x-www-form-urlencoded");
}

TEST(OAuth2RefreshTokenTest, PercentEncodesFormFields) {
  auto o = options(ClientAuth::client_secret_post);
  o.client_id = "app id";
  o.client_secret = "a&b=c";
  const Request request = sent_request(std::move(o), current("rt/1+2=3&4 5~*"));
  EXPECT_EQ(request.body,
            "grant_type=refresh_token&refresh_token=rt%2F1%2B2%3D3%264+5~%2A&client_id=app+id&"
            "client_secret=a%26b%3Dc");
}

TEST(OAuth2RefreshTokenTest, SendsAValidJsonObjectForBodyFormatJson) {
  const Request request = sent_request(options(ClientAuth::none, BodyFormat::json));
  EXPECT_EQ(header(request, "content-type"), "application/json");
  EXPECT_EQ(json_members(request.body), (Members{{"grant_type", "refresh_token"},
                                                 {"refresh_token", "rt-1"},
                                                 {"client_id", "keyward-app"}}));
}

TEST(OAuth2RefreshTokenTest, EscapesJsonFieldsSoTheyRoundTrip) {
  auto o = options(ClientAuth::client_secret_post, BodyFormat::json);
  o.client_secret = "quote\" back\\slash\nnewline\x01";
  o.scope = "user:inference \xc3\xa9";
  const Request request = sent_request(std::move(o), current("rt\"\\\t-1"));
  EXPECT_EQ(json_members(request.body),
            (Members{{"grant_type", "refresh_token"},
                     {"refresh_token", "rt\"\\\t-1"},
                     {"client_id", "keyward-app"},
                     {"client_secret", "quote\" back\\slash\nnewline\x01"},
                     {"scope", "user:inference \xc3\xa9"}}));
}

TEST(OAuth2RefreshTokenTest, JsonBodyForClientSecretBasicHasNoSecret) {
  const Request request = sent_request(options(ClientAuth::client_secret_basic, BodyFormat::json));
  EXPECT_EQ(json_members(request.body),
            (Members{{"grant_type", "refresh_token"}, {"refresh_token", "rt-1"}}));
  EXPECT_EQ(header(request, "authorization"), "Basic a2V5d2FyZC1hcHA6aHVudGVyMg==");
}

TEST(OAuth2RefreshTokenTest, SendsTheScopeWhenOneIsConfigured) {
  auto o = options();
  o.scope = "api offline_access";
  const Request request = sent_request(std::move(o));
  EXPECT_EQ(request.body,
            "grant_type=refresh_token&refresh_token=rt-1&client_id=keyward-app&"
            "scope=api+offline_access");
}

TEST(OAuth2RefreshTokenTest, OmitsTheScopeWhenNoneIsConfigured) {
  const Request request = sent_request(options());
  EXPECT_EQ(request.body.find("scope"), std::string::npos);
}

TEST(OAuth2RefreshTokenTest, SendsTheExtraHeaders) {
  auto o = options();
  o.extra_headers = {{"anthropic-beta", "oauth-2025-04-20"}, {"User-Agent", "keyward-test/1"}};
  const Request request = sent_request(std::move(o));
  EXPECT_EQ(header(request, "anthropic-beta"), "oauth-2025-04-20");
  EXPECT_EQ(header(request, "user-agent"), "keyward-test/1");
  EXPECT_EQ(header(request, "content-type"), "application/x-www-form-urlencoded");
}

// --- the token response ---------------------------------------------------------------------

Result<RefreshOutcome> refresh_with_body(std::string body,
                                         const Credential& credential = current()) {
  OAuth2RefreshToken strategy{options()};
  auto transport = answering(json_response(200, std::move(body)));
  return strategy.refresh(credential, transport, kNow);
}

TEST(OAuth2RefreshTokenTest, ReadsTheNewAccessTokenAndExpiresInAsANumber) {
  auto result = refresh_with_body(R"({"access_token": "at-2", "expires_in": 3600})");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->credential.kind, CredentialKind::oauth);
  EXPECT_EQ(result->credential.token.reveal(), "at-2");
  EXPECT_EQ(result->credential.expires_at, kNow + 3600s);
}

TEST(OAuth2RefreshTokenTest, ReadsExpiresInSentAsANumericString) {
  auto result = refresh_with_body(R"({"access_token": "at-2", "expires_in": "7200"})");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->credential.expires_at, kNow + 7200s);
}

TEST(OAuth2RefreshTokenTest, GivesNoExpiryWhenExpiresInIsAbsent) {
  auto result = refresh_with_body(R"({"access_token": "at-2"})");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->credential.expires_at, std::nullopt);
}

TEST(OAuth2RefreshTokenTest, GivesNoExpiryWhenExpiresInIsNegativeOrNotANumber) {
  for (const std::string value : {"-5", R"("soon")", "null", "true"}) {
    auto result = refresh_with_body(R"({"access_token": "at-2", "expires_in": )" + value + "}");
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->credential.expires_at, std::nullopt) << "expires_in " << value;
  }
}

TEST(OAuth2RefreshTokenTest, ReadsRefreshIn) {
  auto result = refresh_with_body(R"({"access_token": "at-2", "refresh_in": 1800})");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->refresh_in, std::chrono::seconds{1800});
}

TEST(OAuth2RefreshTokenTest, GivesNoRefreshInWhenAbsent) {
  auto result = refresh_with_body(R"({"access_token": "at-2", "expires_in": 60})");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->refresh_in, std::nullopt);
}

TEST(OAuth2RefreshTokenTest, DetectsRotationWhenTheRefreshTokenChanges) {
  auto result = refresh_with_body(R"({"access_token": "at-2", "refresh_token": "rt-2"})");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(result->rotated);
  EXPECT_EQ(result->credential.refresh_token.reveal(), "rt-2");
}

TEST(OAuth2RefreshTokenTest, DoesNotReportRotationWhenTheSameRefreshTokenComesBack) {
  auto result = refresh_with_body(R"({"access_token": "at-2", "refresh_token": "rt-1"})");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_FALSE(result->rotated);
  EXPECT_EQ(result->credential.refresh_token.reveal(), "rt-1");
}

TEST(OAuth2RefreshTokenTest, KeepsTheRefreshTokenWhenTheResponseHasNone) {
  auto result = refresh_with_body(R"({"access_token": "at-2", "expires_in": 3600})");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_FALSE(result->rotated);
  EXPECT_EQ(result->credential.refresh_token.reveal(), "rt-1");
}

// --- token-endpoint errors ------------------------------------------------------------------

Result<RefreshOutcome> refresh_against(Response answer) {
  OAuth2RefreshToken strategy{options()};
  auto transport = answering(std::move(answer));
  return strategy.refresh(current(), transport, kNow);
}

TEST(OAuth2RefreshTokenTest, InvalidGrantNeedsReauthAsUnauthenticated) {
  auto result = refresh_against(json_response(
      400, R"({"error": "invalid_grant", "error_description": "grant request is invalid"})"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::needs_reauth);
  ASSERT_TRUE(result.error().verdict.has_value());
  EXPECT_EQ(result.error().verdict->kind, VerdictKind::unauthenticated);
  EXPECT_EQ(result.error().verdict->provider_code, "invalid_grant");
  EXPECT_EQ(result.error().verdict->status, 400);
  EXPECT_NE(result.error().message.find("invalid_grant"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(result.error().message.find("rt-1"), std::string::npos) << result.error().message;
}

struct MisconfiguredCase {
  int status;
  const char* code;
};

class OAuth2RefreshTokenMisconfiguredTest : public ::testing::TestWithParam<MisconfiguredCase> {};

TEST_P(OAuth2RefreshTokenMisconfiguredTest, ClientErrorsNeedReauthAsMisconfigured) {
  const auto& param = GetParam();
  auto result = refresh_against(
      json_response(param.status, std::string{R"({"error": ")"} + param.code + R"("})"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::needs_reauth);
  ASSERT_TRUE(result.error().verdict.has_value());
  EXPECT_EQ(result.error().verdict->kind, VerdictKind::misconfigured);
  EXPECT_EQ(result.error().verdict->provider_code, param.code);
}

INSTANTIATE_TEST_SUITE_P(TokenEndpointErrors, OAuth2RefreshTokenMisconfiguredTest,
                         ::testing::Values(MisconfiguredCase{401, "invalid_client"},
                                           MisconfiguredCase{400, "unauthorized_client"},
                                           MisconfiguredCase{400, "invalid_request"}),
                         [](const auto& test_info) { return std::string{test_info.param.code}; });

TEST(OAuth2RefreshTokenTest, ServiceUnavailableIsATransientRefreshFailureWithTheServersWait) {
  auto result = refresh_against(response(503, "upstream connect error",
                                         {{"content-type", "text/plain"}, {"retry-after", "5"}}));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::refresh_failed);
  ASSERT_TRUE(result.error().verdict.has_value());
  EXPECT_EQ(result.error().verdict->kind, VerdictKind::transient);
  EXPECT_EQ(result.error().verdict->retry_after, std::chrono::milliseconds{5000});
  EXPECT_NE(result.error().message.find("503"), std::string::npos) << result.error().message;
}

TEST(OAuth2RefreshTokenTest, TooManyRequestsIsATransientRefreshFailureWithTheServersWait) {
  auto result =
      refresh_against(json_response(429, R"({"message": "slow down"})", {{"retry-after", "30"}}));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::refresh_failed);
  ASSERT_TRUE(result.error().verdict.has_value());
  EXPECT_EQ(result.error().verdict->kind, VerdictKind::transient);
  EXPECT_EQ(result.error().verdict->retry_after, std::chrono::milliseconds{30000});
}

TEST(OAuth2RefreshTokenTest, TransportFailureIsATransientRefreshFailure) {
  OAuth2RefreshToken strategy{options()};
  FakeTransport transport;
  transport.on(kTokenUrl, [](const Request&) -> TransportResult {
    return unexpected(TransportFailure{TransportErrc::timeout, "timed out after 30 s"});
  });
  auto result = strategy.refresh(current(), transport, kNow);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::refresh_failed);
  ASSERT_TRUE(result.error().verdict.has_value());
  EXPECT_EQ(result.error().verdict->kind, VerdictKind::transient);
  EXPECT_EQ(result.error().verdict->status, 0);
  EXPECT_EQ(result.error().verdict->retry_after, std::nullopt);
  EXPECT_NE(result.error().message.find("timed out after 30 s"), std::string::npos)
      << result.error().message;
}

TEST(OAuth2RefreshTokenTest, OkWithoutAnAccessTokenIsATransientRefreshFailure) {
  auto result = refresh_against(json_response(200, R"({"token_type": "Bearer"})"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::refresh_failed);
  ASSERT_TRUE(result.error().verdict.has_value());
  EXPECT_EQ(result.error().verdict->kind, VerdictKind::transient);
  EXPECT_NE(result.error().message.find("without an access token"), std::string::npos)
      << result.error().message;
}

TEST(OAuth2RefreshTokenTest, HtmlOkIsATransientRefreshFailure) {
  auto result = refresh_against(
      response(200, "<html><body>Sign in</body></html>", {{"content-type", "text/html"}}));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::refresh_failed);
  ASSERT_TRUE(result.error().verdict.has_value());
  EXPECT_EQ(result.error().verdict->kind, VerdictKind::transient);
  EXPECT_EQ(result.error().verdict->retry_after, std::nullopt);
}

TEST(OAuth2RefreshTokenTest, ErrorsNeverNameTheClientSecret) {
  OAuth2RefreshToken strategy{options(ClientAuth::client_secret_post)};
  auto transport = answering(json_response(401, R"({"error": "invalid_client"})"));
  auto result = strategy.refresh(current(), transport, kNow);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message.find("hunter2"), std::string::npos) << result.error().message;
}

// --- what the strategy does not do --------------------------------------------------------

TEST(OAuth2RefreshTokenTest, OnlyRedeemsAndReturnsTheNewCredential) {
  // Storing the result is the store's job (tests/refresh_coordinator_test.cpp): the strategy
  // returns what the endpoint gave, and redeems again when asked again.
  OAuth2RefreshToken strategy{options()};
  auto transport = answering_ok();
  auto result = strategy.refresh(current(), transport, kNow);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->credential.token.reveal(), "at-2");
  EXPECT_EQ(result->credential.refresh_token.reveal(), "rt-2");
  EXPECT_EQ(result->credential.expires_at, kNow + 3600s);
  EXPECT_TRUE(result->rotated);
  ASSERT_TRUE(strategy.refresh(current(), transport, kNow));
  EXPECT_EQ(transport.count(kTokenUrl), 2U);
}

TEST(OAuth2RefreshTokenTest, ADefaultConstructedStrategyRefreshesNothingAndSaysWhy) {
  const OAuth2RefreshToken strategy;
  EXPECT_FALSE(strategy.refreshable(current()));
  EXPECT_NE(strategy.why_not_refreshable(current()).find("no token endpoint"), std::string::npos);
  auto transport = answering_ok();
  OAuth2RefreshToken mutable_strategy;
  EXPECT_FALSE(mutable_strategy.refresh(current(), transport, kNow));
  EXPECT_EQ(transport.count(kTokenUrl), 0U);
}

TEST(OAuth2RefreshTokenTest, NamesItsClientSecretForScrubbing) {
  auto o = options();
  o.client_id = "client";
  o.client_secret = "hunter2-client-secret";
  o.client_auth = ClientAuth::client_secret_basic;
  const OAuth2RefreshToken strategy{o};
  const auto secrets = strategy.secrets();
  ASSERT_EQ(secrets.size(), 2U);
  EXPECT_EQ(secrets[0].reveal(), "hunter2-client-secret");
  EXPECT_TRUE(OAuth2RefreshToken{options()}.secrets().empty());
}

TEST(OAuth2RefreshTokenTest, NamesTheBasicCredentialsItBuildsForScrubbing) {
  // A token endpoint that echoes the request quotes the Authorization header's base64.
  auto o = options();
  o.client_id = "client id";
  o.client_secret = "hunter2+client/secret";
  o.client_auth = ClientAuth::client_secret_basic;
  const OAuth2RefreshToken strategy{o};
  const auto secrets = strategy.secrets();
  ASSERT_EQ(secrets.size(), 2U);
  EXPECT_EQ(secrets[1].reveal(), detail::base64_encode("client+id:hunter2%2Bclient%2Fsecret"));
  o.client_auth = ClientAuth::client_secret_post;
  ASSERT_EQ(OAuth2RefreshToken{o}.secrets().size(), 1U);
}

// --- construction and refreshable() ---------------------------------------------------------

TEST(OAuth2RefreshTokenTest, RejectsAPlainHttpTokenUrlToARemoteHost) {
  auto o = options();
  o.token_url = "http://auth.example.test/oauth/token";
  EXPECT_THROW(OAuth2RefreshToken{o}, std::invalid_argument);
}

TEST(OAuth2RefreshTokenTest, RejectsTokenUrlsWithoutAnHttpsScheme) {
  for (const char* url : {"", "auth.example.test/oauth/token", "ftp://auth.example.test/token",
                          "https://", "//auth.example.test/token"}) {
    auto o = options();
    o.token_url = url;
    EXPECT_THROW(OAuth2RefreshToken{o}, std::invalid_argument) << url;
  }
}

TEST(OAuth2RefreshTokenTest, AcceptsPlainHttpToLoopbackOrWhenAllowed) {
  for (const char* url :
       {"http://localhost:8080/token", "http://127.0.0.1/token", "http://[::1]:9000/token"}) {
    auto o = options();
    o.token_url = url;
    EXPECT_NO_THROW(OAuth2RefreshToken{o}) << url;
  }
  auto o = options();
  o.token_url = "http://auth.example.test/oauth/token";
  o.allow_insecure_http = true;
  EXPECT_NO_THROW(OAuth2RefreshToken{o});
}

TEST(OAuth2RefreshTokenTest, RequiresAClientSecretForTheSecretMethods) {
  for (const auto auth : {ClientAuth::client_secret_basic, ClientAuth::client_secret_post}) {
    auto o = options(auth);
    o.client_secret = Secret{};
    EXPECT_THROW(OAuth2RefreshToken{o}, std::invalid_argument);
    auto no_id = options(auth);
    no_id.client_id.clear();
    EXPECT_THROW(OAuth2RefreshToken{no_id}, std::invalid_argument);
  }
}

TEST(OAuth2RefreshTokenTest, NeedsNoClientSecretForClientAuthNone) {
  auto o = options(ClientAuth::none);
  ASSERT_TRUE(o.client_secret.empty());
  EXPECT_NO_THROW(OAuth2RefreshToken{o});
}

TEST(OAuth2RefreshTokenTest, RefreshableOnlyForOAuthCredentialsWithARefreshToken) {
  const OAuth2RefreshToken strategy{options()};
  EXPECT_TRUE(strategy.refreshable(Credential::oauth("at", "rt", std::nullopt)));
  EXPECT_FALSE(strategy.refreshable(Credential::oauth("at", "", std::nullopt)));
  EXPECT_FALSE(strategy.refreshable(Credential::api_key("sk-key")));
  EXPECT_FALSE(strategy.refreshable(Credential::bearer("token")));
  Credential odd = Credential::bearer("token");
  odd.refresh_token = "rt";  // a refresh token on a non-OAuth credential is not used
  EXPECT_FALSE(strategy.refreshable(odd));
}

// --- StaticCredential -----------------------------------------------------------------------

TEST(StaticCredentialTest, NeverRefreshableAndRefreshNeedsReauthWithoutSending) {
  refresh::StaticCredential strategy;
  EXPECT_FALSE(strategy.refreshable(Credential::api_key("sk-key")));
  EXPECT_FALSE(strategy.refreshable(Credential::oauth("at", "rt", std::nullopt)));
  FakeTransport transport;
  auto result = strategy.refresh(Credential::oauth("at", "rt", std::nullopt), transport, kNow);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::needs_reauth);
  EXPECT_TRUE(transport.requests().empty());
}

TEST(OAuth2RefreshTokenTest, ClassifiesTokenErrorsWithTheProvidersClassifier) {
  // OpenAI answers a reused refresh token with its own error object: the generic classifier
  // cannot read it (misconfigured), OpenAI's can (unauthenticated: log in again).
  const auto reused = json_response(
      400, R"({"error":{"message":"refresh token already used","type":"invalid_request_error",)"
           R"("code":"refresh_token_reused"}})");
  auto generic_transport = answering(reused);
  auto generic = OAuth2RefreshToken{options()}.refresh(current(), generic_transport, kNow);
  ASSERT_FALSE(generic);
  auto openai_transport = answering(reused);
  refresh::BasicOAuth2RefreshToken<classify::OpenAI> strategy{options()};
  auto result = strategy.refresh(current(), openai_transport, kNow);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::needs_reauth);
  ASSERT_TRUE(result.error().verdict);
  EXPECT_EQ(result.error().verdict->kind, VerdictKind::unauthenticated);
  EXPECT_NE(generic.error().verdict->kind, VerdictKind::unauthenticated);
}

}  // namespace
}  // namespace keyward
