// ResilientCredential's state machine, against an in-process provider, a fake clock and a
// recording sleeper: no test here sleeps or reads the real clock.
#include "keyward/resilient_credential.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_oauth_server.hpp"
#include "support/fake_transport.hpp"
#include "support/recording_observer.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeOAuthServer;
using testing::FakeTransport;
using testing::json_response;
using testing::RecordingObserver;
using testing::RecordingSleeper;
using testing::response;

struct TestPolicies : DefaultPolicies {
  using Clock = FakeClock;
  using Sleeper = RecordingSleeper;
  using Observer = RecordingObserver;
};
struct OAuthPolicies : TestPolicies {
  using Refresh = refresh::OAuth2RefreshToken;
};
using StaticCredentialRC = ResilientCredential<FakeTransport, TestPolicies>;
using OAuthRC = ResilientCredential<FakeTransport, OAuthPolicies>;

const std::string kApi{testing::kApiUrl};
const std::string kToken{testing::kTokenUrl};
const std::string kApiKey = "sk-test-key-0123456789abcdefWXYZ";

Request api_request() {
  return Request{.method = "POST", .url = kApi, .headers = {}, .body = "{}"};
}

std::string bearer_of(const Request& request) {
  return std::string{request.headers.get("authorization").value_or("")};
}

// An OAuth credential against FakeOAuthServer, with a persist hook that records every stored
// refresh token and checks that the new access token was not used before it was stored.
struct OAuthSetup {
  FakeTransport transport;
  FakeOAuthServer server{transport};
  FakeClock clock;
  RecordingSleeper sleeper{clock};
  RecordingObserver observer;
  struct Store {
    std::mutex mutex;
    std::vector<std::string> refresh_tokens;
    std::atomic<bool> fail{false};
    std::atomic<bool> used_before_persisted{false};
  };
  std::shared_ptr<Store> store = std::make_shared<Store>();
  std::string access;
  std::string refresh_token;

  OAuthSetup() { std::tie(access, refresh_token) = server.login(); }

  refresh::OAuth2RefreshToken strategy() const {
    return refresh::OAuth2RefreshToken{{.token_url = kToken, .client_id = "keyward-tests"}};
  }

  // The user's persist hook, expressed through the default store.
  store::Memory persisting_store() const {
    auto shared = store;
    auto seen = transport;
    return store::Memory{[shared, seen](const Credential& c) -> Result<void> {
      const std::string bearer = "Bearer " + std::string{c.token.reveal()};
      for (const auto& r : seen.requests()) {
        if (bearer_of(r) == bearer) shared->used_before_persisted = true;
      }
      if (shared->fail) return unexpected(make_error(Errc::persist_failed, "disk full"));
      const std::scoped_lock lock(shared->mutex);
      shared->refresh_tokens.emplace_back(c.refresh_token.reveal());
      return {};
    }};
  }

  std::unique_ptr<OAuthRC> make(std::optional<TimePoint> expires_at = std::nullopt,
                                OAuthRC::Options options = {}) {
    if (options.profile == "default") options.profile = "anthropic-main";
    options.jitter_seed = 42;
    return std::make_unique<OAuthRC>(
        transport, Credential::oauth(access, refresh_token, expires_at), std::move(options),
        OAuthRC::Components{.refresh = strategy(),
                            .store = persisting_store(),
                            .clock = clock,
                            .sleeper = sleeper,
                            .observer = observer});
  }
};

std::unique_ptr<StaticCredentialRC> make_static(
    const FakeTransport& transport, FakeClock clock,
    Credential credential = Credential::api_key(kApiKey)) {
  return std::make_unique<StaticCredentialRC>(
      transport, std::move(credential),
      StaticCredentialRC::Options{.profile = "static", .jitter_seed = 7},
      StaticCredentialRC::Components{.clock = clock, .sleeper = RecordingSleeper{clock}});
}

// --- refresh and replay -------------------------------------------------------------------

