// RefreshOptions::soft_spread: instances sharing one login place their soft refresh thresholds
// at different moments within the spread, so that a fleet does not refresh in the same second.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>

#include "keyward/cooldown/exponential_backoff.hpp"
#include "keyward/credential_cell.hpp"
#include "support/fake_clock.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using Cell = CredentialCell<cooldown::ExponentialBackoff>;

const TimePoint kNow{testing::kFixtureNow};
const TimePoint kExpiry = kNow + 1h;

TimePoint soft_at(const CredentialOptions& options) {
  const cooldown::ExponentialBackoff cooldown{};
  const Cell cell{
      options, cooldown,
      Credential::oauth("access-token-0123456789abcdef", "refresh-token-0123456789ab", kExpiry),
      TokenTraits{.refreshable = true}, kNow};
  EXPECT_LT(*cell.snapshot()->token->soft_at, *cell.snapshot()->token->hard_at);
  return *cell.snapshot()->token->soft_at;
}

TEST(RefreshSpread, AFleetSpreadsItsSoftThresholdsOverTheSpread) {
  // 200 instances, default options: soft at expiry - 5 min, hard at expiry - 30 s, soft_spread
  // 0.2, so thresholds fall in the 54 s after expiry - 5 min.
  std::map<std::chrono::seconds::rep, int> per_second;
  TimePoint earliest = TimePoint::max();
  TimePoint latest = TimePoint::min();
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    const TimePoint at = soft_at({.profile = "fleet", .jitter_seed = seed});
    earliest = std::min(earliest, at);
    latest = std::max(latest, at);
    ++per_second[std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count()];
  }
  EXPECT_GE(earliest, kExpiry - 5min);
  EXPECT_LE(latest, kExpiry - 5min + 54s);
  EXPECT_GT(latest - earliest, 45s);  // they really spread out
  int busiest = 0;
  for (const auto& [second, n] : per_second) busiest = std::max(busiest, n);
  EXPECT_LE(busiest, 12);  // 200 over 54 s: about 4 a second, never most of the fleet at once
}

TEST(RefreshSpread, ZeroTurnsItOffAndTheSeedFixesIt) {
  CredentialOptions off{.profile = "one", .jitter_seed = 7};
  off.refresh.soft_spread = 0.0;
  EXPECT_EQ(soft_at(off), kExpiry - 5min);
  const CredentialOptions seeded{.profile = "one", .jitter_seed = 7};
  EXPECT_EQ(soft_at(seeded), soft_at(seeded));
}

TEST(RefreshSpread, OutOfRangeIsRefused) {
  for (const double bad : {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    CredentialOptions options{.profile = "p"};
    options.refresh.soft_spread = bad;
    EXPECT_THROW(validate(options), std::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace keyward
