// detail::SessionPins: the sticky-session table costs nothing until a session is pinned.
#include <gtest/gtest.h>
#include <malloc.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "keyward/pool/selection.hpp"

namespace keyward::detail {
namespace {

// Sanitizers replace malloc, and mallinfo2() then reports nothing of what they hand out.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kMallinfoCounts = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kMallinfoCounts = false;
#else
constexpr bool kMallinfoCounts = true;
#endif
#else
constexpr bool kMallinfoCounts = true;
#endif

TEST(SessionPinsTest, ATableThatWasNeverPinnedCarriesNoSlots) {
  // A pool with sticky sessions off never pins: it pays for a pointer, not the 4096 slots.
  EXPECT_LE(sizeof(SessionPins), std::size_t{16});
  const SessionPins pins;
  EXPECT_FALSE(pins.find("session", TimePoint{} + std::chrono::hours{1}, std::chrono::minutes{5}));
}

TEST(SessionPinsTest, TheFirstPinAllocatesTheTableAndLaterPinsDoNot) {
  if (!kMallinfoCounts) GTEST_SKIP() << "mallinfo2() does not see a sanitizer's allocations";
  auto pins = std::make_unique<SessionPins>();
  const TimePoint now = TimePoint{} + std::chrono::hours{1};
  const std::size_t before = mallinfo2().uordblks;
  pins->pin("first", 3, now);
  const std::size_t after_first = mallinfo2().uordblks;
  EXPECT_GE(after_first - before, std::size_t{4096 * 8});
  for (int i = 0; i < 100; ++i) pins->pin("session " + std::to_string(i), 1, now);
  EXPECT_EQ(mallinfo2().uordblks, after_first);
  EXPECT_EQ(pins->find("first", now, std::chrono::minutes{5}), 3U);
  EXPECT_EQ(pins->find("session 7", now, std::chrono::minutes{5}), 1U);
  EXPECT_FALSE(pins->find("never pinned", now, std::chrono::minutes{5}));
}

}  // namespace
}  // namespace keyward::detail
