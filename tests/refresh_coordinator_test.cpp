// RefreshCoordinator with a real store::Memory and scripted redemption: lease, re-read, redeem,
// check, persist, publish, and what each failure leaves behind. No transport, no sleep.
#include "keyward/refresh_coordinator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "keyward/cooldown/exponential_backoff.hpp"
#include "keyward/preflight.hpp"
#include "keyward/store/memory.hpp"
#include "support/fake_clock.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using Cell = CredentialCell<cooldown::ExponentialBackoff>;
using Coordinator = RefreshCoordinator<Cell, store::Memory, FakeClock>;

const std::string kAccess = "sk-test-access-0123456789ab";
const std::string kRefresh = "sk-test-refresh-0123456789";

// Redeems through a script, checks with preflight::Generic, records events.
struct ScriptedHooks {
  std::function<Result<RefreshOutcome>(const Credential&)> script;
  int redeems = 0;
  std::vector<EventKind> events;
  std::vector<std::string> texts;  // every verdict message an event carried

  Result<RefreshOutcome> redeem(const Credential& credential, TimePoint /*now*/) {
    ++redeems;
    return script(credential);
  }
  std::optional<std::string> problems(const Credential& credential, TimePoint now) const {
    const auto findings = preflight::Generic{}.validate(credential, now);
    if (findings.empty()) return std::nullopt;
    return findings.front().message;
  }
  TokenTraits traits(const Credential& credential) const {
    return {credential.kind == CredentialKind::oauth && !credential.refresh_token.empty(), {}};
  }
  void notify(EventKind kind, const detail::Token& /*token*/, const Verdict* verdict,
              std::optional<TimePoint> /*until*/) {
    events.push_back(kind);
    if (verdict != nullptr) texts.push_back(verdict->message);
  }
  [[nodiscard]] std::size_t count(EventKind kind) const {
    return static_cast<std::size_t>(std::count(events.begin(), events.end(), kind));
  }
};

RefreshOutcome rotated(int n, TimePoint expiry) {
  return {Credential::oauth("sk-test-access-rotated-0" + std::to_string(n),
                            "sk-test-refresh-rotated-" + std::to_string(n), expiry),
          std::nullopt, true};
}

Error token_error(VerdictKind kind, std::string code, std::string message) {
  Error error = make_error(Errc::needs_reauth, "the token endpoint answered HTTP 400 " + code);
  Verdict verdict;
  verdict.kind = kind;
  verdict.status = 400;
  verdict.provider_code = std::move(code);
  verdict.message = std::move(message);
  error.verdict = std::move(verdict);
  return error;
}

struct CoordinatorTest : ::testing::Test {
  FakeClock clock;
  CredentialOptions options{.profile = "work", .jitter_seed = 1};
  cooldown::ExponentialBackoff cooldown{};
  store::Memory store;
  std::optional<Cell> cell;
  std::optional<Coordinator> coordinator;
  ScriptedHooks hooks;

  void start(TimePoint expiry, store::Memory with = store::Memory{}) {
    store = std::move(with);
    cell.emplace(options, cooldown, Credential::oauth(kAccess, kRefresh, expiry),
                 TokenTraits{true, {}}, clock.now());
    coordinator.emplace(options, *cell, store, clock);
    coordinator->seed(cell->snapshot()->token->credential);
  }
  Result<void> refresh(RefreshNeed need) {
    return coordinator->refresh(cell->generation(), need, clock.now(), hooks);
  }
  Status status() const {
    Status s;
    s.state = cell->snapshot()->state;
    coordinator->describe(s);
    return s;
  }
  std::string access() const {
    return std::string{cell->snapshot()->token->credential.token.reveal()};
  }
};

TEST_F(CoordinatorTest, PersistsARotatedCredentialBeforePublishingIt) {
  std::vector<std::uint64_t> generation_at_persist;
  start(clock.now() + 1h, store::Memory{[&](const Credential&) -> Result<void> {
          generation_at_persist.push_back(cell->generation());
          return {};
        }});
  hooks.script = [&](const Credential&) {
    return Result<RefreshOutcome>{rotated(2, clock.now() + 2h)};
  };

  ASSERT_TRUE(refresh(RefreshNeed::rejected));

  ASSERT_EQ(generation_at_persist, std::vector<std::uint64_t>{1});  // stored, then published
  EXPECT_EQ(cell->generation(), 2U);
  EXPECT_EQ(store.load()->credential.refresh_token.reveal(), "sk-test-refresh-rotated-2");
  EXPECT_EQ(hooks.events, (std::vector{EventKind::refresh_started, EventKind::refresh_succeeded,
                                       EventKind::rotation_persisted}));
  EXPECT_FALSE(status().rotation_unpersisted);
}

