// detail::SnapshotCell: publication, per-thread caching keyed by never-reused cell ids, snapshot
// lifetimes, and readers racing a writer. Also detail::Jitter. No test sleeps: threads meet at
// latches and futures.
#include "keyward/detail/snapshot_cell.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <future>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "keyward/detail/jitter.hpp"

namespace keyward::detail {
namespace {

std::shared_ptr<const int> boxed(int value) { return std::make_shared<const int>(value); }

// --- load and publish -----------------------------------------------------------------------

TEST(SnapshotCellTest, LoadReturnsTheInitialValue) {
  const SnapshotCell<int> cell{boxed(7)};
  EXPECT_EQ(cell.load(), 7);
  EXPECT_EQ(cell.load(), 7);
  EXPECT_EQ(*cell.load_shared(), 7);
}

TEST(SnapshotCellTest, NextLoadInTheSameThreadSeesAPublish) {
  SnapshotCell<int> cell{boxed(1)};
  ASSERT_EQ(cell.load(), 1);
  cell.publish(boxed(2));
  EXPECT_EQ(cell.load(), 2);
  cell.publish(boxed(3));
  cell.publish(boxed(4));
  EXPECT_EQ(cell.load(), 4);
  EXPECT_EQ(*cell.load_shared(), 4);
}

TEST(SnapshotCellTest, NextLoadInAnotherThreadSeesAPublish) {
  SnapshotCell<int> cell{boxed(1)};
  std::promise<int> first_seen;
  std::promise<void> published;
  std::promise<int> second_seen;
  std::thread reader([&] {
    first_seen.set_value(cell.load());  // fills the reader's cache with the first snapshot
    published.get_future().wait();
    second_seen.set_value(cell.load());
  });
  EXPECT_EQ(first_seen.get_future().get(), 1);
  cell.publish(boxed(2));
  published.set_value();
  EXPECT_EQ(second_seen.get_future().get(), 2);
  reader.join();
}

TEST(SnapshotCellTest, APublishFromAnotherThreadIsSeenHere) {
  SnapshotCell<int> cell{boxed(1)};
  ASSERT_EQ(cell.load(), 1);
  std::thread writer([&] { cell.publish(boxed(5)); });
  writer.join();
  EXPECT_EQ(cell.load(), 5);
}

TEST(SnapshotCellTest, ABorrowedSnapshotOutlivesAPublishUntilTheNextLoad) {
  SnapshotCell<std::string> cell{
      std::make_shared<const std::string>("the first snapshot, long enough to live on the heap")};
  const std::string& borrowed = cell.load();
  std::thread writer(
      [&] { cell.publish(std::make_shared<const std::string>("the second snapshot")); });
  writer.join();
  // This thread has not loaded again, so its cache still holds the first snapshot.
  EXPECT_EQ(borrowed, "the first snapshot, long enough to live on the heap");
  EXPECT_EQ(cell.load(), "the second snapshot");
}

// --- many cells -----------------------------------------------------------------------------

TEST(SnapshotCellTest, TwoCellsOfTheSameTypeKeepTheirOwnValues) {
  SnapshotCell<int> a{boxed(10)};
  SnapshotCell<int> b{boxed(20)};
  EXPECT_EQ(a.load(), 10);
  EXPECT_EQ(b.load(), 20);
  EXPECT_EQ(a.load(), 10);
  b.publish(boxed(21));
  EXPECT_EQ(a.load(), 10);
  EXPECT_EQ(b.load(), 21);
  a.publish(boxed(11));
  EXPECT_EQ(b.load(), 21);
  EXPECT_EQ(a.load(), 11);
}

TEST(SnapshotCellTest, CellsSharingACacheSlotNeverReturnEachOthersValues) {
  // More cells than cache slots, so several cells map to each slot and evict one another.
  constexpr int kCells = 40;
  std::vector<std::unique_ptr<SnapshotCell<int>>> cells;
  for (int i = 0; i < kCells; ++i) cells.push_back(std::make_unique<SnapshotCell<int>>(boxed(i)));
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kCells; ++i) {
      EXPECT_EQ(cells[static_cast<std::size_t>(i)]->load(), i) << "round " << round;
    }
  }
  for (int i = 0; i < kCells; i += 3) cells[static_cast<std::size_t>(i)]->publish(boxed(1000 + i));
  for (int round = 0; round < 3; ++round) {
    for (int i = kCells - 1; i >= 0; --i) {
      const int expected = i % 3 == 0 ? 1000 + i : i;
      EXPECT_EQ(cells[static_cast<std::size_t>(i)]->load(), expected) << "round " << round;
    }
  }
}

TEST(SnapshotCellTest, ANewCellNeverSeesADestroyedCellsValue) {
  // The same storage every time, so every cell has the address of the one before it.
  std::optional<SnapshotCell<int>> cell;
  const void* address = nullptr;
  for (int i = 0; i < 100; ++i) {
    cell.emplace(boxed(i));
    if (address == nullptr) address = &*cell;
    ASSERT_EQ(static_cast<const void*>(&*cell), address);
    EXPECT_EQ(cell->load(), i);
    cell.reset();
  }
}

