// CircuitBreaker on a fake clock: opening, cool-off, the single probe, doubling, decay, and a
// clock or a caller that misbehaves. No test here sleeps or reads the real clock.
#include "keyward/breaker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/fake_clock.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

// Records `n` failures of requests admitted now.
void fail(CircuitBreaker& breaker, const FakeClock& clock, int n) {
  for (int i = 0; i < n; ++i) {
    auto pass = breaker.admit(clock.now());
    ASSERT_TRUE(pass);
    static_cast<void>(breaker.record(pass, true, clock.now()));
  }
}

TEST(CircuitBreakerTest, OpensAfterFiveFailuresInARowAndRefusesUntilTheCoolOffEnds) {
  FakeClock clock;
  CircuitBreaker breaker;
  fail(breaker, clock, 4);
  EXPECT_EQ(breaker.snapshot().state, BreakerState::closed);
  EXPECT_EQ(breaker.snapshot().failures, 4U);

  auto fifth = breaker.admit(clock.now());
  EXPECT_EQ(breaker.record(fifth, true, clock.now()), BreakerState::open);
  const auto opened = clock.now();

  clock.advance(29s);
  auto refused = breaker.admit(clock.now());
  EXPECT_FALSE(refused);
  EXPECT_EQ(refused.until(), opened + 30s);
  EXPECT_FALSE(refused.changed());
}

TEST(CircuitBreakerTest, ASuccessForgetsTheFailures) {
  FakeClock clock;
  CircuitBreaker breaker;
  fail(breaker, clock, 4);
  auto ok = breaker.admit(clock.now());
  EXPECT_EQ(breaker.record(ok, false, clock.now()), std::nullopt);
  fail(breaker, clock, 4);
  EXPECT_EQ(breaker.snapshot().state, BreakerState::closed);
  EXPECT_EQ(breaker.snapshot().failures, 4U);
}

TEST(CircuitBreakerTest, EachDecayWithoutAFailureForgetsOne) {
  FakeClock clock;
  CircuitBreaker breaker;
  fail(breaker, clock, 4);
  clock.advance(150s);  // two decays: 4 -> 2, then this failure: 3
  fail(breaker, clock, 1);
  EXPECT_EQ(breaker.snapshot().failures, 3U);
  // One failure a minute from then on never adds up to an opening.
  for (int i = 0; i < 20; ++i) {
    clock.advance(1min);
    fail(breaker, clock, 1);
  }
  EXPECT_EQ(breaker.snapshot().state, BreakerState::closed);
  EXPECT_EQ(breaker.snapshot().failures, 3U);
  // One every 59 s does: an outage that fails every request opens it.
  for (int i = 0; i < 2; ++i) {
    clock.advance(59s);
    fail(breaker, clock, 1);
  }
  EXPECT_EQ(breaker.snapshot().state, BreakerState::open);
}

TEST(CircuitBreakerTest, HalfOpenLetsExactlyOneProbeThroughAndItsSuccessCloses) {
  FakeClock clock;
  CircuitBreaker breaker;
  fail(breaker, clock, 5);
  clock.advance(30s);

  auto probe = breaker.admit(clock.now());
  ASSERT_TRUE(probe);
  EXPECT_TRUE(probe.probe());
  EXPECT_EQ(probe.changed(), BreakerState::half_open);
  auto other = breaker.admit(clock.now());
  EXPECT_FALSE(other);  // the probe is in flight
  EXPECT_EQ(breaker.snapshot().state, BreakerState::half_open);

  EXPECT_EQ(breaker.record(probe, false, clock.now()), BreakerState::closed);
  EXPECT_EQ(breaker.snapshot().state, BreakerState::closed);
  auto next = breaker.admit(clock.now());
  EXPECT_TRUE(next);
  EXPECT_FALSE(next.probe());
}

