// Retries through ResilientCredential against a scripted provider (docs/retries.md): backoff,
// x-should-retry, the resend rules, the provider's retry budget and circuit breaker, an observer
// and a clock that misbehave, and many threads sharing one provider. Fake clock throughout: no
// test here sleeps or reads the real clock.
//
// Why this file is over 300 lines: one rig serves every rule, and each rule's test reads best
// beside the others it interacts with (the resend rule, the budget and the breaker).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "keyward/resilient_credential.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_transport.hpp"
#include "support/recording_observer.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeTransport;
using testing::RecordingObserver;
using testing::RecordingSleeper;
using testing::response;

const std::string kApi = "https://api.example.test/v1/messages";
const std::string kKey = "sk-test-key-0123456789abcdefWXYZ";

struct Fault : std::runtime_error {
  Fault() : std::runtime_error("injected fault") {}
};

// The fake clock, shifted by an offset a test may move back, and made to throw on demand.
class TestClock {
 public:
  explicit TestClock(FakeClock base) : base_(std::move(base)) {}
  [[nodiscard]] TimePoint now() const {
    if (state_->throws.exchange(false)) throw Fault{};
    return base_.now() + std::chrono::nanoseconds{state_->offset.load()};
  }
  void shift(std::chrono::nanoseconds by) const { state_->offset += by.count(); }
  void throw_once() const { state_->throws = true; }

 private:
  struct State {
    std::atomic<std::int64_t> offset{0};
    std::atomic<bool> throws{false};
  };
  FakeClock base_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// Records every event, and throws once at the kind it is armed with.
class FaultyObserver {
 public:
  void on_event(const Event& event) {
    record_.on_event(event);
    if (static_cast<int>(event.kind) == armed_->load()) {
      armed_->store(-1);
      throw Fault{};
    }
  }
  void arm(EventKind kind) const { armed_->store(static_cast<int>(kind)); }
  [[nodiscard]] std::size_t count(EventKind kind) const { return record_.count(kind); }

 private:
  RecordingObserver record_;
  std::shared_ptr<std::atomic<int>> armed_ = std::make_shared<std::atomic<int>>(-1);
};

struct Policies : DefaultPolicies {
  using Clock = TestClock;
  using Sleeper = RecordingSleeper;
  using Observer = FaultyObserver;
};
using RC = ResilientCredential<FakeTransport, Policies>;

// A guard whose breaker never opens and whose budget never runs out: the retry rules alone.
std::shared_ptr<ProviderGuard> unguarded() {
  return std::make_shared<ProviderGuard>(
      ProviderGuard::Options{.budget = {.max_tokens = 1000000, .token_ratio = 1},
                             .breaker = {.failures_to_open = 1000000}});
}

struct Rig {
  FakeTransport transport;
  FakeClock base;
  TestClock clock{base};
  RecordingSleeper sleeper{base};
  FaultyObserver observer;
  std::shared_ptr<ProviderGuard> guard;
  std::unique_ptr<RC> rc;

  explicit Rig(std::shared_ptr<ProviderGuard> shared = std::make_shared<ProviderGuard>(),
               RetryOptions retry = {})
      : guard(std::move(shared)) {
    rc = make("work", retry);
  }

  [[nodiscard]] std::unique_ptr<RC> make(const std::string& profile, RetryOptions retry = {}) {
    return std::make_unique<RC>(
        transport, Credential::api_key(kKey),
        CredentialOptions{.profile = profile, .retry = retry, .jitter_seed = 7},
        RC::Components{
            .clock = clock, .sleeper = sleeper, .observer = observer, .provider = guard});
  }

