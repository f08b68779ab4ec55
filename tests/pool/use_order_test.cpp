// detail::UseOrder: least_recently_used's order of use, chosen from in O(1) (docs/pool.md).
#include <gtest/gtest.h>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "keyward/pool/selection.hpp"

namespace keyward::detail {
namespace {

// The order of `n` profiles, added in turn.
void add(UseOrder& order, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) order.add();
}

const auto kAny = [](std::size_t) { return true; };

TEST(UseOrderTest, ProfilesThatNeverServedComeFirstInTheOrderAdded) {
  UseOrder order;
  add(order, 3);
  EXPECT_EQ(order.take(kAny), std::optional<std::size_t>{0});
  EXPECT_EQ(order.take(kAny), std::optional<std::size_t>{1});
  EXPECT_EQ(order.take(kAny), std::optional<std::size_t>{2});
  EXPECT_EQ(order.take(kAny), std::optional<std::size_t>{0});
}

TEST(UseOrderTest, AProfileThatCannotServeKeepsItsPlace) {
  UseOrder order;
  add(order, 3);
  EXPECT_EQ(order.take([](std::size_t i) { return i != 0; }), std::optional<std::size_t>{1});
  EXPECT_EQ(order.take(kAny), std::optional<std::size_t>{0});  // still the least recent
  EXPECT_EQ(order.take(kAny), std::optional<std::size_t>{2});
  EXPECT_EQ(order.take(kAny), std::optional<std::size_t>{1});
}

TEST(UseOrderTest, NothingUsableChoosesNothingAndMovesNothing) {
  UseOrder order;
  add(order, 2);
  EXPECT_FALSE(order.take([](std::size_t) { return false; }));
  EXPECT_EQ(order.take(kAny), std::optional<std::size_t>{0});
}

TEST(UseOrderTest, AUseOutsideAChoiceMakesTheProfileTheMostRecent) {
  UseOrder order;
  add(order, 3);
  order.used(0);  // a sticky session's request
  EXPECT_EQ(order.take(kAny), std::optional<std::size_t>{1});
  order.used(1);  // already the most recent: nothing moves
  EXPECT_EQ(order.take(kAny), std::optional<std::size_t>{2});
  EXPECT_EQ(order.take(kAny), std::optional<std::size_t>{0});
  order.used(2);
  EXPECT_EQ(order.take(kAny), std::optional<std::size_t>{1});
  EXPECT_EQ(order.take(kAny), std::optional<std::size_t>{0});
}

TEST(UseOrderTest, AChoiceAsksOnlyUntilTheFirstProfileThatCanServe) {
  // A pool of 128 whose least recent profile serves asks one profile, not all of them.
  UseOrder order;
  add(order, 128);
  for (std::size_t round = 0; round < 3; ++round) {
    for (std::size_t expected = 0; expected < 128; ++expected) {
      std::vector<std::size_t> asked;
      const auto chosen = order.take([&asked](std::size_t i) {
        asked.push_back(i);
        return true;
      });
      ASSERT_EQ(chosen, std::optional<std::size_t>{expected});
      EXPECT_EQ(asked, std::vector<std::size_t>{expected});
    }
  }
}

TEST(UseOrderTest, AChoiceWhoseCheckThrowsLeavesTheOrderAsItWas) {
  // The check reads the injected clock, which may throw: the lock is released, nothing moved.
  UseOrder order;
  add(order, 2);
  EXPECT_THROW(
      static_cast<void>(order.take([](std::size_t) -> bool { throw std::runtime_error("clock"); })),
      std::runtime_error);
  EXPECT_EQ(order.take(kAny), std::optional<std::size_t>{0});
  order.used(1);
  EXPECT_EQ(order.take(kAny), std::optional<std::size_t>{0});
}

TEST(UseOrderTest, ThreadsThatChooseAndUseAtOnceKeepEveryProfileInTheOrder) {
  // Four threads choose and record uses at once; afterwards every profile is still in the order
  // once: choosing each in turn yields all of them.
  constexpr std::size_t kProfiles = 16;
  UseOrder order;
  add(order, kProfiles);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&order, t] {
      for (std::size_t k = 0; k < 5000; ++k) {
        if (k % 3 == 0) {
          order.used((t + k) % kProfiles);
        } else {
          static_cast<void>(order.take([t, k](std::size_t i) { return (i + t + k) % 4 != 0; }));
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<bool> seen(kProfiles, false);
  for (std::size_t k = 0; k < kProfiles; ++k) {
    const auto chosen = order.take(kAny);
    ASSERT_TRUE(chosen);
    EXPECT_FALSE(seen[*chosen]) << "profile " << *chosen << " twice";
    seen[*chosen] = true;
  }
}

}  // namespace
}  // namespace keyward::detail