TEST(CircuitBreakerTest, AFailedProbeReopensForTwiceAsLongUpToTheCap) {
  FakeClock clock;
  CircuitBreaker breaker;
  fail(breaker, clock, 5);
  std::vector<std::chrono::seconds> windows;
  auto window = 30s;
  for (int i = 0; i < 6; ++i) {
    clock.advance(window);
    auto probe = breaker.admit(clock.now());
    ASSERT_TRUE(probe.probe());
    EXPECT_EQ(breaker.record(probe, true, clock.now()), BreakerState::open);
    const auto until = breaker.snapshot().until;
    ASSERT_TRUE(until);
    window = std::chrono::duration_cast<std::chrono::seconds>(*until - clock.now());
    windows.push_back(window);
  }
  EXPECT_EQ(windows, (std::vector<std::chrono::seconds>{60s, 120s, 240s, 300s, 300s, 300s}));
}

TEST(CircuitBreakerTest, OpeningsAreForgottenWhileClosed) {
  FakeClock clock;
  CircuitBreaker breaker;
  fail(breaker, clock, 5);
  clock.advance(30s);
  auto probe = breaker.admit(clock.now());
  static_cast<void>(breaker.record(probe, true, clock.now()));  // 2 openings: 60 s
  clock.advance(60s);
  probe = breaker.admit(clock.now());
  EXPECT_EQ(breaker.record(probe, false, clock.now()), BreakerState::closed);

  // Flapping right away: the third opening doubles again.
  fail(breaker, clock, 5);
  EXPECT_EQ(breaker.snapshot().openings, 3U);
  EXPECT_EQ(breaker.snapshot().until, clock.now() + 120s);
  clock.advance(120s);
  probe = breaker.admit(clock.now());
  EXPECT_EQ(breaker.record(probe, false, clock.now()), BreakerState::closed);

  // After three decays closed, an outage starts from the first window again.
  clock.advance(3min);
  fail(breaker, clock, 5);
  EXPECT_EQ(breaker.snapshot().openings, 1U);
  EXPECT_EQ(breaker.snapshot().until, clock.now() + 30s);
}

TEST(CircuitBreakerTest, AProbeDroppedUndecidedIsHandedBack) {
  FakeClock clock;
  CircuitBreaker breaker;
  fail(breaker, clock, 5);
  clock.advance(30s);
  {
    auto probe = breaker.admit(clock.now());
    ASSERT_TRUE(probe.probe());
    // e.g. the transport or an observer threw: the pass is destroyed without a verdict
  }
  auto next = breaker.admit(clock.now());
  ASSERT_TRUE(next);
  EXPECT_TRUE(next.probe());
}

TEST(CircuitBreakerTest, AProbeThatNeverReturnsIsGivenUpAfterOneWindow) {
  FakeClock clock;
  CircuitBreaker breaker;
  fail(breaker, clock, 5);
  clock.advance(30s);
  auto hung = breaker.admit(clock.now());
  ASSERT_TRUE(hung.probe());
  clock.advance(29s);
  EXPECT_FALSE(breaker.admit(clock.now()));
  clock.advance(1s);
  auto second = breaker.admit(clock.now());
  ASSERT_TRUE(second.probe());
  // The hung probe's late answer no longer decides; the second's does.
  EXPECT_EQ(breaker.record(hung, false, clock.now()), std::nullopt);
  EXPECT_EQ(breaker.snapshot().state, BreakerState::half_open);
  EXPECT_EQ(breaker.record(second, false, clock.now()), BreakerState::closed);
}

TEST(CircuitBreakerTest, RequestsSentBeforeItOpenedDoNotDecide) {
  FakeClock clock;
  CircuitBreaker breaker;
  auto straggler_ok = breaker.admit(clock.now());
  auto straggler_failed = breaker.admit(clock.now());
  fail(breaker, clock, 5);
  EXPECT_EQ(breaker.record(straggler_ok, false, clock.now()), std::nullopt);
  EXPECT_EQ(breaker.record(straggler_failed, true, clock.now()), std::nullopt);
  const auto snapshot = breaker.snapshot();
  EXPECT_EQ(snapshot.state, BreakerState::open);
  EXPECT_EQ(snapshot.until, clock.now() + 30s);
}

