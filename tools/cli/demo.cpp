// `keyward demo`: keyward over real sockets, in real time, with no network. It starts a provider
// API and an OAuth token endpoint on 127.0.0.1 (the servers the tests use,
// tests/support/http_servers.hpp), and sends through transport::Curl with provider::Anthropic;
// when asio is found, one scene sends from coroutines through AsyncCredential and
// transport::AsyncCurl (docs/async.md).
// Each scene prints a timeline from keyward's events and checks what keyward promised; the exit
// status is 1 when any check failed.
//
// Longer than most files: each scene is short, and they read best together.
#include <chrono>
#include <functional>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "keyward/pool.hpp"
#include "keyward/provider/anthropic.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/transport/curl.hpp"
#include "support/http_servers.hpp"
#ifdef KEYWARD_CLI_DEMO_ASYNC
#include <algorithm>
#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "keyward/async.hpp"
#include "keyward/transport/async_curl.hpp"
#endif

namespace {

using namespace std::chrono_literals;
using keyward::testing::Fault;
using keyward::testing::ProviderServer;
using keyward::testing::Route;

const auto kStart = std::chrono::steady_clock::now();

std::string elapsed() {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - kStart);
  std::ostringstream out;
  out << "[" << std::fixed << std::setprecision(2) << std::setw(6)
      << static_cast<double>(ms.count()) / 1000.0 << " s] ";
  return out.str();
}

void say(std::string_view line) { std::cout << elapsed() << line << "\n" << std::flush; }

// Prints keyward's events as a timeline (fingerprints only, never a secret).
struct Timeline {
  void on_event(const keyward::Event& event) const {
    using K = keyward::EventKind;
    const std::string who =
        std::string{event.fingerprint} + " (generation " + std::to_string(event.generation) + ")";
    const auto in = [&] {
      if (!event.until) return std::string{};
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
          *event.until - keyward::SystemClock{}.now());
      std::ostringstream out;
      out << std::fixed << std::setprecision(1) << static_cast<double>(wait.count()) / 1000.0;
      return out.str() + " s";
    };
    std::string verdict;
    if (event.verdict != nullptr) {
      verdict = keyward::to_string(event.verdict->kind);
      if (!event.verdict->message.empty()) verdict += ": " + event.verdict->message;
    }
    switch (event.kind) {
      case K::attempt:
        return say("  -> request with " + std::string{event.profile} + ": " + who);
      case K::verdict:
        return say("  <- " + verdict);
      case K::retry:
        return say("     retry in " + in() + " (a real wait)");
      case K::refresh_started:
        return say("     refreshing " + who);
      case K::refresh_succeeded:
        return say("     refreshed: now " + who + "; the refresh token rotated");
      case K::refresh_failed:
        return say("     refresh failed: " + verdict);
      case K::cooldown_entered:
        return say("     credential cooling down for " + in());
      case K::cooldown_left:
        return say("     credential ready again");
      case K::needs_reauth:
        return say("     credential needs a person");
      case K::credential_replaced:
        return say("     credential replaced: now " + who);
      case K::probe:
        return say("     probing the credential");
      case K::failover:
        return say("     failing over from profile '" + std::string{event.profile} + "'");
      default:
        return;
    }
  }
};

struct DemoPolicies : keyward::provider::Anthropic {
  using Observer = Timeline;
};
using Api = keyward::ResilientCredential<keyward::transport::Curl, DemoPolicies>;
using Pool = keyward::CredentialPool<keyward::transport::Curl, DemoPolicies>;

int failures = 0;

void check(bool ok, std::string_view promise) {
  say(std::string{ok ? "  ok    " : "  FAIL  "} + std::string{promise});
  if (!ok) ++failures;
}

void scene(std::string_view title) { std::cout << "\n" << elapsed() << "== " << title << "\n"; }

keyward::transport::Curl transport() {
  return keyward::transport::Curl{{.connect_timeout = 1s, .timeout = 5s}};
}

