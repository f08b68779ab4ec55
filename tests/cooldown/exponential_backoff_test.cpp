// cooldown::ExponentialBackoff's windows, and the contract every shipped CooldownPolicy meets.
#include "keyward/cooldown/exponential_backoff.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/cooldown_policy.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using cooldown::ExponentialBackoff;
using std::chrono::milliseconds;

// The largest double below 1: the top of the jitter range [0, 1).
const double kAlmostOne = std::nextafter(1.0, 0.0);

Verdict verdict(VerdictKind kind, std::optional<milliseconds> retry_after = std::nullopt) {
  Verdict v;
  v.kind = kind;
  v.scope = default_scope(kind);
  v.retryable = default_retryable(kind);
  v.retry_after = retry_after;
  v.status = kind == VerdictKind::rate_limited ? 429 : 400;
  return v;
}

std::optional<milliseconds> ms(milliseconds value) { return value; }

// --- rate limits ----------------------------------------------------------------------------

TEST(ExponentialBackoffTest, RateLimitUsesTheServersWaitExactlyWhenGiven) {
  const ExponentialBackoff policy;
  const auto limited = verdict(VerdictKind::rate_limited, 1234ms);
  EXPECT_EQ(policy.on_failure(limited, 1, 0.0), ms(1234ms));
  EXPECT_EQ(policy.on_failure(limited, 1, 0.5), ms(1234ms));
  EXPECT_EQ(policy.on_failure(limited, 7, kAlmostOne), ms(1234ms));
  // Above the rate-limit cap too: the classifier caps a server's wait, not the policy.
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::rate_limited, 20min), 1, 0.5), ms(20min));
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::rate_limited, 0ms), 3, 0.5), ms(0ms));
}

TEST(ExponentialBackoffTest, RateLimitWithZeroJitterIsZero) {
  const ExponentialBackoff policy;
  for (std::uint32_t n = 1; n <= 8; ++n) {
    EXPECT_EQ(policy.on_failure(verdict(VerdictKind::rate_limited), n, 0.0), ms(0ms)) << n;
  }
}

TEST(ExponentialBackoffTest, RateLimitWithHalfJitterIsHalfOfTheDoublingWindow) {
  const ExponentialBackoff policy;
  const auto limited = verdict(VerdictKind::rate_limited);
  EXPECT_EQ(policy.on_failure(limited, 1, 0.5), ms(15s));
  EXPECT_EQ(policy.on_failure(limited, 2, 0.5), ms(30s));
  EXPECT_EQ(policy.on_failure(limited, 3, 0.5), ms(60s));
  EXPECT_EQ(policy.on_failure(limited, 4, 0.5), ms(120s));
  EXPECT_EQ(policy.on_failure(limited, 5, 0.5), ms(150s));  // capped at 5 min
  EXPECT_EQ(policy.on_failure(limited, 6, 0.5), ms(150s));
  EXPECT_EQ(policy.on_failure(limited, 50, 0.5), ms(150s));
}

TEST(ExponentialBackoffTest, RateLimitWithJitterJustBelowOneStaysJustBelowTheWindow) {
  const ExponentialBackoff policy;
  const auto limited = verdict(VerdictKind::rate_limited);
  const std::vector<milliseconds> windows = {30s, 60s, 120s, 240s, 5min, 5min};
  for (std::uint32_t n = 1; n <= windows.size(); ++n) {
    const auto window = windows[n - 1];
    const auto got = policy.on_failure(limited, n, kAlmostOne);
    ASSERT_TRUE(got.has_value()) << n;
    EXPECT_LT(*got, window) << n;
    EXPECT_GE(*got, window - 1ms) << n;
  }
}

TEST(ExponentialBackoffTest, RateLimitJitterOutsideTheUnitRangeIsClamped) {
  const ExponentialBackoff policy;
  const auto limited = verdict(VerdictKind::rate_limited);
  EXPECT_EQ(policy.on_failure(limited, 1, -0.5), ms(0ms));
  EXPECT_EQ(policy.on_failure(limited, 1, 1.0), ms(30s));
  EXPECT_EQ(policy.on_failure(limited, 1, 7.0), ms(30s));
}

TEST(ExponentialBackoffTest, IgnoresTheServersWaitWhenTold) {
  const ExponentialBackoff policy{{.honor_server_wait = false}};
  const auto limited = verdict(VerdictKind::rate_limited, 1234ms);
  EXPECT_EQ(policy.on_failure(limited, 1, 0.5), ms(15s));
  EXPECT_EQ(policy.on_failure(limited, 3, 0.5), ms(60s));
  EXPECT_EQ(policy.on_failure(limited, 1, 0.0), ms(0ms));
}

// --- quota, reauth probes, other kinds --------------------------------------------------------

