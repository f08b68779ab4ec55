// detail::SnapshotCell: publication, per-thread caching keyed by never-reused cell ids, snapshot
// lifetimes, and readers racing a writer. Also detail::Jitter. No test sleeps: threads meet at
// latches and futures.
#include "keyward/detail/snapshot_cell.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
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
  const SnapshotCell<int>::Pin pin;  // load() is called under a Pin
  const SnapshotCell<int> cell{boxed(7)};
  EXPECT_EQ(cell.load(), 7);
  EXPECT_EQ(cell.load(), 7);
  EXPECT_EQ(*cell.load_shared(), 7);
}

TEST(SnapshotCellTest, NextLoadInTheSameThreadSeesAPublish) {
  const SnapshotCell<int>::Pin pin;  // load() is called under a Pin
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
    const SnapshotCell<int>::Pin pin;
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
  const SnapshotCell<int>::Pin pin;  // load() is called under a Pin
  SnapshotCell<int> cell{boxed(1)};
  ASSERT_EQ(cell.load(), 1);
  std::thread writer([&] { cell.publish(boxed(5)); });
  writer.join();
  EXPECT_EQ(cell.load(), 5);
}

TEST(SnapshotCellTest, ABorrowedSnapshotOutlivesAPublishWhilePinned) {
  const SnapshotCell<std::string>::Pin pin;
  SnapshotCell<std::string> cell{
      std::make_shared<const std::string>("the first snapshot, long enough to live on the heap")};
  const std::string& borrowed = cell.load();
  std::thread writer(
      [&] { cell.publish(std::make_shared<const std::string>("the second snapshot")); });
  writer.join();
  // This thread is still pinned, so the first snapshot is still alive.
  EXPECT_EQ(borrowed, "the first snapshot, long enough to live on the heap");
  EXPECT_EQ(cell.load(), "the second snapshot");
}

// --- many cells -----------------------------------------------------------------------------

TEST(SnapshotCellTest, TwoCellsOfTheSameTypeKeepTheirOwnValues) {
  const SnapshotCell<int>::Pin pin;  // load() is called under a Pin
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

TEST(SnapshotCellTest, AThousandCellsReadInTurnEachReturnTheirOwnSnapshot) {
  const SnapshotCell<int>::Pin pin;  // load() is called under a Pin
  constexpr int kCells = 1000;
  std::vector<std::unique_ptr<SnapshotCell<int>>> cells;
  for (int i = 0; i < kCells; ++i) cells.push_back(std::make_unique<SnapshotCell<int>>(boxed(i)));
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kCells; ++i) {
      ASSERT_EQ(cells[static_cast<std::size_t>(i)]->load(), i) << "round " << round;
    }
  }
  for (int i = 0; i < kCells; i += 7) cells[static_cast<std::size_t>(i)]->publish(boxed(-i));
  for (int round = 0; round < 3; ++round) {
    for (int i = kCells - 1; i >= 0; --i) {
      const int expected = i % 7 == 0 ? -i : i;
      ASSERT_EQ(cells[static_cast<std::size_t>(i)]->load(), expected) << "round " << round;
    }
  }
  EXPECT_GE(SnapshotCell<int>::thread_table_size(), static_cast<std::size_t>(kCells));
}

TEST(SnapshotCellTest, CellsWhoseIdsAreSixteenApartKeepTheirOwnValues) {
  const SnapshotCell<int>::Pin pin;  // load() is called under a Pin
  // The ids the first cache design collided on (id % 16): each cell draws one id, so drawing 15
  // in between puts the second cell 16 ids after the first.
  SnapshotCell<int> a{boxed(1)};
  for (int i = 0; i < 15; ++i) static_cast<void>(next_cell_id());
  SnapshotCell<int> b{boxed(2)};
  for (int round = 0; round < 100; ++round) {
    ASSERT_EQ(a.load(), 1 + 2 * round);
    ASSERT_EQ(b.load(), 2 + 2 * round);
    ASSERT_EQ(a.load(), 1 + 2 * round);
    a.publish(boxed(3 + 2 * round));
    b.publish(boxed(4 + 2 * round));
  }
}

