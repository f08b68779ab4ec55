// The contract every classifier must meet, run over every shipped classifier: a new classifier
// added to ClassifierTypes gets these tests for free.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "classify/realistic_bodies.hpp"
#include "keyward/classifier.hpp"
#include "keyward/classify/anthropic.hpp"
#include "keyward/classify/google.hpp"
#include "keyward/classify/http_status.hpp"
#include "keyward/classify/openai.hpp"
#include "keyward/classify/rfc6750.hpp"
#include "support/fake_clock.hpp"

namespace keyward {
namespace {

template <class C>
class ClassifierContract : public ::testing::Test {
 protected:
  static_assert(Classifier<C>);
  C classifier_{};
  ClassifyContext context_{.endpoint = Endpoint::api, .now = TimePoint{testing::kFixtureNow}};
};

using ClassifierTypes = ::testing::Types<classify::HttpStatus, classify::Anthropic,
                                         classify::OpenAI, classify::Google, classify::Rfc6750>;
TYPED_TEST_SUITE(ClassifierContract, ClassifierTypes);

TYPED_TEST(ClassifierContract, ClassifiesEverySuccessStatusAsOk) {
  for (int status = 200; status < 300; ++status) {
    const Verdict v = this->classifier_.classify(Response{status, {}, "{}"}, this->context_);
    EXPECT_EQ(v.kind, VerdictKind::ok) << status;
    EXPECT_EQ(v.scope, Scope::request) << status;
    EXPECT_FALSE(v.retry_after) << status;
  }
}

// Whatever an API's 2xx body says, it is not read: it may be megabytes long, and the request
// succeeded. Nothing of it reaches the verdict, which builds no string, not even the request id.
TYPED_TEST(ClassifierContract, ClassifiesAnApi2xxAsOkWithoutReadingItsBody) {
  const std::string bodies[] = {
      "not json {{{",
      std::string(3 << 20, '{'),
      R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},)"
      R"("request_id":"req_body"})",
      R"({"error":"invalid_grant","error_description":"expired","message":"m"})",
      testing::anthropic_message(),
      testing::openai_embedding()};
  for (const auto& body : bodies) {
    for (const int status : {200, 201, 299}) {
      const Verdict v = this->classifier_.classify(
          Response{status,
                   {{"content-type", "application/json"},
                    {"request-id", "req_011CSHoEeqs5C35K2UUqR7Fy"},
                    {"x-request-id", "req_4f3d2c1b0a9e8d7c6b5a4f3e2d1c0b9a"}},
                   body},
          this->context_);
      EXPECT_EQ(v.kind, VerdictKind::ok) << body.substr(0, 64);
      EXPECT_EQ(v.provider_code, "") << body.substr(0, 64);
      EXPECT_EQ(v.message, "") << body.substr(0, 64);
      EXPECT_EQ(v.request_id, "") << body.substr(0, 64);
      EXPECT_EQ(v.fix, "") << body.substr(0, 64);
    }
  }
}

TYPED_TEST(ClassifierContract, ClassifiesAHealthyStreamAsOkWithoutStrings) {
  const Headers headers{{"content-type", "text/event-stream; charset=utf-8"},
                        {"request-id", "req_011CSHoEeqs5C35K2UUqR7Fy"}};
  for (const auto& prose : {testing::kProse, testing::kErrorProse}) {
    for (const auto& body : {testing::anthropic_stream(14 << 10, prose),
                             testing::openai_chat_stream(14 << 10, prose)}) {
      const Verdict v = this->classifier_.classify(Response{200, headers, body}, this->context_);
      EXPECT_EQ(v.kind, VerdictKind::ok);
      EXPECT_EQ(v.provider_code, "");
      EXPECT_EQ(v.message, "");
      EXPECT_EQ(v.request_id, "");
      EXPECT_EQ(v.fix, "");
    }
  }
}

TYPED_TEST(ClassifierContract, NeverCallsARejectionARateLimit) {
  const Verdict v = this->classifier_.classify(Response{401, {}, ""}, this->context_);
  EXPECT_EQ(v.kind, VerdictKind::unauthenticated);
  EXPECT_EQ(v.scope, Scope::credential);
}

TYPED_TEST(ClassifierContract, ClassifiesTransportFailuresAsRetryableProviderFailures) {
  for (const auto kind : {TransportErrc::connect, TransportErrc::timeout, TransportErrc::tls,
                          TransportErrc::protocol, TransportErrc::other}) {
    const Verdict v = this->classifier_.classify(TransportFailure{kind, "failed"});
    EXPECT_EQ(v.kind, VerdictKind::transient);
    EXPECT_EQ(v.scope, Scope::provider);
    EXPECT_TRUE(v.retryable);
  }
}

TYPED_TEST(ClassifierContract, ClassifiesAnyBytesWithoutThrowingAndKeepsWaitsCapped) {
  std::mt19937_64 random{20260204};
  std::uniform_int_distribution<int> byte{0, 255};
  std::uniform_int_distribution<int> status{100, 599};
  const char* header_names[] = {"retry-after", "retry-after-ms", "www-authenticate",
                                "x-should-retry", "request-id"};
  for (int i = 0; i < 3000; ++i) {
    Response response{status(random), {}, {}};
    for (int j = 0; j < byte(random) % 64; ++j)
      response.body.push_back(static_cast<char>(byte(random)));
    std::string value;
    for (int j = 0; j < byte(random) % 32; ++j) value.push_back(static_cast<char>(byte(random)));
    response.headers.add(header_names[static_cast<std::size_t>(i) % 5], value);
    for (const auto endpoint : {Endpoint::api, Endpoint::token}) {
      Verdict v;
      ASSERT_NO_THROW(v = this->classifier_.classify(
                          response, {.endpoint = endpoint, .now = this->context_.now}));
      if (v.retry_after) {
        EXPECT_GE(v.retry_after->count(), 0);
        EXPECT_LE(*v.retry_after, std::chrono::hours{1});
      }
      EXPECT_EQ(v.scope, default_scope(v.kind));
    }
  }
}

}  // namespace
}  // namespace keyward
