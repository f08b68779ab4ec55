// RetryBudget: gRPC's retry throttling, exactly, and safe from many threads.
#include "keyward/retry_budget.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

namespace keyward {
namespace {

TEST(RetryBudgetTest, StartsFullAndStopsRetriesAtHalf) {
  RetryBudget budget;
  EXPECT_DOUBLE_EQ(budget.tokens(), 10.0);
  EXPECT_TRUE(budget.allows_retry());
  // 10 -> 9, 8, 7, 6: above half, retries allowed.
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(budget.record_failure()) << i;
  // 6 -> 5: at half, no retries.
  EXPECT_FALSE(budget.record_failure());
  EXPECT_FALSE(budget.allows_retry());
  EXPECT_DOUBLE_EQ(budget.tokens(), 5.0);
}

TEST(RetryBudgetTest, SuccessesRefillByTheRatioAndTheCountStaysWithinBounds) {
  RetryBudget budget;
  for (int i = 0; i < 50; ++i) static_cast<void>(budget.record_failure());
  EXPECT_DOUBLE_EQ(budget.tokens(), 0.0);  // never below zero
  // From 0 to above 5 takes 51 successes of 0.1 (5.0 is still at the threshold).
  for (int i = 0; i < 50; ++i) budget.record_success();
  EXPECT_DOUBLE_EQ(budget.tokens(), 5.0);
  EXPECT_FALSE(budget.allows_retry());
  budget.record_success();
  EXPECT_TRUE(budget.allows_retry());
  for (int i = 0; i < 1000; ++i) budget.record_success();
  EXPECT_DOUBLE_EQ(budget.tokens(), 10.0);  // clamped: a good day does not bank a bad one
  // ...so an outage trips it after the same five failures as a fresh budget.
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(budget.record_failure());
  EXPECT_FALSE(budget.record_failure());
}

TEST(RetryBudgetTest, MatchesGrpcsOwnExample) {
  // gRPC's unit test of retry throttling: 4 tokens, 1.6 per success.
  RetryBudget budget{{.max_tokens = 4, .token_ratio = 1.6}};
  EXPECT_TRUE(budget.record_failure());   // 3
  budget.record_success();                // 4, not 4.6
  EXPECT_TRUE(budget.record_failure());   // 3
  EXPECT_FALSE(budget.record_failure());  // 2: at the threshold
  budget.record_success();                // 3.6
  EXPECT_TRUE(budget.allows_retry());
  EXPECT_TRUE(budget.record_failure());   // 2.6: above the threshold
  EXPECT_FALSE(budget.record_failure());  // 1.6
  EXPECT_DOUBLE_EQ(budget.tokens(), 1.6);
}

TEST(RetryBudgetTest, RefusesUnusableOptions) {
  EXPECT_THROW(RetryBudget({.max_tokens = 0}), std::invalid_argument);
  EXPECT_THROW(RetryBudget({.max_tokens = -1}), std::invalid_argument);
  EXPECT_THROW(RetryBudget({.max_tokens = 10, .token_ratio = 0}), std::invalid_argument);
  EXPECT_THROW(RetryBudget({.max_tokens = 10, .token_ratio = 11}), std::invalid_argument);
  EXPECT_THROW(RetryBudget({.max_tokens = 1e300}), std::invalid_argument);
  EXPECT_NO_THROW(RetryBudget({.max_tokens = 1000, .token_ratio = 0.001}));
}

TEST(RetryBudgetTest, ConcurrentFailuresAndSuccessesAreCountedExactly) {
  // 4 threads x 1000 failures and 4 threads x 1000 successes: whatever the interleaving, the
  // count stays in [0, 10] and every update lands (checked with a bucket too big to clamp).
  RetryBudget big{{.max_tokens = 100000, .token_ratio = 0.5}};
  RetryBudget small;
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        static_cast<void>(big.record_failure());
        static_cast<void>(small.record_failure());
        const double left = small.tokens();
        EXPECT_GE(left, 0.0);
        EXPECT_LE(left, 10.0);
      }
    });
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        big.record_success();
        small.record_success();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  // Starts full, so the first successes are clamped; then 4000 failures and the remaining
  // successes: the exact figure depends on the interleaving, the bounds do not.
  EXPECT_GE(big.tokens(), 100000.0 - 4000.0);
  EXPECT_LE(big.tokens(), 100000.0 - 4000.0 + 2000.0);
  EXPECT_GE(small.tokens(), 0.0);
  EXPECT_LE(small.tokens(), 10.0);
}

TEST(RetryBudgetTest, ConcurrentFailuresFromAFullBucketAreExact) {
  RetryBudget budget{{.max_tokens = 100000, .token_ratio = 1}};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2500; ++i) static_cast<void>(budget.record_failure());
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_DOUBLE_EQ(budget.tokens(), 90000.0);
}

}  // namespace
}  // namespace keyward