TEST(ResilientCredentialTest, RefreshesOnceOn401ThenReplays) {
  OAuthSetup setup;
  auto rc = setup.make();
  setup.server.expire_access_tokens();

  auto result = rc->send(api_request());

  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(setup.server.token_calls(), 1U);
  EXPECT_EQ(setup.transport.count(kApi), 2U);  // the original and one replay
  EXPECT_EQ(rc->status().generation, 2U);
  EXPECT_EQ(rc->status().state, CredentialState::ready);
}

TEST(ResilientCredentialTest, PersistsRotatedRefreshTokenBeforeUsingNewAccessToken) {
  OAuthSetup setup;
  auto rc = setup.make();
  setup.server.expire_access_tokens();

  ASSERT_TRUE(rc->send(api_request()));

  ASSERT_EQ(setup.store->refresh_tokens.size(), 1U);
  EXPECT_NE(setup.store->refresh_tokens[0], setup.refresh_token);  // rotated
  EXPECT_FALSE(setup.store->used_before_persisted);
  EXPECT_EQ(setup.observer.count(EventKind::rotation_persisted), 1U);
}

TEST(ResilientCredentialTest, SixteenThreadsOnOne401CallTheTokenEndpointOnce) {
  OAuthSetup setup;
  auto rc = setup.make();
  setup.server.expire_access_tokens();
  constexpr int kThreads = 16;
  std::latch start(kThreads);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      if (auto r = rc->send(api_request()); r && r->status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(ok.load(), kThreads);
  EXPECT_EQ(setup.server.token_calls(), 1U);
}

TEST(ResilientCredentialTest, RejectedReplacementIsRefreshedNotDeclaredDead) {
  // A request in flight sees the credential replaced by one whose access token is also rejected:
  // it replays with the replacement, and that 401 is refreshed once like any other, because the
  // replacement never came from a refresh.
  OAuthSetup setup;
  std::unique_ptr<OAuthRC> rc;
  std::atomic<bool> replaced{false};
  const auto login = setup.server.login();
  const std::string stale_access = login.first;
  const std::string live_refresh = login.second;
  setup.server.expire_access_tokens();
  setup.transport.on(kApi, [&](const Request& r) {
    if (!replaced.exchange(true)) {
      EXPECT_TRUE(rc->set_credential(Credential::oauth(stale_access, live_refresh, std::nullopt)));
    }
    return setup.server.handle_api(r);
  });
  rc = setup.make();

  auto result = rc->send(api_request());

  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(setup.server.token_calls(), 1U);
  EXPECT_EQ(rc->status().generation, 3U);  // the original, the replacement, its refresh
}

TEST(ResilientCredentialTest, ReplacementDuringARefreshIsRefreshedWhenRejected) {
  // A waits on its refresh at a blocked token endpoint, B waits for A's refresh, and a person
  // replaces the credential with one whose access token is rejected too. A's refresh is discarded;
  // B replays with the replacement and, rejected, refreshes it instead of declaring it dead.
  OAuthSetup setup;
  auto rc = setup.make();
  setup.server.expire_access_tokens();
  setup.server.block_token_endpoint();
  auto a = std::async(std::launch::async, [&] { return rc->send(api_request()); });
  while (setup.server.token_calls() == 0) std::this_thread::yield();
  auto b = std::async(std::launch::async, [&] { return rc->send(api_request()); });
  while (setup.transport.count(kApi) < 2) std::this_thread::yield();

  const auto login = setup.server.login();
  setup.server.expire_access_tokens();
  ASSERT_TRUE(rc->set_credential(Credential::oauth(login.first, login.second, std::nullopt)));
  setup.server.release_token_endpoint();

  auto ra = a.get();
  auto rb = b.get();
  ASSERT_TRUE(ra) << ra.error().message;
  ASSERT_TRUE(rb) << rb.error().message;
  EXPECT_EQ(rc->status().state, CredentialState::ready);
  EXPECT_EQ(setup.server.token_calls(), 2U);  // the discarded refresh and the replacement's
}

TEST(ResilientCredentialTest, AReplacementEndsTheWaitForAHangingRefresh) {
  OAuthSetup setup;
  auto rc = setup.make();
  setup.server.expire_access_tokens();
  setup.server.block_token_endpoint();
  auto a = std::async(std::launch::async, [&] { return rc->send(api_request()); });
  while (setup.server.token_calls() == 0) std::this_thread::yield();
  auto b = std::async(std::launch::async, [&] { return rc->send(api_request()); });
  while (setup.transport.count(kApi) < 2) std::this_thread::yield();

  const auto login = setup.server.login();  // a valid replacement
  ASSERT_TRUE(rc->set_credential(Credential::oauth(login.first, login.second, std::nullopt)));
  auto rb = b.get();  // returns while the token endpoint still hangs
  ASSERT_TRUE(rb) << rb.error().message;
  EXPECT_EQ(rb->status, 200);

  setup.server.release_token_endpoint();
  ASSERT_TRUE(a.get());
  EXPECT_EQ(rc->status().generation, 2U);  // the hanging refresh's result was discarded
}

TEST(ResilientCredentialTest, RejectionRightAfterRefreshNeedsReauthWithActionableError) {
  OAuthSetup setup;
  auto rc = setup.make();
  setup.server.expire_access_tokens();
  setup.server.issue_rejected_tokens(true);

  auto result = rc->send(api_request());

  ASSERT_FALSE(result);
  const Error& error = result.error();
  EXPECT_EQ(error.code, Errc::needs_reauth);
  ASSERT_TRUE(error.verdict);
  EXPECT_EQ(error.verdict->kind, VerdictKind::unauthenticated);
  EXPECT_NE(error.message.find("anthropic-main"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find(rc->status().fingerprint), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("Invalid bearer token"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("req_401"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("right after it was refreshed"), std::string::npos);
  EXPECT_NE(error.message.find("Fix: log in again"), std::string::npos) << error.message;
  EXPECT_EQ(error.message.find("rate limited"), std::string::npos) << error.message;
  EXPECT_EQ(error.message.find("cooling"), std::string::npos) << error.message;
  EXPECT_EQ(setup.server.token_calls(), 1U);

  const Status status = rc->status();
  EXPECT_EQ(status.state, CredentialState::needs_reauth);
  EXPECT_EQ(status.reason, VerdictKind::unauthenticated);
  EXPECT_EQ(status.consecutive_failures, 1U);

  // Later requests get the same actionable error, without touching the provider or escalating.
  const auto api_calls = setup.transport.count(kApi);
  auto again = rc->send(api_request());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::needs_reauth);
  EXPECT_NE(again.error().message.find("Invalid bearer token"), std::string::npos);
  EXPECT_EQ(setup.transport.count(kApi), api_calls);
  EXPECT_EQ(rc->status().consecutive_failures, 1U);

  // A person logs in again: the next request succeeds, no restart.
  setup.server.issue_rejected_tokens(false);
  auto [access, refresh_token] = setup.server.login();
  ASSERT_TRUE(rc->set_credential(Credential::oauth(access, refresh_token, std::nullopt)));
  auto recovered = rc->send(api_request());
  ASSERT_TRUE(recovered) << recovered.error().message;
  EXPECT_EQ(recovered->status, 200);
  EXPECT_EQ(rc->status().state, CredentialState::ready);
}

TEST(ResilientCredentialTest, StaticTokenRejectionNeedsReauthAtOnce) {
  FakeTransport transport;
  FakeClock clock;
  transport.on(kApi, [](const Request&) {
    return json_response(
        401, R"({"error":{"type":"authentication_error","message":"invalid x-api-key"}})");
  });
  auto rc = make_static(transport, clock);

  auto result = rc->send(api_request());

  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::needs_reauth);
  EXPECT_NE(result.error().message.find("cannot be refreshed"), std::string::npos);
  EXPECT_NE(result.error().message.find("invalid x-api-key"), std::string::npos);
  EXPECT_EQ(transport.count(kApi), 1U);
  EXPECT_EQ(rc->status().state, CredentialState::needs_reauth);
}

// --- cooldowns and probes -----------------------------------------------------------------

TEST(ResilientCredentialTest, RateLimitCoolsForTheServersWaitThenProbesOnce) {
  FakeTransport transport;
  FakeClock clock;
  std::atomic<int> mode{429};
  std::unique_ptr<StaticCredentialRC> rc;
  std::optional<Result<Response>> nested;
  transport.on(kApi, [&](const Request&) -> TransportResult {
    if (mode == 429)
      return json_response(429, R"({"error":{"type":"rate_limit_error"}})",
                           {{"retry-after", "20"}});
    // The probe: while it is in flight, every other request is refused without being sent.
    nested.emplace(rc->send(api_request()));
    return response(200);
  });
  rc = make_static(transport, clock);
  const TimePoint t0 = clock.now();

  auto limited = rc->send(api_request());
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().code, Errc::cooling_down);
  EXPECT_EQ(rc->status().state, CredentialState::cooling);
  EXPECT_EQ(rc->status().until, t0 + 20s);
  EXPECT_NE(limited.error().message.find("not an authentication failure"), std::string::npos);

  clock.advance(19s);
  auto refused = rc->send(api_request());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::cooling_down);
  EXPECT_EQ(transport.count(kApi), 1U);

  clock.advance(1s);
  mode = 200;
  auto probe = rc->send(api_request());
  ASSERT_TRUE(probe) << probe.error().message;
  ASSERT_TRUE(nested.has_value());
  ASSERT_FALSE(*nested);
  EXPECT_NE(nested->error().message.find("probe"), std::string::npos);
  EXPECT_EQ(transport.count(kApi), 2U);  // the 429 and the probe; the nested one was refused
  const Status status = rc->status();
  EXPECT_EQ(status.state, CredentialState::ready);
  EXPECT_EQ(status.consecutive_failures, 0U);
  EXPECT_FALSE(status.until);
}

