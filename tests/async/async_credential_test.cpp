// AsyncCredential (async.hpp): the completion tokens, the single flight shared by asynchronous and
// blocking callers, a loop that keeps running while a refresh's token call blocks, exceptions,
// and the URL check. The driver's behaviour tests run against the asynchronous face too
// (tests/driver/faces.hpp, face "AsyncSingle").
#include <gtest/gtest.h>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "keyward/async.hpp"
#include "keyward/resilient_credential.hpp"
#include "support/async_setup.hpp"
#include "support/fake_async_transport.hpp"
#include "support/fake_oauth_server.hpp"
#include "support/policies.hpp"

namespace keyward::testing {
namespace {

using AsyncSetup = AsyncOAuthSetup;

TEST(AsyncCredentialTest, ACallbackGetsTheResponseNeverInsideAsyncSend) {
  AsyncSetup setup;
  asio::io_context io;
  AsyncCredential api{*setup.credential, io.get_executor(), 1};
  bool returned = false;
  bool called_inside = false;
  std::optional<Result<Response>> got;
  api.async_send(api_post(), [&](std::exception_ptr thrown, Result<Response> answer) {
    called_inside = !returned;
    EXPECT_FALSE(thrown);
    got = std::move(answer);
  });
  returned = true;
  EXPECT_FALSE(got.has_value());  // nothing ran before the loop did
  io.run();
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(*got) << got->error().message;
  EXPECT_EQ((*got)->status, 200);
  EXPECT_FALSE(called_inside);
}

TEST(AsyncCredentialTest, ARefusedUrlCompletesOnTheLoopToo) {
  AsyncSetup setup;
  asio::io_context io;
  AsyncCredential api{*setup.credential, io.get_executor(), 1};
  std::optional<Result<Response>> got;
  api.async_send(Request{.url = "http://api.example.test/v1/messages"},
                 [&](std::exception_ptr, Result<Response> answer) { got = std::move(answer); });
  EXPECT_FALSE(got.has_value());
  io.run();
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().code, Errc::insecure_transport);
  EXPECT_EQ(setup.transport.count("http://"), 0U);
}

TEST(AsyncCredentialTest, UseAwaitableUseFutureAndDeferredAllComplete) {
  AsyncSetup setup;
  asio::io_context io;
  AsyncCredential api{*setup.credential, io.get_executor(), 1};
  int awaited = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        Result<Response> answer = co_await api.async_send(api_post(), asio::use_awaitable);
        awaited = answer ? answer->status : -1;
      },
      asio::detached);
  auto future = api.async_send(api_post(), asio::use_future);
  int deferred_status = 0;
  auto op = api.async_send(api_post(), asio::experimental::deferred);
  std::move(op)([&](std::exception_ptr, Result<Response> answer) {
    deferred_status = answer ? answer->status : -1;
  });
  io.run();
  EXPECT_EQ(awaited, 200);
  EXPECT_EQ(future.get()->status, 200);
  EXPECT_EQ(deferred_status, 200);
}

// An expired token, 500 operations on one thread: one token call, every one served, and the loop
// keeps running while the token call is held (a timer on it fires meanwhile).
TEST(AsyncCredentialTest, ManyOperationsOnOneThreadShareOneRefreshAndTheLoopNeverWaits) {
  AsyncSetup setup;
  setup.server.expire_access_tokens();
  setup.server.block_token_endpoint();
  asio::io_context io;
  AsyncCredential api{*setup.credential, io.get_executor(), 2};
  constexpr int kOperations = 500;
  std::atomic<int> served{0};
  for (int i = 0; i < kOperations; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto answer = co_await api.async_send(api_post(), asio::use_awaitable);
          if (answer && answer->status == 200) ++served;
        },
        asio::detached);
  }
  // A timer on the loop runs while the token call is held (the loop thread is free): it checks
  // every millisecond until the token call has entered the endpoint, sees no operation served
  // yet, and lets the token call go. (No fixed delay: a sanitizer build is slow.)
  asio::steady_timer tick{io};
  bool ticked_while_blocked = false;
  int ticks = 0;
  std::function<void(std::error_code)> check = [&](std::error_code) {
    if (setup.server.token_calls() == 0 && ++ticks < 10'000) {
      tick.expires_after(std::chrono::milliseconds{1});
      tick.async_wait(check);
      return;
    }
    ticked_while_blocked = setup.server.token_calls() == 1 && served == 0;
    setup.server.release_token_endpoint();
  };
  tick.expires_after(std::chrono::milliseconds{1});
  tick.async_wait(check);
  io.run();
  EXPECT_TRUE(ticked_while_blocked);
  EXPECT_EQ(served.load(), kOperations);
  EXPECT_EQ(setup.server.token_calls(), 1U);
  EXPECT_EQ(setup.server.double_redemptions(), 0U);
}

// A blocking caller on another thread and asynchronous callers of one credential: one flight.
TEST(AsyncCredentialTest, BlockingAndAsynchronousCallersShareOneRefresh) {
  AsyncSetup setup;
  setup.server.expire_access_tokens();
  setup.server.block_token_endpoint();
  asio::io_context io;
  AsyncCredential api{*setup.credential, io.get_executor(), 2};
  std::thread blocking{[&] {
    auto answer = setup.credential->send(api_post());
    EXPECT_TRUE(answer && answer->status == 200);
  }};
  std::atomic<int> served{0};
  for (int i = 0; i < 20; ++i) {
    api.async_send(api_post(), [&](std::exception_ptr, Result<Response> answer) {
      if (answer && answer->status == 200) ++served;
    });
  }
  asio::steady_timer tick{io, std::chrono::milliseconds{20}};
  tick.async_wait([&](std::error_code) { setup.server.release_token_endpoint(); });
  io.run();
  blocking.join();
  EXPECT_EQ(served.load(), 20);
  EXPECT_EQ(setup.server.token_calls(), 1U);
}

struct Throwing : RecordingObserver {
  std::shared_ptr<std::atomic<bool>> armed = std::make_shared<std::atomic<bool>>(false);
  void on_event(const Event& event) {
    if (armed->load() && event.kind == EventKind::attempt) throw std::runtime_error{"observer"};
    RecordingObserver::on_event(event);
  }
};
struct ThrowingPolicies : ObservedPolicies {
  using Observer = Throwing;
};

TEST(AsyncCredentialTest, WhatAnObserverThrowsReachesTheCallerAndTheNextSendProceeds) {
  FakeAsyncTransport transport;
  transport.on(std::string{kApiUrl},
               [](const Request&) -> TransportResult { return response(200, "{}"); });
  Throwing observer;
  ResilientCredential<FakeAsyncTransport, ThrowingPolicies> credential{
      transport,
      Credential::api_key("sk-async-key-0123456789abcdefWXYZ"),
      {},
      {.observer = observer}};
  asio::io_context io;
  AsyncCredential api{credential, io.get_executor(), 1};
  *observer.armed = true;
  auto first = api.async_send(api_post(), asio::use_future);
  io.run();
  EXPECT_THROW(static_cast<void>(first.get()), std::runtime_error);
  *observer.armed = false;
  io.restart();
  auto second = api.async_send(api_post(), asio::use_future);
  io.run();
  auto answer = second.get();
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
}

}  // namespace
}  // namespace keyward::testing
