// How a CredentialPool chooses a profile (docs/pool.md, "Selection"): the strategies, the pool's
// options, and the lock-free, allocation-free parts the choice reads: each profile's remaining
// quota as its last response stated it, and the table that pins a caller's session to a profile.
//
// Priority selection writes no shared memory; round robin and weighted write one relaxed counter
// per request, least recently used moves one profile in its order of use (under a short lock), and
// a session pin writes one relaxed store when it is (re)made.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/detail/ascii.hpp"
#include "keyward/options.hpp"
#include "keyward/transport.hpp"

namespace keyward {

/// Which profile a pool tries first.
enum class Selection : std::uint8_t {
  priority,             ///< In the order given; returns to the first as soon as it serves again.
  round_robin,          ///< Each request starts one profile further.
  least_recently_used,  ///< The profile that served least recently.
  weighted,             ///< In proportion to each profile's weight.
};

/// The name of a selection strategy.
[[nodiscard]] constexpr std::string_view to_string(Selection selection) noexcept {
  switch (selection) {
    case Selection::priority:
      return "priority";
    case Selection::round_robin:
      return "round_robin";
    case Selection::least_recently_used:
      return "least_recently_used";
    case Selection::weighted:
      return "weighted";
  }
  return "unknown";
}

/// The tuning of a pool; every profile shares `credential` (its profile name is the profile's).
struct PoolOptions {
  std::string provider = "default";           ///< The provider's name, in messages and status.
  CredentialOptions credential{};             ///< Retries, refresh and fix texts of every profile.
  Selection selection = Selection::priority;  ///< Which profile goes first.
  /// A session stays on its profile this long at most, then is pinned again.
  std::chrono::milliseconds sticky_for = std::chrono::minutes{30};
  /// Steer away from a profile whose last response said less than `remaining_floor` of its
  /// rate limit is left, while another has more.
  bool steer_by_remaining = true;
  double remaining_floor = 0.05;  ///< A fraction of the limit, in [0, 1].
  /// How long a remaining-quota reading is believed, when the response gave no reset time.
  std::chrono::milliseconds remaining_valid_for = std::chrono::minutes{1};
  /// When every profile is out for a rate limit or quota, the one whose window ends first is
  /// probed, at most once per this interval; 0 turns the panic rule off.
  std::chrono::milliseconds panic_interval = std::chrono::seconds{1};
};

/// Throws std::invalid_argument naming the first unusable field of `options`.
inline void validate(const PoolOptions& options) {
  const auto fail = [&options](const std::string& what) {
    throw std::invalid_argument("keyward: provider '" + options.provider +
                                "': invalid pool options: " + what);
  };
  if (options.provider.empty()) fail("provider must not be empty");
  if (options.sticky_for <= std::chrono::milliseconds::zero()) fail("sticky_for must be positive");
  if (!(options.remaining_floor >= 0.0 && options.remaining_floor <= 1.0)) {
    fail("remaining_floor must be in [0, 1]");
  }
  if (options.remaining_valid_for < std::chrono::milliseconds::zero()) {
    fail("remaining_valid_for must be >= 0");
  }
  if (options.panic_interval < std::chrono::milliseconds::zero()) {
    fail("panic_interval must be >= 0");
  }
  validate(options.credential);
}

/// What one pooled request names besides the request itself.
struct RequestScope {
  std::string_view model{};    ///< The model; rate limits then cool only (profile, model).
  std::string_view session{};  ///< A session key; the session keeps its profile.
};

namespace detail {

/// The smallest fraction of a rate limit left, from Anthropic's `anthropic-ratelimit-*` or
/// OpenAI's `x-ratelimit-*` headers; nothing when the response states none. No allocation.
[[nodiscard]] inline std::optional<double> remaining_fraction(const Headers& headers) noexcept {
  struct Pair {
    std::string_view remaining;
    std::string_view limit;
  };
  static constexpr std::array<Pair, 6> kPairs{{
      {"anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-limit"},
      {"anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-limit"},
      {"anthropic-ratelimit-input-tokens-remaining", "anthropic-ratelimit-input-tokens-limit"},
      {"anthropic-ratelimit-output-tokens-remaining", "anthropic-ratelimit-output-tokens-limit"},
      {"x-ratelimit-remaining-requests", "x-ratelimit-limit-requests"},
      {"x-ratelimit-remaining-tokens", "x-ratelimit-limit-tokens"},
  }};
  const auto number = [&headers](std::string_view name) -> std::optional<std::uint64_t> {
    const auto value = headers.get(name);
    if (!value) return std::nullopt;
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
    if (ec != std::errc{} || end != value->data() + value->size()) return std::nullopt;
    return n;
  };
  // One pass first: a response without any rate-limit field (the common case) costs a length
  // test per field (the shortest name above has 24 characters), not twelve lookups.
  const bool any = std::any_of(headers.begin(), headers.end(), [](const Headers::Field& field) {
    const std::string_view name = field.first;
    const auto starts = [name](std::string_view prefix) {
      return iequals(name.substr(0, prefix.size()), prefix);
    };
    return name.size() >= 24 && (starts("anthropic-ratelimit-") || starts("x-ratelimit-"));
  });
  if (!any) return std::nullopt;
  std::optional<double> least;
  for (const Pair& pair : kPairs) {
    const auto remaining = number(pair.remaining);
    const auto limit = number(pair.limit);
    if (!remaining || !limit || *limit == 0) continue;
    const double fraction =
        std::min(1.0, static_cast<double>(*remaining) / static_cast<double>(*limit));
    if (!least || fraction < *least) least = fraction;
  }
  return least;
}

/// One profile's last remaining-quota reading, read and written with relaxed atomics.
class Remaining {
 public:
  /// Records `fraction`, believed until `valid_until`.
  void record(double fraction, TimePoint valid_until) noexcept {
    permille_.store(static_cast<std::uint32_t>(fraction * 1000.0), std::memory_order_relaxed);
    valid_until_.store(valid_until.time_since_epoch().count(), std::memory_order_relaxed);
  }
  /// True when a reading still believed at `now()` says less than `floor_permille` is left;
  /// `now()` is called only for a low reading.
  template <class Now>
  [[nodiscard, gnu::always_inline]] bool low(Now&& now, std::uint32_t floor_permille) const {
    if (permille_.load(std::memory_order_relaxed) >= floor_permille) return false;
    return now().time_since_epoch().count() < valid_until_.load(std::memory_order_relaxed);
  }
  /// The last reading in thousandths, or nothing when none is believed at `now`.
  [[nodiscard]] std::optional<std::uint32_t> permille(TimePoint now) const noexcept {
    if (now.time_since_epoch().count() >= valid_until_.load(std::memory_order_relaxed)) {
      return std::nullopt;
    }
    return permille_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<std::uint32_t> permille_{1000};
  std::atomic<TimePoint::rep> valid_until_{TimePoint::min().time_since_epoch().count()};
};

/// Pins sessions to profiles: a fixed table of slots, each one relaxed 64-bit word holding a tag
/// of the session key's hash, the profile and the pin's time. Two sessions that share a slot
/// take turns in it (a pin is a hint for the provider's prompt cache, not a promise). Lock-free;
/// the table (32 KB) is allocated by the first pin, so a pool that never pins carries a pointer.
class SessionPins {
 public:
  SessionPins() = default;
  SessionPins(const SessionPins&) = delete;
  SessionPins& operator=(const SessionPins&) = delete;
  SessionPins(SessionPins&&) = delete;
  SessionPins& operator=(SessionPins&&) = delete;
  ~SessionPins() { delete[] slots_.load(std::memory_order_relaxed); }

