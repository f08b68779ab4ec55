// classify::Anthropic: every Anthropic fixture (and the generic and token ones), then what the
// fixtures do not cover: each credential-kind rule, each wait format, streams that fail after a
// 200, and hostile input.
#include "keyward/classify/anthropic.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "classify/fixture_expectations.hpp"
#include "classify/realistic_bodies.hpp"
#include "keyward/detail/text.hpp"
#include "support/fake_clock.hpp"
#include "support/fixtures.hpp"

namespace keyward::classify {
namespace {

using namespace std::chrono_literals;
using testing::Fixture;

class AnthropicFixtureTest : public ::testing::TestWithParam<Fixture> {};

TEST_P(AnthropicFixtureTest, GetsTheExpectedVerdict) {
  const Fixture& f = GetParam();
  testing::expect_fixture_verdict(f, Anthropic{}.classify(f.response, testing::context_of(f)));
}

std::vector<Fixture> fixtures() {
  return testing::load_fixtures({"anthropic", "generic", "token"});
}

INSTANTIATE_TEST_SUITE_P(Fixtures, AnthropicFixtureTest, ::testing::ValuesIn(fixtures()),
                         testing::fixture_test_name);

TEST(AnthropicFixtureSetTest, HasEveryAnthropicGenericAndTokenFixture) {
  EXPECT_EQ(testing::load_fixtures("anthropic").size(), 18U);
  EXPECT_EQ(fixtures().size(), 28U);
}

const TimePoint kNow{testing::kFixtureNow};

std::string error_body(std::string_view type, std::string_view message) {
  return R"({"type":"error","error":{"type":")" + std::string{type} + R"(","message":")" +
         std::string{message} + R"("},"request_id":"req_body"})";
}

Verdict classify(int status, Headers headers, std::string body,
                 std::optional<CredentialKind> credential = std::nullopt,
                 Endpoint endpoint = Endpoint::api) {
  return Anthropic{}.classify(Response{status, std::move(headers), std::move(body)},
                              {.endpoint = endpoint, .now = kNow, .credential = credential});
}

Verdict classify_error(int status, std::string_view type, std::string_view message,
                       std::optional<CredentialKind> credential) {
  return classify(status, {}, error_body(type, message), credential);
}

TEST(AnthropicTest, OAuthTokenInXApiKeyIsMisconfiguredWithThePlacementFix) {
  for (const auto kind : {CredentialKind::oauth, CredentialKind::bearer_token}) {
    const Verdict v = classify_error(401, "authentication_error", "invalid x-api-key", kind);
    EXPECT_EQ(v.kind, VerdictKind::misconfigured);
    EXPECT_EQ(v.scope, Scope::credential);
    EXPECT_FALSE(v.retryable);
    EXPECT_NE(v.fix.find("Authorization: Bearer"), std::string::npos) << v.fix;
    EXPECT_NE(v.fix.find("anthropic-beta: oauth-2025-04-20"), std::string::npos) << v.fix;
    EXPECT_NE(v.fix.find("not in x-api-key"), std::string::npos) << v.fix;
  }
}

TEST(AnthropicTest, InvalidXApiKeyForAnApiKeyOrAnUnknownKindIsARejectedCredential) {
  for (const auto kind :
       {std::optional{CredentialKind::api_key}, std::optional<CredentialKind>{}}) {
    const Verdict v = classify_error(401, "authentication_error", "invalid x-api-key", kind);
    EXPECT_EQ(v.kind, VerdictKind::unauthenticated);
    EXPECT_TRUE(v.fix.empty());
  }
}

TEST(AnthropicTest, ApiKeySentAsBearerIsMisconfiguredWithTheXApiKeyFix) {
  for (const char* message : {"Invalid bearer token",
                              "OAuth authentication is currently not "
                              "supported."}) {
    const Verdict v = classify_error(401, "authentication_error", message, CredentialKind::api_key);
    EXPECT_EQ(v.kind, VerdictKind::misconfigured) << message;
    EXPECT_NE(v.fix.find("x-api-key header"), std::string::npos) << v.fix;
  }
}

TEST(AnthropicTest, InvalidBearerTokenForAnOAuthTokenIsARejectedCredential) {
  const Verdict v =
      classify_error(401, "authentication_error", "Invalid bearer token", CredentialKind::oauth);
  EXPECT_EQ(v.kind, VerdictKind::unauthenticated);
}