  void answer(int status, const Headers& headers = {}) const {
    transport.on(kApi, [status, headers](const Request&) { return response(status, "", headers); });
  }
  void fail_transport(TransportErrc kind) const {
    transport.on(kApi, [kind](const Request&) -> TransportResult {
      return unexpected(TransportFailure{kind, "failed"});
    });
  }
  [[nodiscard]] std::size_t sent() const { return transport.count(kApi); }
};

Request post(Headers headers = {}) { return Request{"POST", kApi, std::move(headers), "{}"}; }
Request get() { return Request{"GET", kApi, {}, {}}; }

// --- backoff and x-should-retry -------------------------------------------------------------

TEST(DriverRetryTest, TwoRetriesByDefaultWithJitteredDoublingFromHalfASecond) {
  Rig rig{unguarded()};
  rig.answer(503);
  auto result = rig.rc->send(get());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(rig.sent(), 3U);  // the first attempt and 2 retries
  const auto waits = rig.sleeper.waits();
  ASSERT_EQ(waits.size(), 2U);
  EXPECT_LE(waits[0], 500ms);
  EXPECT_LE(waits[1], 1000ms);
  EXPECT_EQ(rig.rc->status().state, CredentialState::ready);
}

TEST(DriverRetryTest, BackoffDoublesUpToEightSeconds) {
  Rig rig{unguarded(), {.max_attempts = 9}};
  rig.answer(500);
  ASSERT_TRUE(rig.rc->send(get()));
  EXPECT_EQ(rig.sent(), 9U);
  const auto waits = rig.sleeper.waits();
  const std::vector<std::chrono::milliseconds> windows{500ms, 1s, 2s, 4s, 8s, 8s, 8s, 8s};
  ASSERT_EQ(waits.size(), windows.size());
  auto total = 0ms;
  for (std::size_t i = 0; i < waits.size(); ++i) {
    EXPECT_GE(waits[i], 0ms) << i;
    EXPECT_LE(waits[i], windows[i]) << i;  // full jitter within the doubled window
    total += waits[i];
  }
  EXPECT_GT(total, 0ms);  // jittered, not skipped
}

TEST(DriverRetryTest, XShouldRetryTrueRetriesAPostThatWouldNotBe) {
  Rig rig{unguarded()};
  rig.answer(500, {{"x-should-retry", "true"}});
  ASSERT_TRUE(rig.rc->send(post()));
  EXPECT_EQ(rig.sent(), 3U);
}

TEST(DriverRetryTest, XShouldRetryFalseStopsRetriesOfAnIdempotentRequest) {
  Rig rig{unguarded()};
  rig.answer(503, {{"x-should-retry", "false"}});
  auto result = rig.rc->send(get());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(rig.sent(), 1U);
  EXPECT_TRUE(rig.sleeper.waits().empty());
}

// --- idempotency ----------------------------------------------------------------------------

TEST(DriverRetryTest, APostResetMidRequestIsNotSentAgain) {
  Rig rig{unguarded()};
  rig.fail_transport(TransportErrc::protocol);
  auto result = rig.rc->send(post());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::transport_failed);
  EXPECT_NE(result.error().message.find("give it an Idempotency-Key header"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(rig.sent(), 1U);
  rig.fail_transport(TransportErrc::timeout);
  EXPECT_FALSE(rig.rc->send(post()));
  EXPECT_EQ(rig.sent(), 2U);
  rig.answer(500);  // a server error may come after the work was done
  EXPECT_TRUE(rig.rc->send(post()));
  EXPECT_EQ(rig.sent(), 3U);
}

TEST(DriverRetryTest, APostIsSentAgainAfterConnectionRefused) {
  Rig rig{unguarded()};
  rig.fail_transport(TransportErrc::connect);
  auto result = rig.rc->send(post());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::transport_failed);
  EXPECT_EQ(rig.sent(), 3U);
  EXPECT_EQ(result.error().message.find("not sent again"), std::string::npos);
}

TEST(DriverRetryTest, APostWithAnIdempotencyKeyIsSentAgainAfterAReset) {
  Rig rig{unguarded()};
  rig.fail_transport(TransportErrc::protocol);
  EXPECT_FALSE(rig.rc->send(post({{"Idempotency-Key", "msg-7f3a"}})));
  EXPECT_EQ(rig.sent(), 3U);
}

TEST(DriverRetryTest, APostRefusedWith529IsSentAgain) {
  Rig rig{unguarded()};
  rig.answer(529);
  ASSERT_TRUE(rig.rc->send(post()));
  EXPECT_EQ(rig.sent(), 3U);
}

// --- the retry budget -----------------------------------------------------------------------

TEST(DriverRetryTest, TheBudgetStopsRetriesUnderASustainedOutageAndComesBack) {
  Rig rig{std::make_shared<ProviderGuard>(
      ProviderGuard::Options{.breaker = {.failures_to_open = 1000000}})};
  rig.answer(503);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(rig.rc->send(get()));
  // 10 tokens: 3 + 2 attempts spend 5 (retries stop at half), then one attempt per send.
  EXPECT_EQ(rig.sent(), 13U);  // 30 without the budget
  EXPECT_EQ(rig.observer.count(EventKind::retry_budget_exhausted), 9U);
  EXPECT_DOUBLE_EQ(rig.guard->budget().tokens(), 0.0);

  rig.answer(200);
  for (int i = 0; i < 61; ++i) ASSERT_TRUE(rig.rc->send(get()));  // 61 x 0.1 = 6.1 tokens
  rig.answer(503);
  const auto before = rig.sent();
  ASSERT_TRUE(rig.rc->send(get()));
  EXPECT_EQ(rig.sent() - before, 2U);  // 5.1 left: retried once; 4.1 left: not again
  EXPECT_EQ(rig.rc->status().state, CredentialState::ready);

  rig.fail_transport(TransportErrc::connect);  // no response at all: the error says why
  auto failed = rig.rc->send(get());
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("retry budget"), std::string::npos)
      << failed.error().message;
}