// The late 429 counts no new failure, but its server-stated wait ends later than the window:
// the window is extended to the server's time (a window never shrinks).
TEST(ResilientCredentialTest, FailureDuringTheWindowCountsNoFailureAndOnlyTheServersWaitExtends) {
  FakeTransport transport;
  FakeClock clock;
  std::promise<void> first_done;
  auto first_done_future = first_done.get_future().share();
  std::latch both_in_flight(2);
  const auto first_thread = std::this_thread::get_id();
  transport.on(kApi, [&](const Request&) {
    both_in_flight.arrive_and_wait();
    if (std::this_thread::get_id() == first_thread) {
      return json_response(429, "{}", {{"retry-after", "20"}});
    }
    first_done_future.wait();  // answers after the first 429 has opened the window
    return json_response(429, "{}", {{"retry-after", "60"}});
  });
  auto rc = make_static(transport, clock);
  const TimePoint t0 = clock.now();

  auto second = std::async(std::launch::async, [&] { return rc->send(api_request()); });
  auto first = rc->send(api_request());
  ASSERT_FALSE(first);
  clock.advance(5s);
  first_done.set_value();
  auto late = second.get();

  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Errc::cooling_down);
  EXPECT_EQ(rc->status().until, t0 + 65s);
  EXPECT_EQ(rc->status().consecutive_failures, 1U);
}

