// The proof that no thread waits (docs/async.md): 10,000 coroutines send at once through one
// AsyncCredential over transport::AsyncCurl, against real servers on 127.0.0.1
// (support/http_servers.hpp). The OAuth access token has expired, so every operation needs the
// refresh, and the token endpoint holds the token call until the loop has ticked 50 times (about
// 50 ms; 5 s at most). Exactly one token call is made, every operation ends with a 200 and the
// expired token is never sent; a watchdog timer on the same io_context, re-armed every 1 ms,
// measures the largest gap between its ticks while the token call is held (it runs on the
// AsyncCredential's own threads) and over the whole run.
//
// The figures (the project's 2-core machine, dev preset, Debug, load average 4 to 5 from other
// builds): 10,000 operations take 7 to 10 s alone, 13 to 14 s when ctest -j2 runs the two tests
// together; while the token call is held the largest gap is 4 to 6 ms (1 ms ticks), 11 ms with
// the two tests together; over the whole run it is 0.5 s on 1 thread and 0.15 s on 4, 1.9 s on 1
// thread with the two tests together.
// - The 5 ms the loop would ideally show while the token call is held is not reliable on a
//   shared 2-core machine (the scheduler takes the core away for a time slice): the bound is
//   30 ms. A loop that waited for the token call would not tick at all until the hold's 5 s end.
// - The whole run's largest gap is not a wait but work: asio runs the handlers queued before the
//   reactor's turn first, and 10,000 operations starting, or resumed at once when the refresh
//   lands (each admitted, its request built and handed to libcurl: about 50 us in a Debug
//   build), make the timer's tick wait behind that burst. The bound, 4.5 s, is below the 5 s
//   hold a loop that waited for the token call would show.
//
// cpp-httplib's test server closes a connection after 5 requests and listens with a backlog of
// 5: AsyncCurl is held to 4 connections (HttpOptions::max_idle_connections), so 10,000 requests
// take about 2,000 connections, made one after another. A request's total timeout counts its
// wait for a connection, hence the 20 s one.
#if defined(KEYWARD_TEST_HTTPLIB) && defined(KEYWARD_TEST_ASYNC_CURL)

#include <gtest/gtest.h>

#include <algorithm>
#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "keyward/async.hpp"
#include "keyward/provider/anthropic.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/transport/async_curl.hpp"
#include "support/http_servers.hpp"
#include "support/transports.hpp"

namespace keyward::testing {
namespace {

using namespace std::chrono_literals;
using transport::AsyncCurl;
using Clock = std::chrono::steady_clock;

// The sanitizers make every step several times slower; the proof's shape is the same with fewer
// operations (the dev preset runs the full 10,000).
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kOperations = 1'000;
#else
constexpr int kOperations = 10'000;
#endif

// While the token call is under way the loop has nothing to do but the watchdog: a gap longer
// than a few ticks would be the loop waiting. Measured 4 to 11 ms on the loaded machine; 30 ms
// leaves room for the scheduler giving both cores to other processes for a time slice.
constexpr auto kRefreshingBound = 30ms;
// The token endpoint holds the token call until the loop has ticked this many times (about as
// many milliseconds) while the refresh is under way.
constexpr int kHeldTicks = 50;
// The whole run's largest gap: the burst of 10,000 operations resumed at once (measured: see the
// top of the file), below the token endpoint's 5 s hold.
constexpr auto kBurstBound = 4500ms;

using Api = ResilientCredential<AsyncCurl, provider::Anthropic>;

// What one run measured.
struct Run {
  std::atomic<int> done{0};
  std::atomic<int> ok{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  // The watchdog's: one handler at a time touches these (its single wait is re-armed from it).
  Clock::duration largest_gap{};
  Clock::duration largest_gap_refreshing{};
  int ticks = 0;
  int ticks_refreshing = 0;
};

// A timer re-armed every 1 ms on the loop until every operation is done; records the gaps, and
// those while the token endpoint holds the token call, which it releases after kHeldTicks ticks.
class Watchdog {
 public:
  Watchdog(asio::io_context& io, Run& run, ProviderServer& server, int operations)
      : timer_(io), run_(run), server_(server), operations_(operations) {}
  void start() {
    last_ = Clock::now();
    arm();
  }

 private:
  void arm() {
    timer_.expires_after(1ms);
    timer_.async_wait([this](const std::error_code& error) {
      if (error) return;
      const auto now = Clock::now();
      const auto gap = now - last_;
      run_.largest_gap = std::max(run_.largest_gap, gap);
      ++run_.ticks;
      // The token call is held (the server's lock, briefly) until this watchdog releases it.
      const bool held = !released_ && server_.holding() > 0;
      if (held && was_held_) {
        run_.largest_gap_refreshing = std::max(run_.largest_gap_refreshing, gap);
        if (++run_.ticks_refreshing == kHeldTicks) {
          released_ = true;
          server_.release_held();
        }
      }
      last_ = now;
      was_held_ = held;
      if (run_.done.load() < operations_) arm();
    });
  }

