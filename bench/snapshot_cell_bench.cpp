// detail::SnapshotCell when one thread reads many cells in turn: N = 1, 16, 17, 128 and 1,000
// cells at 1 and 2 threads, and two cells whose ids are 16 apart (where the first design's
// 16-slot cache collided). Every read sums three bytes of the snapshot's token, so the load cannot
// be skipped. Baselines in the same binary: the floor (one atomic pointer load per cell, nothing
// ever reclaimed), the floor with cells as large as a SnapshotCell (so that both stream the same
// bytes through the caches at 1,000 cells), and the first design (16 per-thread slots chosen by
// id % 16).
// docs/design/snapshot-cache.md has the figures and the command that measures them.
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "alloc_counter.hpp"
#include "keyward/detail/snapshot_cell.hpp"

namespace keyward::bench {
namespace {

struct Snapshot {
  std::string token;  // long enough to live on the heap, like a real API key
  std::uint64_t generation = 0;
};

std::shared_ptr<const Snapshot> snapshot_for(std::size_t i) {
  return std::make_shared<const Snapshot>(
      Snapshot{"sk-ant-api03-" + std::to_string(1'000'000 + i) + "-" + std::string(48, 'k'), i});
}

/// The floor: one acquire load of a pointer per read; what it publishes is never freed.
class FloorCell {
 public:
  explicit FloorCell(std::shared_ptr<const Snapshot> initial)
      : keep_(std::move(initial)), current_(keep_.get()) {}
  const Snapshot& load() const { return *current_.load(std::memory_order_acquire); }

 private:
  std::shared_ptr<const Snapshot> keep_;
  std::atomic<const Snapshot*> current_;
};

/// The floor, padded to the size of a SnapshotCell: what reading 1,000 cells in turn costs in
/// memory traffic alone, whatever the cache scheme.
class FloorSameSizeCell {
 public:
  explicit FloorSameSizeCell(std::shared_ptr<const Snapshot> initial)
      : current_(initial.get()), keep_(std::move(initial)) {}
  const Snapshot& load() const { return *current_.load(std::memory_order_acquire); }

 private:
  static constexpr std::size_t kSize = sizeof(detail::SnapshotCell<Snapshot>);
  std::atomic<const Snapshot*> current_;
  std::shared_ptr<const Snapshot> keep_;
  [[maybe_unused]] std::array<char, kSize - sizeof(current_) - sizeof(keep_)> padding_{};
};
static_assert(sizeof(FloorSameSizeCell) == sizeof(detail::SnapshotCell<Snapshot>));

/// The first design: 16 per-thread slots chosen by id % 16; a miss takes the mutex.
class Direct16Cell {
 public:
  explicit Direct16Cell(std::shared_ptr<const Snapshot> initial) : current_(std::move(initial)) {}
  const Snapshot& load() const {
    const std::uint64_t version = version_.load(std::memory_order_acquire);
    const Entry& entry = cache_[id_ % kSlots];
    if (entry.id == id_ && entry.version == version) [[likely]] {
      return *entry.snapshot;
    }
    return refill();
  }

 private:
  static constexpr std::size_t kSlots = 16;
  struct Entry {
    std::uint64_t id;
    std::uint64_t version;
    const Snapshot* snapshot;
  };
  static std::array<std::shared_ptr<const Snapshot>, kSlots>& owners() {
    static thread_local std::array<std::shared_ptr<const Snapshot>, kSlots> instance;
    return instance;
  }
  [[gnu::noinline]] const Snapshot& refill() const {
    std::shared_ptr<const Snapshot> snapshot;
    std::uint64_t version = 0;
    {
      const std::scoped_lock lock(mutex_);
      snapshot = current_;
      version = version_.load(std::memory_order_relaxed);
    }
    std::shared_ptr<const Snapshot>& owner = owners()[id_ % kSlots];
    owner.swap(snapshot);
    cache_[id_ % kSlots] = Entry{id_, version, owner.get()};
    return *owner;
  }
  static inline thread_local std::array<Entry, kSlots> cache_{};
  const std::uint64_t id_ = detail::next_cell_id();
  std::atomic<std::uint64_t> version_{1};
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_;
};

template <class Cell>
struct Cells {
  static inline std::vector<std::unique_ptr<Cell>> cells;
};

// N cells with consecutive ids.
template <class Cell>
void make_cells(const benchmark::State& state) {
  auto& cells = Cells<Cell>::cells;
  cells.clear();
  for (std::size_t i = 0; i < static_cast<std::size_t>(state.range(0)); ++i) {
    cells.push_back(std::make_unique<Cell>(snapshot_for(i)));
  }
}

// Two cells whose ids are 16 apart: each cell draws one id, so 15 drawn in between.
template <class Cell>
void make_colliding_cells(const benchmark::State& /*state*/) {
  auto& cells = Cells<Cell>::cells;
  cells.clear();
  cells.push_back(std::make_unique<Cell>(snapshot_for(0)));
  for (int i = 0; i < 15; ++i) static_cast<void>(detail::next_cell_id());
  cells.push_back(std::make_unique<Cell>(snapshot_for(1)));
}

template <class Cell>
void drop_cells(const benchmark::State& /*state*/) {
  Cells<Cell>::cells.clear();
}

// A Pin for keyward's cell (its load() is called under one); nothing for the baselines.
template <class Cell>
auto pin_for() {
  if constexpr (requires { typename Cell::Pin; }) {
    return std::optional<typename Cell::Pin>(std::in_place);
  } else {
    return 0;
  }
}

template <class Cell>
void read_in_turn(benchmark::State& state) {
  const auto& cells = Cells<Cell>::cells;
  const std::size_t n = cells.size();
  // load() is called under a Pin; one for the whole loop, as a send() holds one for its attempts.
  [[maybe_unused]] const auto pin = pin_for<Cell>();
  for (const auto& cell : cells) benchmark::DoNotOptimize(cell->load());  // warms this thread up
  const auto before = thread_allocations();
  unsigned sum = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& token = cells[i]->load().token;
    sum += unsigned{static_cast<unsigned char>(token[0])} +
           unsigned{static_cast<unsigned char>(token[20])} +
           unsigned{static_cast<unsigned char>(token[token.size() - 1])};
    if (++i == n) i = 0;
  }
  benchmark::DoNotOptimize(sum);
  state.counters["allocs"] = benchmark::Counter(static_cast<double>(thread_allocations() - before),
                                                benchmark::Counter::kAvgIterations);
}

template <class Cell>
void register_design(const std::string& suffix) {
  benchmark::RegisterBenchmark(("BM_SnapshotCell_ReadInTurn" + suffix).c_str(), read_in_turn<Cell>)
      ->Setup(make_cells<Cell>)
      ->Teardown(drop_cells<Cell>)
      ->Arg(1)
      ->Arg(16)
      ->Arg(17)
      ->Arg(128)
      ->Arg(1000)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
  benchmark::RegisterBenchmark(("BM_SnapshotCell_ReadColliding" + suffix).c_str(),
                               read_in_turn<Cell>)
      ->Setup(make_colliding_cells<Cell>)
      ->Teardown(drop_cells<Cell>)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
}

[[maybe_unused]] const bool registered = [] {
  register_design<detail::SnapshotCell<Snapshot>>("");
  register_design<FloorCell>("_Floor");
  register_design<FloorSameSizeCell>("_FloorSameSize");
  register_design<Direct16Cell>("_Direct16");
  return true;
}();

}  // namespace
}  // namespace keyward::bench