TEST_F(CoordinatorTest, ARotationWithNothingDurableToPersistToIsVisible) {
  start(clock.now() + 1h);  // store::Memory without a hook
  hooks.script = [&](const Credential&) {
    return Result<RefreshOutcome>{rotated(2, clock.now() + 2h)};
  };
  ASSERT_TRUE(refresh(RefreshNeed::rejected));
  EXPECT_EQ(hooks.count(EventKind::rotation_persisted), 0U);
  EXPECT_EQ(hooks.count(EventKind::rotation_not_persisted), 1U);
  EXPECT_TRUE(status().rotation_unpersisted);
}

TEST_F(CoordinatorTest, AFailedPersistKeepsTheRedeemedCredentialAndNeverRedeemsItAgain) {
  bool fail = true;
  start(clock.now() + 1h, store::Memory{[&](const Credential&) -> Result<void> {
          if (fail) return unexpected(make_error(Errc::persist_failed, "disk full"));
          return {};
        }});
  hooks.script = [&](const Credential&) {
    return Result<RefreshOutcome>{rotated(2, clock.now() + 2h)};
  };

  auto failed = refresh(RefreshNeed::soft);
  ASSERT_FALSE(failed);  // a failed persist always reaches the caller
  EXPECT_EQ(failed.error().code, Errc::persist_failed);
  EXPECT_NE(failed.error().message.find("disk full"), std::string::npos);
  EXPECT_EQ(failed.error().message.find("sk-test-access-rotated"), std::string::npos);
  EXPECT_EQ(cell->generation(), 1U);

  fail = false;
  clock.advance(5s);
  ASSERT_TRUE(refresh(RefreshNeed::soft));
  EXPECT_EQ(hooks.redeems, 1);  // the spent refresh token went to the endpoint once
  EXPECT_EQ(cell->generation(), 2U);
  EXPECT_EQ(access(), "sk-test-access-rotated-02");
}

TEST_F(CoordinatorTest, APersistHookThatThrowsEndsTheFlightAndKeepsTheRedeemedCredential) {
  bool fail = true;
  start(clock.now() + 1h, store::Memory{[&](const Credential&) -> Result<void> {
          if (fail) throw std::runtime_error("disk on fire");
          return {};
        }});
  hooks.script = [&](const Credential&) {
    return Result<RefreshOutcome>{rotated(2, clock.now() + 2h)};
  };

  EXPECT_THROW(static_cast<void>(refresh(RefreshNeed::rejected)), std::runtime_error);
  EXPECT_EQ(status().state, CredentialState::ready);  // not stuck "refreshing"

  fail = false;
  clock.advance(5s);
  ASSERT_TRUE(refresh(RefreshNeed::rejected));
  EXPECT_EQ(hooks.redeems, 1);
  EXPECT_EQ(cell->generation(), 2U);
}

TEST_F(CoordinatorTest, AStrategyThatThrowsEndsTheFlightAndStartsNoBackoff) {
  start(clock.now() + 1h);
  hooks.script = [](const Credential&) -> Result<RefreshOutcome> { throw std::logic_error("bug"); };
  EXPECT_THROW(static_cast<void>(refresh(RefreshNeed::rejected)), std::logic_error);
  EXPECT_EQ(status().state, CredentialState::ready);  // not stuck "refreshing"
  EXPECT_EQ(status().refresh_failures, 0U);  // a local fault, not the token endpoint's answer
  EXPECT_FALSE(coordinator->quiet(clock.now()));

  hooks.script = [&](const Credential&) {
    return Result<RefreshOutcome>{rotated(2, clock.now() + 2h)};
  };
  ASSERT_TRUE(refresh(RefreshNeed::rejected));  // the next request proceeds at once
  EXPECT_EQ(cell->generation(), 2U);
}