Api oauth_api(ProviderServer& server, keyward::TimePoint expires_at) {
  auto [access, refresh] = server.login();
  return Api{
      transport(),
      keyward::Credential::oauth(access, refresh, expires_at),
      {.profile = "demo", .retry = {.initial_backoff = 1s}},
      {.refresh = keyward::provider::Anthropic::oauth_refresh("demo-client", server.token_url())}};
}

keyward::Request message(const ProviderServer& server, bool stream = false) {
  keyward::Request request{.method = "POST", .url = server.api_url()};
  request.headers.set("content-type", "application/json");
  request.body = stream ? R"({"model":"claude-demo","stream":true})" : R"({"model":"claude-demo"})";
  return request;
}

std::string refresh_fingerprint(Api& api) {
  return keyward::fingerprint(api.store().load()->credential.refresh_token.reveal());
}

bool stored_is_current(Api& api, const ProviderServer& server) {
  return api.store().load()->credential.refresh_token.reveal() == server.current_refresh_token();
}

void reported() {
  scene("The failure as reported (the reported behaviour of an LLM gateway; not run here)");
  std::cout << "  an OAuth access token is rejected: HTTP 401 authentication_error: Invalid bearer "
               "token\n"
               "  the gateway puts every Anthropic profile in cooldown and never refreshes:\n"
               "  'No available auth profile for anthropic (all in cooldown or unavailable)'\n"
               "  nothing recovers until a person intervenes, and nothing says what to do\n";
}

void rejected_token(ProviderServer& server) {
  scene("keyward, the same scenario: the API rejects the OAuth token (401)");
  auto api = oauth_api(server, keyward::SystemClock{}.now() + 1h);
  const std::string before = refresh_fingerprint(api);
  server.expire_access_tokens();
  auto response = api.send(message(server));
  check(response && response->status == 200, "refreshed once and replayed: HTTP 200");
  say("  refresh token " + before + " -> " + refresh_fingerprint(api));
  check(api.status().generation == 2 && stored_is_current(api, server),
        "generation 2; the stored refresh token is the one the server accepts now");
}

void expired_token(ProviderServer& server) {
  scene("An expired OAuth token: refreshed before it is sent");
  auto api = oauth_api(server, keyward::SystemClock{}.now() - 1s);
  const int before = server.refreshes();
  auto response = api.send(message(server));
  check(response && response->status == 200 && server.refreshes() == before + 1,
        "one refresh, then HTTP 200; the expired token never left the process");
}

void dead_token(ProviderServer& server) {
  scene("A dead token: the grant is revoked");
  auto api = oauth_api(server, keyward::SystemClock{}.now() + 1h);
  server.revoke_grants();
  auto response = api.send(message(server));
  check(!response && api.status().state == keyward::CredentialState::needs_reauth,
        "needs_reauth, not a cooldown of the provider");
  if (!response) say("  the message: " + response.error().message);
  auto [access, refresh] = server.login();
  say("  a person logs in again; the application calls set_credential()");
  const auto replaced = api.set_credential(
      keyward::Credential::oauth(access, refresh, keyward::SystemClock{}.now() + 1h));
  auto again = api.send(message(server));
  check(replaced && again && again->status == 200, "recovered at the next request: HTTP 200");
}

void overloaded(ProviderServer& server) {
  scene("An overloaded provider (529): retried, nothing cools down (waits 1 s)");
  auto api = Api{transport(), keyward::Credential::api_key(server.api_key()), {.profile = "key"}};
  server.fault(Route::api, {.status = 529,
                            .headers = {{"retry-after", "1"}},
                            .body = R"({"type":"error","error":{"type":"overloaded_error",)"
                                    R"("message":"Overloaded"}})"});
  auto response = api.send(message(server));
  check(
      response && response->status == 200 && api.status().state == keyward::CredentialState::ready,
      "HTTP 200 after the server's wait; the credential stayed ready");
}