  asio::steady_timer timer_;
  Run& run_;
  ProviderServer& server_;
  int operations_;
  Clock::time_point last_{};
  bool was_held_ = false;
  bool released_ = false;
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

asio::awaitable<void> send_one(AsyncCredential<AsyncCurl, provider::Anthropic>& api,
                               Request request, Run& run, int operations, asio::io_context& io) {
  Result<Response> answer = co_await api.async_send(std::move(request), asio::use_awaitable);
  if (answer && answer->status == 200) {
    ++run.ok;
  } else {
    const std::scoped_lock lock(run.mutex);
    if (run.failures.size() < 5) {
      run.failures.push_back(answer ? "HTTP " + std::to_string(answer->status) + " " + answer->body
                                    : answer.error().message);
    }
  }
  if (++run.done == operations) io.stop();
}

// Sends `operations` requests at once from coroutines on an io_context run by `threads` threads,
// with an expired token and a token endpoint that holds the token call for 50 ticks of the
// watchdog; checks and reports the figures.
void prove(int operations, int threads) {
  ProviderServer server;  // declared first: outlives the loop and the transport's connections
  // Held until the watchdog has ticked kHeldTicks times during the refresh; 5 s at most, so that
  // a loop that waited for the token call would show a 5 s gap rather than hang.
  server.fault(Route::token, {.kind = Fault::Kind::held, .interval = 5s});
  auto [access, refresh] = server.login();

  asio::io_context io{threads};
  auto options = test_http_options();
  options.max_idle_connections = 4;
  options.timeout = 20s;
  Api credential{
      AsyncCurl{io.get_executor(), options},
      Credential::oauth(access, refresh, SystemClock{}.now() - 1s),
      {.profile = "proof"},
      {.refresh = provider::Anthropic::oauth_refresh("test-client", server.token_url())}};
  AsyncCredential api{credential};

  Run run;
  Watchdog watchdog{io, run, server, operations};
  Request request{.method = "POST", .url = server.api_url(), .body = R"({"model":"claude-test"})"};
  request.headers.set("content-type", "application/json");
  for (int i = 0; i < operations; ++i) {
    // The server closes a connection idle for 1 s, and under load the loop's bursts last about
    // that long: a request sent on a connection as it closes gets no reply. With an
    // Idempotency-Key it is sent again (docs/retries.md), as an application's would be.
    request.headers.set("idempotency-key", "proof-" + std::to_string(i));
    asio::co_spawn(io, send_one(api, request, run, operations, io), asio::detached);
  }
  watchdog.start();
  // A run that never ends fails here, not in ctest's timeout.
  asio::steady_timer deadline{io, 60s};
  deadline.async_wait([&io](const std::error_code& error) {
    if (!error) io.stop();
  });

  const auto start = Clock::now();
  std::vector<std::thread> others;
  for (int t = 1; t < threads; ++t) others.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& other : others) other.join();
  const auto took = Clock::now() - start;

  int token_calls = 0;
  int api_calls = 0;
  int expired_sent = 0;
  for (const auto& received : server.received()) {
    (received.route == Route::token ? token_calls : api_calls) += 1;
    const auto authorization = received.headers.find("authorization");
    expired_sent +=
        authorization != received.headers.end() && authorization->second == "Bearer " + access ? 1
                                                                                               : 0;
  }
  std::cout << "[ proof    ] " << operations << " operations on " << threads
            << " thread(s): " << ms(took) << " ms; largest watchdog gap " << ms(run.largest_gap)
            << " ms over " << run.ticks << " ticks; while refreshing "
            << ms(run.largest_gap_refreshing) << " ms over " << run.ticks_refreshing
            << " ticks; token calls " << token_calls << ", API calls " << api_calls << "\n";

  EXPECT_EQ(run.done.load(), operations);
  EXPECT_EQ(run.ok.load(), operations);
  for (const auto& failure : run.failures) ADD_FAILURE() << failure;
  EXPECT_EQ(token_calls, 1);
  EXPECT_EQ(server.refreshes(), 1);
  EXPECT_GE(api_calls, operations);
  EXPECT_EQ(expired_sent, 0);  // every operation waited for the refresh
  // The loop ran while the token call was held: about one tick a millisecond.
  EXPECT_GE(run.ticks_refreshing, kHeldTicks);
  EXPECT_LT(run.largest_gap_refreshing, kRefreshingBound);
  EXPECT_LT(run.largest_gap, kBurstBound);
}

TEST(AsyncProofTest, TenThousandCoroutinesOnOneThreadOneTokenCallNoThreadWaits) {
  prove(kOperations, 1);
}

// The same on four threads running one io_context (TSan runs this file: it starts threads).
TEST(AsyncProofTest, TenThousandCoroutinesOnFourThreadsOneTokenCallNoThreadWaits) {
  prove(kOperations, 4);
}

}  // namespace
}  // namespace keyward::testing

#endif