TEST(SnapshotCellTest, CellsSharingACacheSlotNeverReturnEachOthersValues) {
  const SnapshotCell<int>::Pin pin;  // load() is called under a Pin
  // More cells than the first cache design had slots, read forwards and backwards.
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
  const SnapshotCell<int>::Pin pin;  // load() is called under a Pin
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
  const SnapshotCell<int>::Pin pin;  // load() is called under a Pin
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
  const SnapshotCell<int>::Pin pin;  // load() is called under a Pin
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

// --- Pin ------------------------------------------------------------------------------------

TEST(SnapshotCellTest, APinKeepsTheFirstReferenceValidAcrossReadsOfAThousandOtherCells) {
  using Cell = SnapshotCell<std::string>;
  Cell first{std::make_shared<const std::string>("the first snapshot, long enough for the heap")};
  std::vector<std::unique_ptr<Cell>> others;
  for (int i = 0; i < 1000; ++i) {
    others.push_back(std::make_unique<Cell>(std::make_shared<const std::string>(
        "another cell's snapshot, also long enough: " + std::to_string(i))));
  }
  std::weak_ptr<const std::string> watch;
  {
    const Cell::Pin pin;
    const std::string& borrowed = first.load();
    watch = first.load_shared();
    // Only this thread's table holds the first snapshot from here on.
    first.publish(std::make_shared<const std::string>("the second snapshot"));
    for (int round = 0; round < 2; ++round) {
      for (std::size_t i = 0; i < others.size(); ++i) {
        ASSERT_EQ(others[i]->load(),
                  "another cell's snapshot, also long enough: " + std::to_string(i));
      }
      EXPECT_EQ(first.load(), "the second snapshot");  // evicts the first snapshot: parked
      first.publish(std::make_shared<const std::string>("the second snapshot"));
    }
    others.erase(others.begin(), others.begin() + 500);  // destroyed cells: no sweep while pinned
    for (const auto& cell : others) static_cast<void>(cell->load());
    EXPECT_EQ(borrowed, "the first snapshot, long enough for the heap");
    EXPECT_FALSE(watch.expired());
  }
  EXPECT_TRUE(watch.expired());  // the last Pin released what was parked
  const Cell::Pin pin;
  EXPECT_EQ(first.load(), "the second snapshot");
}

TEST(SnapshotCellTest, NestedPinsReleaseOnlyWhenTheOutermostEnds) {
  SnapshotCell<int> cell{boxed(1)};
  std::weak_ptr<const int> watch = cell.load_shared();
  {
    const SnapshotCell<int>::Pin outer;
    const int& borrowed = cell.load();
    {
      const SnapshotCell<int>::Pin inner;
      cell.publish(boxed(2));
      EXPECT_EQ(cell.load(), 2);
    }
    EXPECT_FALSE(watch.expired());
    EXPECT_EQ(borrowed, 1);
  }
  EXPECT_TRUE(watch.expired());
}

// --- memory ---------------------------------------------------------------------------------

// A snapshot that counts its live instances; each Tag is its own T, so its own table and index
// registry, untouched by other tests.
template <int Tag>
struct Counted {
  static inline std::atomic<int> live{0};
  int value;
  explicit Counted(int v) : value(v) { live.fetch_add(1); }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
  ~Counted() { live.fetch_sub(1); }
};

template <int Tag>
std::shared_ptr<const Counted<Tag>> counted(int value) {
  return std::make_shared<const Counted<Tag>>(value);
}

TEST(SnapshotCellTest, CreatingAndDestroyingCellsWhileReadingThemKeepsMemoryBounded) {
  using Snapshot = Counted<1>;
  using Cell = SnapshotCell<Snapshot>;
  constexpr int kCells = 100'000;
  constexpr std::size_t kLive = 10;                         // cells alive at once
  std::deque<std::pair<std::unique_ptr<Cell>, int>> cells;  // with the value each should hold
  int most_alive = 0;
  for (int i = 0; i < kCells; ++i) {
    const Cell::Pin pin;
    cells.emplace_back(std::make_unique<Cell>(counted<1>(i)), i);
    ASSERT_EQ(cells.back().first->load().value, i);
    if (i % 3 == 0) {
      cells.back().first->publish(counted<1>(-i));
      cells.back().second = -i;
    }
    for (const auto& [cell, expected] : cells) ASSERT_EQ(cell->load().value, expected);
    if (cells.size() == kLive) cells.pop_front();
    most_alive = std::max(most_alive, Snapshot::live.load());
  }
  // Each live cell holds one snapshot; this thread's table at most one more per index, and
  // indexes are reused, so neither grows with the number of cells ever created.
  EXPECT_LE(most_alive, static_cast<int>(2 * kLive));
  EXPECT_LE(Cell::thread_table_size(), std::size_t{16});
  cells.clear();
  // Destroyed cells take their snapshots out of the table: only the new cell's is left.
  const Cell last{counted<1>(7)};
  const Cell::Pin pin;
  EXPECT_EQ(last.load().value, 7);
  EXPECT_EQ(Snapshot::live.load(), 1);
}

TEST(SnapshotCellTest, ADestroyedCellsSnapshotsAreReleasedWithIt) {
  using Snapshot = Counted<2>;
  using Cell = SnapshotCell<Snapshot>;
  {
    std::vector<std::unique_ptr<Cell>> cells;
    for (int i = 0; i < 200; ++i) cells.push_back(std::make_unique<Cell>(counted<2>(i)));
    for (const auto& cell : cells) {
      const Cell::Pin pin;
      static_cast<void>(cell->load());
    }
    for (const auto& cell : cells) cell->publish(counted<2>(1));
    EXPECT_EQ(Snapshot::live.load(), 200);  // the replaced ones left this thread's table
    cells.clear();
  }
  EXPECT_EQ(Snapshot::live.load(), 0);  // and the destroyed cells' with them, before any read
  const Cell fresh{counted<2>(5)};
  const Cell::Pin pin;
  EXPECT_EQ(fresh.load().value, 5);
  EXPECT_EQ(Snapshot::live.load(), 1);
}

// --- memory that follows use ----------------------------------------------------------------

TEST(SnapshotCellTest, AThreadReadingOneOfTenThousandCellsKeepsASmallTable) {
  using Cell = SnapshotCell<Counted<10>>;
  std::vector<std::unique_ptr<Cell>> cells;
  for (int i = 0; i < 10'000; ++i) cells.push_back(std::make_unique<Cell>(counted<10>(i)));
  std::promise<std::size_t> size;
  std::thread reader([&] {
    const Cell::Pin pin;
    EXPECT_EQ(cells.back()->load().value, 9'999);
    size.set_value(Cell::thread_table_size());
  });
  reader.join();
  // A table follows what the thread reads, not the highest index ever made.
  EXPECT_LE(size.get_future().get(), std::size_t{16});
}

TEST(SnapshotCellTest, AThreadsTableShrinksAndLetsGoWhenCellsAreDestroyed) {
  using Snapshot = Counted<11>;
  using Cell = SnapshotCell<Snapshot>;
  std::vector<std::unique_ptr<Cell>> cells;
  for (int i = 0; i < 10'000; ++i) cells.push_back(std::make_unique<Cell>(counted<11>(i)));
  for (const auto& cell : cells) {
    const Cell::Pin pin;
    static_cast<void>(cell->load());
  }
  EXPECT_GE(Cell::thread_table_size(), std::size_t{10'000});
  cells.erase(cells.begin() + 10, cells.end());
  // The destroyed cells' snapshots are released at once, not at this thread's next read.
  EXPECT_EQ(Snapshot::live.load(), 10);
  cells.front()->publish(counted<11>(-1));
  {
    const Cell::Pin pin;
    EXPECT_EQ(cells.front()->load().value, -1);  // a miss: the table is rebuilt for what is left
  }
  EXPECT_LE(Cell::thread_table_size(), std::size_t{64});
  for (std::size_t i = 1; i < cells.size(); ++i) {
    const Cell::Pin pin;
    EXPECT_EQ(cells[i]->load().value, static_cast<int>(i));
  }
  EXPECT_EQ(Snapshot::live.load(), 10);
}

TEST(SnapshotCellTest, ReplacedSnapshotsAreFreedWhileEightReadersSitIdle) {
  using Snapshot = Counted<12>;
  using Cell = SnapshotCell<Snapshot>;
  constexpr int kCells = 10'000;
  constexpr int kReaders = 8;
  std::vector<std::unique_ptr<Cell>> cells;
  for (int i = 0; i < kCells; ++i) cells.push_back(std::make_unique<Cell>(counted<12>(i)));
  std::latch have_read{kReaders + 1};
  std::promise<void> go;
  const std::shared_future<void> gone = go.get_future().share();
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      for (int i = 0; i < kCells; ++i) {
        const Cell::Pin pin;
        if (cells[static_cast<std::size_t>(i)]->load().value != i) wrong.fetch_add(1);
      }
      have_read.arrive_and_wait();
      gone.wait();  // idle: reads nothing until every cell was replaced and counted
      const Cell::Pin pin;
      if (cells.back()->load().value != -1) wrong.fetch_add(1);
    });
  }
  have_read.arrive_and_wait();
  for (const auto& cell : cells) cell->publish(counted<12>(-1));
  // Only the current snapshots are left: none waits in an idle reader's table.
  EXPECT_EQ(Snapshot::live.load(), kCells);
  go.set_value();
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(SnapshotCellTest, APinnedReadersReplacedSnapshotLivesUntilItsPinEnds) {
  using Snapshot = Counted<13>;
  using Cell = SnapshotCell<Snapshot>;
  Cell cell{counted<13>(1)};
  std::promise<void> loaded;
  std::promise<void> published;
  std::promise<bool> still_valid;
  std::promise<void> unpinned;
  std::promise<void> done;
  std::thread reader([&] {
    {
      const Cell::Pin pin;
      const Snapshot& borrowed = cell.load();
      loaded.set_value();
      published.get_future().wait();
      still_valid.set_value(borrowed.value == 1);
    }
    unpinned.set_value();
    done.get_future().wait();  // idle from here, without reading again
  });
  loaded.get_future().wait();
  cell.publish(counted<13>(2));
  EXPECT_EQ(Snapshot::live.load(), 2);  // the reader still borrows the first
  published.set_value();
  EXPECT_TRUE(still_valid.get_future().get());
  unpinned.get_future().wait();
  EXPECT_EQ(Snapshot::live.load(), 1);  // released when the Pin ended, with no further read
  done.set_value();
  reader.join();
}

// --- thread exit ----------------------------------------------------------------------------

TEST(SnapshotCellTest, AThreadsTableIsReleasedWhenItExits) {
  using Snapshot = Counted<3>;
  SnapshotCell<Snapshot> cell{counted<3>(1)};
  std::weak_ptr<const Snapshot> watch = cell.load_shared();
  std::thread reader([&] {
    const SnapshotCell<Snapshot>::Pin pin;
    EXPECT_EQ(cell.load().value, 1);
  });
  reader.join();
  cell.publish(counted<3>(2));
  EXPECT_TRUE(watch.expired());
}

// Built before the thread's first load(), so destroyed after the thread's table: its destructor
// loads through the exiting path, pinned, and checks a reference taken while the thread ran.
struct ReadsWhileExiting {
  using Cell = SnapshotCell<std::string>;
  Cell* first = nullptr;
  std::vector<std::unique_ptr<Cell>>* others = nullptr;
  const std::string* borrowed = nullptr;
  std::promise<bool>* ok = nullptr;
  std::optional<Cell::Pin> pin;
  ReadsWhileExiting() = default;
  ReadsWhileExiting(const ReadsWhileExiting&) = delete;
  ReadsWhileExiting& operator=(const ReadsWhileExiting&) = delete;
  ~ReadsWhileExiting() {
    if (ok == nullptr) return;
    bool good = *borrowed == "taken while the thread ran, long enough for the heap";
    for (std::size_t i = 0; i < others->size(); ++i) {
      good = good && (*others)[i]->load() == std::to_string(i);
    }
    good = good && first->load() == "published before the thread exited";
    good = good && *borrowed == "taken while the thread ran, long enough for the heap";
    pin.reset();
    ok->set_value(good);
  }
};

TEST(SnapshotCellTest, LoadsFromThreadLocalDestructorsAfterTheTableIsGoneAreSafe) {
  using Cell = SnapshotCell<std::string>;
  Cell first{
      std::make_shared<const std::string>("taken while the thread ran, long enough for the heap")};
  std::vector<std::unique_ptr<Cell>> others;
  for (int i = 0; i < 50; ++i) {
    others.push_back(
        std::make_unique<Cell>(std::make_shared<const std::string>(std::to_string(i))));
  }
  std::promise<bool> ok;
  std::thread reader([&] {
    thread_local ReadsWhileExiting late;
    late.pin.emplace();  // held while the table is torn down, so the table outlives it
    late.first = &first;
    late.others = &others;
    late.ok = &ok;
    late.borrowed = &first.load();
    first.publish(std::make_shared<const std::string>("published before the thread exited"));
    for (const auto& cell : others) static_cast<void>(cell->load());
  });
  reader.join();
  EXPECT_TRUE(ok.get_future().get());
  const Cell::Pin pin;
  EXPECT_EQ(first.load(), "published before the thread exited");
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
        const SnapshotCell<int>::Pin pin;
        const int value = cell.load();
        if (value < last) backwards.fetch_add(1);
        if (value < 0 || value > kPublishes) out_of_range.fetch_add(1);
        last = value;
        ++n;
      }
      // The writer finished before `done`, so this load must see its last publish.
      const SnapshotCell<int>::Pin pin;
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
  const SnapshotCell<int>::Pin pin;
  EXPECT_EQ(cell.load(), kPublishes);
}

TEST(SnapshotCellTest, ManyCellsUnderPublishersReadersAndChurnStayConsistent) {
  // Each value is cell * kStride + sequence, so a reader can tell a wrong cell from an old value.
  constexpr int kCells = 300;
  constexpr int kReaders = 3;
  constexpr int kPublishes = 20'000;
  constexpr int kStride = 1'000'000;
  std::vector<std::unique_ptr<SnapshotCell<int>>> cells;
  for (int i = 0; i < kCells; ++i) {
    cells.push_back(std::make_unique<SnapshotCell<int>>(boxed(i * kStride)));
  }
  std::atomic<bool> done{false};
  std::atomic<int> wrong{0};
  std::latch start{kReaders + 2};

  std::vector<std::thread> threads;
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      start.arrive_and_wait();
      std::vector<int> last(kCells, 0);
      for (int round = 0; !done.load(std::memory_order_acquire); ++round) {
        // Every other round under one Pin, the others a Pin per read.
        std::optional<SnapshotCell<int>::Pin> pin;
        if ((round + r) % 2 == 0) pin.emplace();
        const int* held = nullptr;
        {
          const SnapshotCell<int>::Pin inner;
          held = &cells[static_cast<std::size_t>(r)]->load();
        }
        const int held_value = pin ? *held : 0;
        for (int i = 0; i < kCells; ++i) {
          const SnapshotCell<int>::Pin inner;
          const int value = cells[static_cast<std::size_t>(i)]->load();
          if (value / kStride != i || value % kStride < last[static_cast<std::size_t>(i)]) {
            wrong.fetch_add(1);
          }
          last[static_cast<std::size_t>(i)] = value % kStride;
        }
        if (pin && *held != held_value) wrong.fetch_add(1);
      }
    });
  }
  threads.emplace_back([&] {  // publishes to every cell in turn
    start.arrive_and_wait();
    for (int n = 1; n <= kPublishes; ++n) {
      const int cell = n % kCells;
      cells[static_cast<std::size_t>(cell)]->publish(boxed(cell * kStride + n));
    }
    done.store(true, std::memory_order_release);
  });
  threads.emplace_back([&] {  // creates, reads and destroys cells of the same type meanwhile
    start.arrive_and_wait();
    for (int n = 0; !done.load(std::memory_order_acquire); ++n) {
      const SnapshotCell<int> own{boxed(n)};
      const SnapshotCell<int>::Pin pin;
      if (own.load() != n) wrong.fetch_add(1);
    }
  });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
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