TEST_F(CoordinatorTest, TheWaitersOfAFlightThatThrewAreServedByOneNewFlight) {
  start(clock.now() - 1s);  // expired: nobody can go on without a new token
  std::atomic<int> entered{0};
  std::atomic<int> calls{0};
  hooks.script = [&](const Credential&) -> Result<RefreshOutcome> {
    if (calls.fetch_add(1) == 0) {
      while (entered.load() < 7) std::this_thread::yield();  // the others are on their way
      throw std::runtime_error("TLS library failure");
    }
    return Result<RefreshOutcome>{rotated(2, clock.now() + 2h)};
  };
  const std::uint64_t seen = cell->generation();
  std::atomic<int> threw{0};
  std::atomic<int> served{0};
  std::thread first{[&] {
    try {
      static_cast<void>(coordinator->renew(seen, RefreshNeed::rejected, clock.now(), hooks));
    } catch (const std::runtime_error&) {
      ++threw;
    }
  }};
  while (calls.load() == 0) std::this_thread::yield();  // the first flight has begun
  std::vector<std::thread> waiters;
  for (int i = 0; i < 7; ++i) {
    waiters.emplace_back([&] {
      ++entered;
      if (coordinator->renew(seen, RefreshNeed::rejected, clock.now(), hooks)) ++served;
    });
  }
  first.join();
  for (auto& waiter : waiters) waiter.join();
  EXPECT_EQ(threw.load(), 1);
  EXPECT_EQ(served.load(), 7);
  EXPECT_EQ(calls.load(), 2);  // the thrower's, and one new flight for all seven
  EXPECT_EQ(access(), "sk-test-access-rotated-02");
}

TEST_F(CoordinatorTest, ATokenEndpointThatAnswersExpiredTokensIsCalledOncePerBackoffStep) {
  start(clock.now() - 1s);
  int issued = 0;
  hooks.script = [&](const Credential&) {  // `expires_in: 0`
    ++issued;
    return Result<RefreshOutcome>{RefreshOutcome{
        Credential::oauth("sk-test-access-expired-" + std::to_string(issued),
                          "sk-test-refresh-next-" + std::to_string(issued), clock.now()),
        std::nullopt, true}};
  };
  for (int request = 0; request < 600; ++request) {  // 600 requests in 60 s
    static_cast<void>(
        coordinator->renew(cell->generation(), RefreshNeed::rejected, clock.now(), hooks));
    clock.advance(100ms);
  }
  // Backoff 5 s, then doubled: calls at 0, 5, 15 and 35 s.
  EXPECT_EQ(hooks.redeems, 4);
  EXPECT_EQ(status().refresh_failures, 4U);
}

TEST_F(CoordinatorTest, AStoreRewrittenWithTheSameTokensDuringTheCallGetsTheRedeemedOne) {
  // Another tool rewrote the profile with the tokens it already had (no keyward members, a
  // configuration reload): the generation moved, the secrets did not.
  start(clock.now() + 1h);
  std::vector<std::string> presented;
  hooks.script = [&](const Credential& credential) {
    presented.emplace_back(credential.refresh_token.reveal());
    if (presented.size() == 1) {
      EXPECT_TRUE(
          store.compare_and_swap(1, Credential::oauth(kAccess, kRefresh, clock.now() + 1h)));
    }
    return Result<RefreshOutcome>{
        rotated(static_cast<int>(presented.size()) + 1, clock.now() + 2h)};
  };
  ASSERT_TRUE(refresh(RefreshNeed::rejected));
  EXPECT_EQ(store.load()->credential.refresh_token.reveal(), "sk-test-refresh-rotated-2");
  EXPECT_EQ(access(), "sk-test-access-rotated-02");

  clock.advance(3h);
  ASSERT_TRUE(refresh(RefreshNeed::rejected));
  EXPECT_EQ(presented, (std::vector<std::string>{kRefresh, "sk-test-refresh-rotated-2"}));
}

TEST_F(CoordinatorTest, TheSameTokensStoredAgainBeforeTheCallMoveTheGenerationOnly) {
  start(clock.now() + 1h);
  ASSERT_TRUE(store.compare_and_swap(1, Credential::oauth(kAccess, kRefresh, clock.now() + 1h)));
  std::vector<std::string> presented;
  hooks.script = [&](const Credential& credential) {
    presented.emplace_back(credential.refresh_token.reveal());
    return Result<RefreshOutcome>{
        rotated(static_cast<int>(presented.size()) + 1, clock.now() + 2h)};
  };
  ASSERT_TRUE(refresh(RefreshNeed::rejected));
  EXPECT_EQ(store.load()->credential.refresh_token.reveal(), "sk-test-refresh-rotated-2");
  clock.advance(3h);
  ASSERT_TRUE(refresh(RefreshNeed::rejected));
  EXPECT_EQ(presented, (std::vector<std::string>{kRefresh, "sk-test-refresh-rotated-2"}));
  EXPECT_EQ(hooks.count(EventKind::credential_adopted), 0U);
}

