// Streaming over real sockets with both transports (ResilientCredential::send_stream): every
// decision is made on the status line before the caller sees a byte, the body then flows as it
// arrives, and an error inside the stream is recorded without a replay.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "keyward/detail/stream_attempt.hpp"

namespace keyward::detail {
namespace {

TEST(StreamAttemptTest, FindsTheFirstErrorEventAcrossPieces) {
  std::string seen;
  auto sink = [&](std::string_view bytes) {
    seen.append(bytes);
    return true;
  };
  StreamAttempt stream{sink};
  Response head{.status = 200};
  EXPECT_TRUE(stream.on_head(head));
  EXPECT_FALSE(stream.delivered());
  EXPECT_TRUE(stream.on_body("event: message_start\ndata: {}\n\nevent: err"));
  EXPECT_FALSE(stream.error_event());
  EXPECT_TRUE(stream.on_body("or\r\ndata: {\"type\":\"error\"}\r\n\r\n"));
  ASSERT_TRUE(stream.error_event());
  EXPECT_EQ(stream.error_event()->body, "event: error\r\ndata: {\"type\":\"error\"}\r\n\r\n");
  EXPECT_EQ(stream.error_event()->headers.get("content-type"), "text/event-stream");
  EXPECT_TRUE(stream.delivered());
  EXPECT_EQ(seen,
            "event: message_start\ndata: {}\n\nevent: error\r\ndata: {\"type\":\"error\"}\r\n\r\n");
}

TEST(StreamAttemptTest, CollectsAnythingButASuccess) {
  auto sink = [](std::string_view) { return true; };
  StreamAttempt stream{sink};
  for (const int status : {301, 401, 429, 500, 529}) {
    EXPECT_FALSE(stream.on_head(Response{.status = status})) << status;
  }
}

TEST(StreamAttemptTest, TakesAConstSinkAndAMutableOne) {
  std::string received;
  const auto const_sink = [&received](std::string_view bytes) {
    received.append(bytes);
    return true;
  };
  StreamAttempt first{const_sink};
  ASSERT_TRUE(first.on_head(Response{.status = 200}));
  EXPECT_TRUE(first.on_body("data: a\n\n"));
  int calls = 0;
  auto mutable_sink = [calls](std::string_view) mutable { return ++calls < 2; };
  StreamAttempt second{mutable_sink};
  ASSERT_TRUE(second.on_head(Response{.status = 200}));
  EXPECT_TRUE(second.on_body("data: a\n\n"));
  EXPECT_FALSE(second.on_body("data: b\n\n"));  // the sink's own state, kept across calls
  EXPECT_EQ(received, "data: a\n\n");
}

TEST(StreamAttemptTest, AnEventNamedOtherwiseIsNotAnError) {
  auto sink = [](std::string_view) { return true; };
  StreamAttempt stream{sink};
  ASSERT_TRUE(stream.on_head(Response{.status = 200}));
  stream.on_body("event: errors\ndata: x\n\ndata: {\"error\": 1}\n\n");
  EXPECT_FALSE(stream.error_event());
}

}  // namespace
}  // namespace keyward::detail

#ifdef KEYWARD_TEST_HTTPLIB

#include "keyward/provider/anthropic.hpp"
#include "keyward/resilient_credential.hpp"
#include "support/fake_clock.hpp"
#include "support/http_servers.hpp"
#include "support/transports.hpp"

namespace keyward::testing {
namespace {

using namespace std::chrono_literals;

struct StreamPolicies : provider::Anthropic {
  using Clock = FakeClock;
  using Sleeper = RecordingSleeper;
};

template <class T>
class StreamingTest : public ::testing::Test {
 protected:
  using Api = ResilientCredential<T, StreamPolicies>;

  ProviderServer server;
  FakeClock clock;
  RecordingSleeper sleeper{clock};
  std::vector<std::string> pieces;  // what the caller's sink received

  Api oauth_api() {
    auto [access, refresh] = server.login();
    return Api{make_transport<T>(),
               Credential::oauth(access, refresh, clock.now() + 1h),
               {.profile = "test"},
               {.refresh = provider::Anthropic::oauth_refresh("test-client", server.token_url()),
                .clock = clock,
                .sleeper = sleeper}};
  }

  Result<Response> stream(Api& api) {
    Request request{.method = "POST", .url = server.api_url()};
    request.headers.set("content-type", "application/json");
    request.body = R"({"model":"claude-test","stream":true})";
    return api.send_stream(request, [this](std::string_view bytes) {
      pieces.emplace_back(bytes);
      return true;
    });
  }