TEST(AnthropicTest, OAuthWithoutTheBetaFlagIsMisconfiguredWithTheBetaFix) {
  const Verdict v =
      classify_error(401, "authentication_error",
                     "OAuth authentication is currently not supported.", CredentialKind::oauth);
  EXPECT_EQ(v.kind, VerdictKind::misconfigured);
  EXPECT_NE(v.fix.find("anthropic-beta: oauth-2025-04-20"), std::string::npos) << v.fix;
}

TEST(AnthropicTest, MissingXApiKeyHeaderIsMisconfiguredForEveryKind) {
  const Verdict key = classify_error(401, "authentication_error", "x-api-key header is required",
                                     CredentialKind::api_key);
  EXPECT_EQ(key.kind, VerdictKind::misconfigured);
  EXPECT_NE(key.fix.find("x-api-key header"), std::string::npos) << key.fix;
  const Verdict oauth = classify_error(401, "authentication_error", "x-api-key header is required",
                                       CredentialKind::oauth);
  EXPECT_EQ(oauth.kind, VerdictKind::misconfigured);
  EXPECT_NE(oauth.fix.find("Authorization: Bearer"), std::string::npos) << oauth.fix;
}

TEST(AnthropicTest, CreditExhaustionAndBillingErrorsAreQuotaWithAFix) {
  const Verdict credits = classify_error(400, "invalid_request_error",
                                         "Your credit balance is too low to access the Anthropic "
                                         "API.",
                                         CredentialKind::api_key);
  EXPECT_EQ(credits.kind, VerdictKind::quota_exhausted);
  EXPECT_EQ(credits.scope, Scope::credential);
  EXPECT_NE(credits.fix.find("credits"), std::string::npos);
  const Verdict billing = classify_error(402, "billing_error", "Payment required", std::nullopt);
  EXPECT_EQ(billing.kind, VerdictKind::quota_exhausted);
  EXPECT_NE(billing.fix.find("billing"), std::string::npos);
}

TEST(AnthropicTest, CreditExhaustionWithALoneSurrogateInItsMessageIsStillQuota) {
  // A lone \ud83d once made the whole body unreadable, and the 400 fell back to request_error.
  const Verdict v = classify_error(400, "invalid_request_error",
                                   R"(Your credit balance is too low \ud83d to access the API.)",
                                   CredentialKind::api_key);
  EXPECT_EQ(v.kind, VerdictKind::quota_exhausted);
  EXPECT_EQ(v.provider_code, "invalid_request_error");
  EXPECT_EQ(v.message, "Your credit balance is too low \xEF\xBF\xBD to access the API.");
  EXPECT_EQ(v.request_id, "req_body");
}

TEST(AnthropicTest, DisabledOrganizationIsMisconfigured) {
  const Verdict v = classify_error(400, "invalid_request_error",
                                   "This organization has been disabled.", CredentialKind::api_key);
  EXPECT_EQ(v.kind, VerdictKind::misconfigured);
  EXPECT_FALSE(v.fix.empty());
}

TEST(AnthropicTest, ErrorTypeDecidesOverTheStatus) {
  EXPECT_EQ(classify_error(500, "overloaded_error", "Overloaded", {}).kind,
            VerdictKind::overloaded);
  EXPECT_EQ(classify_error(503, "rate_limit_error", "slow down", {}).kind,
            VerdictKind::rate_limited);
  EXPECT_EQ(classify_error(504, "timeout_error", "timed out", {}).kind, VerdictKind::transient);
  EXPECT_EQ(classify_error(400, "permission_error", "no", {}).kind, VerdictKind::forbidden);
  // An unknown type falls back to the status.
  EXPECT_EQ(classify_error(429, "brand_new_error", "?", {}).kind, VerdictKind::rate_limited);
}

TEST(AnthropicTest, ReadsMessageAndRequestIdFromTheBodyBeforeTheHeader) {
  const Verdict v = classify(401, {{"request-id", "req_header"}},
                             error_body("authentication_error", "invalid x-api-key"));
  EXPECT_EQ(v.provider_code, "authentication_error");
  EXPECT_EQ(v.message, "invalid x-api-key");
  EXPECT_EQ(v.request_id, "req_body");
  EXPECT_EQ(classify(401, {{"request-id", "req_header"}}, "").request_id, "req_header");
}

std::string at(std::chrono::seconds from_now) { return detail::format_rfc3339(kNow + from_now); }

