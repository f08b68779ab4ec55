// classify::HttpStatus: every generic and token-endpoint fixture, then the cases the fixtures do
// not cover.
#include "keyward/classify/http_status.hpp"

#include <gtest/gtest.h>

#include <string>

#include "support/fake_clock.hpp"
#include "support/fixtures.hpp"

namespace keyward::classify {
namespace {

using namespace std::chrono_literals;
using testing::Fixture;

class HttpStatusFixtureTest : public ::testing::TestWithParam<Fixture> {};

TEST_P(HttpStatusFixtureTest, GetsTheExpectedVerdict) {
  const Fixture& f = GetParam();
  const Verdict v = HttpStatus{}.classify(f.response, testing::context_of(f));
  EXPECT_EQ(to_string(v.kind), f.kind);
  EXPECT_EQ(to_string(v.scope), f.scope);
  EXPECT_EQ(v.retryable, f.retryable);
  if (f.retry_after_ms) {
    ASSERT_TRUE(v.retry_after.has_value());
    EXPECT_EQ(v.retry_after->count(), *f.retry_after_ms);
  } else {
    EXPECT_FALSE(v.retry_after.has_value()) << v.retry_after->count();
  }
  if (f.provider_code) {
    EXPECT_EQ(v.provider_code, *f.provider_code);
  }
}

std::vector<Fixture> generic_and_token_fixtures() {
  return testing::load_fixtures({"generic", "token"});
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HttpStatusFixtureTest,
                         ::testing::ValuesIn(generic_and_token_fixtures()),
                         [](const ::testing::TestParamInfo<Fixture>& param_info) {
                           const std::string& file = param_info.param.name;
                           std::string name;
                           for (const char c : file.substr(0, file.size() - 5)) {
                             name += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '_';
                           }
                           return name;
                         });

TEST(HttpStatusFixtureSetTest, HasEveryGenericAndTokenFixture) {
  EXPECT_EQ(generic_and_token_fixtures().size(), 10U);
}

Verdict classify(int status, Headers headers = {}, std::string body = {},
                 Endpoint endpoint = Endpoint::api) {
  return HttpStatus{}.classify(Response{status, std::move(headers), std::move(body)},
                               {.endpoint = endpoint, .now = TimePoint{testing::kFixtureNow}});
}

TEST(HttpStatusTest, MapsStatusCodesToVerdicts) {
  EXPECT_EQ(classify(200).kind, VerdictKind::ok);
  EXPECT_EQ(classify(204).kind, VerdictKind::ok);
  EXPECT_EQ(classify(401).kind, VerdictKind::unauthenticated);
  EXPECT_EQ(classify(403).kind, VerdictKind::forbidden);
  EXPECT_EQ(classify(429).kind, VerdictKind::rate_limited);
  EXPECT_EQ(classify(529).kind, VerdictKind::overloaded);
  for (const int s : {408, 409, 500, 502, 503, 504})
    EXPECT_EQ(classify(s).kind, VerdictKind::transient) << s;
  for (const int s : {400, 404, 413, 422})
    EXPECT_EQ(classify(s).kind, VerdictKind::request_error) << s;
}

TEST(HttpStatusTest, ScopesFollowTheVerdictKind) {
  EXPECT_EQ(classify(401).scope, Scope::credential);
  EXPECT_EQ(classify(429).scope, Scope::credential);
  EXPECT_EQ(classify(529).scope, Scope::provider);
  EXPECT_EQ(classify(500).scope, Scope::provider);
  EXPECT_EQ(classify(403).scope, Scope::request);
  EXPECT_EQ(classify(400).scope, Scope::request);
}

TEST(HttpStatusTest, RetryAfterMsWinsOverRetryAfter) {
  const Verdict v = classify(429, {{"retry-after", "20"}, {"retry-after-ms", "1500"}});
  ASSERT_TRUE(v.retry_after);
  EXPECT_EQ(*v.retry_after, 1500ms);
}

TEST(HttpStatusTest, ReadsRetryAfterInEveryHttpDateForm) {
  for (const char* date : {"Wed, 04 Feb 2026 12:00:30 GMT", "Wednesday, 04-Feb-26 12:00:30 GMT",
                           "Wed Feb  4 12:00:30 2026"}) {
    const Verdict v = classify(429, {{"retry-after", date}});
    ASSERT_TRUE(v.retry_after) << date;
    EXPECT_EQ(*v.retry_after, 30s) << date;
  }
}

TEST(HttpStatusTest, CapsWaitsAtOneHourAndIgnoresGarbage) {
  EXPECT_EQ(*classify(429, {{"retry-after", "86400"}}).retry_after, 1h);
  EXPECT_FALSE(classify(429, {{"retry-after", "soon"}}).retry_after);
  EXPECT_FALSE(classify(429, {{"retry-after", "-5"}}).retry_after);
  EXPECT_FALSE(classify(429, {{"retry-after-ms", "-5"}}).retry_after);
  const HttpStatus short_cap{{.max_wait = 10s}};
  EXPECT_EQ(*short_cap.classify(Response{429, {{"retry-after", "60"}}, {}}, {}).retry_after, 10s);
}

TEST(HttpStatusTest, ShouldRetryHeaderOverridesRetryability) {
  EXPECT_FALSE(classify(529, {{"x-should-retry", "false"}}).retryable);
  EXPECT_TRUE(classify(400, {{"x-should-retry", "true"}}).retryable);
  EXPECT_TRUE(classify(503, {{"x-should-retry", "maybe"}}).retryable);
}

TEST(HttpStatusTest, ReadsBearerChallengesAmongSeveral) {
  const Verdict v = classify(
      401,
      {{"www-authenticate",
        R"(Basic realm="x", Bearer realm="api", error="invalid_token", error_description="expired")"}});
  EXPECT_EQ(v.kind, VerdictKind::unauthenticated);
  EXPECT_EQ(v.provider_code, "invalid_token");
  EXPECT_EQ(v.message, "expired");
  EXPECT_EQ(classify(401, {{"www-authenticate", R"(Bearer error="insufficient_scope")"}}).kind,
            VerdictKind::forbidden);
}

TEST(HttpStatusTest, ReadsProviderCodeMessageAndRequestId) {
  const Verdict v =
      classify(529, {{"request-id", "req_9"}},
               R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  EXPECT_EQ(v.kind, VerdictKind::overloaded);
  EXPECT_EQ(v.provider_code, "overloaded_error");
  EXPECT_EQ(v.message, "Overloaded");
  EXPECT_EQ(v.request_id, "req_9");
  EXPECT_EQ(classify(503, {}, R"({"error":{"type":"overloaded_error"}})").kind,
            VerdictKind::overloaded);
}

TEST(HttpStatusTest, ReadsApiErrorBodiesLenientlyAndTokenBodiesStrictly) {
  const std::string body =
      R"({"error":{"type":"rate_limit_error","message":"slow \ud83d down"},"request_id":"r1"})";
  const Verdict api = classify(429, {}, body);
  EXPECT_EQ(api.provider_code, "rate_limit_error");
  EXPECT_EQ(api.message, "slow \xEF\xBF\xBD down");
  EXPECT_EQ(api.request_id, "r1");
  const Verdict token = classify(429, {}, body, Endpoint::token);
  EXPECT_EQ(token.provider_code, "");
  EXPECT_EQ(token.message, "");
}

TEST(HttpStatusTest, TokenEndpointErrorsFollowRfc6749) {
  const auto token = [](int status, std::string body) {
    return classify(status, {}, std::move(body), Endpoint::token);
  };
  EXPECT_EQ(token(400, R"({"error":"invalid_grant"})").kind, VerdictKind::unauthenticated);
  EXPECT_EQ(token(400, R"({"error":"unauthorized_client"})").kind, VerdictKind::misconfigured);
  EXPECT_EQ(token(400, R"({"error":"invalid_request"})").kind, VerdictKind::misconfigured);
  EXPECT_EQ(token(400, "").kind, VerdictKind::misconfigured);
  EXPECT_EQ(token(429, "").kind, VerdictKind::transient);
  EXPECT_EQ(token(503, R"({"error":"temporarily_unavailable"})").kind, VerdictKind::transient);
  EXPECT_EQ(token(200, R"({"access_token":""})").kind, VerdictKind::transient);
  EXPECT_EQ(token(200, R"({"token_type":"Bearer"})").kind, VerdictKind::transient);
  EXPECT_EQ(token(200, R"({"access_token":"at"})").kind, VerdictKind::ok);
}

TEST(HttpStatusTest, TransportFailuresAreTransientAndRetryable) {
  const Verdict v = HttpStatus{}.classify(TransportFailure{TransportErrc::timeout, "timed out"});
  EXPECT_EQ(v.kind, VerdictKind::transient);
  EXPECT_EQ(v.scope, Scope::provider);
  EXPECT_TRUE(v.retryable);
  EXPECT_EQ(v.provider_code, "timeout");
}

TEST(HttpStatusTest, NeverThrowsAndCutsLongMessages) {
  const std::string huge(10000, 'x');
  const Verdict v = classify(500, {}, R"({"error":{"message":")" + huge + R"("}})");
  EXPECT_EQ(v.message.size(), kMaxMessageSize);
  EXPECT_NO_THROW(classify(500, {{"retry-after", std::string(5000, '9')}}, std::string(100, '{')));
}

}  // namespace
}  // namespace keyward::classify
