// classify::OpenAI: every OpenAI fixture (and the generic and token ones), then what the fixtures
// do not cover: x-ratelimit-reset-* in every Go duration form, code-before-type rules, key echoes,
// streams that fail after a 200, and the token endpoint's own codes.
#include "keyward/classify/openai.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "classify/fixture_expectations.hpp"
#include "classify/realistic_bodies.hpp"
#include "support/fake_clock.hpp"
#include "support/fixtures.hpp"

namespace keyward::classify {
namespace {

using namespace std::chrono_literals;
using testing::Fixture;

class OpenAIFixtureTest : public ::testing::TestWithParam<Fixture> {};

TEST_P(OpenAIFixtureTest, GetsTheExpectedVerdict) {
  const Fixture& f = GetParam();
  testing::expect_fixture_verdict(f, OpenAI{}.classify(f.response, testing::context_of(f)));
}

std::vector<Fixture> fixtures() { return testing::load_fixtures({"openai", "generic", "token"}); }

INSTANTIATE_TEST_SUITE_P(Fixtures, OpenAIFixtureTest, ::testing::ValuesIn(fixtures()),
                         testing::fixture_test_name);

TEST(OpenAIFixtureSetTest, HasEveryOpenAIGenericAndTokenFixture) {
  EXPECT_EQ(testing::load_fixtures("openai").size(), 6U);
  EXPECT_EQ(fixtures().size(), 16U);
}

const TimePoint kNow{testing::kFixtureNow};

std::string error_body(std::string_view code, std::string_view type, std::string_view message) {
  const auto field = [](std::string_view value) {
    return value.empty() ? std::string{"null"} : "\"" + std::string{value} + "\"";
  };
  return R"({"error":{"message":")" + std::string{message} + R"(","type":)" + field(type) +
         R"(,"param":null,"code":)" + field(code) + "}}";
}

Verdict classify(int status, Headers headers, std::string body, Endpoint endpoint = Endpoint::api) {
  return OpenAI{}.classify(
      Response{status, std::move(headers), std::move(body)},
      {.endpoint = endpoint, .now = kNow, .credential = CredentialKind::api_key});
}

std::string rate_limit_body() {
  return error_body("rate_limit_exceeded", "requests", "Rate limit reached");
}

TEST(OpenAITest, RateLimitWaitsForTheExhaustedDimension) {
  const Verdict v = classify(429,
                             {{"x-ratelimit-remaining-requests", "0"},
                              {"x-ratelimit-reset-requests", "6m0s"},
                              {"x-ratelimit-remaining-tokens", "1200"},
                              {"x-ratelimit-reset-tokens", "2m59.56s"}},
                             rate_limit_body());
  ASSERT_TRUE(v.retry_after);
  EXPECT_EQ(*v.retry_after, 6min);
}

TEST(OpenAITest, RateLimitWithNoExhaustedDimensionWaitsForTheLonger) {
  const Verdict v = classify(429,
                             {{"x-ratelimit-remaining-requests", "3"},
                              {"x-ratelimit-reset-requests", "644ms"},
                              {"x-ratelimit-remaining-tokens", "12"},
                              {"x-ratelimit-reset-tokens", "2m59.56s"}},
                             rate_limit_body());
  ASSERT_TRUE(v.retry_after);
  EXPECT_EQ(*v.retry_after, 179560ms);
}

TEST(OpenAITest, RetryAfterHeadersWinOverResetHeaders) {
  const Verdict v = classify(429,
                             {{"x-ratelimit-remaining-tokens", "0"},
                              {"x-ratelimit-reset-tokens", "20s"},
                              {"retry-after-ms", "1500"},
                              {"retry-after", "3"}},
                             rate_limit_body());
  EXPECT_EQ(*v.retry_after, 1500ms);
  EXPECT_EQ(
      *classify(429, {{"x-ratelimit-reset-tokens", "20s"}, {"retry-after", "3"}}, "").retry_after,
      3s);
}

TEST(OpenAITest, ResetHeadersIgnoreGarbageAndNegativesAndAreCapped) {
  for (const char* garbage : {"soon", "-1s", "5", "1.s.s", "", "1d"}) {
    EXPECT_FALSE(classify(429, {{"x-ratelimit-reset-tokens", garbage}}, "").retry_after) << garbage;
  }
  // A garbage window does not hide a good one.
  const Verdict mixed = classify(
      429, {{"x-ratelimit-reset-requests", "junk"}, {"x-ratelimit-reset-tokens", "1s"}}, "");
  EXPECT_EQ(*mixed.retry_after, 1s);
  EXPECT_EQ(*classify(429, {{"x-ratelimit-reset-tokens", "26h"}}, "").retry_after, 1h);
  const OpenAI short_cap{{.max_wait = 2s}};
  EXPECT_EQ(
      *short_cap.classify(Response{429, {{"x-ratelimit-reset-tokens", "1m"}}, ""}, {}).retry_after,
      2s);
}

TEST(OpenAITest, ResetHeadersDoNotNameAWaitForOtherVerdicts) {
  const Headers resets{{"x-ratelimit-remaining-tokens", "0"}, {"x-ratelimit-reset-tokens", "9s"}};
  EXPECT_FALSE(classify(500, resets, "").retry_after);
  EXPECT_FALSE(
      classify(429, resets, error_body("insufficient_quota", "insufficient_quota", "quota"))
          .retry_after);
}

TEST(OpenAITest, QuotaIsRecognisedByCodeTypeOrMessageAndCarriesAFix) {
  for (const std::string& body :
       {error_body("insufficient_quota", "", "quota"),
        error_body("", "insufficient_quota", "quota"),
        error_body("billing_hard_limit_reached", "invalid_request_error", "limit"),
        error_body("", "", "You exceeded your current quota, please check your plan")}) {
    const Verdict v = classify(429, {}, body);
    EXPECT_EQ(v.kind, VerdictKind::quota_exhausted) << body;
    EXPECT_FALSE(v.retryable);
    EXPECT_NE(v.fix.find("credits"), std::string::npos) << v.fix;
  }
}

TEST(OpenAITest, QuotaWithABrokenEscapeInItsMessageIsStillQuota) {
  const Verdict v = classify(
      429, {}, error_body("insufficient_quota", "insufficient_quota", R"(Quota \ud83d\q)"));
  EXPECT_EQ(v.kind, VerdictKind::quota_exhausted);
  EXPECT_EQ(v.message, "Quota \xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(OpenAITest, CodeDecidesBeforeType) {
  // type "requests" alone is a rate limit, but the code says the quota is gone.
  EXPECT_EQ(classify(429, {}, error_body("insufficient_quota", "requests", "x")).kind,
            VerdictKind::quota_exhausted);
  const Verdict v = classify(401, {}, error_body("invalid_api_key", "invalid_request_error", "x"));
  EXPECT_EQ(v.kind, VerdictKind::unauthenticated);
  EXPECT_EQ(v.provider_code, "invalid_api_key");
  EXPECT_EQ(classify(400, {}, error_body("", "invalid_request_error", "x")).provider_code,
            "invalid_request_error");
}

TEST(OpenAITest, WrongOrganizationOrProjectHeaderIsMisconfigured) {
  for (const char* code : {"mismatched_organization", "invalid_project"}) {
    const Verdict v = classify(401, {}, error_body(code, "invalid_request_error", "mismatch"));
    EXPECT_EQ(v.kind, VerdictKind::misconfigured) << code;
    EXPECT_NE(v.fix.find("OpenAI-Organization"), std::string::npos);
  }
}

TEST(OpenAITest, MissingKeyIsMisconfigured) {
  const Verdict v =
      classify(401, {},
               error_body("", "invalid_request_error",
                          "You didn't provide an API key. You need to provide your API key in an "
                          "Authorization header using Bearer auth"));
  EXPECT_EQ(v.kind, VerdictKind::misconfigured);
  EXPECT_NE(v.fix.find("Authorization: Bearer"), std::string::npos);
}

TEST(OpenAITest, RedactsTheKeyFragmentsOpenAIEchoes) {
  const Verdict v = classify(
      401, {},
      error_body("invalid_api_key", "invalid_request_error",
                 "Incorrect API key provided: sk-abc12***************************wxyz. You can "
                 "find your API key at https://platform.openai.com/account/api-keys."));
  EXPECT_EQ(v.message.find("wxyz"), std::string::npos) << v.message;
  EXPECT_EQ(v.message.find("abc12"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("Incorrect API key provided: [redacted]. You can"), std::string::npos)
      << v.message;
}

TEST(OpenAITest, ServerErrorsAreTransientUnlessOverloaded) {
  EXPECT_EQ(classify(500, {}, error_body("", "server_error", "oops")).kind, VerdictKind::transient);
  EXPECT_EQ(classify(503, {}, error_body("engine_overloaded", "", "busy")).kind,
            VerdictKind::overloaded);
  EXPECT_EQ(classify(503, {}, "Service Unavailable").kind, VerdictKind::transient);
}

Headers stream_headers() { return {{"content-type", "text/event-stream"}}; }

TEST(OpenAITest, ChatCompletionStreamErrorIsClassifiedFromItsErrorData) {
  const std::string stream =
      "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
      "data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\","
      "\"param\":null,\"code\":null}}\n\n";
  const Verdict v = classify(200, stream_headers(), stream);
  EXPECT_EQ(v.kind, VerdictKind::transient);
  EXPECT_EQ(v.provider_code, "server_error");
  EXPECT_EQ(v.status, 200);
}

TEST(OpenAITest, ChatCompletionStreamErrorInTheMiddleOfLongStreamIsFound) {
  const Verdict v = classify(
      200, stream_headers(),
      testing::openai_chat_stream(14 << 10, testing::kErrorProse, testing::kOpenAIErrorData));
  EXPECT_EQ(v.kind, VerdictKind::transient);
  EXPECT_EQ(v.provider_code, "server_error");
  EXPECT_EQ(v.status, 200);
  EXPECT_EQ(
      classify(200, stream_headers(), testing::openai_chat_stream(14 << 10, testing::kErrorProse))
          .kind,
      VerdictKind::ok);
}

TEST(OpenAITest, ResponsesApiErrorAndFailedEventsAreClassified) {
  const Verdict error = classify(
      200, stream_headers(),
      "event: error\ndata: {\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":"
      "\"slow down\",\"param\":null,\"sequence_number\":3}\n\n");
  EXPECT_EQ(error.kind, VerdictKind::rate_limited);
  EXPECT_EQ(error.provider_code, "rate_limit_exceeded");
  const Verdict failed = classify(
      200, stream_headers(),
      "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"status\":"
      "\"failed\",\"error\":{\"code\":\"insufficient_quota\",\"message\":\"quota\"}}}\n\n");
  EXPECT_EQ(failed.kind, VerdictKind::quota_exhausted);
}

TEST(OpenAITest, TokenEndpointRefreshTokenCodesNeedALogin) {
  for (const char* code :
       {"refresh_token_reused", "refresh_token_expired", "refresh_token_invalidated"}) {
    const Verdict v = classify(
        401, {}, R"({"error":{"code":")" + std::string{code} + R"(","message":"sign in again"}})",
        Endpoint::token);
    EXPECT_EQ(v.kind, VerdictKind::unauthenticated) << code;
    EXPECT_EQ(v.scope, Scope::credential);
  }
  EXPECT_EQ(classify(400, {}, R"({"error":"invalid_grant"})", Endpoint::token).kind,
            VerdictKind::unauthenticated);
  const Verdict client = classify(401, {}, R"({"error":"invalid_client"})", Endpoint::token);
  EXPECT_EQ(client.kind, VerdictKind::misconfigured);
  EXPECT_FALSE(client.fix.empty());
}

TEST(OpenAITest, BearerChallengeDecidesABodylessResponse) {
  const Verdict v = classify(401,
                             {{"www-authenticate", "Basic realm=\"a\""},
                              {"www-authenticate", "Bearer error=\"invalid_token\""}},
                             "");
  EXPECT_EQ(v.kind, VerdictKind::unauthenticated);
  EXPECT_EQ(v.provider_code, "invalid_token");
}

TEST(OpenAITest, AnyHeadersAndBodiesClassifyWithoutThrowingAndWithCappedWaits) {
  std::mt19937_64 random{4096};
  std::uniform_int_distribution<int> byte{0, 255};
  const char* names[] = {"x-ratelimit-reset-tokens", "x-ratelimit-remaining-tokens",
                         "x-ratelimit-reset-requests", "retry-after-ms", "content-type"};
  const std::string alphabet = "data:event error{}\"\n0123456789.hmsu-";
  for (int i = 0; i < 2000; ++i) {
    Response response{(i % 3 == 0) ? 200 : 429, {{"content-type", "text/event-stream"}}, {}};
    for (int j = 0; j < byte(random) % 96; ++j) {
      response.body.push_back(alphabet[static_cast<std::size_t>(byte(random)) % alphabet.size()]);
    }
    std::string value;
    for (int j = 0; j < byte(random) % 16; ++j) {
      value.push_back(alphabet[static_cast<std::size_t>(byte(random)) % alphabet.size()]);
    }
    response.headers.add(names[static_cast<std::size_t>(i) % 5], value);
    Verdict v;
    ASSERT_NO_THROW(v = OpenAI{}.classify(response, {.now = kNow}));
    if (v.retry_after) {
      EXPECT_GE(v.retry_after->count(), 0);
      EXPECT_LE(*v.retry_after, 1h);
    }
    EXPECT_EQ(v.scope, default_scope(v.kind));
  }
}

}  // namespace
}  // namespace keyward::classify