  /// The profile `session` is pinned to, if its pin was made less than `ttl` before `now`.
  [[nodiscard]] std::optional<std::size_t> find(std::string_view session, TimePoint now,
                                                std::chrono::milliseconds ttl) const noexcept {
    const Slot* const slots = slots_.load(std::memory_order_acquire);
    if (slots == nullptr) return std::nullopt;  // nothing was ever pinned
    const std::size_t h = std::hash<std::string_view>{}(session);
    const std::uint64_t word = slots[h % kSlots].load(std::memory_order_relaxed);
    if (word == 0 || (word >> 48) != tag(h)) return std::nullopt;
    const auto at = std::chrono::seconds{static_cast<std::int64_t>(word & 0xFFFFFFFFU)};
    if (seconds_of(now) - at >= ttl) return std::nullopt;
    return static_cast<std::size_t>((word >> 32) & 0xFFFFU);
  }
  /// Pins `session` to `profile` from `now` (profiles past 65535 are not pinned, nor is any
  /// session when the first pin cannot allocate the table).
  void pin(std::string_view session, std::size_t profile, TimePoint now) noexcept {
    if (profile > 0xFFFFU) return;
    Slot* const slots = table();
    if (slots == nullptr) return;
    const std::size_t h = std::hash<std::string_view>{}(session);
    const auto seconds = static_cast<std::uint64_t>(seconds_of(now).count()) & 0xFFFFFFFFU;
    slots[h % kSlots].store((tag(h) << 48) | (static_cast<std::uint64_t>(profile) << 32) | seconds,
                            std::memory_order_relaxed);
  }

