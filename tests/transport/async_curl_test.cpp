// transport::AsyncCurl against real servers on 127.0.0.1 (support/http_servers.hpp): responses,
// failures and refusals as transport::Curl gives them, completion never inside async_send(), a
// stall bounded by Request::timeout without blocking the event loop, cancellation through an asio
// cancellation slot, streaming, many requests over a few connections, and callers on other
// threads. Timeouts are a few hundred milliseconds.
#if defined(KEYWARD_TEST_HTTPLIB) && defined(KEYWARD_TEST_ASYNC_CURL)

#include "keyward/transport/async_curl.hpp"

#include <gtest/gtest.h>

#include <array>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/http_servers.hpp"
#include "support/server_loop.hpp"
#include "support/transports.hpp"

namespace keyward::testing {
namespace {

using namespace std::chrono_literals;
using transport::AsyncCurl;
using Clock = std::chrono::steady_clock;

class AsyncCurlTest : public ServerLoopTest {
 protected:
  AsyncCurl make(transport::HttpOptions options = test_http_options()) {
    return AsyncCurl{io.get_executor(), std::move(options)};
  }

  Request api_request() const {
    Request request{.method = "GET", .url = server.origin() + "/v1/models"};
    request.headers.set("x-api-key", server.api_key());
    return request;
  }

  Request stream_request() const {
    Request request{.method = "POST", .url = server.api_url()};
    request.headers.set("x-api-key", server.api_key());
    request.headers.set("content-type", "application/json");
    request.body = R"({"model":"claude-test","stream":true})";
    return request;
  }

  // Sends `request` and runs the loop until its handler was called.
  TransportResult send(AsyncCurl& transport, const Request& request) {
    std::optional<TransportResult> out;
    transport.async_send(request,
                         [&out](TransportResult result) { out.emplace(std::move(result)); });
    run_until([&] { return out.has_value(); });
    EXPECT_TRUE(out.has_value());
    return out ? std::move(*out) : unexpected(TransportFailure{TransportErrc::other, "no call"});
  }

  int api_requests() const { return static_cast<int>(server.received().size()); }
};

TEST_F(AsyncCurlTest, A200ComesWithItsBodyAndHeaders) {
  AsyncCurl transport = make();
  const auto response = send(transport, api_request());
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->body.find("msg_test"), std::string::npos);
  EXPECT_EQ(response->headers.get("content-type"), "application/json");
  const auto received = server.received();
  ASSERT_EQ(received.size(), 1U);
  EXPECT_EQ(received[0].headers.count("x-api-key"), 1U);
}

TEST_F(AsyncCurlTest, A4xxAndA5xxAreResponses) {
  AsyncCurl transport = make();
  Request unauthenticated{.method = "GET", .url = server.origin() + "/v1/models"};
  const auto rejected = send(transport, unauthenticated);
  ASSERT_TRUE(rejected) << rejected.error().message;
  EXPECT_EQ(rejected->status, 401);
  EXPECT_NE(rejected->body.find("authentication_error"), std::string::npos);
  server.fault(Route::api, {.status = 503, .body = R"({"error":"busy"})"});
  const auto unavailable = send(transport, api_request());
  ASSERT_TRUE(unavailable) << unavailable.error().message;
  EXPECT_EQ(unavailable->status, 503);
  EXPECT_EQ(unavailable->body, R"({"error":"busy"})");
}

TEST_F(AsyncCurlTest, ARefusedConnectionIsAConnectFailure) {
  AsyncCurl transport = make();
  server.go_down();
  const auto response = send(transport, api_request());
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind, TransportErrc::connect) << response.error().message;
  server.come_back();
}

TEST_F(AsyncCurlTest, TheHandlerIsNeverCalledInsideAsyncSend) {
  AsyncCurl transport = make();
  std::optional<TransportResult> out;
  // Refused at once (plain http off loopback), yet completed only when the loop runs.
  const Request request{.url = "http://example.com/v1/models"};
  transport.async_send(request, [&out](TransportResult result) { out.emplace(std::move(result)); });
  EXPECT_FALSE(out.has_value());
  run_until([&] { return out.has_value(); });
  ASSERT_TRUE(out.has_value());
  ASSERT_FALSE(*out);
  EXPECT_NE(out->error().message.find("plain http is spoken only to a loopback host"),
            std::string::npos)
      << out->error().message;
}

