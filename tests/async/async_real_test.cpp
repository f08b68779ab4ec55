// AsyncCredential over transport::AsyncCurl against real servers on 127.0.0.1
// (support/http_servers.hpp), provider::Anthropic, real time: a stream reaches the sink in pieces
// as the server sends them; a 401 before the body is refreshed and replayed before the sink sees
// a byte; a redirect to the same origin carries the credential and one to another origin never
// does; a 429 cools the credential for the server's wait; a 503 with Retry-After is retried on an
// asio timer while the loop keeps running; cancelling through an asio cancellation slot ends the
// send with Errc::cancelled and the next send works. Timeouts are a few hundred milliseconds; the
// server's waits are its smallest, 1 s.
#if defined(KEYWARD_TEST_HTTPLIB) && defined(KEYWARD_TEST_ASYNC_CURL)

#include <gtest/gtest.h>

#include <algorithm>
#include <asio/awaitable.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/async.hpp"
#include "keyward/provider/anthropic.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/transport/async_curl.hpp"
#include "support/http_servers.hpp"
#include "support/server_loop.hpp"
#include "support/transports.hpp"

namespace keyward::testing {
namespace {

using namespace std::chrono_literals;
using transport::AsyncCurl;
using Clock = std::chrono::steady_clock;
using Api = ResilientCredential<AsyncCurl, provider::Anthropic>;
using AsyncApi = AsyncCredential<AsyncCurl, provider::Anthropic>;

// A timer on the loop re-armed every 1 ms: the largest gap between its ticks shows whether the
// loop was ever held.
class Ticker {
 public:
  explicit Ticker(asio::io_context& io) : timer_(io) {}
  void start() {
    last_ = Clock::now();
    arm();
  }
  void stop() {
    stopped_ = true;
    timer_.cancel();
  }
  Clock::duration largest_gap{};
  int ticks = 0;

 private:
  void arm() {
    timer_.expires_after(1ms);
    timer_.async_wait([this](const std::error_code& error) {
      if (error || stopped_) return;
      const auto now = Clock::now();
      largest_gap = std::max(largest_gap, now - last_);
      last_ = now;
      ++ticks;
      arm();
    });
  }
  asio::steady_timer timer_;
  Clock::time_point last_{};
  bool stopped_ = false;
};

class AsyncRealTest : public ServerLoopTest {
 protected:
  // Declared before the credential: outlives the transport's connections.
  ProviderServer elsewhere;  // another origin, for redirects
  std::unique_ptr<Api> credential;
  std::unique_ptr<AsyncApi> api;

  void SetUp() override { use(oauth(SystemClock{}.now() + 1h)); }

  Credential oauth(TimePoint expires_at) {
    auto [access, refresh] = server.login();
    return Credential::oauth(access, refresh, expires_at);
  }

  void use(Credential given) {
    api.reset();
    credential = std::make_unique<Api>(
        AsyncCurl{io.get_executor(), test_http_options()}, std::move(given),
        CredentialOptions{.profile = "async"},
        Components<provider::Anthropic>{
            .refresh = provider::Anthropic::oauth_refresh("test-client", server.token_url())});
    api = std::make_unique<AsyncApi>(*credential);
  }

  Request message(bool stream = false) const {
    Request request{.method = "POST", .url = server.api_url()};
    request.headers.set("content-type", "application/json");
    request.body =
        stream ? R"({"model":"claude-test","stream":true})" : R"({"model":"claude-test"})";
    return request;
  }

  // Completes `start(handler)` on the loop and returns what the handler got.
  template <class Start>
  Result<Response> complete(Start&& start) {
    std::optional<Result<Response>> got;
    std::forward<Start>(start)([&got](std::exception_ptr thrown, Result<Response> answer) {
      EXPECT_FALSE(thrown);
      got.emplace(std::move(answer));
    });
    run_until([&] { return got.has_value(); });
    EXPECT_TRUE(got.has_value());
    return got ? std::move(*got) : Result<Response>{detail::NoResponseYet{}};
  }