TEST_F(CoordinatorTest, AStoreHoldingAnotherRefreshTokenWinsOverTheRedeemedOne) {
  start(clock.now() + 1h);
  hooks.script = [&](const Credential&) {
    // A person logged in again meanwhile: the store holds another login.
    EXPECT_TRUE(store.compare_and_swap(1, rotated(7, clock.now() + 2h).credential));
    return Result<RefreshOutcome>{rotated(2, clock.now() + 2h)};
  };
  ASSERT_TRUE(refresh(RefreshNeed::rejected));
  EXPECT_EQ(access(), "sk-test-access-rotated-07");
  EXPECT_EQ(store.load()->credential.refresh_token.reveal(), "sk-test-refresh-rotated-7");
  EXPECT_EQ(hooks.events, (std::vector{EventKind::refresh_started, EventKind::credential_adopted}));
}

TEST_F(CoordinatorTest, OnlyTheHolderThatCallsTheTokenEndpointSaysRefreshStarted) {
  start(clock.now() + 1h);
  Cell other_cell{options, cooldown, Credential::oauth(kAccess, kRefresh, clock.now() + 1h),
                  TokenTraits{true, {}}, clock.now()};
  Coordinator other{options, other_cell, store, clock};
  other.seed(other_cell.snapshot()->token->credential);
  hooks.script = [&](const Credential&) {
    return Result<RefreshOutcome>{rotated(2, clock.now() + 2h)};
  };
  ASSERT_TRUE(refresh(RefreshNeed::rejected));
  ScriptedHooks adopter;
  adopter.script = hooks.script;
  ASSERT_TRUE(other.refresh(other_cell.generation(), RefreshNeed::rejected, clock.now(), adopter));
  EXPECT_EQ(adopter.redeems, 0);
  EXPECT_EQ(adopter.events, std::vector{EventKind::credential_adopted});
}

TEST_F(CoordinatorTest, TwoCredentialsSharingAStoreRedeemOnce) {
  start(clock.now() + 1h);
  Cell other_cell{options, cooldown, Credential::oauth(kAccess, kRefresh, clock.now() + 1h),
                  TokenTraits{true, {}}, clock.now()};
  Coordinator other{options, other_cell, store, clock};
  other.seed(other_cell.snapshot()->token->credential);
  hooks.script = [&](const Credential&) {
    return Result<RefreshOutcome>{rotated(2, clock.now() + 2h)};
  };

  ASSERT_TRUE(refresh(RefreshNeed::rejected));
  ASSERT_TRUE(other.refresh(other_cell.generation(), RefreshNeed::rejected, clock.now(), hooks));

  EXPECT_EQ(hooks.redeems, 1);  // the second re-read the store and adopted the rotation
  EXPECT_EQ(other_cell.snapshot()->token->credential.refresh_token.reveal(),
            "sk-test-refresh-rotated-2");
}

TEST_F(CoordinatorTest, InvalidGrantIsTrustedOnlyAfterTheStoreIsReRead) {
  start(clock.now() + 1h);
  hooks.script = [&](const Credential&) -> Result<RefreshOutcome> {
    // Another process rotated while this call was in flight, so this refresh token is spent.
    EXPECT_TRUE(store.compare_and_swap(1, rotated(7, clock.now() + 2h).credential));
    return unexpected(token_error(VerdictKind::unauthenticated, "invalid_grant", "spent"));
  };
  ASSERT_TRUE(refresh(RefreshNeed::rejected));
  EXPECT_EQ(cell->snapshot()->state, CredentialState::ready);
  EXPECT_EQ(access(), "sk-test-access-rotated-07");
}