TEST(AnthropicTest, RateLimitWithoutRetryAfterWaitsForTheExhaustedWindow) {
  const Verdict v = classify(429,
                             {{"anthropic-ratelimit-requests-remaining", "10"},
                              {"anthropic-ratelimit-requests-reset", at(50s)},
                              {"anthropic-ratelimit-tokens-remaining", "0"},
                              {"anthropic-ratelimit-tokens-reset", at(20s)}},
                             error_body("rate_limit_error", "Rate limited"));
  ASSERT_TRUE(v.retry_after);
  EXPECT_EQ(*v.retry_after, 20s);
}

TEST(AnthropicTest, RateLimitWithNoExhaustedWindowWaitsForTheLatestReset) {
  const Verdict v = classify(429,
                             {{"anthropic-ratelimit-input-tokens-remaining", "5"},
                              {"anthropic-ratelimit-input-tokens-reset", at(12s)},
                              {"anthropic-ratelimit-output-tokens-remaining", "7"},
                              {"anthropic-ratelimit-output-tokens-reset", at(31s)}},
                             error_body("rate_limit_error", "Rate limited"));
  ASSERT_TRUE(v.retry_after);
  EXPECT_EQ(*v.retry_after, 31s);
}

TEST(AnthropicTest, RetryAfterHeadersWinOverResetHeaders) {
  const Headers resets{{"anthropic-ratelimit-tokens-remaining", "0"},
                       {"anthropic-ratelimit-tokens-reset", at(40s)}};
  Headers with_seconds = resets;
  with_seconds.add("retry-after", "7");
  EXPECT_EQ(*classify(429, with_seconds, "").retry_after, 7s);
  Headers with_ms = resets;
  with_ms.add("retry-after-ms", "250");
  EXPECT_EQ(*classify(429, with_ms, "").retry_after, 250ms);
}

TEST(AnthropicTest, ReadsRetryAfterInEveryHttpDateForm) {
  for (const char* date : {"Wed, 04 Feb 2026 12:00:45 GMT", "Wednesday, 04-Feb-26 12:00:45 GMT",
                           "Wed Feb  4 12:00:45 2026"}) {
    const Verdict v = classify(429, {{"retry-after", date}}, "");
    ASSERT_TRUE(v.retry_after) << date;
    EXPECT_EQ(*v.retry_after, 45s) << date;
  }
}

TEST(AnthropicTest, GarbageRetryAfterFallsBackToTheResetHeaders) {
  for (const char* garbage : {"soon", "-5", "1e3", ""}) {
    const Verdict v = classify(429,
                               {{"retry-after-ms", garbage},
                                {"retry-after", garbage},
                                {"anthropic-ratelimit-requests-remaining", "0"},
                                {"anthropic-ratelimit-requests-reset", at(8s)}},
                               "");
    ASSERT_TRUE(v.retry_after) << garbage;
    EXPECT_EQ(*v.retry_after, 8s) << garbage;
  }
}

TEST(AnthropicTest, ResetHeadersIgnoreGarbageAndPastTimesAndAreCapped) {
  EXPECT_FALSE(classify(429, {{"anthropic-ratelimit-tokens-reset", "soon"}}, "").retry_after);
  EXPECT_FALSE(classify(429, {{"anthropic-ratelimit-tokens-reset", at(-30s)}}, "").retry_after);
  EXPECT_FALSE(classify(429, {{"anthropic-ratelimit-tokens-reset", "-5"}}, "").retry_after);
  EXPECT_EQ(*classify(429, {{"anthropic-ratelimit-tokens-reset", at(5h)}}, "").retry_after, 1h);
  const Anthropic short_cap{{.max_wait = 10s}};
  const Verdict v = short_cap.classify(
      Response{429, {{"anthropic-ratelimit-tokens-reset", at(30s)}}, ""}, {.now = kNow});
  EXPECT_EQ(*v.retry_after, 10s);
}

TEST(AnthropicTest, UnifiedSubscriptionResetIsUnixSecondsAndRejectedMeansExhausted) {
  const auto epoch = [](std::chrono::seconds from_now) {
    return std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>((kNow + from_now).time_since_epoch())
            .count());
  };
  const Verdict v = classify(429,
                             {{"anthropic-ratelimit-unified-status", "rejected"},
                              {"anthropic-ratelimit-unified-reset", epoch(90s)},
                              {"anthropic-ratelimit-unified-7d-status", "allowed"},
                              {"anthropic-ratelimit-unified-7d-reset", epoch(600s)}},
                             error_body("rate_limit_error", "Rate limited"));
  ASSERT_TRUE(v.retry_after);
  EXPECT_EQ(*v.retry_after, 90s);
}