TEST(ExponentialBackoffTest, QuotaDoublesFromFiveHoursToADayWithoutJitter) {
  const ExponentialBackoff policy;
  const auto quota = verdict(VerdictKind::quota_exhausted);
  for (const double jitter : {0.0, 0.5, kAlmostOne}) {
    EXPECT_EQ(policy.on_failure(quota, 1, jitter), ms(5h)) << jitter;
    EXPECT_EQ(policy.on_failure(quota, 2, jitter), ms(10h)) << jitter;
    EXPECT_EQ(policy.on_failure(quota, 3, jitter), ms(20h)) << jitter;
    EXPECT_EQ(policy.on_failure(quota, 4, jitter), ms(24h)) << jitter;
    EXPECT_EQ(policy.on_failure(quota, 5, jitter), ms(24h)) << jitter;
  }
}

TEST(ExponentialBackoffTest, QuotaIgnoresTheServersWait) {
  const ExponentialBackoff policy;
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::quota_exhausted, 30s), 1, 0.5), ms(5h));
}

TEST(ExponentialBackoffTest, UnauthenticatedProbesFromTenMinutesDoublingToAnHour) {
  const ExponentialBackoff policy;
  const auto rejected = verdict(VerdictKind::unauthenticated);
  EXPECT_EQ(policy.on_failure(rejected, 1, 0.5), ms(10min));
  EXPECT_EQ(policy.on_failure(rejected, 2, 0.5), ms(20min));
  EXPECT_EQ(policy.on_failure(rejected, 3, 0.5), ms(40min));
  EXPECT_EQ(policy.on_failure(rejected, 4, 0.5), ms(60min));
  EXPECT_EQ(policy.on_failure(rejected, 9, 0.0), ms(60min));
}

TEST(ExponentialBackoffTest, UnauthenticatedIsNotProbedWhenProbingIsOff) {
  const ExponentialBackoff policy{{.probe_unauthenticated = false}};
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::unauthenticated), 1, 0.5), std::nullopt);
}

TEST(ExponentialBackoffTest, MisconfiguredIsNotProbedByDefault) {
  const ExponentialBackoff policy;
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::misconfigured), 1, 0.5), std::nullopt);
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::misconfigured), 5, 0.5), std::nullopt);
}

TEST(ExponentialBackoffTest, MisconfiguredIsProbedWhenEnabled) {
  const ExponentialBackoff policy{{.probe_misconfigured = true}};
  const auto wrong = verdict(VerdictKind::misconfigured);
  EXPECT_EQ(policy.on_failure(wrong, 1, 0.5), ms(10min));
  EXPECT_EQ(policy.on_failure(wrong, 2, 0.5), ms(20min));
  EXPECT_EQ(policy.on_failure(wrong, 10, 0.5), ms(1h));
}

TEST(ExponentialBackoffTest, OtherVerdictKindsEarnNoWindow) {
  const ExponentialBackoff policy{{.probe_misconfigured = true}};
  for (const auto kind : {VerdictKind::ok, VerdictKind::forbidden, VerdictKind::overloaded,
                          VerdictKind::transient, VerdictKind::request_error}) {
    EXPECT_EQ(policy.on_failure(verdict(kind, 5s), 1, 0.5), std::nullopt) << to_string(kind);
  }
}

TEST(ExponentialBackoffTest, UsesCustomWindows) {
  const ExponentialBackoff policy{{.rate_limit_first = 1s,
                                   .rate_limit_max = 3s,
                                   .quota_first = 1h,
                                   .quota_max = 1h,
                                   .reauth_probe_first = 1min,
                                   .reauth_probe_max = 5min}};
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::rate_limited), 2, 0.5), ms(1s));
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::rate_limited), 3, 0.5), ms(1500ms));
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::quota_exhausted), 3, 0.5), ms(1h));
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::unauthenticated), 3, 0.5), ms(4min));
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::unauthenticated), 4, 0.5), ms(5min));
}

// --- robustness -----------------------------------------------------------------------------

TEST(ExponentialBackoffTest, HugeConsecutiveCountsStayAtTheCap) {
  const ExponentialBackoff policy;
  constexpr auto kHuge = std::numeric_limits<std::uint32_t>::max();
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::rate_limited), kHuge, 0.5), ms(150s));
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::quota_exhausted), kHuge, 0.5), ms(24h));
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::unauthenticated), kHuge, 0.5), ms(1h));
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::quota_exhausted), 64, 0.5), ms(24h));
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::quota_exhausted), 65, 0.5), ms(24h));
}

TEST(ExponentialBackoffTest, DoublingNeverOverflowsEvenWithTheLargestCap) {
  // Valid options (first positive, first <= max) whose doubling passes milliseconds::max() / 2.
  const ExponentialBackoff policy{{.quota_first = 1ms, .quota_max = milliseconds::max()}};
  const auto quota = verdict(VerdictKind::quota_exhausted);
  EXPECT_EQ(policy.on_failure(quota, 63, 0.5), ms(milliseconds{std::int64_t{1} << 62}));
  EXPECT_EQ(policy.on_failure(quota, 64, 0.5), ms(milliseconds::max()));
  EXPECT_EQ(policy.on_failure(quota, 100, 0.5), ms(milliseconds::max()));
}