 private:
  using Slot = std::atomic<std::uint64_t>;
  static constexpr std::size_t kSlots = 4096;
  static std::uint64_t tag(std::size_t h) noexcept {
    return ((static_cast<std::uint64_t>(h) >> 12) & 0xFFFFU) | 1U;  // never 0: 0 is an empty slot
  }
  // Seconds since the epoch, kept to 32 bits: a pin lives minutes, not a century.
  static std::chrono::seconds seconds_of(TimePoint now) noexcept {
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
    return std::chrono::seconds{s.count() & 0xFFFFFFFF};
  }
  // The table, made by the first pin; threads that pin at once agree on one.
  Slot* table() noexcept {
    Slot* slots = slots_.load(std::memory_order_acquire);
    if (slots != nullptr) [[likely]] {
      return slots;
    }
    Slot* const made = new (std::nothrow) Slot[kSlots]{};
    if (made == nullptr) return nullptr;
    if (slots_.compare_exchange_strong(slots, made, std::memory_order_acq_rel)) return made;
    delete[] made;  // another thread's table won
    return slots;
  }
  std::atomic<Slot*> slots_{nullptr};
};

/// The ends of the waits a server stated for one profile (Retry-After, a reset header), for the
/// whole profile (model "") or for one model: the panic rule probes only windows keyward
/// estimated, never one before the server's wait ends. Written only on a response that states a
/// wait, read only when no profile can serve; one relaxed load otherwise.
class StatedWaits {
 public:
  /// The server said `model` (or, for "", the profile) cannot serve before `until`.
  void record(std::string_view model, TimePoint until, TimePoint now) {
    const std::scoped_lock lock(mutex_);
    std::erase_if(waits_, [now](const Wait& w) { return w.until <= now; });
    auto it = std::find_if(waits_.begin(), waits_.end(),
                           [model](const Wait& w) { return w.model == model; });
    if (it != waits_.end()) {
      it->until = std::max(it->until, until);
    } else {
      waits_.push_back(Wait{std::string{model}, until});
    }
    any_.store(true, std::memory_order_release);
  }
  /// True when a wait the server stated for `model` (or, for "", the profile) runs at `now`.
  [[nodiscard]] bool running(std::string_view model, TimePoint now) const {
    if (!any_.load(std::memory_order_acquire)) return false;
    const std::scoped_lock lock(mutex_);
    return std::any_of(waits_.begin(), waits_.end(),
                       [&](const Wait& w) { return w.model == model && now < w.until; });
  }
  /// A new credential: the old one's waits are gone.
  void clear() {
    const std::scoped_lock lock(mutex_);
    waits_.clear();
    any_.store(false, std::memory_order_release);
  }