TEST(AnthropicTest, ResetHeadersDoNotNameAWaitForOtherVerdicts) {
  const Headers resets{{"anthropic-ratelimit-tokens-remaining", "0"},
                       {"anthropic-ratelimit-tokens-reset", at(40s)}};
  EXPECT_FALSE(classify(529, resets, error_body("overloaded_error", "Overloaded")).retry_after);
  EXPECT_FALSE(classify(200, resets, "{}").retry_after);
}

Headers stream_headers() { return {{"content-type", "text/event-stream; charset=utf-8"}}; }

TEST(AnthropicTest, StreamThatFailsAfterA200IsClassifiedFromItsErrorEvent) {
  const std::string stream =
      "event: message_start\n"
      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\"}}\n\n"
      ": keep-alive comment\n\n"
      "event: error\n"
      "data: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": "
      "\"Overloaded\"}}\n\n";
  const Verdict v = classify(200, stream_headers(), stream);
  EXPECT_EQ(v.kind, VerdictKind::overloaded);
  EXPECT_EQ(v.scope, Scope::provider);
  EXPECT_TRUE(v.retryable);
  EXPECT_EQ(v.status, 200);
  EXPECT_EQ(v.provider_code, "overloaded_error");
  EXPECT_EQ(v.message, "Overloaded");
}

TEST(AnthropicTest, StreamErrorsAcceptCrlfSplitDataAndAMissingFinalBlankLine) {
  const std::string stream =
      "event: ping\r\ndata: {}\r\n\r\n"
      "event: error\r\ndata: {\"type\":\"error\",\r\ndata: \"error\":{\"type\":\"api_error\","
      "\"message\":\"Internal server error\"}}";
  const Verdict v = classify(200, stream_headers(), stream);
  EXPECT_EQ(v.kind, VerdictKind::transient);
  EXPECT_EQ(v.provider_code, "api_error");
}

TEST(AnthropicTest, HealthyStreamsAndNonStreamsAreOk) {
  const std::string stream =
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":"
      "\"an error occurred in my story\"}}\n\nevent: message_stop\ndata: {}\n\n";
  EXPECT_EQ(classify(200, stream_headers(), stream).kind, VerdictKind::ok);
  // Without the event-stream content type a 200 is not read as a stream.
  EXPECT_EQ(classify(200, {},
                     "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                     "\"overloaded_error\"}}\n\n")
                .kind,
            VerdictKind::ok);
}

TEST(AnthropicTest, StreamErrorEventInTheMiddleOfLongStreamIsFound) {
  const Verdict v = classify(
      200, stream_headers(),
      testing::anthropic_stream(14 << 10, testing::kErrorProse, testing::kAnthropicErrorEvent));
  EXPECT_EQ(v.kind, VerdictKind::overloaded);
  EXPECT_EQ(v.provider_code, "overloaded_error");
  EXPECT_EQ(v.message, "Overloaded");
  EXPECT_EQ(v.request_id, "req_011CSHoEeqs5C35K2UUqR7Fy");
  EXPECT_EQ(v.status, 200);
  EXPECT_EQ(
      classify(200, stream_headers(), testing::anthropic_stream(14 << 10, testing::kErrorProse))
          .kind,
      VerdictKind::ok);
}

TEST(AnthropicTest, StreamErrorEventWithABrokenEscapeIsStillRead) {
  const Verdict v =
      classify(200, stream_headers(),
               "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
               "\"message\":\"Overloaded \\ud83d\\x\"}}\n\n");
  EXPECT_EQ(v.kind, VerdictKind::overloaded);
  EXPECT_EQ(v.provider_code, "overloaded_error");
}

TEST(AnthropicTest, StreamErrorEventWithUnreadableDataIsTransient) {
  const Verdict v = classify(200, stream_headers(), "event: error\ndata: upstream reset\n\n");
  EXPECT_EQ(v.kind, VerdictKind::transient);
  EXPECT_TRUE(v.retryable);
}

