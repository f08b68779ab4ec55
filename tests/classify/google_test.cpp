// classify::Google: every Google fixture (and the generic and token ones), then what the fixtures
// do not cover: ErrorInfo reasons and the credential kind, daily against per-minute quotas,
// RetryInfo delays, overload, and the array and SSE forms of streaming errors.
#include "keyward/classify/google.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "classify/fixture_expectations.hpp"
#include "support/fake_clock.hpp"
#include "support/fixtures.hpp"

namespace keyward::classify {
namespace {

using namespace std::chrono_literals;
using testing::Fixture;

class GoogleFixtureTest : public ::testing::TestWithParam<Fixture> {};

TEST_P(GoogleFixtureTest, GetsTheExpectedVerdict) {
  const Fixture& f = GetParam();
  testing::expect_fixture_verdict(f, Google{}.classify(f.response, testing::context_of(f)));
}

std::vector<Fixture> fixtures() { return testing::load_fixtures({"google", "generic", "token"}); }

INSTANTIATE_TEST_SUITE_P(Fixtures, GoogleFixtureTest, ::testing::ValuesIn(fixtures()),
                         testing::fixture_test_name);

TEST(GoogleFixtureSetTest, HasEveryGoogleGenericAndTokenFixture) {
  EXPECT_EQ(testing::load_fixtures("google").size(), 4U);
  EXPECT_EQ(fixtures().size(), 14U);
}

const TimePoint kNow{testing::kFixtureNow};

// A google.rpc.Status body; `details` is the raw JSON of the details array's elements.
std::string status_body(int code, std::string_view status, std::string_view message,
                        std::string_view details = "") {
  return R"({"error":{"code":)" + std::to_string(code) + R"(,"message":")" + std::string{message} +
         R"(","status":")" + std::string{status} + R"(","details":[)" + std::string{details} +
         "]}}";
}

std::string error_info(std::string_view reason, std::string_view metadata = "{}") {
  return R"({"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":")" + std::string{reason} +
         R"(","domain":"googleapis.com","metadata":)" + std::string{metadata} + "}";
}

std::string retry_info(std::string_view delay) {
  return R"({"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":")" +
         std::string{delay} + "\"}";
}

std::string quota_failure(std::string_view quota_id) {
  return R"({"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":")" +
         std::string{quota_id} + "\"}]}";
}

Verdict classify(int status, Headers headers, std::string body,
                 std::optional<CredentialKind> credential = CredentialKind::api_key) {
  return Google{}.classify(Response{status, std::move(headers), std::move(body)},
                           {.now = kNow, .credential = credential});
}

TEST(GoogleTest, InvalidKeyIsARejectedApiKeyButAMisplacedOAuthToken) {
  const std::string body =
      status_body(400, "INVALID_ARGUMENT", "API key not valid.", error_info("API_KEY_INVALID"));
  EXPECT_EQ(classify(400, {}, body).kind, VerdictKind::unauthenticated);
  const Verdict oauth = classify(400, {}, body, CredentialKind::oauth);
  EXPECT_EQ(oauth.kind, VerdictKind::misconfigured);
  EXPECT_EQ(oauth.provider_code, "API_KEY_INVALID");
  EXPECT_NE(oauth.fix.find("Authorization: Bearer"), std::string::npos) << oauth.fix;
  // Older responses carry only the message.
  EXPECT_EQ(classify(400, {}, status_body(400, "INVALID_ARGUMENT", "API key not valid.")).kind,
            VerdictKind::unauthenticated);
}

TEST(GoogleTest, InvalidKeyWithInvalidUtf8InItsMessageIsStillRead) {
  const Verdict v =
      classify(400, {},
               status_body(400, "INVALID_ARGUMENT", "API key not valid \xC0\xAF \\uDE00",
                           error_info("API_KEY_INVALID")));
  EXPECT_EQ(v.kind, VerdictKind::unauthenticated);
  EXPECT_EQ(v.provider_code, "API_KEY_INVALID");
}

