// SnapshotCell<T>: one immutable value, published by rare writers and read by many threads with
// one atomic load, no lock, no allocation and no write to shared memory.
//
// Writers publish a new immutable T under a mutex readers never touch on the fast path, then
// store its address in an atomic pointer with release order. Every live cell of T also holds a
// small dense index, unique among live cells of T and reused after a cell is destroyed. Each
// thread keeps a table of the snapshots it read: one slot per cell it read, a power of two of
// them, the cell's at index & mask or, when another cell's is there, further on (linear probing).
// The thread owns (a shared_ptr to) every snapshot its table points at. A read loads the cell's
// pointer with acquire order and, when the slot at index & mask holds the same pointer, returns
// that snapshot. An equal address means the same object: the one in the table is alive, since
// the thread owns it, so no other object can have its address (no ABA, whatever cell used the
// slot before). Otherwise the read takes the table's mutex, finds or makes the cell's slot, copies
// the current shared_ptr into it under the cell's mutex, and from then on reads at the floor
// again. Dense indexes make index & mask a near-perfect hash: a thread that reads N cells made
// one after another never has two in one slot. The cost of a read does not depend on how many
// cells a thread reads (docs/design/snapshot-cache.md has the measurements and the schemes that
// lost). Why not std::atomic<std::shared_ptr>: libstdc++ 12 implements it with a lock, and
// reference counting on every read makes every reader write one cache line.
//
// load() is called under a Pin, and what it returns stays valid until the outermost Pin ends. The
// Pin is what lets writers reclaim: a thread outside any Pin borrows nothing, so a publish (or a
// cell's destruction) takes the snapshot it replaced out of every table where the thread is
// outside a Pin and frees it at once, idle threads included; a thread inside one frees it when
// its outermost Pin ends, with no further read. The writer and the thread agree through one
// atomic word per thread (pinned, stale), changed by a read-modify-write on each side: entering
// and leaving the outermost Pin are one each. While pinned, a refill parks the snapshot it evicts
// instead of releasing it; the end of the outermost Pin releases what was parked.
//
// What a thread's table holds: the last snapshot it read of each live cell it read that was not
// replaced since. Its slots are rebuilt at a miss when three quarters have a key or fewer than an
// eighth hold a snapshot, to twice the power of two above the snapshots held (16 at least), so
// the table follows what the thread reads, not the highest index ever made.
//
// Why this header is over 300 lines: the fast read, the per-thread table and the writers'
// reclaiming share one memory-ordering argument (Pin, kStale, parked); kept in one file so that
// argument can be read, and checked, in one place.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
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
      : published_(initial.get()), index_(registry().acquire()), current_(std::move(initial)) {}
  SnapshotCell(const SnapshotCell&) = delete;
  SnapshotCell& operator=(const SnapshotCell&) = delete;
  SnapshotCell(SnapshotCell&&) = delete;
  SnapshotCell& operator=(SnapshotCell&&) = delete;
  ~SnapshotCell() {
    reclaim(index_, nullptr);  // before the index can be reused
    registry().release(index_);
  }

  /// Keeps every snapshot of any cell of T that this thread loads alive while it exists. load()
  /// needs one; the outermost Pin costs one atomic read-modify-write on entry and one on exit.
  class Pin {
   public:
    Pin() noexcept { enter(); }
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    Pin(Pin&&) = delete;
    Pin& operator=(Pin&&) = delete;
    ~Pin() { leave(); }
  };

  /// A Pin whose entry and exit are always inlined: for a pool's send(), where g++ called them
  /// out of line once its other work grew (some 20 instructions a send). Not the default: forced
  /// into with_current()'s read, they cost it 14 instructions more (bench/RESULTS.md).
  class InlinePin {
   public:
    [[gnu::always_inline]] InlinePin() noexcept { enter(); }
    InlinePin(const InlinePin&) = delete;
    InlinePin& operator=(const InlinePin&) = delete;
    InlinePin(InlinePin&&) = delete;
    InlinePin& operator=(InlinePin&&) = delete;
    [[gnu::always_inline]] ~InlinePin() { leave(); }
  };

  /// The current snapshot, borrowed: valid until this thread's outermost Pin, which must be held
  /// during the call, ends.
  [[nodiscard, gnu::always_inline]] const T& load() const {
    assert(pins_ > 0 && "SnapshotCell::load() is called under a Pin");
    const T* const current = published_.load(std::memory_order_acquire);
    const Cache& cache = cache_;
    if (cache.entries[index_ & cache.mask].load(std::memory_order_relaxed) == current) [[likely]] {
      return *current;
    }
    return refill(current);
  }

  /// The current snapshot, shared: stays valid as long as the caller holds it.
  [[nodiscard]] std::shared_ptr<const T> load_shared() const {
    const std::scoped_lock lock(mutex_);
    return current_;
  }

  /// Makes `next` the current snapshot; every thread's next load() sees it. The snapshot it
  /// replaces leaves every thread's table now, or when that thread's Pin ends.
  void publish(std::shared_ptr<const T> next) {
    std::shared_ptr<const T> previous;  // released after unlocking
    const T* now = nullptr;
    {
      const std::scoped_lock lock(mutex_);
      previous = std::exchange(current_, std::move(next));
      now = current_.get();
      published_.store(now, std::memory_order_release);
    }
    reclaim(index_, now);
  }

  /// How many slots this thread's table has (for tests and diagnostics).
  [[nodiscard]] static std::size_t thread_table_size() noexcept {
    return owners_ != nullptr ? owners_->held.size() : 0;
  }

 private:
  // A Pin's entry and exit (Pin, InlinePin).
  [[gnu::always_inline]] static void enter() noexcept {
    if (pins_++ == 0 && owners_ != nullptr) {
      owners_->state.fetch_or(kPinned, std::memory_order_acq_rel);
    }
  }
  [[gnu::always_inline]] static void leave() noexcept {
    if (--pins_ == 0 && owners_ != nullptr) {
      const unsigned was = owners_->state.exchange(0, std::memory_order_acq_rel);
      if ((was & kStale) != 0 || parked_) [[unlikely]] {
        after_pin();
      }
    }
  }

  using Entry = std::atomic<const T*>;
  using Doomed = std::vector<std::shared_ptr<const T>>;
  static constexpr std::uint32_t kEmpty = ~std::uint32_t{0};
  static constexpr std::size_t kNowhere = ~std::size_t{0};
  static constexpr std::size_t kSmallest = 16;
  static constexpr unsigned kPinned = 1;  // the thread is inside a Pin
  static constexpr unsigned kStale = 2;   // a writer left it snapshots to release

  // What a reader checks: trivially destructible and constant-initialised, so that a thread_local
  // of it is plain %fs-relative memory with no initialisation guard or destructor registration on
  // the hot path. entries[i] is the snapshot of the cell in slot i, or null; an empty table is
  // one null entry.
  struct Cache {
    Entry* entries;
    std::size_t mask;
  };

  // A thread's table, on the heap behind a trivially destructible pointer so that a Pin held
  // while the thread exits can keep it alive past the Reaper below. Its mutex is taken by the
  // thread on a miss and by writers that reclaim; the fast path takes nothing.
  struct Held {
    std::uint32_t index = kEmpty;  // the slot's key: a cell index, or kEmpty
    bool dead = false;             // the cell was destroyed; the key stays until a rebuild
    std::shared_ptr<const T> snapshot;
  };
  struct Owners {
    std::mutex mutex;
    std::atomic<unsigned> state{0};  // kPinned | kStale
    std::vector<Entry> entries;      // never resized: rebuild() makes a new one
    std::vector<Held> held;          // owns *entries[i]; as many, a power of two
    std::size_t keys = 0;            // slots with a key
    std::size_t owned = 0;           // slots with a snapshot
    Doomed parked;                   // evicted while pinned; touched by the thread only
  };

  // Hands out dense indexes, one per live cell of T, and knows every thread's table. Never
  // destroyed, so that cells may outlive static destructors.
  struct Registry {
    std::mutex mutex;
    std::vector<std::uint32_t> free;  // released indexes, the last released taken first
    std::uint32_t next = 0;
    std::vector<Owners*> tables;

    std::uint32_t acquire() {
      const std::scoped_lock lock(mutex);
      if (free.empty()) return next++;
      const std::uint32_t index = free.back();
      free.pop_back();
      return index;
    }
    void release(std::uint32_t index) noexcept {
      const std::scoped_lock lock(mutex);
      try {
        free.push_back(index);
      } catch (...) {
        // Out of memory: this index is not reused; a later cell takes a new one.
      }
    }
  };
  static Registry& registry() {
    static auto* const instance = new Registry;  // leaked on purpose: see above
    return *instance;
  }

  // The slot holding `index`'s key, or kNowhere. The table is never full, so the probe ends.
  static std::size_t find(const Owners& owners, std::uint32_t index) noexcept {
    if (owners.held.empty()) return kNowhere;
    const std::size_t mask = owners.held.size() - 1;
    for (std::size_t i = index & mask;; i = (i + 1) & mask) {
      if (owners.held[i].index == index) return i;
      if (owners.held[i].index == kEmpty) return kNowhere;
    }
  }

  // Moves `snapshot` to `doomed`, released after the locks (its destructor may destroy a cell of
  // T); releases it at once if that cannot allocate.
  static void doom(Doomed& doomed, std::shared_ptr<const T>& snapshot) noexcept {
    try {
      doomed.push_back(std::move(snapshot));
    } catch (...) {
      snapshot.reset();
    }
  }

  // Takes the snapshots of the cell at `index` other than `keep` (all of them, and the key marked
  // dead, when `keep` is null: the cell is going) out of every thread's table: freed now where the
  // thread is outside a Pin, flagged for the end of its Pin otherwise. The table's word is changed
  // by a read-modify-write after the entry is cleared, and a Pin's entry is one too: either the
  // thread's next read sees the cleared entry, or the writer sees the thread pinned.
  static void reclaim(std::uint32_t index, const T* keep) noexcept {
    Doomed doomed;  // declared first: released last, after the locks
    Registry& registry = SnapshotCell::registry();
    const std::scoped_lock lock(registry.mutex);
    for (Owners* owners : registry.tables) {
      const std::scoped_lock table(owners->mutex);
      const std::size_t slot = find(*owners, index);
      if (slot == kNowhere) continue;
      Held& held = owners->held[slot];
      if (keep == nullptr) held.dead = true;
      if (!held.snapshot || held.snapshot.get() == keep) continue;
      owners->entries[slot].store(nullptr, std::memory_order_relaxed);
      unsigned state = owners->state.load(std::memory_order_relaxed);
      while (!owners->state.compare_exchange_weak(
          state, (state & kPinned) != 0 ? state | kStale : state, std::memory_order_acq_rel)) {
      }
      if ((state & kPinned) == 0) {
        doom(doomed, held.snapshot);
        --owners->owned;
      }
    }
  }

  // Rebuilds the table with room for what it holds and one more, dropping keys without a
  // snapshot. Changes nothing if an allocation throws; moves no snapshot, so what was borrowed
  // stays valid.
  static void rebuild(Owners& owners) {
    const std::size_t size = std::max(kSmallest, 2 * std::bit_ceil(owners.owned + 1));
    std::vector<Entry> entries(size);
    std::vector<Held> held(size);
    const std::size_t mask = size - 1;
    for (std::size_t i = 0; i < owners.held.size(); ++i) {
      Held& old = owners.held[i];
      if (!old.snapshot) continue;
      std::size_t slot = old.index & mask;
      while (held[slot].index != kEmpty) slot = (slot + 1) & mask;
      entries[slot].store(owners.entries[i].load(std::memory_order_relaxed),
                          std::memory_order_relaxed);
      held[slot] = std::move(old);
    }
    owners.entries = std::move(entries);
    owners.held = std::move(held);
    owners.keys = owners.owned;
    cache_ = Cache{owners.entries.data(), mask};
  }

  // Frees the thread's table when it exits, or leaves it to the last Pin.
  struct Reaper {
    Reaper() = default;
    Reaper(const Reaper&) = delete;
    Reaper& operator=(const Reaper&) = delete;
    Reaper(Reaper&&) = delete;
    Reaper& operator=(Reaper&&) = delete;
    ~Reaper() {
      cache_ = Cache{&no_entry_, 0};
      exiting_ = true;
      if (pins_ > 0) {
        parked_ = true;  // the last Pin frees the table
      } else {
        drop_table();
      }
    }
  };

  static void drop_table() noexcept {
    if (owners_ == nullptr) return;
    {
      Registry& registry = SnapshotCell::registry();
      const std::scoped_lock lock(registry.mutex);
      std::erase(registry.tables, owners_);
    }
    delete std::exchange(owners_, nullptr);  // outside the lock: see doom()
  }

  [[gnu::noinline, gnu::cold]] static Owners& adopt_owners() {
    static thread_local Reaper reaper;  // registers the teardown before the table exists
    static_cast<void>(reaper);
    auto owners = std::make_unique<Owners>();
    if (pins_ > 0) owners->state.store(kPinned, std::memory_order_relaxed);
    {
      Registry& registry = SnapshotCell::registry();
      const std::scoped_lock lock(registry.mutex);
      registry.tables.push_back(owners.get());
    }
    owners_ = owners.release();  // freed by the reaper, or by the last Pin
    return *owners_;
  }

  // The end of the outermost Pin, when something waits: what was parked, and what writers took
  // out of the table while the thread was pinned.
  [[gnu::noinline, gnu::cold]] static void after_pin() noexcept {
    parked_ = false;
    if (exiting_) {
      drop_table();
      return;
    }
    Owners& owners = *owners_;
    {
      const std::scoped_lock lock(owners.mutex);
      for (std::size_t i = 0; i < owners.held.size(); ++i) {
        Held& held = owners.held[i];
        if (held.snapshot &&
            (held.dead || owners.entries[i].load(std::memory_order_relaxed) == nullptr)) {
          doom(owners.parked, held.snapshot);  // parked keeps its capacity: no allocation
          --owners.owned;                      // once it has held as many
        }
      }
    }
    owners.parked.clear();  // outside the lock: see doom()
  }

  [[gnu::noinline, gnu::cold]] const T& refill(const T* seen) const {
    assert(pins_ > 0 && "SnapshotCell::load() is called under a Pin");
    if (exiting_) return load_while_exiting();
    Owners& owners = owners_ != nullptr ? *owners_ : adopt_owners();
    std::shared_ptr<const T> snapshot;
    const std::scoped_lock table(owners.mutex);
    std::size_t slot = find(owners, index_);
    if (slot != kNowhere && !owners.held[slot].dead &&
        owners.entries[slot].load(std::memory_order_relaxed) == seen) {
      return *seen;  // held further on than index & mask: another cell's is there
    }
    // Room first, so that nothing below can throw once the table changes.
    if ((owners.keys + 1) * 4 > owners.held.size() * 3 ||
        (owners.held.size() > kSmallest && owners.owned * 8 < owners.held.size())) {
      rebuild(owners);
      slot = find(owners, index_);
    }
    if (owners.parked.size() == owners.parked.capacity()) {  // so that parking can't throw
      owners.parked.reserve(std::max<std::size_t>(8, 2 * owners.parked.size()));
    }
    {
      const std::scoped_lock lock(mutex_);
      snapshot = current_;
    }
    if (slot == kNowhere) {
      slot = index_ & (owners.held.size() - 1);
      while (owners.held[slot].index != kEmpty) slot = (slot + 1) & (owners.held.size() - 1);
      owners.held[slot].index = index_;
      ++owners.keys;
    }
    Held& held = owners.held[slot];
    held.dead = false;
    if (!held.snapshot) ++owners.owned;
    held.snapshot.swap(snapshot);
    owners.entries[slot].store(held.snapshot.get(), std::memory_order_relaxed);
    if (snapshot) {
      owners.parked.push_back(std::move(snapshot));  // a pinned reader may still hold it
      parked_ = true;
    }
    return *held.snapshot;
  }

  // After this thread's table was torn down: read under the mutex, and keep what was returned
  // alive with the cell (one per distinct snapshot read this way, freed with the cell).
  [[gnu::noinline, gnu::cold]] const T& load_while_exiting() const {
    const std::scoped_lock lock(mutex_);
    if (!kept_) kept_ = std::make_unique<std::vector<std::shared_ptr<const T>>>();
    if (kept_->empty() || kept_->back() != current_) kept_->push_back(current_);
    return *current_;
  }

  // What an empty table's one entry is: never equal to a published snapshot.
  static inline Entry no_entry_{nullptr};
  // One table per thread and snapshot type, shared by all cells of that type.
  static inline thread_local Cache cache_{&no_entry_, 0};
  static inline thread_local Owners* owners_ = nullptr;
  // Plain counters and flags of the thread's own.
  static inline thread_local unsigned pins_ = 0;
  static inline thread_local bool parked_ = false;
  static inline thread_local bool exiting_ = false;

  // published_ and index_ first: a read touches one cache line of the cell.
  std::atomic<const T*> published_;  // current_.get(), for readers
  const std::uint32_t index_;
  mutable std::mutex mutex_;
  std::shared_ptr<const T> current_;
  // See load_while_exiting(); behind a pointer, so that a cell packs into fewer cache lines.
  mutable std::unique_ptr<std::vector<std::shared_ptr<const T>>> kept_;
};

}  // namespace keyward::detail