TEST(AnthropicTest, ChallengeDecidesOnlyWhenTheBodyDoesNot) {
  const Headers challenge{
      {"www-authenticate",
       R"(Basic realm="x", Bearer error="invalid_token", error_description="gone")"}};
  const Verdict bare = classify(401, challenge, "");
  EXPECT_EQ(bare.kind, VerdictKind::unauthenticated);
  EXPECT_EQ(bare.provider_code, "invalid_token");
  EXPECT_EQ(bare.message, "gone");
  const Verdict with_body =
      classify(401, challenge, error_body("authentication_error", "Invalid bearer token"));
  EXPECT_EQ(with_body.provider_code, "authentication_error");
}

TEST(AnthropicTest, ShouldRetryHeaderOverridesRetryability) {
  EXPECT_FALSE(classify(529, {{"x-should-retry", "false"}}, "").retryable);
  EXPECT_TRUE(classify(400, {{"x-should-retry", "true"}}, "").retryable);
}

TEST(AnthropicTest, TokenEndpointErrorsFollowRfc6749WithAnAnthropicFix) {
  const auto token = [](int status, std::string body) {
    return classify(status, {}, std::move(body), CredentialKind::oauth, Endpoint::token);
  };
  EXPECT_EQ(token(400, R"({"error":"invalid_grant"})").kind, VerdictKind::unauthenticated);
  const Verdict client = token(401, R"({"error":"invalid_client"})");
  EXPECT_EQ(client.kind, VerdictKind::misconfigured);
  EXPECT_NE(client.fix.find("JSON"), std::string::npos) << client.fix;
  EXPECT_EQ(token(200, R"({"access_token":"sk-ant-oat01-x"})").kind, VerdictKind::ok);
}

TEST(AnthropicTest, TokenEndpointResponsesAreStillReadStrictly) {
  const auto token = [](int status, std::string body) {
    return classify(status, {}, std::move(body), CredentialKind::oauth, Endpoint::token);
  };
  // The credit-balance body with its lone surrogate is unreadable JSON to the token path: a 400
  // without a readable RFC 6749 code is a configuration problem, as for any other garbage.
  const Verdict credits =
      token(400, error_body("invalid_request_error", R"(Your credit balance is too low \ud83d)"));
  EXPECT_EQ(credits.kind, VerdictKind::misconfigured);
  EXPECT_EQ(credits.provider_code, "");
  EXPECT_EQ(credits.message, "");
  EXPECT_EQ(token(400, R"({"error":"invalid_grant","error_description":"gone"})").kind,
            VerdictKind::unauthenticated);
  EXPECT_EQ(token(400, R"({"error":"invalid_grant","error_description":"gone \ud83d"})").kind,
            VerdictKind::misconfigured);
  EXPECT_EQ(token(200, R"({"access_token":"sk-ant-oat01-x\ud83d"})").kind, VerdictKind::transient);
}

TEST(AnthropicTest, TransportFailuresAreTransient) {
  const Verdict v = Anthropic{}.classify(TransportFailure{TransportErrc::tls, "handshake"});
  EXPECT_EQ(v.kind, VerdictKind::transient);
  EXPECT_TRUE(v.retryable);
}

TEST(AnthropicTest, AnyHeadersAndStreamsClassifyWithoutThrowingAndWithCappedWaits) {
  std::mt19937_64 random{9095};
  std::uniform_int_distribution<int> byte{0, 255};
  const char* names[] = {"anthropic-ratelimit-tokens-reset", "anthropic-ratelimit-tokens-remaining",
                         "anthropic-ratelimit-unified-reset", "retry-after", "content-type"};
  const std::string alphabet = "event:data: error{}\"\n\r0123456789-TZ:.";
  for (int i = 0; i < 2000; ++i) {
    Response response{(i % 3 == 0) ? 200 : 429, {{"content-type", "text/event-stream"}}, {}};
    for (int j = 0; j < byte(random) % 96; ++j) {
      response.body.push_back(alphabet[static_cast<std::size_t>(byte(random)) % alphabet.size()]);
    }
    std::string value;
    for (int j = 0; j < byte(random) % 32; ++j) value.push_back(static_cast<char>(byte(random)));
    response.headers.add(names[static_cast<std::size_t>(i) % 5], value);
    for (const auto kind : {CredentialKind::api_key, CredentialKind::oauth}) {
      Verdict v;
      ASSERT_NO_THROW(v = Anthropic{}.classify(response, {.now = kNow, .credential = kind}));
      if (v.retry_after) {
        EXPECT_GE(v.retry_after->count(), 0);
        EXPECT_LE(*v.retry_after, 1h);
      }
      EXPECT_EQ(v.scope, default_scope(v.kind));
    }
  }
}

}  // namespace
}  // namespace keyward::classify