TEST_F(AsyncCurlTest, RefusesTheURLsAndProxiesCurlRefusesAndSendsNothing) {
  AsyncCurl transport = make();
  const std::string port = std::to_string(server.port());
  const std::vector<std::pair<std::string, std::string>> refused{
      {"http://127.0.0.1:" + port + "\\@127.0.0.1:" + port + "/v1/models", "backslash"},
      {"http://user@127.0.0.1:" + port + "/v1/models", "refused URL"},
      {"http://127.1:" + port + "/v1/models", "refused URL"},
  };
  for (const auto& [url, why] : refused) {
    Request request = api_request();
    request.url = url;
    const auto response = send(transport, request);
    ASSERT_FALSE(response) << url;
    EXPECT_NE(response.error().message.find(why), std::string::npos) << response.error().message;
  }
  auto options = test_http_options();
  options.proxy = transport::Proxy::at("http://192.0.2.1:3128");
  AsyncCurl proxied = make(options);
  const auto response = send(proxied, api_request());
  ASSERT_FALSE(response);
  EXPECT_NE(response.error().message.find("refused proxy"), std::string::npos)
      << response.error().message;
  EXPECT_EQ(api_requests(), 0);
}

TEST_F(AsyncCurlTest, AStallTimesOutOnRequestTimeoutWithoutBlockingTheLoop) {
  auto options = test_http_options();
  options.timeout = 5s;  // the request's own deadline is the one that must end it
  AsyncCurl transport = make(options);
  server.fault(Route::api, {.kind = Fault::Kind::hang});
  Request request = api_request();
  request.timeout = 300ms;
  // A tick every 10 ms on the same loop: the largest gap between ticks shows whether the loop
  // was ever blocked while the request waited.
  asio::steady_timer ticker{io};
  Clock::duration largest_gap{};
  Clock::time_point last = Clock::now();
  int ticks = 0;
  std::function<void()> tick = [&] {
    ticker.expires_after(10ms);
    ticker.async_wait([&](const asio::error_code& error) {
      if (error) return;
      const auto now = Clock::now();
      largest_gap = std::max(largest_gap, now - last);
      last = now;
      ++ticks;
      tick();
    });
  };
  tick();
  const auto start = Clock::now();
  const auto response = send(transport, request);
  const auto took = Clock::now() - start;
  ticker.cancel();
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind, TransportErrc::timeout) << response.error().message;
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 2s);
  EXPECT_GE(ticks, 10);
  EXPECT_LT(largest_gap, 100ms);
}

TEST_F(AsyncCurlTest, ACancelledExchangeEndsCancelledDropsItsConnectionAndTheNextOneWorks) {
  auto options = test_http_options();
  options.max_idle_connections = 1;  // one connection at a time: the next request needs it freed
  options.timeout = 2s;
  AsyncCurl transport = make(options);
  server.fault(Route::api, {.kind = Fault::Kind::hang});
  asio::cancellation_signal signal;
  std::optional<TransportResult> out;
  const Request request = api_request();
  transport.async_send(request,
                       asio::bind_cancellation_slot(signal.slot(), [&out](TransportResult result) {
                         out.emplace(std::move(result));
                       }));
  run_until([&] { return api_requests() == 1; });  // the server holds the request
  ASSERT_EQ(api_requests(), 1);
  EXPECT_FALSE(out.has_value());
  const auto start = Clock::now();
  signal.emit(asio::cancellation_type::terminal);
  run_until([&] { return out.has_value(); });
  ASSERT_TRUE(out.has_value());
  ASSERT_FALSE(*out);
  EXPECT_EQ(out->error().kind, TransportErrc::cancelled) << out->error().message;
  EXPECT_LT(Clock::now() - start, 500ms);

  const auto next = send(transport, api_request());
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->status, 200);
  const auto received = server.received();
  ASSERT_EQ(received.size(), 2U);
  EXPECT_NE(received[1].remote_port, received[0].remote_port);  // a new connection
}

