// AsyncPool (async_pool.hpp): the pool's rules through its asynchronous face: a 429 fails over
// to the next profile, the all-out error when none can serve, the panic rule, sticky sessions,
// a model's window, cancellation. The driver's behaviour tests run against it too
// (tests/driver/faces.hpp, face "AsyncPoolOfOne").
#include "keyward/async_pool.hpp"

#include <gtest/gtest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "keyward/pool.hpp"
#include "support/async_setup.hpp"
#include "support/fake_async_transport.hpp"
#include "support/fake_clock.hpp"
#include "support/holding_async_transport.hpp"
#include "support/policies.hpp"
#include "support/recording_observer.hpp"

namespace keyward::testing {
namespace {

using namespace std::chrono_literals;

const std::string kUrl = "https://api.example.test/v1/messages";

std::string key_of(const std::string& name) { return "sk-pool-" + name + "-0123456789abcdefXYZ"; }

using Pool = CredentialPool<HoldingAsyncTransport, ObservedPolicies>;

// Profiles "a", "b", "c" (in that order) whose keys answer with the status the test sets (200
// when none), with a Retry-After when it sets one.
struct PoolSetup {
  HoldingAsyncTransport transport;
  FakeClock clock;
  RecordingObserver observer;
  struct Script {
    std::mutex mutex;
    std::map<std::string, int> status;  // by profile name
    std::vector<std::string> served;    // the profile of every request, in order
    bool stated = true;                 // a 429 says Retry-After: 30
  };
  std::shared_ptr<Script> script = std::make_shared<Script>();
  std::unique_ptr<Pool> pool;
  asio::io_context io;

  explicit PoolSetup(PoolOptions options = {}) {
    transport.on(kUrl, [s = script](const Request& request) -> TransportResult {
      const std::string key{request.headers.get("authorization").value_or("")};
      std::string name;
      for (const char* n : {"a", "b", "c"}) {
        if (key.find(key_of(n)) != std::string::npos) name = n;
      }
      const std::scoped_lock lock(s->mutex);
      s->served.push_back(name);
      const auto it = s->status.find(name);
      Headers headers;
      if (s->stated) headers.set("retry-after", "30");
      return json_response(it == s->status.end() ? 200 : it->second, "{}", std::move(headers));
    });
    options.provider = "example";
    // A seed: an estimated window's jitter is drawn from it, so that the same windows end at
    // the same time on every run (ThePanicRule... needs all three still running at +2 s).
    options.credential.jitter_seed = 7;
    std::vector<Pool::Profile> profiles;
    for (const char* n : {"a", "b", "c"}) profiles.push_back({n, Credential::api_key(key_of(n))});
    pool = std::make_unique<Pool>(
        transport, std::move(profiles), std::move(options),
        Components<ObservedPolicies>{
            .clock = clock, .sleeper = RecordingSleeper{clock}, .observer = observer});
  }
  void set(const std::string& name, int status) {
    const std::scoped_lock lock(script->mutex);
    script->status[name] = status;
  }
  std::vector<std::string> served() {
    const std::scoped_lock lock(script->mutex);
    return script->served;
  }
  /// async_send() through `api`, run to completion.
  Result<Response> send(AsyncPool<HoldingAsyncTransport, ObservedPolicies>& api,
                        RequestScope scope = {}) {
    Got got;
    api.async_send(Request{.method = "POST", .url = kUrl, .body = "{}"}, scope, got.callback());
    io.restart();
    io.run();
    return got.take();
  }
};

TEST(AsyncPoolTest, A429FailsOverToTheNextProfile) {
  PoolSetup s;
  AsyncPool api{*s.pool, s.io.get_executor(), 1};
  s.set("a", 429);
  auto answer = s.send(api);
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(s.served(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.pool->status().profiles[0].credential.state, CredentialState::cooling);
  EXPECT_EQ(s.observer.count(EventKind::failover), 1U);
  // While "a" cools, the next request goes to "b" at once.
  ASSERT_TRUE(s.send(api));
  EXPECT_EQ(s.served(), (std::vector<std::string>{"a", "b", "b"}));
}

TEST(AsyncPoolTest, WhenNoProfileCanServeTheCallGetsTheOneAllOutError) {
  PoolSetup s{PoolOptions{.panic_interval = std::chrono::milliseconds::zero()}};
  AsyncPool api{*s.pool, s.io.get_executor(), 1};
  for (const char* n : {"a", "b", "c"}) s.set(n, 429);
  auto answer = s.send(api);
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, Errc::no_usable_credential) << answer.error().message;
  EXPECT_EQ(answer.error().profiles.size(), 3U);
  EXPECT_EQ(s.served(), (std::vector<std::string>{"a", "b", "c"}));  // each tried once
  EXPECT_EQ(s.observer.count(EventKind::all_out), 1U);
  // All cooling: the next call is refused without a send.
  auto refused = s.send(api);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::no_usable_credential);
  EXPECT_EQ(s.served().size(), 3U);
}

TEST(AsyncPoolTest, ThePanicRuleProbesTheProfileThatComesBackFirst) {
  PoolSetup s;  // the panic rule on (PoolOptions' default)
  AsyncPool api{*s.pool, s.io.get_executor(), 1};
  s.script->stated = false;  // estimated windows: the panic rule may probe one early
  for (const char* n : {"a", "b", "c"}) s.set(n, 429);
  ASSERT_FALSE(s.send(api));
  for (const char* n : {"a", "b", "c"}) s.set(n, 200);
  s.clock.advance(2s);
  auto answer = s.send(api);
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(s.observer.count(EventKind::panic), 1U);
  EXPECT_EQ(s.served().size(), 4U);
}

TEST(AsyncPoolTest, AStickySessionKeepsItsProfileAndMovesWhenItFails) {
  PoolSetup s{PoolOptions{.selection = Selection::round_robin}};
  AsyncPool api{*s.pool, s.io.get_executor(), 1};
  // The session's strings are copied: they may go before the operation ends.
  auto session = std::make_unique<std::string>("conversation-1");
  ASSERT_TRUE(s.send(api, {.session = *session}));
  const std::string pinned = s.served().back();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s.send(api, {.session = *session}));
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(s.served()[i], pinned);
  s.set(pinned, 429);
  ASSERT_TRUE(s.send(api, {.session = *session}));
  const std::string moved = s.served().back();
  EXPECT_NE(moved, pinned);
  ASSERT_TRUE(s.send(api, {.session = *session}));
  EXPECT_EQ(s.served().back(), moved);
}