  [[nodiscard]] std::string streamed() const {
    std::string all;
    for (const auto& piece : pieces) all += piece;
    return all;
  }

  int api_requests() const {
    int n = 0;
    for (const auto& r : server.received()) n += r.route == Route::api ? 1 : 0;
    return n;
  }
};

TYPED_TEST_SUITE(StreamingTest, TransportTypes, TransportNames);

TYPED_TEST(StreamingTest, TheBodyFlowsToTheSink) {
  auto api = this->oauth_api();
  auto response = this->stream(api);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->body.empty());
  EXPECT_EQ(response->headers.get("content-type"), "text/event-stream");
  EXPECT_NE(this->streamed().find("event: message_stop"), std::string::npos);
}

TYPED_TEST(StreamingTest, ACallerThatStopsTheStreamGetsTheResponseAndBlamesNobody) {
  auto api = this->oauth_api();
  Request request{.method = "POST", .url = this->server.api_url()};
  request.body = R"({"model":"claude-test","stream":true})";
  int received = 0;
  auto response = api.send_stream(request, [&](std::string_view) { return ++received < 1; });
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(received, 1);
  EXPECT_EQ(this->api_requests(), 1);
  EXPECT_EQ(api.status().state, CredentialState::ready);
  EXPECT_EQ(api.status().consecutive_failures, 0U);
}

TYPED_TEST(StreamingTest, A401IsRefreshedAndReplayedBeforeTheFirstByte) {
  auto api = this->oauth_api();
  this->server.expire_access_tokens();
  auto response = this->stream(api);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(this->server.refreshes(), 1);
  EXPECT_EQ(this->api_requests(), 2);
  EXPECT_EQ(this->streamed().find("authentication_error"), std::string::npos);
  EXPECT_EQ(this->streamed().find("event: message_start"), 0U);
}

TYPED_TEST(StreamingTest, A429IsDecidedBeforeAnyByte) {
  auto api = this->oauth_api();
  this->server.fault(
      Route::api,
      {.status = 429,
       .headers = {{"retry-after", "30"}},
       .body = R"({"type":"error","error":{"type":"rate_limit_error","message":"slow"}})"});
  auto response = this->stream(api);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, make_error_code(Errc::cooling_down));
  EXPECT_TRUE(this->pieces.empty());
  EXPECT_EQ(api.status().state, CredentialState::cooling);
}

TYPED_TEST(StreamingTest, A529IsRetriedBeforeAnyByte) {
  auto api = this->oauth_api();
  this->server.fault(
      Route::api,
      {.status = 529,
       .body = R"({"type":"error","error":{"type":"overloaded_error","message":"x"}})"});
  auto response = this->stream(api);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(this->api_requests(), 2);
  EXPECT_EQ(this->streamed().find("overloaded_error"), std::string::npos);
  EXPECT_EQ(this->sleeper.waits().size(), 1U);
}

TYPED_TEST(StreamingTest, AMidStreamRateLimitCoolsTheCredentialWithoutAReplay) {
  auto api = this->oauth_api();
  this->server.fault(Route::api, {.kind = Fault::Kind::stream_error, .body = "rate_limit_error"});
  auto response = this->stream(api);
  ASSERT_TRUE(response) << response.error().message;  // the caller has the stream, error and all
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(this->api_requests(), 1);
  EXPECT_NE(this->streamed().find("event: error"), std::string::npos);
  EXPECT_EQ(api.status().state, CredentialState::cooling);
}

TYPED_TEST(StreamingTest, AMidStreamOverloadCoolsNothingAndIsNotReplayed) {
  auto api = this->oauth_api();
  this->server.fault(Route::api, {.kind = Fault::Kind::stream_error, .body = "overloaded_error"});
  auto response = this->stream(api);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(this->api_requests(), 1);
  EXPECT_TRUE(this->sleeper.waits().empty());
  EXPECT_EQ(api.status().state, CredentialState::ready);
}

TYPED_TEST(StreamingTest, AStreamCutMidEventFailsWithoutAReplay) {
  auto api = this->oauth_api();
  this->server.fault(Route::api, {.kind = Fault::Kind::stream_cut});
  auto response = this->stream(api);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, make_error_code(Errc::transport_failed));
  EXPECT_EQ(this->api_requests(), 1);
  EXPECT_EQ(this->streamed().find("event: message_start"), 0U);
  EXPECT_EQ(api.status().state, CredentialState::ready);
}

}  // namespace
}  // namespace keyward::testing

#endif  // KEYWARD_TEST_HTTPLIB