void rate_limited(ProviderServer& server) {
  scene("A rate-limited credential (429): it cools down for the server's 2 s (waits 2 s)");
  auto api = Api{transport(), keyward::Credential::api_key(server.api_key()), {.profile = "key"}};
  server.fault(Route::api, {.status = 429,
                            .headers = {{"retry-after", "2"}},
                            .body = R"({"type":"error","error":{"type":"rate_limit_error",)"
                                    R"("message":"rate limited"}})"});
  (void)api.send(message(server));
  check(api.status().state == keyward::CredentialState::cooling, "this credential is cooling");
  auto refused = api.send(message(server));
  check(!refused && refused.error().code == keyward::make_error_code(keyward::Errc::cooling_down),
        "a request meanwhile is refused at once, without touching the network");
  say("  (with a pool, another credential serves meanwhile: the next scene)");
  say("  waiting 2 s ...");
  std::this_thread::sleep_for(2100ms);
  auto again = api.send(message(server));
  check(again && again->status == 200, "the window ended: probed and ready, HTTP 200");
}

void pool_of_two(ProviderServer& server) {
  scene("A pool of two logins: one is rate limited (429), the other serves (waits 2 s)");
  const auto later = keyward::SystemClock{}.now() + 1h;
  auto [work_access, work_refresh] = server.login();
  auto [home_access, home_refresh] = server.login();
  Pool pool{transport(),
            {{.name = "anthropic:work",
              .credential = keyward::Credential::oauth(work_access, work_refresh, later)},
             {.name = "anthropic:home",
              .credential = keyward::Credential::oauth(home_access, home_refresh, later)}},
            {.provider = "anthropic"}};
  server.fault(Route::api, {.status = 429,
                            .headers = {{"retry-after", "2"}},
                            .body = R"({"type":"error","error":{"type":"rate_limit_error",)"
                                    R"("message":"rate limited"}})"});
  auto response = pool.send(message(server));
  auto status = pool.status();
  check(response && response->status == 200 &&
            status.profiles[0].credential.state == keyward::CredentialState::cooling &&
            status.profiles[1].credential.state == keyward::CredentialState::ready,
        "the request failed over to anthropic:home: HTTP 200; only anthropic:work cools");
  const std::size_t sent = server.received().size();
  auto next = pool.send(message(server));
  check(next && next->status == 200 && server.received().size() == sent + 1,
        "the next request goes straight to anthropic:home: one request, none to the cooling one");
  say("  waiting 2 s for anthropic:work's window ...");
  std::this_thread::sleep_for(2100ms);
  auto back = pool.send(message(server));
  const auto last = server.received().back().headers;
  const auto auth = last.find("authorization");
  check(
      back && back->status == 200 && auth != last.end() && auth->second == "Bearer " + work_access,
      "the window ended: the preferred anthropic:work serves again");
}

void streamed(ProviderServer& server) {
  scene("A stream decided before its first byte: the token is rejected, refreshed, replayed");
  auto api = oauth_api(server, keyward::SystemClock{}.now() + 1h);
  server.expire_access_tokens();
  std::string text;
  bool first = true;
  auto request = message(server, true);
  auto response = api.send_stream(request, [&](std::string_view bytes) {
    if (first) say("  first byte reaches the caller");
    first = false;
    text.append(bytes);
    return true;
  });
  check(response && response->status == 200 &&
            text.find("authentication_error") == std::string::npos &&
            text.find("event: message_stop") != std::string::npos,
        "the caller saw only the replayed stream, never the 401");
  std::cout << "\n  final status: " << keyward::to_json(api.status()) << "\n";
}