TEST_F(CoordinatorTest, ARefusedRefreshTokenLetsTheValidAccessTokenServeUntilItExpires) {
  const TimePoint expiry = clock.now() + 3h;
  start(expiry);
  hooks.script = [](const Credential&) -> Result<RefreshOutcome> {
    return unexpected(token_error(VerdictKind::unauthenticated, "invalid_grant",
                                  "Refresh token not found or invalid"));
  };

  ASSERT_TRUE(refresh(RefreshNeed::soft));  // hours left: keep serving
  EXPECT_EQ(cell->snapshot()->state, CredentialState::ready);
  EXPECT_EQ(hooks.count(EventKind::refresh_token_refused), 1U);
  Status s = status();
  EXPECT_EQ(s.reauth_by, expiry);
  EXPECT_NE(s.refresh_error.find("refused the refresh token"), std::string::npos)
      << s.refresh_error;
  EXPECT_NE(s.refresh_error.find("Refresh token not found"), std::string::npos);

  clock.advance(1h);
  ASSERT_TRUE(refresh(RefreshNeed::hard));  // still valid: no new call, no second event
  EXPECT_EQ(hooks.redeems, 1);
  EXPECT_EQ(hooks.count(EventKind::refresh_token_refused), 1U);

  clock.advance(2h);  // expired
  auto dead = refresh(RefreshNeed::hard);
  ASSERT_FALSE(dead);
  EXPECT_EQ(dead.error().code, Errc::needs_reauth);
  EXPECT_NE(dead.error().message.find("refused the refresh token"), std::string::npos)
      << dead.error().message;
  EXPECT_EQ(dead.error().message.find("The provider rejected"), std::string::npos);
  EXPECT_EQ(cell->snapshot()->state, CredentialState::needs_reauth);
  EXPECT_EQ(hooks.redeems, 1);
  EXPECT_EQ(hooks.count(EventKind::needs_reauth), 1U);
}

TEST_F(CoordinatorTest, InvalidClientNamesTheClientConfigurationNotSetCredential) {
  start(clock.now() + 1h);
  hooks.script = [](const Credential&) -> Result<RefreshOutcome> {
    return unexpected(token_error(VerdictKind::misconfigured, "invalid_client", "bad client"));
  };
  auto result = refresh(RefreshNeed::rejected);
  ASSERT_FALSE(result);
  const std::string& text = result.error().message;
  EXPECT_NE(text.find("client configuration"), std::string::npos) << text;
  EXPECT_NE(text.find("client id"), std::string::npos) << text;
  EXPECT_EQ(text.find("set_credential"), std::string::npos) << text;
}

TEST_F(CoordinatorTest, AnAccessTokenWithALineBreakIsNeverInstalledButTheRotationIsKept) {
  start(clock.now() + 1h);
  hooks.script = [&](const Credential&) {
    RefreshOutcome outcome = rotated(2, clock.now() + 2h);
    outcome.credential.token = Secret{"sk-test-access-0123\r\nx-injected: 1"};
    return Result<RefreshOutcome>{std::move(outcome)};
  };
  auto result = refresh(RefreshNeed::soft);
  EXPECT_TRUE(result);  // the current token is still valid
  EXPECT_EQ(access(), kAccess);
  EXPECT_EQ(cell->snapshot()->token->credential.refresh_token.reveal(),
            "sk-test-refresh-rotated-2");
  EXPECT_EQ(store.load()->credential.refresh_token.reveal(), "sk-test-refresh-rotated-2");
  EXPECT_NE(status().refresh_error.find("fails pre-flight"), std::string::npos)
      << status().refresh_error;
  EXPECT_EQ(status().refresh_error.find("x-injected"), std::string::npos);
}

TEST_F(CoordinatorTest, TokenEndpointTextThatQuotesASecretIsScrubbed) {
  start(clock.now() + 1h);
  hooks.script = [](const Credential& c) -> Result<RefreshOutcome> {
    return unexpected(
        token_error(VerdictKind::unauthenticated, "invalid_grant",
                    "unknown refresh token " + std::string{c.refresh_token.reveal()}));
  };
  auto result = refresh(RefreshNeed::rejected);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message.find(kRefresh), std::string::npos) << result.error().message;
  ASSERT_TRUE(result.error().verdict);
  EXPECT_EQ(result.error().verdict->message.find(kRefresh), std::string::npos);
  for (const auto& text : hooks.texts) EXPECT_EQ(text.find(kRefresh), std::string::npos) << text;
}

}  // namespace
}  // namespace keyward
