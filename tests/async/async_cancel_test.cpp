// Cancelling an asynchronous send (async.hpp, docs/async.md "Cancellation"): through the
// operation's cancellation slot, terminal or partial, it ends at once with Errc::cancelled
// wherever it waits: for another operation's refresh (which goes on for the others), for a
// retry's timer, for the transport's exchange; and a probe its attempt claimed is handed back.
#include <gtest/gtest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <string>

#include "keyward/async.hpp"
#include "keyward/resilient_credential.hpp"
#include "support/async_setup.hpp"
#include "support/fake_async_transport.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_oauth_server.hpp"
#include "support/holding_async_transport.hpp"
#include "support/policies.hpp"

namespace keyward::testing {
namespace {

using namespace std::chrono_literals;

// --- waiting for another operation's refresh ---------------------------------------------------

// Its access token rejected, its token call held until the test lets it go.
struct Expired : AsyncOAuthSetup {
  Expired() {
    server.expire_access_tokens();  // the first request's 401 asks for a refresh
    server.block_token_endpoint();  // held until the test lets it go
  }
};

/// Lets the token call go when a test ends, even one that failed while it was held.
struct Release {
  const FakeOAuthServer& server;
  ~Release() { server.release_token_endpoint(); }
};

class AsyncCancelWaiter : public ::testing::TestWithParam<asio::cancellation_type> {};

// Two operations need the refresh: the first runs it, the second waits for it. Cancelling the
// waiter ends it while the token call is still held; the first is served once it lands.
TEST_P(AsyncCancelWaiter, AWaiterEndsAtOnceAndTheRefreshGoesOnForTheOther) {
  Expired setup;
  asio::io_context io;
  AsyncCredential api{*setup.credential, io.get_executor(), 2};
  const Release release{setup.server};
  Got runner;
  Got waiter;
  asio::cancellation_signal cancel;
  api.async_send(api_post(), runner.callback());
  api.async_send(api_post(), asio::bind_cancellation_slot(cancel.slot(), waiter.callback()));
  io.poll();  // both rejected: the first refreshes (held), the second waits for it
  ASSERT_FALSE(waiter.answer.has_value());
  cancel.emit(GetParam());
  io.poll();
  ASSERT_TRUE(waiter.answer.has_value()) << "the waiter waited for the refresh to land";
  EXPECT_TRUE(waiter.cancelled()) << waiter.answer->error().message;
  EXPECT_FALSE(waiter.thrown);
  EXPECT_FALSE(runner.answer.has_value());  // the refresh is still held

  setup.server.release_token_endpoint();
  io.run();
  ASSERT_TRUE(runner.answer.has_value());
  EXPECT_TRUE(runner.ok()) << runner.answer->error().message;
  EXPECT_EQ(setup.server.token_calls(), 1U);
}

// The operation that runs the refresh can leave it too: the refresh lands for the other.
TEST_P(AsyncCancelWaiter, TheOperationRunningTheRefreshEndsAtOnceAndTheOtherIsServed) {
  Expired setup;
  asio::io_context io;
  AsyncCredential api{*setup.credential, io.get_executor(), 2};
  const Release release{setup.server};
  Got runner;
  Got waiter;
  asio::cancellation_signal cancel;
  api.async_send(api_post(), asio::bind_cancellation_slot(cancel.slot(), runner.callback()));
  api.async_send(api_post(), waiter.callback());
  io.poll();
  cancel.emit(GetParam());
  io.poll();
  ASSERT_TRUE(runner.answer.has_value());
  EXPECT_TRUE(runner.cancelled());
  EXPECT_FALSE(waiter.answer.has_value());

  setup.server.release_token_endpoint();
  io.run();
  EXPECT_TRUE(waiter.ok());
  EXPECT_EQ(setup.server.token_calls(), 1U);
  // The credential serves the next request with the refreshed token, without another refresh.
  Got next;
  api.async_send(api_post(), next.callback());
  io.restart();
  io.run();
  EXPECT_TRUE(next.ok());
  EXPECT_EQ(setup.server.token_calls(), 1U);
}

INSTANTIATE_TEST_SUITE_P(Types, AsyncCancelWaiter,
                         ::testing::Values(asio::cancellation_type::terminal,
                                           asio::cancellation_type::partial),
                         [](const auto& param_info) {
                           return param_info.param == asio::cancellation_type::terminal ? "terminal"
                                                                                        : "partial";
                         });

// --- a retry's timer ---------------------------------------------------------------------------

/// The default sleeper: a retry's wait is an asio timer.
struct TimerPolicies : ObservedPolicies {
  using Sleeper = ThreadSleeper;
};

TEST(AsyncCancelTest, ARetrysTimerIsCancelledAtOnce) {
  FakeAsyncTransport transport;
  transport.on(std::string{kApiUrl}, [](const Request&) -> TransportResult {
    Headers headers;
    headers.set("retry-after", "30");
    return response(503, "{}", std::move(headers));
  });
  ResilientCredential<FakeAsyncTransport, TimerPolicies> credential{
      transport, Credential::api_key("sk-async-key-0123456789abcdefWXYZ"), {}, {}};
  asio::io_context io;
  AsyncCredential api{credential, io.get_executor(), 1};
  Got got;
  asio::cancellation_signal cancel;
  api.async_send(api_post(), asio::bind_cancellation_slot(cancel.slot(), got.callback()));
  io.poll();  // sent, answered 503: waits 30 s on a timer
  ASSERT_EQ(transport.count(std::string{kApiUrl}), 1U);
  ASSERT_FALSE(got.answer.has_value());
  const auto before = std::chrono::steady_clock::now();
  cancel.emit(asio::cancellation_type::terminal);
  io.run();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 10s);
  EXPECT_TRUE(got.cancelled());
  EXPECT_EQ(transport.count(std::string{kApiUrl}), 1U);  // never sent again
}

// --- the transport's exchange, and the probe it carried ----------------------------------------

TEST(AsyncCancelTest, ACancelledExchangeEndsTheSendAndHandsItsProbeBack) {
  HoldingAsyncTransport transport;
  bool limited = true;
  transport.on(std::string{kApiUrl}, [&limited](const Request&) -> TransportResult {
    if (!limited) return response(200, "{}");
    Headers headers;
    headers.set("retry-after", "10");
    return response(429, R"({"error":{"type":"rate_limit_error"}})", std::move(headers));
  });
  FakeClock clock;
  ResilientCredential<HoldingAsyncTransport, ObservedPolicies> credential{
      transport,
      Credential::api_key("sk-async-key-0123456789abcdefWXYZ"),
      {},
      {.clock = clock, .sleeper = RecordingSleeper{clock}}};
  asio::io_context io;
  AsyncCredential api{credential, io.get_executor(), 1};
  const auto send = [&](Got& got, asio::cancellation_signal* cancel = nullptr) {
    if (cancel != nullptr) {
      api.async_send(api_post(), asio::bind_cancellation_slot(cancel->slot(), got.callback()));
    } else {
      api.async_send(api_post(), got.callback());
    }
  };

  Got first;
  send(first);
  io.run();
  ASSERT_TRUE(first.answer && !*first.answer);  // rate limited: the credential cools 10 s
  ASSERT_EQ(credential.status().state, CredentialState::cooling);
  clock.advance(11s);  // the window is over: the next request probes

  transport.hold(true);
  limited = false;
  Got probe;
  asio::cancellation_signal cancel;
  send(probe, &cancel);
  io.restart();
  io.poll();
  ASSERT_EQ(transport.held(), 1);
  cancel.emit(asio::cancellation_type::terminal);
  io.run();
  ASSERT_TRUE(probe.answer.has_value());
  EXPECT_TRUE(probe.cancelled()) << probe.answer->error().message;
  EXPECT_EQ(transport.held(), 0);

  // The probe was handed back: the next request probes, and is served.
  transport.hold(false);
  Got next;
  send(next);
  io.restart();
  io.run();
  ASSERT_TRUE(next.answer.has_value());
  EXPECT_TRUE(next.ok()) << next.answer->error().message;
  EXPECT_EQ(credential.status().state, CredentialState::ready);
}

}  // namespace
}  // namespace keyward::testing
