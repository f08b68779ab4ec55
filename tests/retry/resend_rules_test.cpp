// retry.hpp: which failed requests may be sent again without doing their work twice.
#include <gtest/gtest.h>

#include <string>

#include "keyward/classify/http_status.hpp"
#include "keyward/retry.hpp"
#include "support/fake_transport.hpp"

namespace keyward {
namespace {

using testing::response;

Request request(std::string method, Headers headers = {}) {
  return Request{std::move(method), "https://api.example.test/v1/messages", std::move(headers),
                 "{}"};
}

Verdict classify(const TransportResult& sent) {
  const classify::HttpStatus classifier;
  return sent ? classifier.classify(*sent, {}) : classifier.classify(sent.error());
}

bool may_resend(const Request& r, const TransportResult& sent) {
  return keyward::may_resend(r, sent, classify(sent));
}

TransportResult failure(TransportErrc kind) { return unexpected(TransportFailure{kind, "failed"}); }

TEST(ResendRulesTest, IdempotentMethodsAreThoseOfRfc9110) {
  for (const char* method : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
    EXPECT_TRUE(is_idempotent_method(method)) << method;
  }
  for (const char* method : {"POST", "PATCH", "CONNECT", "get", "PROPFIND", ""}) {
    EXPECT_FALSE(is_idempotent_method(method)) << method;
  }
}

TEST(ResendRulesTest, IdempotentRequestsMayBeResentAfterAnyFailure) {
  for (const auto& sent : {failure(TransportErrc::timeout), failure(TransportErrc::protocol),
                           TransportResult{response(500)}, TransportResult{response(502)}}) {
    EXPECT_TRUE(may_resend(request("GET"), sent));
    EXPECT_TRUE(may_resend(request("PUT"), sent));
    EXPECT_FALSE(may_resend(request("POST"), sent));
    EXPECT_FALSE(may_resend(request("PATCH"), sent));
  }
}

TEST(ResendRulesTest, AnIdempotencyKeyMakesAnyMethodSafe) {
  const auto sent = failure(TransportErrc::protocol);  // reset mid-request
  EXPECT_TRUE(may_resend(request("POST", {{"Idempotency-Key", "order-42"}}), sent));
  EXPECT_TRUE(may_resend(request("PATCH", {{"idempotency-key", "order-42"}}), sent));
  EXPECT_FALSE(may_resend(request("POST", {{"Idempotency-Key", " "}}), sent));  // empty key
}

TEST(ResendRulesTest, ANonIdempotentRequestIsResentOnlyWhenItCannotHaveBeenProcessed) {
  // Failures before a byte of the request was written.
  EXPECT_TRUE(may_resend(request("POST"), failure(TransportErrc::connect)));
  EXPECT_TRUE(may_resend(request("POST"), failure(TransportErrc::tls)));
  // Failures that may have come after the server read it.
  EXPECT_FALSE(may_resend(request("POST"), failure(TransportErrc::timeout)));
  EXPECT_FALSE(may_resend(request("POST"), failure(TransportErrc::protocol)));
  EXPECT_FALSE(may_resend(request("POST"), failure(TransportErrc::other)));
}

TEST(ResendRulesTest, RefusalsThatSayNothingWasProcessed) {
  EXPECT_TRUE(may_resend(request("POST"), response(529)));
  EXPECT_TRUE(may_resend(request("POST"), response(429)));
  EXPECT_TRUE(may_resend(request("POST"), response(503, "", {{"retry-after", "3"}})));
  EXPECT_TRUE(
      may_resend(request("POST"),
                 response(503, R"({"error":{"type":"overloaded_error","message":"Overloaded"}})")));
  EXPECT_FALSE(may_resend(request("POST"), response(503)));  // a bare 503 may be a proxy's
  EXPECT_FALSE(may_resend(request("POST"), response(500)));
  EXPECT_FALSE(may_resend(request("POST"), response(504)));
}

TEST(ResendRulesTest, XShouldRetryTrueIsTheServersWordThatResendingIsSafe) {
  EXPECT_TRUE(may_resend(request("POST"), response(500, "", {{"x-should-retry", "true"}})));
  EXPECT_TRUE(may_resend(request("POST"), response(502, "", {{"X-Should-Retry", " TRUE "}})));
  EXPECT_FALSE(may_resend(request("POST"), response(500, "", {{"x-should-retry", "yes"}})));
}

TEST(ResendRulesTest, ServerShouldRetryReadsTrueFalseOrNothing) {
  EXPECT_EQ(server_should_retry({{"x-should-retry", "true"}}), true);
  EXPECT_EQ(server_should_retry({{"x-should-retry", "False"}}), false);
  EXPECT_EQ(server_should_retry({{"x-should-retry", "1"}}), std::nullopt);
  EXPECT_EQ(server_should_retry({}), std::nullopt);
}

}  // namespace
}  // namespace keyward
