// The driver's refreshes through both faces (tests/driver/faces.hpp), against FakeOAuthServer:
// refresh once and replay, persist before use, single flight, replacements during a refresh,
// rejection after a refresh, the token endpoint's outages and the refresh thresholds.
#include <atomic>
#include <future>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "driver/faces.hpp"

namespace keyward::testing {
namespace {

using namespace std::chrono_literals;

// A sends and refreshes at the blocked token endpoint; B, sent once A's refresh is under way,
// waits for it. Both are in flight when this returns.
template <class Face, class Subject>
std::pair<std::future<Result<Response>>, std::future<Result<Response>>> behind_a_hanging_refresh(
    OAuthSetup<Face>& setup, Subject& rc) {
  Subject* subject = &rc;
  setup.server.block_token_endpoint();
  auto a =
      std::async(std::launch::async, [subject] { return Face::send(*subject, api_request()); });
  while (setup.server.token_calls() == 0) std::this_thread::yield();
  auto b =
      std::async(std::launch::async, [subject] { return Face::send(*subject, api_request()); });
  while (setup.transport.count(kApi) < 2) std::this_thread::yield();
  return {std::move(a), std::move(b)};
}

// --- refresh and replay -------------------------------------------------------------------

TYPED_TEST(DriverFacesTest, RefreshesOnceOn401ThenReplays) {
  OAuthSetup<TypeParam> setup;
  auto rc = setup.make();
  setup.server.expire_access_tokens();

  auto result = TypeParam::send(*rc, api_request());

  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(setup.server.token_calls(), 1U);
  EXPECT_EQ(setup.transport.count(kApi), 2U);  // the original and one replay
  EXPECT_EQ(TypeParam::status(*rc).generation, 2U);
  EXPECT_EQ(TypeParam::status(*rc).state, CredentialState::ready);
}

TYPED_TEST(DriverFacesTest, PersistsRotatedRefreshTokenBeforeUsingNewAccessToken) {
  OAuthSetup<TypeParam> setup;
  auto rc = setup.make();
  setup.server.expire_access_tokens();

  ASSERT_TRUE(TypeParam::send(*rc, api_request()));

  ASSERT_EQ(setup.store->refresh_tokens.size(), 1U);
  EXPECT_NE(setup.store->refresh_tokens[0], setup.refresh_token);  // rotated
  EXPECT_FALSE(setup.store->used_before_persisted);
  EXPECT_EQ(setup.observer.count(EventKind::rotation_persisted), 1U);
}

TYPED_TEST(DriverFacesTest, SixteenThreadsOnOne401CallTheTokenEndpointOnce) {
  OAuthSetup<TypeParam> setup;
  auto rc = setup.make();
  setup.server.expire_access_tokens();
  constexpr int kThreads = 16;
  std::latch start(kThreads);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      if (auto r = TypeParam::send(*rc, api_request()); r && r->status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(ok.load(), kThreads);
  EXPECT_EQ(setup.server.token_calls(), 1U);
}

TYPED_TEST(DriverFacesTest, RejectedReplacementIsRefreshedNotDeclaredDead) {
  // A request in flight sees the credential replaced by one whose access token is also rejected:
  // it replays with the replacement, and that 401 is refreshed once like any other, because the
  // replacement never came from a refresh.
  OAuthSetup<TypeParam> setup;
  std::unique_ptr<typename OAuthSetup<TypeParam>::Subject> rc;
  std::atomic<bool> replaced{false};
  const auto login = setup.server.login();
  const std::string stale_access = login.first;
  const std::string live_refresh = login.second;
  setup.server.expire_access_tokens();
  setup.transport.on(kApi, [&](const Request& r) {
    if (!replaced.exchange(true)) {
      EXPECT_TRUE(TypeParam::set_credential(
          *rc, Credential::oauth(stale_access, live_refresh, std::nullopt)));
    }
    return setup.server.handle_api(r);
  });
  rc = setup.make();

  auto result = TypeParam::send(*rc, api_request());

  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(setup.server.token_calls(), 1U);
  EXPECT_EQ(TypeParam::status(*rc).generation, 3U);  // the original, the replacement, its refresh
}

TYPED_TEST(DriverFacesTest, ReplacementDuringARefreshIsRefreshedWhenRejected) {
  // A waits on its refresh at a blocked token endpoint, B waits for A's refresh, and a person
  // replaces the credential with one whose access token is rejected too. A's refresh is discarded;
  // B replays with the replacement and, rejected, refreshes it instead of declaring it dead.
  OAuthSetup<TypeParam> setup;
  auto rc = setup.make();
  setup.server.expire_access_tokens();
  auto [a, b] = behind_a_hanging_refresh(setup, *rc);

  const auto login = setup.server.login();
  setup.server.expire_access_tokens();
  ASSERT_TRUE(
      TypeParam::set_credential(*rc, Credential::oauth(login.first, login.second, std::nullopt)));
  setup.server.release_token_endpoint();

  auto ra = a.get();
  auto rb = b.get();
  ASSERT_TRUE(ra) << ra.error().message;
  ASSERT_TRUE(rb) << rb.error().message;
  EXPECT_EQ(TypeParam::status(*rc).state, CredentialState::ready);
  EXPECT_EQ(setup.server.token_calls(), 2U);  // the discarded refresh and the replacement's
}

TYPED_TEST(DriverFacesTest, AReplacementEndsTheWaitForAHangingRefresh) {
  OAuthSetup<TypeParam> setup;
  auto rc = setup.make();
  setup.server.expire_access_tokens();
  auto [a, b] = behind_a_hanging_refresh(setup, *rc);

  const auto login = setup.server.login();  // a valid replacement
  ASSERT_TRUE(
      TypeParam::set_credential(*rc, Credential::oauth(login.first, login.second, std::nullopt)));
  auto rb = b.get();  // returns while the token endpoint still hangs
  ASSERT_TRUE(rb) << rb.error().message;
  EXPECT_EQ(rb->status, 200);

  setup.server.release_token_endpoint();
  ASSERT_TRUE(a.get());
  EXPECT_EQ(TypeParam::status(*rc).generation, 2U);  // the hanging refresh's result was discarded
}

TYPED_TEST(DriverFacesTest, RejectionRightAfterRefreshNeedsReauthWithActionableError) {
  OAuthSetup<TypeParam> setup;
  auto rc = setup.make();
  setup.server.expire_access_tokens();
  setup.server.issue_rejected_tokens(true);

  auto result = TypeParam::send(*rc, api_request());

  ASSERT_FALSE(result);
  const Error& error = result.error();
  EXPECT_EQ(error.code, TypeParam::out(Errc::needs_reauth));
  ASSERT_TRUE(error.verdict);
  EXPECT_EQ(error.verdict->kind, VerdictKind::unauthenticated);
  EXPECT_NE(error.message.find("anthropic-main"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find(TypeParam::status(*rc).fingerprint), std::string::npos)
      << error.message;
  EXPECT_NE(error.message.find("Invalid bearer token"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("req_401"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("right after it was refreshed"), std::string::npos);
  EXPECT_NE(error.message.find("Fix: log in again"), std::string::npos) << error.message;
  EXPECT_EQ(error.message.find("rate limited"), std::string::npos) << error.message;
  EXPECT_EQ(error.message.find("cooling"), std::string::npos) << error.message;
  EXPECT_EQ(setup.server.token_calls(), 1U);

  const Status status = TypeParam::status(*rc);
  EXPECT_EQ(status.state, CredentialState::needs_reauth);
  EXPECT_EQ(status.reason, VerdictKind::unauthenticated);
  EXPECT_EQ(status.consecutive_failures, 1U);

  // Later requests get the same actionable error, without touching the provider or escalating.
  const auto api_calls = setup.transport.count(kApi);
  auto again = TypeParam::send(*rc, api_request());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, TypeParam::out(Errc::needs_reauth));
  EXPECT_NE(again.error().message.find("Invalid bearer token"), std::string::npos);
  EXPECT_EQ(setup.transport.count(kApi), api_calls);
  EXPECT_EQ(TypeParam::status(*rc).consecutive_failures, 1U);

  // A person logs in again: the next request succeeds, no restart.
  setup.server.issue_rejected_tokens(false);
  auto [access, refresh_token] = setup.server.login();
  ASSERT_TRUE(
      TypeParam::set_credential(*rc, Credential::oauth(access, refresh_token, std::nullopt)));
  auto recovered = TypeParam::send(*rc, api_request());
  ASSERT_TRUE(recovered) << recovered.error().message;
  EXPECT_EQ(recovered->status, 200);
  EXPECT_EQ(TypeParam::status(*rc).state, CredentialState::ready);
}

TYPED_TEST(DriverFacesTest, StaticTokenRejectionNeedsReauthAtOnce) {
  this->transport.on(kApi, [](const Request&) {
    return json_response(
        401, R"({"error":{"type":"authentication_error","message":"invalid x-api-key"}})");
  });
  auto rc = make_static<TypeParam>(this->transport, this->clock);

  auto result = TypeParam::send(*rc, api_request());

  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, TypeParam::out(Errc::needs_reauth));
  EXPECT_NE(result.error().message.find("cannot be refreshed"), std::string::npos);
  EXPECT_NE(result.error().message.find("invalid x-api-key"), std::string::npos);
  EXPECT_EQ(this->transport.count(kApi), 1U);
  EXPECT_EQ(TypeParam::status(*rc).state, CredentialState::needs_reauth);
}

// --- the token endpoint ---------------------------------------------------------------------

TYPED_TEST(DriverFacesTest, TokenEndpointOutageKeepsServingTheValidTokenAndBacksOff) {
  OAuthSetup<TypeParam> setup;
  auto rc = setup.make(setup.clock.now() + 10min);  // inside... not yet: soft threshold is 5 min
  setup.server.token_endpoint_status(503);
  setup.clock.advance(6min);  // past the soft threshold, token still valid for 4 min

  ASSERT_TRUE(
      TypeParam::send(*rc, api_request()));  // the refresh fails, the request still succeeds
  EXPECT_EQ(setup.server.token_calls(), 1U);
  ASSERT_TRUE(TypeParam::send(*rc, api_request()));  // backing off: no second token request yet
  EXPECT_EQ(setup.server.token_calls(), 1U);
  EXPECT_EQ(TypeParam::status(*rc).refresh_failures, 1U);

  setup.clock.advance(5s);  // the first backoff has passed
  ASSERT_TRUE(TypeParam::send(*rc, api_request()));
  EXPECT_EQ(setup.server.token_calls(), 2U);
  ASSERT_TRUE(TypeParam::send(*rc, api_request()));
  EXPECT_EQ(setup.server.token_calls(), 2U);  // now backing off for 10 s
  setup.clock.advance(10s);
  setup.server.token_endpoint_status(0);
  ASSERT_TRUE(TypeParam::send(*rc, api_request()));
  EXPECT_EQ(setup.server.token_calls(), 3U);
  EXPECT_EQ(TypeParam::status(*rc).generation, 2U);
  EXPECT_EQ(TypeParam::status(*rc).refresh_failures, 0U);
}

TYPED_TEST(DriverFacesTest, ExpiredTokenWithUnreachableTokenEndpointFailsClearly) {
  OAuthSetup<TypeParam> setup;
  auto rc = setup.make(setup.clock.now() + 1min);
  setup.server.token_endpoint_status(503);
  setup.clock.advance(2min);
  auto result = TypeParam::send(*rc, api_request());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, TypeParam::out(Errc::refresh_failed));
  EXPECT_NE(result.error().message.find("has expired"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(setup.transport.count(kApi), 0U);
  EXPECT_EQ(TypeParam::status(*rc).state,
            CredentialState::ready);  // not cooled: the provider is at fault
}

TYPED_TEST(DriverFacesTest, InvalidGrantNeedsReauth) {
  OAuthSetup<TypeParam> setup;
  auto rc = setup.make();
  setup.server.expire_access_tokens();
  setup.server.revoke_grant();

  auto result = TypeParam::send(*rc, api_request());

  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, TypeParam::out(Errc::needs_reauth));
  EXPECT_NE(result.error().message.find("invalid_grant"), std::string::npos)
      << result.error().message;
  EXPECT_NE(result.error().message.find("refused the refresh token"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(result.error().message.find("The provider rejected"), std::string::npos);
  EXPECT_EQ(TypeParam::status(*rc).state, CredentialState::needs_reauth);
  EXPECT_EQ(setup.server.token_calls(), 1U);
}

TYPED_TEST(DriverFacesTest, SoftThresholdRefreshLetsOthersProceedWithTheCurrentToken) {
  OAuthSetup<TypeParam> setup;
  auto rc = setup.make(setup.clock.now() + 10min);
  setup.clock.advance(6min);
  setup.server.block_token_endpoint();

  auto refresher =
      std::async(std::launch::async, [&] { return TypeParam::send(*rc, api_request()); });
  while (setup.server.token_calls() == 0) std::this_thread::yield();
  // The refresh is in flight and blocked: other callers carry on with the still-valid token.
  auto other = TypeParam::send(*rc, api_request());
  ASSERT_TRUE(other);
  EXPECT_EQ(bearer_of(setup.transport.requests().back()), "Bearer " + setup.access);
  EXPECT_EQ(TypeParam::status(*rc).state, CredentialState::refreshing);

  setup.server.release_token_endpoint();
  ASSERT_TRUE(refresher.get());
  EXPECT_EQ(setup.server.token_calls(), 1U);
  EXPECT_EQ(TypeParam::status(*rc).generation, 2U);
  EXPECT_NE(bearer_of(setup.transport.requests().back()), "Bearer " + setup.access);
}

TYPED_TEST(DriverFacesTest, PastTheHardThresholdCallersWaitForTheRefresh) {
  OAuthSetup<TypeParam> setup;
  auto rc = setup.make(setup.clock.now() + 10min);
  setup.clock.advance(9min + 45s);  // 15 s left: inside the 30 s hard margin
  setup.server.block_token_endpoint();

  auto refresher =
      std::async(std::launch::async, [&] { return TypeParam::send(*rc, api_request()); });
  while (setup.server.token_calls() == 0) std::this_thread::yield();
  auto waiter = std::async(std::launch::async, [&] { return TypeParam::send(*rc, api_request()); });
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

TYPED_TEST(DriverFacesTest, WaitingForARefreshHasADeadlineOnTheInjectedClock) {
  // The deadline is an hour of the injected clock: a real-clock deadline would hang this test.
  OAuthSetup<TypeParam> setup;
  auto rc = setup.make(setup.clock.now() + 10min, {.refresh = {.wait_timeout = 1h}});
  setup.clock.advance(11min);  // expired
  setup.server.block_token_endpoint();

  auto refresher =
      std::async(std::launch::async, [&] { return TypeParam::send(*rc, api_request()); });
  while (setup.server.token_calls() == 0) std::this_thread::yield();
  auto waiter = std::async(std::launch::async, [&] { return TypeParam::send(*rc, api_request()); });
  while (waiter.wait_for(std::chrono::milliseconds{1}) != std::future_status::ready) {
    setup.clock.advance(10min);
  }
  auto waited = waiter.get();
  ASSERT_FALSE(waited);
  EXPECT_EQ(waited.error().code, TypeParam::out(Errc::refresh_timeout));
  setup.server.release_token_endpoint();
  ASSERT_TRUE(refresher.get());
}

TYPED_TEST(DriverFacesTest, FailingPersistReachesTheCallerAndKeepsStateIntact) {
  OAuthSetup<TypeParam> setup;
  auto rc = setup.make();
  setup.server.expire_access_tokens();
  setup.store->fail = true;

  auto result = TypeParam::send(*rc, api_request());

  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, TypeParam::out(Errc::persist_failed));
  EXPECT_NE(result.error().message.find("disk full"), std::string::npos);
  EXPECT_TRUE(setup.store->refresh_tokens.empty());
  EXPECT_EQ(TypeParam::status(*rc).generation, 1U);  // the unpersisted credential was not installed
  for (const auto& r : setup.transport.requests()) {
    if (r.url == kApi) {
      EXPECT_EQ(bearer_of(r), "Bearer " + setup.access);
    }
  }

  // The spent refresh token is not redeemed again: the next attempt retries only the persist.
  setup.store->fail = false;
  setup.clock.advance(5s);
  auto retried = TypeParam::send(*rc, api_request());
  ASSERT_TRUE(retried) << retried.error().message;
  EXPECT_EQ(setup.server.token_calls(), 1U);
  ASSERT_EQ(setup.store->refresh_tokens.size(), 1U);
  EXPECT_EQ(TypeParam::status(*rc).generation, 2U);
}

}  // namespace
}  // namespace keyward::testing