TEST(CircuitBreakerTest, AClockThatGoesBackNeverStretchesTheRefusal) {
  FakeClock clock;
  CircuitBreaker breaker;
  fail(breaker, clock, 5);
  const auto before = clock.now() - 2h;  // the clock jumps two hours back
  auto refused = breaker.admit(before);
  EXPECT_FALSE(refused);
  EXPECT_EQ(refused.until(), before + 30s);
  auto probe = breaker.admit(before + 30s);
  EXPECT_TRUE(probe.probe());
  EXPECT_EQ(breaker.record(probe, false, before + 30s), BreakerState::closed);
  // A failure stamped before the last one (the clock went back) forgets nothing.
  fail(breaker, clock, 3);
  auto earlier = breaker.admit(clock.now() - 1h);
  static_cast<void>(breaker.record(earlier, true, clock.now() - 1h));
  EXPECT_EQ(breaker.snapshot().failures, 4U);
}

TEST(CircuitBreakerTest, AThrowingClockChangesNothing) {
  FakeClock clock;
  CircuitBreaker breaker;
  fail(breaker, clock, 5);
  EXPECT_THROW(
      static_cast<void>(breaker.admit([]() -> TimePoint { throw std::runtime_error{"clock"}; })),
      std::runtime_error);
  EXPECT_EQ(breaker.snapshot().state, BreakerState::open);
  clock.advance(30s);
  auto probe = breaker.admit(clock.now());
  EXPECT_TRUE(probe.probe());
}

TEST(CircuitBreakerTest, AClosedBreakerReadsNoClock) {
  CircuitBreaker breaker;
  int reads = 0;
  for (int i = 0; i < 100; ++i) {
    auto pass = breaker.admit([&] {
      ++reads;
      return TimePoint{};
    });
    EXPECT_TRUE(pass);
    static_cast<void>(breaker.record(pass, false, TimePoint{}));
  }
  EXPECT_EQ(reads, 0);
}

TEST(CircuitBreakerTest, RefusesUnusableOptions) {
  EXPECT_THROW(CircuitBreaker({.failures_to_open = 0}), std::invalid_argument);
  EXPECT_THROW(CircuitBreaker({.decay = -1ms}), std::invalid_argument);
  EXPECT_THROW(CircuitBreaker({.cool_off = 0ms}), std::invalid_argument);
  EXPECT_THROW(CircuitBreaker({.cool_off = 10s, .max_cool_off = 5s}), std::invalid_argument);
}

TEST(CircuitBreakerTest, ConcurrentCallersNeverSeeTwoProbesAtOnce) {
  // Eight threads send through one breaker on a shared fake clock; the provider fails two
  // requests in three, and a refused caller moves the clock 50 ms (it waited). Invariants: at
  // most one probe in flight, and the breaker ends in a state its snapshot agrees with.
  FakeClock clock;
  CircuitBreaker breaker{{.failures_to_open = 3, .decay = 1s, .cool_off = 5s, .max_cool_off = 20s}};
  std::atomic<int> probes_in_flight{0};
  std::atomic<int> max_probes{0};
  std::atomic<int> probes{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3000; ++i) {
        auto pass = breaker.admit([&] { return clock.now(); });
        if (!pass) {
          // A probe's limit is 5 s or more; the clock does not move while the breaker is
          // half-open (but for at most one 50 ms step per thread racing this check), so no
          // probe is ever given up and two probes at once would be a bug.
          if (breaker.snapshot().state != BreakerState::half_open) clock.advance(50ms);
          continue;
        }
        if (pass.probe()) {
          ++probes;
          const int in_flight = ++probes_in_flight;
          int seen = max_probes.load();
          while (in_flight > seen && !max_probes.compare_exchange_weak(seen, in_flight)) {
          }
          std::this_thread::yield();
          --probes_in_flight;
        }
        const bool failed = (i + t) % 3 != 0;
        static_cast<void>(breaker.record(pass, failed, clock.now()));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_LE(max_probes.load(), 1);
  EXPECT_GT(probes.load(), 0);
  const auto snapshot = breaker.snapshot();
  EXPECT_LT(snapshot.failures, 3U);
  EXPECT_EQ(snapshot.until.has_value(), snapshot.state != BreakerState::closed);
}

}  // namespace
}  // namespace keyward