TEST(ResilientCredentialTest, FailedProbeOpensALongerWindowAndSuccessResetsTheCounters) {
  FakeTransport transport;
  FakeClock clock;
  std::atomic<int> status{429};
  transport.on(kApi, [&](const Request&) { return response(status.load()); });
  auto rc = make_static(transport, clock);

  ASSERT_FALSE(rc->send(api_request()));
  const auto first_until = *rc->status().until;
  EXPECT_LE(first_until - clock.now(), 30s);  // full jitter within the first 30 s window
  clock.advance(first_until - clock.now());
  ASSERT_FALSE(rc->send(api_request()));  // the probe is rate limited again
  EXPECT_EQ(rc->status().consecutive_failures, 2U);
  EXPECT_LE(*rc->status().until - clock.now(), 60s);

  clock.advance(*rc->status().until - clock.now());
  status = 200;
  ASSERT_TRUE(rc->send(api_request()));
  EXPECT_EQ(rc->status().consecutive_failures, 0U);

  // A new failure starts from the first window again: old failures have decayed.
  status = 429;
  ASSERT_FALSE(rc->send(api_request()));
  EXPECT_EQ(rc->status().consecutive_failures, 1U);
  EXPECT_LE(*rc->status().until - clock.now(), 30s);
}

TEST(ResilientCredentialTest, QuotaExhaustionIsOutForFiveHours) {
  FakeTransport transport;
  FakeClock clock;
  transport.on(kApi, [](const Request&) { return response(402); });
  struct QuotaClassifier : classify::HttpStatus {
    [[nodiscard]] Verdict classify(const Response& r, const ClassifyContext& c) const {
      Verdict v = HttpStatus::classify(r, c);
      if (r.status == 402) v.kind = VerdictKind::quota_exhausted;
      v.fix = "buy credits at console.example.test/billing";
      return v;
    }
    using HttpStatus::classify;
  };
  struct Policies : TestPolicies {
    using Classifier = QuotaClassifier;
  };
  ResilientCredential<FakeTransport, Policies> rc{
      transport,
      Credential::api_key(kApiKey),
      {},
      {.clock = clock, .sleeper = RecordingSleeper{clock}}};

  auto result = rc.send(api_request());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::cooling_down);
  EXPECT_EQ(rc.status().until, clock.now() + 5h);
  EXPECT_NE(result.error().message.find("quota"), std::string::npos);
  // No application text was configured, so the classifier's fix reaches the person.
  EXPECT_NE(result.error().message.find("Fix: buy credits at console.example.test/billing"),
            std::string::npos)
      << result.error().message;
}

