// SnapshotCell<T>: one immutable value, published by rare writers and read by many threads with
// one atomic load, no lock, no allocation and no write to shared memory.
//
// Writers publish a new immutable T under a mutex readers never touch on the fast path, then
// store its address in an atomic pointer with release order. Every live cell of T also holds a
// small dense index, unique among live cells of T and reused after a cell is destroyed. Each
// thread keeps a table of snapshot pointers indexed by it, and owns (a shared_ptr to) every
// snapshot its table points at. A read loads the cell's pointer with acquire order and, when its
// table holds the same pointer at the cell's index, returns that snapshot. An equal address means
// the same object: the one in the table is alive, since the thread owns it, so no other object
// can have its address (no ABA, whatever cell used the index before). Otherwise the read takes the
// mutex once, copies the current shared_ptr into its table, and from then on reads at the floor
// again. The cost of a read does not depend on how many cells a thread reads, and two live cells
// never share an entry (docs/design/snapshot-cache.md has the measurements and the schemes that
// lost). Why not std::atomic<std::shared_ptr>: libstdc++ 12 implements it with a lock, and
// reference counting on every read makes every reader write one cache line.
//
// What a thread's table keeps alive: the last snapshot it read of each cell. A snapshot is
// released when the thread reads a newer one of that cell, when the thread exits, or, after the
// cell is destroyed, at the thread's next miss once enough cells of T were destroyed (a sweep) or
// when it reads the new cell that reuses the index. The table has room for the highest index the
// thread has read, so its size is bounded by the peak number of live cells of T.
//
// A Pin makes borrowed snapshots safe to hold across further reads: while a thread holds one, a
// refill parks the snapshot it evicts instead of releasing it, no sweep runs, and the last Pin to
// go releases what was parked. Every reference load() returned since the outermost Pin stays
// valid until then.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace keyward::detail {

