// A landing refresh flight (detail/async_flight.hpp) resumes its waiters a batch at a time, each
// batch a handler of its own on the face's executor, so that a loop with thousands of operations
// waiting for one refresh still runs its timers and sockets while they resume (docs/async.md "No
// thread waits").
#include "keyward/detail/async_flight.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <cstddef>
#include <vector>

namespace keyward::testing {
namespace {

using detail::AsyncFlight;
using detail::Refreshed;

constexpr std::size_t kBatch = AsyncFlight::kResumeBatch;

// `count` waiters that record the order they were resumed in.
void join(AsyncFlight& flight, std::size_t count, std::vector<std::size_t>& resumed) {
  for (std::size_t i = 0; i < count; ++i) {
    flight.join(flight.next_id(),
                [&resumed, i](const Refreshed& /*outcome*/) { resumed.push_back(i); });
  }
}

TEST(AsyncFlightLanding, ResumesABatchAtOnceAndTheRestBehindTheLoopsOtherWork) {
  asio::io_context io;
  AsyncFlight flight;
  std::vector<std::size_t> resumed;
  join(flight, 3 * kBatch + 1, resumed);

  flight.land(Refreshed{}, io.get_executor());
  EXPECT_EQ(resumed.size(), kBatch);  // the first batch, from the landing thread
  EXPECT_FALSE(flight.busy());        // a new flight may start at once

  // Work the loop has when the refresh lands: it runs after the next batch, not after all.
  std::size_t resumed_when_other_work_ran = 0;
  asio::post(io, [&] { resumed_when_other_work_ran = resumed.size(); });
  io.run();

  EXPECT_EQ(resumed_when_other_work_ran, 2 * kBatch);
  ASSERT_EQ(resumed.size(), 3 * kBatch + 1);
  for (std::size_t i = 0; i < resumed.size(); ++i) EXPECT_EQ(resumed[i], i);  // in join order
}

TEST(AsyncFlightLanding, AFewWaitersAreResumedWithoutTheLoop) {
  asio::io_context io;
  AsyncFlight flight;
  std::vector<std::size_t> resumed;
  join(flight, kBatch, resumed);

  flight.land(Refreshed{}, io.get_executor());
  EXPECT_EQ(resumed.size(), kBatch);
  EXPECT_EQ(io.poll(), 0U);  // nothing left for the loop
}

TEST(AsyncFlightLanding, AWaiterThatLeftIsNotResumed) {
  asio::io_context io;
  AsyncFlight flight;
  std::vector<std::size_t> resumed;
  const std::uint64_t first = flight.next_id();
  flight.join(first, [&resumed](const Refreshed& /*outcome*/) { resumed.push_back(99); });
  join(flight, 1, resumed);

  ASSERT_TRUE(flight.leave(first));
  flight.land(Refreshed{}, io.get_executor());
  io.run();
  EXPECT_EQ(resumed, (std::vector<std::size_t>{0}));  // only join()'s waiter, not the first
}

}  // namespace
}  // namespace keyward::testing