TEST(ResilientCredentialTest, MisconfiguredNeedsReauthWithoutRefreshOrProbe) {
  OAuthSetup setup;
  setup.transport.on(kApi, [](const Request&) { return response(400); });
  struct MisconfiguredClassifier : classify::HttpStatus {
    [[nodiscard]] Verdict classify(const Response& r, const ClassifyContext& c) const {
      Verdict v = HttpStatus::classify(r, c);
      v.kind = c.credential == CredentialKind::oauth ? VerdictKind::misconfigured : v.kind;
      v.message = "OAuth authentication is currently not supported";
      v.fix = "send OAuth tokens with the anthropic-beta header";
      return v;
    }
    using HttpStatus::classify;
  };
  struct Policies : OAuthPolicies {
    using Classifier = MisconfiguredClassifier;
  };
  ResilientCredential<FakeTransport, Policies> rc{
      setup.transport,
      Credential::oauth(setup.access, setup.refresh_token, std::nullopt),
      {.profile = "anthropic-main"},
      {.refresh = setup.strategy(), .clock = setup.clock, .sleeper = setup.sleeper}};

  auto result = rc.send(api_request());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::needs_reauth);
  EXPECT_NE(result.error().message.find("Refreshing cannot help"), std::string::npos);
  // The classifier saw the credential's kind and its fix reached the person.
  EXPECT_NE(result.error().message.find("Fix: send OAuth tokens with the anthropic-beta header"),
            std::string::npos)
      << result.error().message;
  EXPECT_EQ(setup.server.token_calls(), 0U);
  EXPECT_FALSE(rc.status().until);  // no probe: only a person can fix the configuration
  setup.clock.advance(24h);
  EXPECT_FALSE(rc.send(api_request()));
  EXPECT_EQ(setup.transport.count(kApi), 1U);
}