TEST(SnapshotCellTest, NewHeapCellsStartWithTheirOwnValue) {
  for (int i = 0; i < 100; ++i) {
    auto cell = std::make_unique<SnapshotCell<int>>(boxed(i * 7));
    EXPECT_EQ(cell->load(), i * 7);
  }
}

TEST(SnapshotCellTest, IdsAreNeverReused) {
  const std::uint64_t first = next_cell_id();
  const std::uint64_t second = next_cell_id();
  EXPECT_GT(first, 0U);
  EXPECT_GT(second, first);
}

// --- load_shared ----------------------------------------------------------------------------

TEST(SnapshotCellTest, LoadSharedKeepsASnapshotAliveAfterLaterPublishes) {
  SnapshotCell<int> cell{boxed(1)};
  std::shared_ptr<const int> held = cell.load_shared();
  const std::weak_ptr<const int> watch = held;
  cell.publish(boxed(2));
  cell.publish(boxed(3));
  EXPECT_EQ(cell.load(), 3);  // this thread's cache now holds the third snapshot
  ASSERT_FALSE(watch.expired());
  EXPECT_EQ(*held, 1);
  EXPECT_EQ(*cell.load_shared(), 3);
  held.reset();
  EXPECT_TRUE(watch.expired());  // nothing else kept the first snapshot
}

// --- readers racing a writer ----------------------------------------------------------------

TEST(SnapshotCellTest, ReadersNeverSeeValuesGoBackwards) {
  constexpr int kReaders = 4;
  constexpr int kPublishes = 10'000;
  SnapshotCell<int> cell{boxed(0)};
  std::atomic<bool> done{false};
  std::atomic<int> backwards{0};
  std::atomic<int> out_of_range{0};
  std::atomic<int> final_wrong{0};
  std::atomic<long> reads{0};
  std::latch start{kReaders + 1};

  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      start.arrive_and_wait();
      int last = 0;
      long n = 0;
      while (!done.load(std::memory_order_acquire)) {
        const int value = cell.load();
        if (value < last) backwards.fetch_add(1);
        if (value < 0 || value > kPublishes) out_of_range.fetch_add(1);
        last = value;
        ++n;
      }
      // The writer finished before `done`, so this load must see its last publish.
      if (cell.load() != kPublishes) final_wrong.fetch_add(1);
      reads.fetch_add(n);
    });
  }
  std::thread writer([&] {
    start.arrive_and_wait();
    for (int i = 1; i <= kPublishes; ++i) cell.publish(boxed(i));
    done.store(true, std::memory_order_release);
  });
  writer.join();
  for (auto& reader : readers) reader.join();

  EXPECT_EQ(backwards.load(), 0);
  EXPECT_EQ(out_of_range.load(), 0);
  EXPECT_EQ(final_wrong.load(), 0);
  EXPECT_EQ(cell.load(), kPublishes);
}

// --- Jitter ---------------------------------------------------------------------------------

TEST(JitterTest, DrawsFractionsInTheUnitInterval) {
  Jitter jitter{42};
  double low = 1.0;
  double high = 0.0;
  double sum = 0.0;
  constexpr int kDraws = 100'000;
  for (int i = 0; i < kDraws; ++i) {
    const double x = jitter.next();
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
    low = std::min(low, x);
    high = std::max(high, x);
    sum += x;
  }
  EXPECT_LT(low, 0.001);
  EXPECT_GT(high, 0.999);
  EXPECT_NEAR(sum / kDraws, 0.5, 0.01);
}

TEST(JitterTest, IsDeterministicPerSeed) {
  Jitter a{42};
  Jitter b{42};
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.next(), b.next()) << "draw " << i;
}

TEST(JitterTest, DifferentSeedsGiveDifferentSequences) {
  for (const auto& [s1, s2] : {std::pair<std::uint64_t, std::uint64_t>{1, 2}, {0, 1}, {42, 43}}) {
    Jitter a{s1};
    Jitter b{s2};
    int equal = 0;
    for (int i = 0; i < 100; ++i) equal += a.next() == b.next() ? 1 : 0;
    EXPECT_EQ(equal, 0) << "seeds " << s1 << " and " << s2;
  }
}

TEST(JitterTest, ConcurrentDrawsNeverShareAValue) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1000;
  Jitter shared{7};
  std::vector<std::vector<double>> drawn(kThreads);
  std::latch start{kThreads};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) drawn[t].push_back(shared.next());
    });
  }
  for (auto& thread : threads) thread.join();

  std::vector<double> concurrent;
  for (const auto& part : drawn) concurrent.insert(concurrent.end(), part.begin(), part.end());
  std::vector<double> sequential;
  Jitter alone{7};
  for (int i = 0; i < kThreads * kPerThread; ++i) sequential.push_back(alone.next());
  std::sort(concurrent.begin(), concurrent.end());
  std::sort(sequential.begin(), sequential.end());
  // Together the threads drew exactly the first 4000 values of the sequence, each once.
  EXPECT_EQ(concurrent, sequential);
}

}  // namespace
}  // namespace keyward::detail