/// A never-reused id for a cell; ids start at 1, so 0 means none.
inline std::uint64_t next_cell_id() noexcept {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

/// Publishes immutable snapshots of T to many readers.
template <class T>
class alignas(64) SnapshotCell {  // a read's fields on one cache line (see the members)
 public:
  /// Starts with `initial` as the current snapshot; it, and every snapshot published, is non-null.
  explicit SnapshotCell(std::shared_ptr<const T> initial)
      : SnapshotCell(std::move(initial), next_cell_id()) {}
  SnapshotCell(const SnapshotCell&) = delete;
  SnapshotCell& operator=(const SnapshotCell&) = delete;
  SnapshotCell(SnapshotCell&&) = delete;
  SnapshotCell& operator=(SnapshotCell&&) = delete;
  ~SnapshotCell() { registry().release(index_); }

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
    const T* const current = published_.load(std::memory_order_acquire);
    const Cache& cache = cache_;
    if (index_ < cache.size && cache.entries[index_] == current) [[likely]] {
      return *current;
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
    published_.store(current_.get(), std::memory_order_release);
  }

  /// How many cells of T this thread's table has room for (for tests and diagnostics).
  [[nodiscard]] static std::size_t thread_table_size() noexcept { return cache_.size; }

 private:
  SnapshotCell(std::shared_ptr<const T> initial, std::uint64_t id)
      : published_(initial.get()),
        index_(registry().acquire(id)),
        id_(id),
        current_(std::move(initial)) {}

  // What a reader checks: trivially destructible, so that a thread_local of it is plain
  // %fs-relative memory with no initialisation guard or destructor registration on the hot path.
  // entries[i] is the snapshot this thread holds of the cell at index i, or null.
  struct Cache {
    const T* const* entries = nullptr;
    std::size_t size = 0;
  };

  // Hands out dense indexes, one per live cell of T, and remembers which cell holds each, so
  // that a thread can tell its entries for destroyed cells. Touched on construction,
  // destruction and sweeps only; never destroyed, so cells may outlive static destructors.
  struct Registry {
    struct Slot {
      std::uint64_t id = 0;  // the live cell at this index; 0 when free
      std::uint32_t next_free = 0;
    };
    static constexpr std::uint32_t kNone = ~std::uint32_t{0};
    std::mutex mutex;
    std::vector<Slot> slots;
    std::uint32_t free_head = kNone;  // a list threaded through Slot::next_free: release() cannot
                                      // allocate, so it cannot throw
    std::atomic<std::uint64_t> releases{0};

    std::uint32_t acquire(std::uint64_t id) {
      const std::scoped_lock lock(mutex);
      if (free_head == kNone) {
        slots.push_back(Slot{id, kNone});
        return static_cast<std::uint32_t>(slots.size() - 1);
      }
      const std::uint32_t index = free_head;
      free_head = slots[index].next_free;
      slots[index] = Slot{id, kNone};
      return index;
    }
    void release(std::uint32_t index) noexcept {
      const std::scoped_lock lock(mutex);
      slots[index] = Slot{0, free_head};
      free_head = index;
      releases.fetch_add(1, std::memory_order_relaxed);
    }
  };
  static Registry& registry() {
    static auto* const instance = new Registry;  // leaked on purpose: see above
    return *instance;
  }

  // A thread's table, on the heap behind a trivially destructible pointer so that a Pin held
  // while the thread exits can keep it alive past the Reaper below.
  struct Held {
    std::uint64_t cell = 0;  // the id of the cell entries[i] came from; 0 once swept
    std::shared_ptr<const T> snapshot;
  };
  struct Owners {
    std::vector<const T*> entries;                 // what cache_ points at
    std::vector<Held> held;                        // owns *entries[i]; same size
    std::vector<std::shared_ptr<const T>> parked;  // evicted while pinned
    std::uint64_t releases_seen = 0;
  };

  // Tears a thread's table down when the thread exits. Loads after that (from destructors of
  // other thread_locals) take load_while_exiting(), which never touches the table.
  struct Reaper {
    Reaper() = default;
    Reaper(const Reaper&) = delete;
    Reaper& operator=(const Reaper&) = delete;
    Reaper(Reaper&&) = delete;
    Reaper& operator=(Reaper&&) = delete;
    ~Reaper() {
      cache_ = Cache{};
      exiting_ = true;
      if (pins_ > 0) {
        parked_ = true;  // the last Pin frees the table
      } else {
        delete std::exchange(owners_, nullptr);
      }
    }
  };

  [[gnu::noinline, gnu::cold]] static Owners& adopt_owners() {
    static thread_local Reaper reaper;  // registers the teardown before the table exists
    static_cast<void>(reaper);
    owners_ = new Owners;  // freed by the reaper, or by the last Pin if the thread exits pinned
    return *owners_;
  }

  [[gnu::noinline, gnu::cold]] static void release_parked() noexcept {
    parked_ = false;
    if (exiting_) {
      delete std::exchange(owners_, nullptr);
    } else if (owners_ != nullptr) {
      owners_->parked.clear();
    }
  }

  // Makes room in the table for `index`, changing nothing if an allocation throws.
  static void make_room(Owners& owners, std::size_t index) {
    if (index < owners.held.size()) return;
    const std::size_t size = std::max({index + 1, owners.held.size() * 2, std::size_t{16}});
    std::vector<const T*> entries(size, nullptr);
    std::copy(owners.entries.begin(), owners.entries.end(), entries.begin());
    owners.held.resize(size);  // strong guarantee: Held moves without throwing
    owners.entries.swap(entries);
    cache_ = Cache{owners.entries.data(), size};
  }

  // Drops this thread's snapshots of destroyed cells, once at least an eighth of its table's
  // worth of cells of T were destroyed since the last sweep, so that sweeping costs O(1) per
  // destroyed cell, amortised. Not while pinned: a pinned reference may point into one of them.
  static void sweep(Owners& owners) {
    const std::uint64_t releases = registry().releases.load(std::memory_order_relaxed);
    if (pins_ > 0 ||
        releases - owners.releases_seen < std::max<std::size_t>(1, owners.held.size() / 8)) {
      return;
    }
    {
      Registry& registry = SnapshotCell::registry();
      const std::scoped_lock lock(registry.mutex);
      // The table may have room beyond the registry's indexes; nothing was ever cached there.
      const std::size_t end = std::min(owners.held.size(), registry.slots.size());
      for (std::size_t i = 0; i < end; ++i) {
        if (owners.held[i].cell != 0 && owners.held[i].cell != registry.slots[i].id) {
          owners.held[i].cell = 0;
          owners.entries[i] = nullptr;
        }
      }
      owners.releases_seen = releases;
    }
    // Released outside the registry's lock: a snapshot's destructor may destroy a cell of T.
    for (std::size_t i = 0; i < owners.held.size(); ++i) {
      if (owners.held[i].cell == 0) owners.held[i].snapshot.reset();
    }
  }

  [[gnu::noinline, gnu::cold]] const T& refill() const {
    if (exiting_) return load_while_exiting();
    Owners& owners = owners_ != nullptr ? *owners_ : adopt_owners();
    sweep(owners);
    make_room(owners, index_);
    if (pins_ > 0 && owners.parked.size() == owners.parked.capacity()) {  // so parking can't throw
      owners.parked.reserve(std::max<std::size_t>(8, 2 * owners.parked.size()));
    }
    std::shared_ptr<const T> snapshot;
    {
      const std::scoped_lock lock(mutex_);
      snapshot = current_;
    }
    Held& held = owners.held[index_];
    held.cell = id_;
    held.snapshot.swap(snapshot);  // the old snapshot is released on return, outside the lock
    owners.entries[index_] = held.snapshot.get();
    const T& result = *held.snapshot;
    if (pins_ > 0 && snapshot) {
      owners.parked.push_back(std::move(snapshot));  // a pinned reader may still hold it
      parked_ = true;
    }
    return result;
  }

  // After this thread's table was torn down: read under the mutex, and keep what was returned
  // alive with the cell (one per distinct snapshot read this way, freed with the cell).
  [[gnu::noinline, gnu::cold]] const T& load_while_exiting() const {
    const std::scoped_lock lock(mutex_);
    if (!kept_) kept_ = std::make_unique<std::vector<std::shared_ptr<const T>>>();
    if (kept_->empty() || kept_->back() != current_) kept_->push_back(current_);
    return *current_;
  }

  // One table per thread and snapshot type, shared by all cells of that type.
  static inline thread_local Cache cache_{};
  static inline thread_local Owners* owners_ = nullptr;
  // Plain counters and flags: a Pin costs an increment and a decrement of thread-local memory.
  static inline thread_local unsigned pins_ = 0;
  static inline thread_local bool parked_ = false;
  static inline thread_local bool exiting_ = false;

  // published_ and index_ first: a read touches one cache line of the cell.
  std::atomic<const T*> published_;  // current_.get(), for readers
  const std::uint32_t index_;
  const std::uint64_t id_;
  mutable std::mutex mutex_;
  std::shared_ptr<const T> current_;
  // See load_while_exiting(); behind a pointer, so that a cell packs into fewer cache lines.
  mutable std::unique_ptr<std::vector<std::shared_ptr<const T>>> kept_;
};

}  // namespace keyward::detail