 private:
  struct Wait {
    std::string model;
    TimePoint until;
  };
  mutable std::mutex mutex_;
  std::vector<Wait> waits_;
  std::atomic<bool> any_{false};
};

/// The profiles in the order they last served, least recent first, for least_recently_used: a
/// ring linked through their indices, under a lock, so that choosing and recording a use cost
/// O(1) (plus the profiles passed over because they cannot serve), not a scan of every profile.
/// The ring's start is the least recent profile and the one before it the most recent, so that
/// taking the least recent (the common case) only moves the start on. Profiles that never
/// served come first, in the order they were added.
class UseOrder {
 public:
  /// No profile (take_least_index()'s answer when the least recent cannot serve).
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  /// Adds the next profile (index size()) as the most recent so far.
  void add() {
    const Hold hold{busy_};
    const std::size_t i = links_.size();
    if (head_ == kNone) {
      links_.push_back({i, i});
      head_ = i;
      return;
    }
    const std::size_t tail = links_[head_].older;
    links_.push_back({tail, head_});
    links_[tail].newer = i;
    links_[head_].older = i;
  }
  /// The least recent profile for which `usable(i)` holds, made the most recent; nothing when
  /// none is usable. `usable` runs under the lock.
  template <class Usable>
  std::optional<std::size_t> take(const Usable& usable) {
    const Hold hold{busy_};
    if (head_ == kNone) return std::nullopt;
    std::size_t i = head_;
    do {
      if (usable(i)) {
        to_tail(i);
        return i;
      }
      i = links_[i].newer;
    } while (i != head_);
    return std::nullopt;
  }
  /// take() when the least recent profile is usable (inlined: the common case); nothing, and
  /// the order unchanged, when it is not (take() then looks further).
  template <class Usable>
  [[gnu::always_inline]] std::optional<std::size_t> take_least(const Usable& usable) {
    const std::size_t i = take_least_index(usable);
    return i == kNone ? std::nullopt : std::optional<std::size_t>{i};
  }
  /// take_least() as an index, kNone for nothing: what the pool's send() calls (an optional
  /// there, g++ moved it through memory on its way out of the choice: some 15 instructions a
  /// send).
  template <class Usable>
  [[gnu::always_inline]] std::size_t take_least_index(const Usable& usable) {
    const Hold hold{busy_};
    const std::size_t i = head_;
    if (i == kNone || !usable(i)) return kNone;
    head_ = links_[i].newer;  // the least recent becomes the most recent: the ring is as it was
    return i;
  }
  /// Profile `i` served a request: it is the most recent.
  void used(std::size_t i) noexcept {
    const Hold hold{busy_};
    to_tail(i);
  }

 private:
  struct Link {
    std::size_t older;
    std::size_t newer;
  };
  // The lock: held for a few loads and stores (and the checks of the profiles passed over), so
  // a flag that yields the CPU while another thread holds it, not a mutex (two calls, some 50
  // instructions, on every choice).
  class Hold {
   public:
    [[gnu::always_inline]] explicit Hold(std::atomic_flag& busy) noexcept : busy_(busy) {
      while (busy_.test_and_set(std::memory_order_acquire)) {
        while (busy_.test(std::memory_order_relaxed)) std::this_thread::yield();
      }
    }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    Hold(Hold&&) = delete;
    Hold& operator=(Hold&&) = delete;
    [[gnu::always_inline]] ~Hold() { busy_.clear(std::memory_order_release); }

   private:
    std::atomic_flag& busy_;
  };
  // Makes `i` the most recent: the one before the start of the ring.
  void to_tail(std::size_t i) noexcept {
    if (i == head_) {
      head_ = links_[i].newer;
      return;
    }
    const std::size_t tail = links_[head_].older;
    if (i == tail) return;
    Link& link = links_[i];
    links_[link.older].newer = link.newer;
    links_[link.newer].older = link.older;
    link = {tail, head_};
    links_[tail].newer = i;
    links_[head_].older = i;
  }
  std::atomic_flag busy_;  // clear: held by no one
  std::vector<Link> links_;
  std::size_t head_ = kNone;  // the least recent; kNone while there is none
};

/// No profile tried yet: a call's first choice, and with_chosen()'s.
struct NoneTried {
  /// Never.
  [[nodiscard]] static constexpr bool contains(std::size_t /*i*/) noexcept { return false; }
};

/// The profiles one call has tried: inline for up to 128 profiles, on the heap beyond.
class TriedSet {
 public:
  /// Room for `n` profiles.
  explicit TriedSet(std::size_t n)
      : heap_(n > kInline * 64 ? (n + 63) / 64 : 0),
        words_(heap_.empty() ? inline_.data() : heap_.data()) {}
  TriedSet(const TriedSet&) = delete;
  TriedSet& operator=(const TriedSet&) = delete;
  TriedSet(TriedSet&&) = delete;
  TriedSet& operator=(TriedSet&&) = delete;
  ~TriedSet() = default;
  /// True when profile `i` was tried.
  [[nodiscard]] bool contains(std::size_t i) const noexcept {
    return ((words_[i / 64] >> (i % 64)) & 1U) != 0;
  }
  /// Marks profile `i` tried.
  void insert(std::size_t i) noexcept { words_[i / 64] |= std::uint64_t{1} << (i % 64); }

 private:
  static constexpr std::size_t kInline = 2;
  std::array<std::uint64_t, kInline> inline_{};
  std::vector<std::uint64_t> heap_;  // beyond 128 profiles
  std::uint64_t* words_;             // inline_ or heap_
};

}  // namespace detail
}  // namespace keyward