// libcurl is handed no more transfers to one origin than it may run (curl_multi.hpp): the rest
// wait in the transport's own queue, where a request's total timeout still ends it on time and a
// cancellation takes it out, and from which the next one goes when a connection comes free.
TEST_F(AsyncCurlTest, ARequestWaitingForAConnectionTimesOutOrIsCancelledInTheQueue) {
  auto options = test_http_options();
  options.max_idle_connections = 1;  // one transfer at a time to the server (plain http)
  options.timeout = 5s;
  AsyncCurl transport = make(options);
  server.fault(Route::api, {.kind = Fault::Kind::hang});
  // Each request stays alive until its handler is called (AsyncTransport).
  const Request request = api_request();
  asio::cancellation_signal first_signal;
  std::optional<TransportResult> first;
  transport.async_send(
      request, asio::bind_cancellation_slot(first_signal.slot(), [&first](TransportResult result) {
        first.emplace(std::move(result));
      }));
  run_until([&] { return api_requests() == 1; });  // the server holds it: the connection is busy
  ASSERT_EQ(api_requests(), 1);

  // Queued behind it: one ends at its own timeout, one is cancelled, one waits its turn.
  Request late = api_request();
  late.timeout = 300ms;
  std::optional<TransportResult> timed_out;
  const auto sent = Clock::now();
  transport.async_send(late, [&](TransportResult result) { timed_out.emplace(std::move(result)); });
  asio::cancellation_signal queued_signal;
  std::optional<TransportResult> cancelled;
  transport.async_send(
      request, asio::bind_cancellation_slot(queued_signal.slot(), [&](TransportResult result) {
        cancelled.emplace(std::move(result));
      }));
  std::optional<TransportResult> waiting;
  transport.async_send(request,
                       [&](TransportResult result) { waiting.emplace(std::move(result)); });

  run_until([&] { return timed_out.has_value(); });
  ASSERT_TRUE(timed_out.has_value());
  const auto took = Clock::now() - sent;
  ASSERT_FALSE(*timed_out);
  EXPECT_EQ(timed_out->error().kind, TransportErrc::timeout) << timed_out->error().message;
  EXPECT_NE(timed_out->error().message.find("no connection to the host came free"),
            std::string::npos)
      << timed_out->error().message;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 1500ms);

  queued_signal.emit(asio::cancellation_type::terminal);
  run_until([&] { return cancelled.has_value(); });
  ASSERT_TRUE(cancelled.has_value());
  ASSERT_FALSE(*cancelled);
  EXPECT_EQ(cancelled->error().kind, TransportErrc::cancelled) << cancelled->error().message;
  EXPECT_EQ(api_requests(), 1);  // neither went to the server
  EXPECT_FALSE(first.has_value());
  EXPECT_FALSE(waiting.has_value());

  // The held one ends: the connection is free, and the one still waiting goes.
  server.clear_faults();
  first_signal.emit(asio::cancellation_type::terminal);
  run_until([&] { return waiting.has_value(); });
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->error().kind, TransportErrc::cancelled);
  ASSERT_TRUE(waiting.has_value());
  ASSERT_TRUE(*waiting) << waiting->error().message;
  EXPECT_EQ((*waiting)->status, 200);
  EXPECT_EQ(api_requests(), 2);
}

struct Recorder final : StreamHandler {
  bool stop_after_first = false;
  std::vector<int> heads;
  std::vector<std::string> pieces;
  bool on_head(const Response& head) override {
    heads.push_back(head.status);
    return head.status == 200;
  }
  bool on_body(std::string_view bytes) override {
    pieces.emplace_back(bytes);
    return !stop_after_first;
  }
};

TEST_F(AsyncCurlTest, AStreamGoesToOnHeadThenOnBody) {
  AsyncCurl transport = make();
  Recorder recorder;
  std::optional<TransportResult> out;
  const Request request = stream_request();
  transport.async_send(request, recorder,
                       [&out](TransportResult result) { out.emplace(std::move(result)); });
  run_until([&] { return out.has_value(); });
  ASSERT_TRUE(out && *out) << (out ? (*out).error().message : "no call");
  EXPECT_EQ((*out)->status, 200);
  EXPECT_TRUE((*out)->body.empty());  // it flowed to on_body()
  EXPECT_EQ(recorder.heads, std::vector<int>{200});
  std::string streamed;
  for (const auto& piece : recorder.pieces) streamed += piece;
  EXPECT_NE(streamed.find("event: message_stop"), std::string::npos);
}

TEST_F(AsyncCurlTest, OnBodyReturningFalseStopsTheStreamAndReturnsTheHead) {
  AsyncCurl transport = make();
  Recorder recorder;
  recorder.stop_after_first = true;
  std::optional<TransportResult> out;
  const Request request = stream_request();
  transport.async_send(request, recorder,
                       [&out](TransportResult result) { out.emplace(std::move(result)); });
  run_until([&] { return out.has_value(); });
  ASSERT_TRUE(out && *out) << (out ? (*out).error().message : "no call");
  EXPECT_EQ((*out)->status, 200);
  EXPECT_EQ(recorder.pieces.size(), 1U);
}

TEST_F(AsyncCurlTest, TwoHundredConcurrentRequestsCompleteOverAFewConnections) {
  auto options = test_http_options();
  options.max_idle_connections = 4;
  options.timeout = 1500ms;
  AsyncCurl transport = make(options);
  const Request request = api_request();
  constexpr int kRequests = 200;
  int ok = 0;
  int done = 0;
  std::vector<std::string> failures;
  for (int i = 0; i < kRequests; ++i) {
    transport.async_send(request, [&](TransportResult result) {
      ++done;
      ok += result && result->status == 200 ? 1 : 0;
      if (!result) failures.push_back(result.error().message);
    });
  }
  run_until([&] { return done == kRequests; });
  EXPECT_EQ(done, kRequests);
  EXPECT_EQ(ok, kRequests);
  for (const auto& failure : failures) ADD_FAILURE() << failure;
  // cpp-httplib closes a connection after its 5th request (CPPHTTPLIB_KEEPALIVE_MAX_COUNT), so
  // 200 requests need at least 40; one per request would be 200.
  std::set<int> connections;
  for (const auto& received : server.received()) connections.insert(received.remote_port);
  EXPECT_LE(connections.size(), 50U);
}