TEST(AsyncPoolTest, AModelsRateLimitCoolsOnlyThatModelOnTheProfile) {
  PoolSetup s;
  AsyncPool api{*s.pool, s.io.get_executor(), 1};
  s.set("a", 429);
  ASSERT_TRUE(s.send(api, {.model = "model-x"}));
  EXPECT_EQ(s.served(), (std::vector<std::string>{"a", "b"}));
  s.set("a", 200);
  ASSERT_TRUE(s.send(api, {.model = "model-y"}));  // "a" serves its other models
  EXPECT_EQ(s.served().back(), "a");
  ASSERT_TRUE(s.send(api, {.model = "model-x"}));  // not model-x, for now
  EXPECT_EQ(s.served().back(), "b");
}

// A held exchange cancelled: the call ends with Errc::cancelled, nothing is held against the
// profile, and the next call is served by the first profile again.
TEST(AsyncPoolTest, CancellingACallEndsItWithoutFailingOver) {
  PoolSetup s;
  AsyncPool api{*s.pool, s.io.get_executor(), 1};
  s.transport.hold(true);
  asio::cancellation_signal cancel;
  Got got;
  api.async_send(Request{.method = "POST", .url = kUrl, .body = "{}"},
                 asio::bind_cancellation_slot(cancel.slot(), got.callback()));
  s.io.poll();
  ASSERT_EQ(s.transport.held(), 1);
  cancel.emit(asio::cancellation_type::terminal);
  s.io.run();
  EXPECT_TRUE(got.cancelled());
  EXPECT_EQ(s.observer.count(EventKind::failover), 0U);
  s.transport.hold(false);
  ASSERT_TRUE(s.send(api));
  EXPECT_EQ(s.served(), (std::vector<std::string>{"a"}));
}

TEST(AsyncPoolTest, UseFutureCompletes) {
  PoolSetup s;
  AsyncPool api{*s.pool, s.io.get_executor(), 1};
  auto future = api.async_send(Request{.method = "POST", .url = kUrl}, asio::use_future);
  s.io.run();
  auto answer = future.get();
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
}

}  // namespace
}  // namespace keyward::testing