  Result<Response> send(Request request) {
    return complete([&](auto handler) { api->async_send(std::move(request), std::move(handler)); });
  }

  int api_requests() const {
    const auto received = server.received();
    return static_cast<int>(std::count_if(received.begin(), received.end(),
                                          [](const Received& r) { return r.route == Route::api; }));
  }
};

TEST_F(AsyncRealTest, MadeWithoutAnExecutorItCompletesOnTheTransportsExecutor) {
  EXPECT_TRUE(api->get_executor() == asio::any_io_executor{io.get_executor()});
  EXPECT_TRUE(credential->transport().get_executor() == asio::any_io_executor{io.get_executor()});
}

// One piece of a stream, and when it came.
struct Piece {
  std::string bytes;
  Clock::time_point at;
};

TEST_F(AsyncRealTest, AStreamReachesTheSinkInPiecesAsTheServerSendsThem) {
  server.fault(Route::api, {.kind = Fault::Kind::stream_paced, .interval = 40ms});
  std::vector<Piece> pieces;
  auto sink = [&pieces](std::string_view bytes) {
    pieces.push_back({std::string{bytes}, Clock::now()});
    return true;
  };
  const auto answer = complete(
      [&](auto handler) { api->async_send_stream(message(true), sink, std::move(handler)); });
  const auto ended = Clock::now();
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  EXPECT_TRUE(answer->body.empty());  // it flowed to the sink
  // Four events 40 ms apart: at least four pieces, the first one in the caller's hands well
  // before the last event was sent.
  ASSERT_GE(pieces.size(), 4U);
  EXPECT_LT(pieces.front().at, ended - 100ms);
  std::string streamed;
  for (const auto& piece : pieces) streamed += piece.bytes;
  EXPECT_EQ(streamed.find("event: message_start"), 0U);
  EXPECT_NE(streamed.find("event: message_stop"), std::string::npos);
  const auto received = server.received();
  ASSERT_EQ(received.size(), 1U);
  EXPECT_EQ(received[0].headers.count("authorization"), 1U);
}

TEST_F(AsyncRealTest, A401BeforeTheBodyIsRefreshedAndReplayedBeforeTheSinkSeesAByte) {
  server.expire_access_tokens();
  std::string streamed;
  int refreshes_at_first_byte = -1;
  auto sink = [&](std::string_view bytes) {
    if (streamed.empty()) refreshes_at_first_byte = server.refreshes();
    streamed.append(bytes);
    return true;
  };
  const auto answer = complete(
      [&](auto handler) { api->async_send_stream(message(true), sink, std::move(handler)); });
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(refreshes_at_first_byte, 1);  // the sink's first byte came after the refresh
  EXPECT_EQ(streamed.find("authentication_error"), std::string::npos);
  EXPECT_EQ(streamed.find("event: message_start"), 0U);
  EXPECT_NE(streamed.find("event: message_stop"), std::string::npos);
  EXPECT_EQ(server.refreshes(), 1);
  EXPECT_EQ(api_requests(), 2);  // rejected, then replayed
  EXPECT_EQ(credential->status().generation, 2U);
}

TEST_F(AsyncRealTest, ARedirectToTheSameOriginIsFollowedWithTheCredential) {
  server.fault(Route::api, {.kind = Fault::Kind::redirect,
                            .status = 307,
                            .location = server.origin() + "/v1/messages?moved=1"});
  const auto answer = send(message());
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->status, 200);  // the API checked the token on the second request
  const auto received = server.received();
  ASSERT_EQ(received.size(), 2U);
  EXPECT_EQ(received[1].path, "/v1/messages");
  EXPECT_EQ(received[1].headers.count("authorization"), 1U);
  EXPECT_TRUE(elsewhere.received().empty());
}

TEST_F(AsyncRealTest, ARedirectToAnotherOriginNeverCarriesTheAuthorizationHeader) {
  elsewhere.fault(Route::api, {.status = 200, .body = R"({"from":"elsewhere"})"});
  server.fault(Route::api,
               {.kind = Fault::Kind::redirect, .status = 307, .location = elsewhere.api_url()});
  Request request = message();
  request.body_to_other_origin = true;  // what is checked here is the credential's fields
  const auto answer = send(std::move(request));
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->body, R"({"from":"elsewhere"})");
  const auto home = server.received();
  const auto away = elsewhere.received();
  ASSERT_EQ(home.size(), 1U);
  ASSERT_EQ(away.size(), 1U);
  for (const std::string name : {"authorization", "anthropic-beta"}) {
    EXPECT_EQ(home[0].headers.count(name), 1U) << name;
    EXPECT_EQ(away[0].headers.count(name), 0U) << name << " reached another origin";
  }
  EXPECT_EQ(away[0].body, R"({"model":"claude-test"})");  // a 307 keeps the method and body
}