TEST_F(AsyncCurlTest, AsyncSendWorksFromOtherThreads) {
  // Four connections at most: the test server's listen backlog is 5 (CPPHTTPLIB_LISTEN_BACKLOG),
  // and eight connects at once overflowed it, a connect then timing out.
  auto options = test_http_options();
  options.max_idle_connections = 4;
  AsyncCurl transport = make(options);
  auto guard = asio::make_work_guard(io);
  std::thread loop{[this] { io.run(); }};
  constexpr int kThreads = 4;
  constexpr int kEach = 10;
  std::atomic<int> ok{0};
  std::atomic<int> done{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  const Request request = api_request();
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        transport.async_send(request, [&](TransportResult result) {
          if (result && result->status == 200) {
            ++ok;
          } else {
            const std::scoped_lock lock(mutex);
            failures.push_back(result ? std::to_string(result->status) : result.error().message);
          }
          ++done;
        });
      }
    });
  }
  for (auto& sender : senders) sender.join();
  const auto give_up = Clock::now() + 3s;
  while (done < kThreads * kEach && Clock::now() < give_up) std::this_thread::sleep_for(5ms);
  guard.reset();
  io.stop();
  loop.join();
  EXPECT_EQ(done.load(), kThreads * kEach);
  EXPECT_EQ(ok.load(), kThreads * kEach);
  for (const auto& failure : failures) ADD_FAILURE() << failure;
}

// A kept easy handle keeps its options (no curl_easy_reset()): each request sets its own URL,
// method and body, so none of the previous request's carries over, on the async and the
// synchronous face alike.
TEST_F(AsyncCurlTest, AKeptHandleCarriesNoMethodBodyOrUrlOverToTheNextRequest) {
  AsyncCurl transport = make();
  Request post = stream_request();
  post.body = R"({"model":"claude-test"})";
  Request get = api_request();
  Request head = api_request();
  head.method = "HEAD";
  for (const bool async : {true, false}) {
    const std::size_t first = server.received().size();
    for (const Request* request : {&post, &get, &head, &get, &post}) {
      const auto response = async ? send(transport, *request) : transport.send(*request);
      ASSERT_TRUE(response) << response.error().message;
      EXPECT_EQ(response->body.empty(), request == &head) << request->method;
    }
    const auto received = server.received();
    ASSERT_EQ(received.size(), first + 5U);
    const std::array<std::string, 5> methods{"POST", "GET", "HEAD", "GET", "POST"};
    for (std::size_t i = 0; i < 5; ++i) {
      const Received& got = received[first + i];
      EXPECT_EQ(got.method, methods[i]) << i;
      EXPECT_EQ(got.path, i % 4 == 0 ? "/v1/messages" : "/v1/models") << i;
      EXPECT_EQ(got.body, i % 4 == 0 ? post.body : "") << i;
      EXPECT_EQ(got.remote_port, received[first].remote_port) << i;  // one kept connection
    }
  }
}

TEST_F(AsyncCurlTest, SendIsSynchronousToo) {
  AsyncCurl transport = make();
  const auto response = transport.send(api_request());
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  Recorder recorder;
  const auto streamed = transport.send(stream_request(), recorder);
  ASSERT_TRUE(streamed) << streamed.error().message;
  EXPECT_FALSE(recorder.pieces.empty());
}

TEST_F(AsyncCurlTest, DestroyingTheTransportCancelsWhatIsInFlight) {
  auto transport = std::make_unique<AsyncCurl>(make());
  server.fault(Route::api, {.kind = Fault::Kind::hang});
  std::optional<TransportResult> out;
  const Request request = api_request();
  transport->async_send(request,
                        [&out](TransportResult result) { out.emplace(std::move(result)); });
  run_until([&] { return api_requests() == 1; });
  ASSERT_FALSE(out.has_value());
  transport.reset();
  run_until([&] { return out.has_value(); });
  ASSERT_TRUE(out.has_value());
  ASSERT_FALSE(*out);
  EXPECT_EQ(out->error().kind, TransportErrc::cancelled) << out->error().message;
}

}  // namespace
}  // namespace keyward::testing

#endif
