// detail::UseOrder: least_recently_used's order of use, chosen from in O(1) (docs/pool.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <optional>
#include <random>
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

// The ring (take_least() only moves its start on) orders profiles as a plain list of them,
// least recent first, would: checked against one over random choices, uses and refusals.
TEST(UseOrderTest, KeepsTheOrderAListOfProfilesWould) {
  std::mt19937 random{20};  // fixed: the same sequence every run
  for (std::size_t n = 1; n <= 6; ++n) {
    for (int trial = 0; trial < 200; ++trial) {
      UseOrder order;
      add(order, n);
      std::deque<std::size_t> list;
      for (std::size_t i = 0; i < n; ++i) list.push_back(i);
      const auto make_recent = [&list](std::size_t i) {
        list.erase(std::find(list.begin(), list.end(), i));
        list.push_back(i);
      };
      for (int step = 0; step < 30; ++step) {
        const auto op = random() % 3;
        if (op == 2) {
          const std::size_t i = random() % n;
          order.used(i);
          make_recent(i);
          continue;
        }
        const auto mask = random() % 3 == 0 ? ~0U : static_cast<unsigned>(random());
        const auto usable = [mask](std::size_t i) { return ((mask >> i) & 1U) != 0; };
        std::optional<std::size_t> expected;
        if (op == 0) {
          const auto it = std::find_if(list.begin(), list.end(), usable);
          if (it != list.end()) expected = *it;
        } else if (usable(list.front())) {
          expected = list.front();
        }
        ASSERT_EQ(op == 0 ? order.take(usable) : order.take_least(usable), expected)
            << n << " profiles, trial " << trial << ", step " << step;
        if (expected) make_recent(*expected);
      }
    }
  }
}

}  // namespace
}  // namespace keyward::detail