// --- the circuit breaker --------------------------------------------------------------------

TEST(DriverRetryTest, UnderAConstant529TwentySendsMakeFiveRequestsInsteadOfSixty) {
  Rig rig;
  rig.answer(529);
  std::size_t refused = 0;
  for (int i = 0; i < 20; ++i) {
    auto result = rig.rc->send(post());
    if (!result) {
      EXPECT_EQ(result.error().code, Errc::provider_unavailable);
      ++refused;
    }
  }
  // Send 1: 3 attempts; send 2: 2 more open the breaker (5 failures in a row), so its second
  // response is returned; sends 3 to 20 are refused without being sent.
  EXPECT_EQ(rig.sent(), 5U);
  EXPECT_EQ(refused, 18U);
  EXPECT_EQ(rig.observer.count(EventKind::breaker_opened), 1U);
  EXPECT_EQ(rig.rc->status().state, CredentialState::ready);  // never the credential's fault
  EXPECT_EQ(rig.rc->status().consecutive_failures, 0U);

  Rig before{unguarded()};  // as before the budget and the breaker
  before.answer(529);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(before.rc->send(post()));
  EXPECT_EQ(before.sent(), 60U);
}

TEST(DriverRetryTest, UnderAConstant529OneSendEveryTenSecondsForThreeMinutesMakesSevenRequests) {
  Rig rig;
  std::vector<std::chrono::seconds> at;
  const auto start = rig.base.now();
  rig.transport.on(kApi, [&](const Request&) {
    at.push_back(std::chrono::duration_cast<std::chrono::seconds>(rig.base.now() - start));
    return response(529);
  });
  for (int i = 0; i < 20; ++i) {
    static_cast<void>(rig.rc->send(post()));
    rig.base.advance(10s);
  }
  // Measured: 3 + 2 attempts open the breaker at 10 s (the budget is at half by then too); the
  // probes at 40 s (after the 30 s window) and 100 s (after 60 s) fail; the next window (120 s)
  // outlasts the run. Without the breaker and the budget: 60.
  EXPECT_EQ(rig.sent(), 7U);
  EXPECT_EQ(at, (std::vector<std::chrono::seconds>{0s, 0s, 0s, 10s, 10s, 40s, 100s}));

  Rig before{unguarded()};
  before.answer(529);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(before.rc->send(post()));
    before.base.advance(10s);
  }
  EXPECT_EQ(before.sent(), 60U);
  EXPECT_EQ(rig.observer.count(EventKind::breaker_opened), 3U);
  EXPECT_EQ(rig.observer.count(EventKind::breaker_half_open), 2U);
}