TEST_F(AsyncRealTest, A429CoolsTheCredentialForTheServersWaitThenItServesAgain) {
  server.fault(
      Route::api,
      {.status = 429,
       .headers = {{"retry-after", "1"}},
       .body = R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})"});
  const auto limited = send(message());
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().code, make_error_code(Errc::cooling_down));
  EXPECT_EQ(credential->status().state, CredentialState::cooling);
  const auto refused = send(message());  // inside the window: refused without a request
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(Errc::cooling_down));
  EXPECT_EQ(api_requests(), 1);
  // The server's 1 s, waited on the loop.
  asio::steady_timer window{io, 1100ms};
  bool over = false;
  window.async_wait([&over](const std::error_code&) { over = true; });
  run_until([&] { return over; });
  const auto recovered = send(message());
  ASSERT_TRUE(recovered) << recovered.error().message;
  EXPECT_EQ(recovered->status, 200);
  EXPECT_EQ(credential->status().state, CredentialState::ready);
}

TEST_F(AsyncRealTest, A503WithRetryAfterIsRetriedOnATimerWhileTheLoopRuns) {
  server.fault(Route::api, {.status = 503,
                            .headers = {{"retry-after", "1"}},
                            .body = R"({"type":"error","error":{"type":"api_error",)"
                                    R"("message":"try again"}})"});
  Ticker ticker{io};
  ticker.start();
  const auto start = Clock::now();
  const auto answer = send(message());
  const auto took = Clock::now() - start;
  ticker.stop();
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(api_requests(), 2);
  EXPECT_EQ(credential->status().state, CredentialState::ready);
  // The server's 1 s was waited on a timer: the loop ticked about once a millisecond meanwhile
  // (20 ms leaves room for a machine shared with a parallel ctest).
  EXPECT_GE(took, 950ms);
  EXPECT_LT(took, 2500ms);
  EXPECT_GE(ticker.ticks, 400);
  EXPECT_LT(ticker.largest_gap, 20ms);
}

TEST_F(AsyncRealTest, CancellingASendEndsItCancelledAndTheNextSendWorks) {
  server.fault(Route::api, {.kind = Fault::Kind::hang});
  asio::cancellation_signal signal;
  std::optional<Result<Response>> got;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        got.emplace(co_await api->async_send(
            message(), asio::bind_cancellation_slot(signal.slot(), asio::use_awaitable)));
      },
      asio::detached);
  run_until([&] { return api_requests() == 1; });  // the server holds the request
  ASSERT_EQ(api_requests(), 1);
  ASSERT_FALSE(got.has_value());
  const auto start = Clock::now();
  signal.emit(asio::cancellation_type::terminal);
  run_until([&] { return got.has_value(); });
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().code, make_error_code(Errc::cancelled)) << got->error().message;
  EXPECT_LT(Clock::now() - start, 300ms);
  EXPECT_EQ(credential->status().state, CredentialState::ready);  // nothing recorded against it

  const auto next = send(message());
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(api_requests(), 2);
}

}  // namespace
}  // namespace keyward::testing

#endif