TEST(ExponentialBackoffTest, ConsecutiveZeroIsTreatedAsTheFirstFailure) {
  const ExponentialBackoff policy;
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::quota_exhausted), 0, 0.5), ms(5h));
  EXPECT_EQ(policy.on_failure(verdict(VerdictKind::rate_limited), 0, 0.5), ms(15s));
}

TEST(ExponentialBackoffTest, RejectsWindowsThatAreNotPositive) {
  using O = ExponentialBackoff::Options;
  EXPECT_THROW(ExponentialBackoff{O{.rate_limit_first = 0ms}}, std::invalid_argument);
  EXPECT_THROW(ExponentialBackoff{O{.rate_limit_first = -1s}}, std::invalid_argument);
  EXPECT_THROW(ExponentialBackoff{O{.quota_first = 0ms}}, std::invalid_argument);
  EXPECT_THROW(ExponentialBackoff{O{.reauth_probe_first = -5min}}, std::invalid_argument);
}

TEST(ExponentialBackoffTest, RejectsFirstWindowsLargerThanTheirCap) {
  using O = ExponentialBackoff::Options;
  EXPECT_THROW(ExponentialBackoff{O{.rate_limit_first = 6min}}, std::invalid_argument);
  EXPECT_THROW(ExponentialBackoff{O{.quota_first = 25h}}, std::invalid_argument);
  EXPECT_THROW(ExponentialBackoff{O{.reauth_probe_first = 2h}}, std::invalid_argument);
  EXPECT_THROW(ExponentialBackoff{O{.reauth_probe_max = 1min}}, std::invalid_argument);
  EXPECT_NO_THROW(ExponentialBackoff{O{.rate_limit_first = 5min}});  // equal to the cap is fine
}

TEST(ExponentialBackoffTest, KeepsTheOptionsItWasGiven) {
  const ExponentialBackoff policy{{.rate_limit_first = 2s, .honor_server_wait = false}};
  EXPECT_EQ(policy.options().rate_limit_first, 2s);
  EXPECT_FALSE(policy.options().honor_server_wait);
  EXPECT_EQ(ExponentialBackoff{}.options().quota_max, 24h);
}

// --- the contract every shipped cooldown policy meets ----------------------------------------

template <class Policy>
class CooldownPolicyContract : public ::testing::Test {
 protected:
  static_assert(CooldownPolicy<Policy>);

  // Every verdict kind a policy is called with, with and without a server wait.
  static std::vector<Verdict> verdicts() {
    std::vector<Verdict> out;
    for (const auto kind : {VerdictKind::rate_limited, VerdictKind::quota_exhausted,
                            VerdictKind::unauthenticated, VerdictKind::misconfigured}) {
      for (const auto wait : {std::optional<milliseconds>{}, ms(0ms), ms(1500ms), ms(1h)}) {
        out.push_back(verdict(kind, wait));
      }
    }
    return out;
  }
  static std::vector<std::uint32_t> counts() {
    return {0U, 1U, 2U, 3U, 10U, 31U, 32U, 64U, 1000U, std::numeric_limits<std::uint32_t>::max()};
  }
  static std::vector<double> jitters() { return {0.0, 1e-9, 0.25, 0.5, 0.999, kAlmostOne}; }

  Policy policy_{};
};

using ShippedCooldownPolicies = ::testing::Types<cooldown::ExponentialBackoff>;
TYPED_TEST_SUITE(CooldownPolicyContract, ShippedCooldownPolicies);

TYPED_TEST(CooldownPolicyContract, NeverGivesANegativeWindow) {
  for (const auto& v : this->verdicts()) {
    for (const auto n : this->counts()) {
      for (const double jitter : this->jitters()) {
        const auto window = this->policy_.on_failure(v, n, jitter);
        if (window) {
          EXPECT_GE(*window, milliseconds::zero())
              << to_string(v.kind) << " n=" << n << " jitter=" << jitter;
        }
      }
    }
  }
}

TYPED_TEST(CooldownPolicyContract, IsPureSameInputsSameWindow) {
  const TypeParam& policy = this->policy_;
  for (const auto& v : this->verdicts()) {
    for (const auto n : this->counts()) {
      for (const double jitter : this->jitters()) {
        const auto first = policy.on_failure(v, n, jitter);
        const auto second = policy.on_failure(v, n, jitter);
        const TypeParam copy = policy;
        EXPECT_EQ(first, second) << to_string(v.kind) << " n=" << n << " jitter=" << jitter;
        EXPECT_EQ(first, copy.on_failure(v, n, jitter));
      }
    }
  }
}

}  // namespace
}  // namespace keyward