#ifdef KEYWARD_CLI_DEMO_ASYNC
// Prints only the refreshes: a hundred attempts would drown the timeline.
struct RefreshTimeline {
  void on_event(const keyward::Event& event) const {
    if (event.kind == keyward::EventKind::refresh_started ||
        event.kind == keyward::EventKind::refresh_succeeded) {
      Timeline{}.on_event(event);
    }
  }
};
struct AsyncDemoPolicies : keyward::provider::Anthropic {
  using Observer = RefreshTimeline;
};
using AsyncCurl = keyward::transport::AsyncCurl;

void asynchronous(ProviderServer& server) {
  constexpr int kCoroutines = 100;
  scene("100 coroutines on one thread (AsyncCredential), an expired token, a slow token endpoint");
  server.fault(Route::token, {.kind = Fault::Kind::slow, .interval = 300ms});
  auto [access, refresh] = server.login();
  asio::io_context io;
  keyward::ResilientCredential<AsyncCurl, AsyncDemoPolicies> credential{
      // Four connections: the demo's server listens with a backlog of 5 (cpp-httplib's).
      AsyncCurl{io.get_executor(),
                {.connect_timeout = 1s, .timeout = 5s, .max_idle_connections = 4}},
      keyward::Credential::oauth(access, refresh, keyward::SystemClock{}.now() - 1s),
      {.profile = "demo-async"},
      {.refresh = keyward::provider::Anthropic::oauth_refresh("demo-client", server.token_url())}};
  keyward::AsyncCredential<AsyncCurl, AsyncDemoPolicies> api{credential, io.get_executor()};
  const int refreshes = server.refreshes();
  const std::size_t sent = server.received().size();
  int served = 0;
  int done = 0;
  for (int i = 0; i < kCoroutines; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto response = co_await api.async_send(message(server), asio::use_awaitable);
          served += response && response->status == 200 ? 1 : 0;
          ++done;
        },
        asio::detached);
  }
  // A timer on the same thread, every 10 ms: it keeps ticking while the token call (on the
  // AsyncCredential's own threads) holds every coroutine up.
  asio::steady_timer ticker{io};
  int ticks = 0;
  auto largest_gap = std::chrono::steady_clock::duration{};
  auto last = std::chrono::steady_clock::now();
  std::function<void()> tick = [&] {
    ticker.expires_after(10ms);
    ticker.async_wait([&](const std::error_code& error) {
      if (error || done == kCoroutines) return;
      const auto now = std::chrono::steady_clock::now();
      largest_gap = std::max(largest_gap, now - last);
      last = now;
      ++ticks;
      tick();
    });
  };
  say("  " + std::to_string(kCoroutines) + " requests started; the token endpoint takes 0.3 s");
  tick();
  io.run();
  const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(largest_gap).count();
  say("  the loop's timer ticked " + std::to_string(ticks) + " times meanwhile; largest gap " +
      std::to_string(gap) + " ms");
  check(served == kCoroutines && server.refreshes() == refreshes + 1 &&
            server.received().size() == sent + 1 + kCoroutines,
        "one token call for all 100, then 100 x HTTP 200; the expired token was never sent");
  check(ticks >= 20 && gap < 100, "no thread waited: the loop kept running during the token call");
}
#endif

}  // namespace

/// Runs the demo; 0 when keyward kept every promise, 1 otherwise.
int run_demo() {
  std::cout << "keyward demo: a provider API and an OAuth token endpoint on 127.0.0.1, requests "
               "through libcurl,\nin real time (three waits of a second or two). No network "
               "needed.\n";
  ProviderServer server;
  say("servers up at " + server.origin());
  reported();
  rejected_token(server);
  expired_token(server);
  dead_token(server);
  overloaded(server);
  rate_limited(server);
  pool_of_two(server);
#ifdef KEYWARD_CLI_DEMO_ASYNC
  asynchronous(server);
#endif
  streamed(server);
  std::cout << "\n"
            << (failures == 0 ? "keyward behaved as promised"
                              : std::to_string(failures) + " promise(s) broken")
            << "\n";
  return failures == 0 ? 0 : 1;
}