TEST(GoogleTest, ProjectAndKeyRestrictionsAreMisconfiguredWithAFix) {
  const Verdict disabled = classify(
      403, {},
      status_body(
          403, "PERMISSION_DENIED", "Generative Language API has not been used",
          error_info(
              "SERVICE_DISABLED",
              R"({"activationUrl":"https://console.developers.google.com/apis/api/generativelanguage.googleapis.com/overview?project=123"})")));
  EXPECT_EQ(disabled.kind, VerdictKind::misconfigured);
  EXPECT_EQ(disabled.provider_code, "SERVICE_DISABLED");
  EXPECT_NE(disabled.fix.find("enable the API"), std::string::npos);
  EXPECT_NE(disabled.fix.find("project=123"), std::string::npos) << disabled.fix;
  for (const char* reason : {"API_KEY_HTTP_REFERRER_BLOCKED", "API_KEY_IP_ADDRESS_BLOCKED",
                             "API_KEY_SERVICE_BLOCKED", "CONSUMER_SUSPENDED"}) {
    const Verdict v =
        classify(403, {}, status_body(403, "PERMISSION_DENIED", "blocked", error_info(reason)));
    EXPECT_EQ(v.kind, VerdictKind::misconfigured) << reason;
    EXPECT_FALSE(v.fix.empty()) << reason;
  }
}

TEST(GoogleTest, MissingCredentialsAndKeysOnOAuthOnlyApisAreMisconfigured) {
  const Verdict missing = classify(
      401, {},
      status_body(401, "UNAUTHENTICATED", "Request is missing required authentication credential.",
                  error_info("CREDENTIALS_MISSING")));
  EXPECT_EQ(missing.kind, VerdictKind::misconfigured);
  EXPECT_NE(missing.fix.find("x-goog-api-key"), std::string::npos);
  const Verdict keys =
      classify(401, {},
               status_body(401, "UNAUTHENTICATED",
                           "API keys are not supported by this API. Expected OAuth2 access token"));
  EXPECT_EQ(keys.kind, VerdictKind::misconfigured);
  EXPECT_NE(keys.fix.find("OAuth access token"), std::string::npos);
}

TEST(GoogleTest, InsufficientScopeIsForbiddenWithTheScopeToAskFor) {
  const Verdict v =
      classify(403, {},
               status_body(403, "PERMISSION_DENIED", "insufficient authentication scopes.",
                           error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT")),
               CredentialKind::oauth);
  EXPECT_EQ(v.kind, VerdictKind::forbidden);
  EXPECT_EQ(v.scope, Scope::request);
  EXPECT_NE(v.fix.find("cloud-platform"), std::string::npos);
}

TEST(GoogleTest, PlainPermissionDeniedIsForbidden) {
  EXPECT_EQ(classify(403, {},
                     status_body(403, "PERMISSION_DENIED",
                                 "The caller does not have "
                                 "permission"))
                .kind,
            VerdictKind::forbidden);
}

TEST(GoogleTest, DailyQuotaIsQuotaExhaustedWithoutTheMisleadingDelay) {
  const Verdict v =
      classify(429, {},
               status_body(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota",
                           quota_failure("GenerateRequestsPerDayPerProjectPerModel-FreeTier") +
                               "," + retry_info("40s")));
  EXPECT_EQ(v.kind, VerdictKind::quota_exhausted);
  EXPECT_FALSE(v.retry_after);
  EXPECT_NE(v.fix.find("daily quota"), std::string::npos);
}

TEST(GoogleTest, BillingDisabledIsQuotaExhausted) {
  const Verdict v = classify(
      403, {}, status_body(403, "PERMISSION_DENIED", "billing", error_info("BILLING_DISABLED")));
  EXPECT_EQ(v.kind, VerdictKind::quota_exhausted);
  EXPECT_NE(v.fix.find("billing"), std::string::npos);
}

TEST(GoogleTest, RetryInfoDelayIsReadInEveryProtobufForm) {
  const auto wait = [](std::string_view delay) {
    return classify(429, {}, status_body(429, "RESOURCE_EXHAUSTED", "slow down", retry_info(delay)))
        .retry_after;
  };
  EXPECT_EQ(*wait("26s"), 26s);
  EXPECT_EQ(*wait("1.5s"), 1500ms);
  EXPECT_EQ(*wait("0.000000001s"), 0ms);
  EXPECT_EQ(*wait("86400s"), 1h);
  for (const char* garbage : {"26", "-3s", "s", "1.5", "soon", "1.1234567891s"}) {
    EXPECT_FALSE(wait(garbage)) << garbage;
  }
}

TEST(GoogleTest, RetryHeadersWinOverRetryInfoAndRetryInfoServesOtherKinds) {
  const std::string body = status_body(503, "UNAVAILABLE", "try later", retry_info("30s"));
  EXPECT_EQ(*classify(503, {{"retry-after", "2"}}, body).retry_after, 2s);
  EXPECT_EQ(*classify(503, {}, body).retry_after, 30s);
}

TEST(GoogleTest, OverloadedModelIsOverloadedAndOtherUnavailabilityTransient) {
  EXPECT_EQ(classify(503, {},
                     status_body(503, "UNAVAILABLE",
                                 "The model is overloaded. Please "
                                 "try again later."))
                .kind,
            VerdictKind::overloaded);
  EXPECT_EQ(classify(503, {},
                     status_body(503, "UNAVAILABLE",
                                 "The service is currently "
                                 "unavailable."))
                .kind,
            VerdictKind::transient);
  EXPECT_EQ(classify(500, {}, status_body(500, "INTERNAL", "An internal error")).kind,
            VerdictKind::transient);
  EXPECT_EQ(classify(504, {}, status_body(504, "DEADLINE_EXCEEDED", "deadline")).kind,
            VerdictKind::transient);
}

TEST(GoogleTest, StatusStringDecidesOverTheHttpStatus) {
  EXPECT_EQ(classify(400, {}, status_body(400, "FAILED_PRECONDITION", "location")).kind,
            VerdictKind::request_error);
  EXPECT_EQ(classify(500, {}, status_body(500, "NOT_FOUND", "odd")).kind,
            VerdictKind::request_error);
  EXPECT_EQ(classify(400, {}, status_body(400, "UNAUTHENTICATED", "odd")).kind,
            VerdictKind::unauthenticated);
}

TEST(GoogleTest, StreamingErrorsAsAJsonArrayOrSseDataAreClassified) {
  const std::string error = status_body(429, "RESOURCE_EXHAUSTED", "quota", retry_info("9s"));
  const Verdict array = classify(429, {}, "[" + error + "]");
  EXPECT_EQ(array.kind, VerdictKind::rate_limited);
  EXPECT_EQ(*array.retry_after, 9s);
  const Verdict stream =
      classify(200, {{"content-type", "text/event-stream"}},
               "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]}}]}\r\n\r\n"
               "data: " +
                   status_body(503, "UNAVAILABLE", "The model is overloaded.") + "\r\n\r\n");
  EXPECT_EQ(stream.kind, VerdictKind::overloaded);
  EXPECT_EQ(stream.provider_code, "UNAVAILABLE");
  EXPECT_EQ(stream.status, 200);
}

TEST(GoogleTest, BearerChallengeDecidesOnlyWithoutAGoogleBody) {
  const Headers challenge{{"www-authenticate", R"(Bearer realm="g", error="invalid_token")"}};
  EXPECT_EQ(classify(401, challenge, "").provider_code, "invalid_token");
  EXPECT_EQ(
      classify(401, challenge,
               status_body(401, "UNAUTHENTICATED", "expired", error_info("ACCESS_TOKEN_EXPIRED")))
          .provider_code,
      "ACCESS_TOKEN_EXPIRED");
}

TEST(GoogleTest, TokenEndpointErrorsFollowRfc6749) {
  const auto token = [](int status, std::string body) {
    return Google{}.classify(Response{status, {}, std::move(body)},
                             {.endpoint = Endpoint::token, .now = kNow});
  };
  EXPECT_EQ(
      token(400,
            R"({"error":"invalid_grant","error_description":"Token has been expired or revoked."})")
          .kind,
      VerdictKind::unauthenticated);
  const Verdict client = token(401, R"({"error":"invalid_client"})");
  EXPECT_EQ(client.kind, VerdictKind::misconfigured);
  EXPECT_NE(client.fix.find("oauth2.googleapis.com"), std::string::npos);
}

TEST(GoogleTest, AnyBodiesClassifyWithoutThrowingAndWithCappedWaits) {
  std::mt19937_64 random{39};
  std::uniform_int_distribution<int> byte{0, 255};
  const std::vector<std::string> pieces = {R"({"error":{"status":"RESOURCE_EXHAUSTED","details":[)",
                                           retry_info("99999999999999s"),
                                           error_info("API_KEY_INVALID"),
                                           quota_failure("PerDay"),
                                           "]}}",
                                           "[",
                                           ",",
                                           "\"",
                                           "{",
                                           "}"};
  for (int i = 0; i < 2000; ++i) {
    std::string body;
    for (int j = 0; j < byte(random) % 8; ++j) {
      body += pieces[static_cast<std::size_t>(byte(random)) % pieces.size()];
    }
    if (byte(random) % 4 == 0) body.push_back(static_cast<char>(byte(random)));
    for (const int status : {200, 400, 429, 503}) {
      Verdict v;
      ASSERT_NO_THROW(v = classify(status, {{"content-type", "text/event-stream"}}, body));
      if (v.retry_after) {
        EXPECT_LE(*v.retry_after, 1h);
      }
      EXPECT_EQ(v.scope, default_scope(v.kind));
    }
  }
}

}  // namespace
}  // namespace keyward::classify