TEST(DriverRetryTest, TheOpenBreakerRefusesNamingWhenAndBlamingNoCredential) {
  Rig rig;
  rig.answer(529);
  static_cast<void>(rig.rc->send(post()));
  static_cast<void>(rig.rc->send(post()));
  ASSERT_EQ(rig.guard->breaker().state(), BreakerState::open);
  const auto until = rig.guard->breaker().snapshot().until;
  ASSERT_TRUE(until);

  auto refused = rig.rc->send(post());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::provider_unavailable);
  EXPECT_EQ(refused.error().until, until);
  const std::string& message = refused.error().message;
  EXPECT_NE(message.find("profile 'work'"), std::string::npos) << message;
  EXPECT_NE(message.find("not a credential problem"), std::string::npos) << message;
  EXPECT_NE(message.find("until 2026-02-04T12:00:"), std::string::npos) << message;
  EXPECT_EQ(message.find(kKey), std::string::npos);
  EXPECT_EQ(rig.rc->status().state, CredentialState::ready);
  EXPECT_EQ(rig.observer.count(EventKind::cooldown_entered), 0U);
}

TEST(DriverRetryTest, HalfOpenSendsOneProbeWhoseSuccessClosesTheBreaker) {
  Rig rig;
  rig.answer(529);
  static_cast<void>(rig.rc->send(post()));
  static_cast<void>(rig.rc->send(post()));
  ASSERT_EQ(rig.guard->breaker().state(), BreakerState::open);
  rig.base.advance(30s);
  rig.answer(200);
  const auto before = rig.sent();
  auto probe = rig.rc->send(post());
  ASSERT_TRUE(probe);
  EXPECT_EQ(probe->status, 200);
  EXPECT_EQ(rig.sent() - before, 1U);
  EXPECT_EQ(rig.guard->breaker().state(), BreakerState::closed);
  EXPECT_EQ(rig.observer.count(EventKind::breaker_half_open), 1U);
  EXPECT_EQ(rig.observer.count(EventKind::breaker_closed), 1U);
  ASSERT_TRUE(rig.rc->send(post()));
}

TEST(DriverRetryTest, CredentialsOfOneProviderShareItsBreaker) {
  Rig rig;
  auto home = rig.make("home");
  rig.answer(529);
  static_cast<void>(rig.rc->send(post()));
  static_cast<void>(rig.rc->send(post()));
  auto refused = home->send(post());  // home never sent a request, the provider is still down
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::provider_unavailable);
  EXPECT_NE(refused.error().message.find("profile 'home'"), std::string::npos);
  EXPECT_EQ(rig.sent(), 5U);
  EXPECT_EQ(&rig.rc->provider(), &home->provider());
}

TEST(DriverRetryTest, ACredentialWithoutASharedGuardHasItsOwn) {
  FakeTransport transport;
  FakeClock base;
  RC alone{transport,
           Credential::api_key(kKey),
           {},
           {.clock = TestClock{base}, .sleeper = RecordingSleeper{base}}};
  RC other{transport,
           Credential::api_key(kKey),
           {},
           {.clock = TestClock{base}, .sleeper = RecordingSleeper{base}}};
  EXPECT_NE(&alone.provider(), &other.provider());
  EXPECT_EQ(alone.provider().breaker().state(), BreakerState::closed);
}

// --- misbehaving observer and clock ---------------------------------------------------------

TEST(DriverRetryTest, AnObserverThatThrowsLeavesBreakerAndBudgetConsistent) {
  for (const EventKind kind : {EventKind::breaker_opened, EventKind::breaker_half_open,
                               EventKind::breaker_closed, EventKind::retry_budget_exhausted}) {
    SCOPED_TRACE(to_string(kind));
    Rig rig;
    rig.observer.arm(kind);
    rig.answer(529);
    bool thrown = false;
    const auto attempt = [&](const Request& request) {
      try {
        static_cast<void>(rig.rc->send(request));
      } catch (const Fault&) {
        thrown = true;
      }
    };
    attempt(post());
    attempt(post());  // opens the breaker (and spends the budget to half)
    rig.base.advance(30s);
    rig.answer(200);
    attempt(post());  // the probe: half-open, then closed
    if (kind == EventKind::retry_budget_exhausted) {
      rig.answer(503);
      attempt(get());
    }
    EXPECT_TRUE(thrown) << "the fault never fired";
    // Whatever threw, the breaker is in a state the next requests can get through.
    rig.answer(200);
    rig.base.advance(5min);
    auto next = rig.rc->send(post());
    ASSERT_TRUE(next) << next.error().message;
    EXPECT_EQ(next->status, 200);
    EXPECT_EQ(rig.guard->breaker().state(), BreakerState::closed);
    const double tokens = rig.guard->budget().tokens();
    EXPECT_GE(tokens, 0.0);
    EXPECT_LE(tokens, 10.0);
    EXPECT_EQ(rig.rc->status().state, CredentialState::ready);
  }
}