TEST(ResilientCredentialTest, RejectedStaticCredentialIsProbedAfterTenMinutes) {
  FakeTransport transport;
  FakeClock clock;
  std::atomic<int> status{401};
  transport.on(kApi, [&](const Request&) { return response(status.load()); });
  auto rc = make_static(transport, clock);

  ASSERT_FALSE(rc->send(api_request()));
  EXPECT_EQ(rc->status().until, clock.now() + 10min);
  clock.advance(10min);
  ASSERT_FALSE(rc->send(api_request()));  // the probe: still rejected, next one in 20 min
  EXPECT_EQ(rc->status().until, clock.now() + 20min);
  EXPECT_EQ(rc->status().state, CredentialState::needs_reauth);
  clock.advance(20min);
  status = 200;  // the provider's 401s were transient after all
  ASSERT_TRUE(rc->send(api_request()));
  EXPECT_EQ(rc->status().state, CredentialState::ready);
}

// Provider-scoped failures (retries, transport failures, forbidden and request errors) run
// against both faces of the driver: tests/driver_faces_test.cpp.

// --- the token endpoint ---------------------------------------------------------------------

TEST(ResilientCredentialTest, TokenEndpointOutageKeepsServingTheValidTokenAndBacksOff) {
  OAuthSetup setup;
  auto rc = setup.make(setup.clock.now() + 10min);  // inside... not yet: soft threshold is 5 min
  setup.server.token_endpoint_status(503);
  setup.clock.advance(6min);  // past the soft threshold, token still valid for 4 min

  ASSERT_TRUE(rc->send(api_request()));  // the refresh fails, the request still succeeds
  EXPECT_EQ(setup.server.token_calls(), 1U);
  ASSERT_TRUE(rc->send(api_request()));  // backing off: no second token request yet
  EXPECT_EQ(setup.server.token_calls(), 1U);
  EXPECT_EQ(rc->status().refresh_failures, 1U);

  setup.clock.advance(5s);  // the first backoff has passed
  ASSERT_TRUE(rc->send(api_request()));
  EXPECT_EQ(setup.server.token_calls(), 2U);
  ASSERT_TRUE(rc->send(api_request()));
  EXPECT_EQ(setup.server.token_calls(), 2U);  // now backing off for 10 s
  setup.clock.advance(10s);
  setup.server.token_endpoint_status(0);
  ASSERT_TRUE(rc->send(api_request()));
  EXPECT_EQ(setup.server.token_calls(), 3U);
  EXPECT_EQ(rc->status().generation, 2U);
  EXPECT_EQ(rc->status().refresh_failures, 0U);
}

