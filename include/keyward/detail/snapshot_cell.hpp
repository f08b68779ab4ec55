// SnapshotCell<T>: one immutable value, published by rare writers and read by many threads with
// one atomic load, no lock, no allocation and no write to shared memory.
//
// Writers publish a new immutable T under a mutex readers never touch on the fast path, then bump
// an atomic version with release order. Each thread keeps a small cache of (cell id, version,
// snapshot); a read loads the version with acquire order and, when its cache already holds that
// version of this cell, returns the cached snapshot. Otherwise it takes the mutex once, copies the
// current shared_ptr into its cache, and from then on reads at the floor again. Why not
// std::atomic<std::shared_ptr>: libstdc++ 12 implements it with a lock, and reference counting on
// every read makes every reader write the same cache line (see docs/design/hot-path.md).
//
// Cells are told apart by a 64-bit id that is never reused, not by address (an address comes back
// after destruction). A thread's cache keeps the last snapshot it read of a cell alive until that
// thread reads the cell again, reads another cell that shares the cache slot, or exits. The hot
// path touches only a trivially destructible thread_local, so it needs no TLS guard or call.
//
// A Pin makes borrowed snapshots safe to hold across further reads: while a thread holds one, a
// refill parks the snapshot it evicts instead of releasing it, and the last Pin to go releases
// what was parked. Every reference load() returned since the outermost Pin stays valid until then.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace keyward::detail {

/// A never-reused id for a cell; ids start at 1 so a zeroed cache entry never matches.
inline std::uint64_t next_cell_id() noexcept {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

/// Publishes immutable snapshots of T to many readers.
template <class T>
class SnapshotCell {
 public:
  /// Starts with `initial` as the current snapshot.
  explicit SnapshotCell(std::shared_ptr<const T> initial) : current_(std::move(initial)) {}
  SnapshotCell(const SnapshotCell&) = delete;
  SnapshotCell& operator=(const SnapshotCell&) = delete;
  SnapshotCell(SnapshotCell&&) = delete;
  SnapshotCell& operator=(SnapshotCell&&) = delete;
  ~SnapshotCell() = default;

  /// Keeps every snapshot of any cell of T that this thread loads alive while it exists.
  class Pin {
   public:
    Pin() noexcept { ++pins_; }
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    Pin(Pin&&) = delete;
    Pin& operator=(Pin&&) = delete;
    ~Pin() {
      if (--pins_ == 0 && parked_) [[unlikely]] {
        release_parked();
      }
    }
  };

  /// The current snapshot, borrowed: valid until this thread's next load() of any cell of T, or
  /// while this thread holds a Pin that was made before this call.
  [[nodiscard]] const T& load() const {
    const std::uint64_t version = version_.load(std::memory_order_acquire);
    const Entry& entry = cache_.entries[id_ % kCacheSlots];
    if (entry.id == id_ && entry.version == version) [[likely]] {
      return *entry.snapshot;
    }
    return refill();
  }

  /// The current snapshot, shared: stays valid as long as the caller holds it.
  [[nodiscard]] std::shared_ptr<const T> load_shared() const {
    const std::scoped_lock lock(mutex_);
    return current_;
  }

  /// Makes `next` the current snapshot; every thread's next load() sees it.
  void publish(std::shared_ptr<const T> next) {
    std::shared_ptr<const T> previous;  // released after unlocking
    const std::scoped_lock lock(mutex_);
    previous = std::exchange(current_, std::move(next));
    version_.store(version_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

 private:
  static constexpr std::size_t kCacheSlots = 16;

  // The cache a reader checks: trivially destructible, so that a thread_local of it is plain
  // %fs-relative memory with no initialisation guard or destructor registration on the hot path.
  struct Entry {
    std::uint64_t id = 0;
    std::uint64_t version = 0;
    const T* snapshot = nullptr;
  };
  struct Cache {
    std::array<Entry, kCacheSlots> entries{};
  };

  // What keeps the cached snapshots alive, touched only on the slow path. When the thread exits
  // it clears the cache before releasing them, so nothing can read a released snapshot.
  struct Owners {
    std::array<std::shared_ptr<const T>, kCacheSlots> slots{};
    std::vector<std::shared_ptr<const T>> parked;  // evicted while pinned
    Owners() = default;
    Owners(const Owners&) = delete;
    Owners& operator=(const Owners&) = delete;
    Owners(Owners&&) = delete;
    Owners& operator=(Owners&&) = delete;
    ~Owners() { cache_ = Cache{}; }
  };

  // Out of line and cold, so that the fast path in load() stays a handful of instructions.
  static Owners& owners() {
    static thread_local Owners instance;
    return instance;
  }

  [[gnu::noinline, gnu::cold]] static void release_parked() noexcept {
    parked_ = false;
    owners().parked.clear();
  }

  [[gnu::noinline, gnu::cold]] const T& refill() const {
    Owners& owners = SnapshotCell::owners();
    const std::size_t slot = id_ % kCacheSlots;
    std::shared_ptr<const T> snapshot;
    std::uint64_t version = 0;
    {
      const std::scoped_lock lock(mutex_);
      snapshot = current_;
      version = version_.load(std::memory_order_relaxed);  // stable: publish() holds the mutex
    }
    owners.slots[slot].swap(snapshot);  // the old snapshot is released outside the lock
    if (pins_ > 0 && snapshot) {
      owners.parked.push_back(std::move(snapshot));  // a pinned reader may still hold it
      parked_ = true;
    }
    cache_.entries[slot] = Entry{id_, version, owners.slots[slot].get()};
    return *owners.slots[slot];
  }

  // One cache per thread and snapshot type, shared by all cells of that type.
  static inline thread_local Cache cache_{};
  // Plain counters, so that a Pin costs an increment and a decrement of thread-local memory.
  static inline thread_local unsigned pins_ = 0;
  static inline thread_local bool parked_ = false;

  const std::uint64_t id_ = next_cell_id();
  std::atomic<std::uint64_t> version_{1};
  mutable std::mutex mutex_;
  std::shared_ptr<const T> current_;
};

}  // namespace keyward::detail