TEST(DriverRetryTest, ATransportThatThrowsDuringTheProbeHandsTheProbeBack) {
  Rig rig;
  rig.answer(529);
  static_cast<void>(rig.rc->send(post()));
  static_cast<void>(rig.rc->send(post()));
  rig.base.advance(30s);
  rig.transport.on(kApi, [](const Request&) -> TransportResult { throw Fault{}; });
  EXPECT_THROW(static_cast<void>(rig.rc->send(post())), Fault);
  EXPECT_EQ(rig.guard->breaker().state(), BreakerState::half_open);
  rig.answer(200);
  auto next = rig.rc->send(post());  // probes at once: the thrown probe was handed back
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(rig.guard->breaker().state(), BreakerState::closed);
}

TEST(DriverRetryTest, AClockThatJumpsBackOrThrowsLeavesTheBreakerConsistent) {
  Rig rig;
  rig.answer(529);
  static_cast<void>(rig.rc->send(post()));
  static_cast<void>(rig.rc->send(post()));
  ASSERT_EQ(rig.guard->breaker().state(), BreakerState::open);

  rig.clock.shift(-3h);  // the wall clock is set back three hours
  auto refused = rig.rc->send(post());
  ASSERT_FALSE(refused);
  ASSERT_TRUE(refused.error().until);
  EXPECT_LE(*refused.error().until, rig.clock.now() + 30s);  // not three hours and 30 s

  rig.clock.throw_once();
  EXPECT_THROW(static_cast<void>(rig.rc->send(post())), Fault);
  EXPECT_EQ(rig.guard->breaker().state(), BreakerState::open);

  rig.base.advance(30s);
  rig.answer(200);
  auto next = rig.rc->send(post());
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(rig.guard->breaker().state(), BreakerState::closed);
}

// --- many threads, one provider -------------------------------------------------------------

TEST(DriverRetryTest, ThreadsSharingOneProviderKeepItsInvariants) {
  // Four threads, two credentials, one guard; the provider fails two requests in three (529 and
  // a reset POST), and the fake time moves as the threads sleep. Invariants at the end: every
  // result is a response, a transport error or a refusal by the breaker; the credentials are
  // ready; the budget is within bounds; the breaker agrees with itself.
  Rig rig;
  auto home = rig.make("home");
  std::atomic<int> calls{0};
  rig.transport.on(kApi, [&](const Request&) -> TransportResult {
    const int n = ++calls;
    if (n % 3 == 0) return response(200);
    if (n % 3 == 1) return response(529);
    return unexpected(TransportFailure{TransportErrc::protocol, "reset"});
  });
  std::atomic<int> unexpected_errors{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      RC& rc = t % 2 == 0 ? *rig.rc : *home;
      for (int i = 0; i < 200; ++i) {
        auto result = rc.send(post());
        if (!result && result.error().code != Errc::provider_unavailable &&
            result.error().code != Errc::transport_failed) {
          ++unexpected_errors;
        }
        if (!result && result.error().code == Errc::provider_unavailable) rig.base.advance(1s);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(unexpected_errors.load(), 0);
  EXPECT_EQ(rig.rc->status().state, CredentialState::ready);
  EXPECT_EQ(home->status().state, CredentialState::ready);
  const double tokens = rig.guard->budget().tokens();
  EXPECT_GE(tokens, 0.0);
  EXPECT_LE(tokens, 10.0);
  const auto snapshot = rig.guard->breaker().snapshot();
  EXPECT_EQ(snapshot.until.has_value(), snapshot.state != BreakerState::closed);
  EXPECT_LT(rig.sent(), 800U * 3U);
}

}  // namespace
}  // namespace keyward