TEST(ResilientCredentialTest, ExpiredTokenWithUnreachableTokenEndpointFailsClearly) {
  OAuthSetup setup;
  auto rc = setup.make(setup.clock.now() + 1min);
  setup.server.token_endpoint_status(503);
  setup.clock.advance(2min);
  auto result = rc->send(api_request());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::refresh_failed);
  EXPECT_NE(result.error().message.find("has expired"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(setup.transport.count(kApi), 0U);
  EXPECT_EQ(rc->status().state, CredentialState::ready);  // not cooled: the provider is at fault
}

TEST(ResilientCredentialTest, InvalidGrantNeedsReauth) {
  OAuthSetup setup;
  auto rc = setup.make();
  setup.server.expire_access_tokens();
  setup.server.revoke_grant();

  auto result = rc->send(api_request());

  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::needs_reauth);
  EXPECT_NE(result.error().message.find("invalid_grant"), std::string::npos)
      << result.error().message;
  EXPECT_NE(result.error().message.find("refused the refresh token"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(result.error().message.find("The provider rejected"), std::string::npos);
  EXPECT_EQ(rc->status().state, CredentialState::needs_reauth);
  EXPECT_EQ(setup.server.token_calls(), 1U);
}

TEST(ResilientCredentialTest, SoftThresholdRefreshLetsOthersProceedWithTheCurrentToken) {
  OAuthSetup setup;
  auto rc = setup.make(setup.clock.now() + 10min);
  setup.clock.advance(6min);
  setup.server.block_token_endpoint();

  auto refresher = std::async(std::launch::async, [&] { return rc->send(api_request()); });
  while (setup.server.token_calls() == 0) std::this_thread::yield();
  // The refresh is in flight and blocked: other callers carry on with the still-valid token.
  auto other = rc->send(api_request());
  ASSERT_TRUE(other);
  EXPECT_EQ(bearer_of(setup.transport.requests().back()), "Bearer " + setup.access);
  EXPECT_EQ(rc->status().state, CredentialState::refreshing);

  setup.server.release_token_endpoint();
  ASSERT_TRUE(refresher.get());
  EXPECT_EQ(setup.server.token_calls(), 1U);
  EXPECT_EQ(rc->status().generation, 2U);
  EXPECT_NE(bearer_of(setup.transport.requests().back()), "Bearer " + setup.access);
}

TEST(ResilientCredentialTest, PastTheHardThresholdCallersWaitForTheRefresh) {
  OAuthSetup setup;
  auto rc = setup.make(setup.clock.now() + 10min);
  setup.clock.advance(9min + 45s);  // 15 s left: inside the 30 s hard margin
  setup.server.block_token_endpoint();

  auto refresher = std::async(std::launch::async, [&] { return rc->send(api_request()); });
  while (setup.server.token_calls() == 0) std::this_thread::yield();
  auto waiter = std::async(std::launch::async, [&] { return rc->send(api_request()); });
  EXPECT_EQ(setup.transport.count(kApi), 0U);
  setup.server.release_token_endpoint();

  ASSERT_TRUE(refresher.get());
  ASSERT_TRUE(waiter.get());
  EXPECT_EQ(setup.server.token_calls(), 1U);
  for (const auto& r : setup.transport.requests()) {
    if (r.url == kApi) {
      EXPECT_NE(bearer_of(r), "Bearer " + setup.access);
    }
  }
}

TEST(ResilientCredentialTest, WaitingForARefreshHasADeadlineOnTheInjectedClock) {
  // The deadline is an hour of the injected clock: a real-clock deadline would hang this test.
  OAuthSetup setup;
  auto rc = setup.make(setup.clock.now() + 10min, {.refresh = {.wait_timeout = 1h}});
  setup.clock.advance(11min);  // expired
  setup.server.block_token_endpoint();

  auto refresher = std::async(std::launch::async, [&] { return rc->send(api_request()); });
  while (setup.server.token_calls() == 0) std::this_thread::yield();
  auto waiter = std::async(std::launch::async, [&] { return rc->send(api_request()); });
  while (waiter.wait_for(std::chrono::milliseconds{1}) != std::future_status::ready) {
    setup.clock.advance(10min);
  }
  auto waited = waiter.get();
  ASSERT_FALSE(waited);
  EXPECT_EQ(waited.error().code, Errc::refresh_timeout);
  setup.server.release_token_endpoint();
  ASSERT_TRUE(refresher.get());
}

TEST(ResilientCredentialTest, FailingPersistReachesTheCallerAndKeepsStateIntact) {
  OAuthSetup setup;
  auto rc = setup.make();
  setup.server.expire_access_tokens();
  setup.store->fail = true;

  auto result = rc->send(api_request());

  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::persist_failed);
  EXPECT_NE(result.error().message.find("disk full"), std::string::npos);
  EXPECT_TRUE(setup.store->refresh_tokens.empty());
  EXPECT_EQ(rc->status().generation, 1U);  // the unpersisted credential was not installed
  for (const auto& r : setup.transport.requests()) {
    if (r.url == kApi) {
      EXPECT_EQ(bearer_of(r), "Bearer " + setup.access);
    }
  }

  // The spent refresh token is not redeemed again: the next attempt retries only the persist.
  setup.store->fail = false;
  setup.clock.advance(5s);
  auto retried = rc->send(api_request());
  ASSERT_TRUE(retried) << retried.error().message;
  EXPECT_EQ(setup.server.token_calls(), 1U);
  ASSERT_EQ(setup.store->refresh_tokens.size(), 1U);
  EXPECT_EQ(rc->status().generation, 2U);
}

// --- replacement and validation -------------------------------------------------------------

TEST(ResilientCredentialTest, SetCredentialRefusesAnUnusableCredentialAndKeepsTheCurrentOne) {
  FakeTransport transport;
  FakeClock clock;
  transport.on(kApi, [](const Request&) { return response(200); });
  auto rc = make_static(transport, clock);
  auto refused = rc->set_credential(Credential::api_key("sk-test-key-0123\n456789abcdef"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::invalid_credential);
  EXPECT_NE(refused.error().message.find("line break at character 17"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(refused.error().message.find("0123"), std::string::npos);
  EXPECT_EQ(rc->status().generation, 1U);
  ASSERT_TRUE(rc->send(api_request()));
  EXPECT_EQ(bearer_of(transport.requests().back()), "Bearer " + kApiKey);
}

TEST(ResilientCredentialTest, ConstructorRejectsUnusableCredentialsAndOptions) {
  FakeTransport transport;
  EXPECT_THROW(StaticCredentialRC(transport, Credential::api_key("")), std::invalid_argument);
  EXPECT_THROW(StaticCredentialRC(transport, Credential::api_key("Bearer sk-test-0123456789")),
               std::invalid_argument);
  EXPECT_THROW(
      StaticCredentialRC(transport, Credential::api_key(kApiKey), {.retry = {.max_attempts = 0}}),
      std::invalid_argument);
}

TEST(ResilientCredentialTest, WithCurrentReadsTheLatestCredentialAndState) {
  FakeTransport transport;
  FakeClock clock;
  transport.on(kApi, [](const Request&) { return response(429, "", {{"retry-after", "20"}}); });
  auto rc = make_static(transport, clock);
  using Current = StaticCredentialRC::Current;
  const auto token = [&] {
    return rc->with_current(
        [](const Current& c) { return std::string{c.credential.token.reveal()}; });
  };
  const auto state = [&] { return rc->with_current([](const Current& c) { return c.state; }); };
  EXPECT_EQ(token(), kApiKey);
  EXPECT_EQ(state(), CredentialState::ready);
  ASSERT_FALSE(rc->send(api_request()));
  EXPECT_EQ(state(), CredentialState::cooling);
  EXPECT_EQ(rc->with_current([](const Current& c) { return c.until; }), clock.now() + 20s);
  ASSERT_TRUE(rc->set_credential(Credential::api_key("sk-test-key-replacement-0001")));
  EXPECT_EQ(token(), "sk-test-key-replacement-0001");
  EXPECT_EQ(rc->with_current([](const Current& c) { return c.generation; }), 2U);
  EXPECT_EQ(state(), CredentialState::ready);
}

TEST(ResilientCredentialTest, StatusRendersAsJson) {
  FakeTransport transport;
  FakeClock clock;
  transport.on(kApi, [](const Request&) { return response(429, "", {{"retry-after", "20"}}); });
  auto rc = make_static(transport, clock);
  ASSERT_FALSE(rc->send(api_request()));
  const std::string json = to_json(rc->status());
  EXPECT_NE(json.find(R"("state":"cooling")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("reason":"rate_limited")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("until":"2026-02-04T12:00:20Z")"), std::string::npos) << json;
  EXPECT_TRUE(detail::json::parse(json).has_value()) << json;
}

}  // namespace
}  // namespace keyward
