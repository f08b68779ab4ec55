// `keyward simulate` for a scenario with `instances`: a whole fleet on virtual time
// (docs/simulate.md, "Fleets").
//
// N independent ResilientCredentials (each its own cell, coordinator, jittered thresholds and
// clock skew) share one simulated store with store::Redis's semantics (docs/redis-store.md) and
// one simulated token endpoint that rotates refresh tokens and revokes the grant when a spent one
// comes back. One scheduler owns the virtual clock; every instance runs on a thread of its own,
// and only the thread holding the baton runs: each sleep, store call, token call or lease wait of
// an instance hands the baton back, and the scheduler passes it to whoever is due next (earliest
// virtual time, then the order of scheduling). A run is therefore deterministic for a seed.
//
// Why this file is over 300 lines: the scheduler, the store, the token endpoint and the run share
// the fleet's types; none of it is library code.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <queue>
#include <random>
#include <semaphore>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "cli/simulate_expect.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "keyward/resilient_credential.hpp"

namespace keyward::cli::sim::fleet {

using Ms = std::chrono::milliseconds;
using detail::json::Value;

/// 2026-01-01T00:00:00Z, virtual time zero (as the single-process simulator's).
inline const TimePoint kStart{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}};
inline constexpr std::string_view kFleetApiUrl = "https://api.sim.test/v1/messages";
inline constexpr std::string_view kFleetTokenUrl = "https://auth.sim.test/oauth/token";

/// Thrown inside an instance's thread when the instance is killed (a crash) or the run ends;
/// it unwinds the instance, whose lease (if any) is left to expire.
struct Killed {};

/// One instance's place in the scheduler.
struct Slot {
  std::binary_semaphore go{0};        ///< Released when the instance may run.
  std::uint64_t epoch = 0;            ///< Invalidates stale wake-ups.
  TimePoint due{};                    ///< When it is next due.
  std::optional<TimePoint> crash_at;  ///< Killed at its first resume from then on.
  int crash_after_resumes = -1;       ///< Killed at this resume of its refresh (>= 1).
  bool dead = false;                  ///< Killed: never runs again.
  bool waiting_for_lease = false;     ///< Woken early by the store's notifications.
  bool redeemed_unstored = false;     ///< The endpoint issued it tokens not yet stored.
  std::string issued_refresh;         ///< The refresh token last issued to it.
  std::optional<TimePoint> died;      ///< When it was killed.
};

/// The virtual clock and the baton: one thread runs at a time.
class Scheduler {
 public:
  /// A scheduler for `n` instances.
  explicit Scheduler(std::size_t n) : slots_(n) {
    for (auto& s : slots_) s = std::make_unique<Slot>();
  }

  /// The true virtual time (the store's and the token endpoint's).
  [[nodiscard]] TimePoint now() const noexcept { return now_; }
  /// Instance `id`'s slot.
  [[nodiscard]] Slot& slot(std::size_t id) { return *slots_[id]; }
  /// True once the run is over: instances unwind without yielding.
  [[nodiscard]] bool stopping() const noexcept { return stopping_; }
  /// Crashes counted so far, and how many of them fell inside the window (tokens issued, not
  /// stored).
  std::uint64_t crashes = 0, crashes_in_window = 0;

  /// Makes `id` due at `t` (the scheduler's thread, or the thread running now).
  void schedule(std::size_t id, TimePoint t) {
    Slot& s = *slots_[id];
    s.due = t;
    queue_.push({t, seq_++, id, ++s.epoch});
  }

  /// Wakes a waiting instance now (a store notification).
  void wake(std::size_t id) {
    Slot& s = *slots_[id];
    if (!s.dead && s.waiting_for_lease && s.due > now_) schedule(id, now_);
  }

  /// Called by instance `id` on its own thread: yields until `t`, then throws Killed if it was
  /// killed meanwhile (unless `may_throw` is false: a destructor's call).
  void sleep_until(std::size_t id, TimePoint t, bool may_throw = true) {
    if (stopping_) {
      if (may_throw) throw Killed{};
      return;
    }
    schedule(id, std::max(t, now_));
    pass(id);
    if (may_throw) check(id);
  }

  /// Throws Killed when instance `id` is dead or due to die now.
  void check(std::size_t id) {
    Slot& s = *slots_[id];
    if (stopping_ || s.dead) throw Killed{};
    bool die = s.crash_at && now_ >= *s.crash_at;
    if (s.crash_after_resumes > 0 && --s.crash_after_resumes == 0) die = true;
    if (!die) return;
    s.dead = true;
    s.died = now_;
    ++crashes;
    if (s.redeemed_unstored) ++crashes_in_window;
    throw Killed{};
  }

  /// Runs `body(id)` on a thread per instance, each first due at `start[id]`, until `end`; then
  /// unwinds every instance. `at_time(t)` runs before each step, on the thread holding the baton.
  template <class Body>
  void run(const std::vector<TimePoint>& start, TimePoint end, Body body,
           std::function<void(TimePoint)> at_time) {
    end_ = end;
    at_time_ = std::move(at_time);
    std::vector<std::thread> threads;
    threads.reserve(slots_.size());
    for (std::size_t id = 0; id < slots_.size(); ++id) {
      schedule(id, start[id]);
      threads.emplace_back([this, id, &body] {
        slots_[id]->go.acquire();
        try {
          check(id);
          body(id);
        } catch (const Killed&) {
        }
        slots_[id]->dead = true;
        if (stopping_) {
          baton_.release();
        } else {
          hand_on();
        }
      });
    }
    hand_on();
    baton_.acquire();  // released when nothing is due before the end
    stopping_ = true;
    for (std::size_t id = 0; id < slots_.size(); ++id) {
      if (slots_[id]->dead) continue;
      slots_[id]->go.release();
      baton_.acquire();
    }
    for (auto& t : threads) t.join();
  }

 private:
  // The next instance due (at_time applied), or nothing when the run is over.
  std::optional<std::size_t> next_due() {
    while (!queue_.empty()) {
      const Entry e = queue_.top();
      queue_.pop();
      if (e.epoch != slots_[e.id]->epoch || slots_[e.id]->dead) continue;
      if (e.at > end_) {
        queue_ = {};
        return std::nullopt;
      }
      now_ = std::max(now_, e.at);
      if (at_time_) at_time_(now_);
      return e.id;
    }
    return std::nullopt;
  }
  // Passes the baton to the next instance due, or back to run() when the run is over.
  std::optional<std::size_t> hand_on() {
    const auto next = next_due();
    if (next) {
      slots_[*next]->go.release();
    } else {
      baton_.release();
    }
    return next;
  }
  // Instance `self` yields: it goes on at once when it is due next, else waits for the baton.
  void pass(std::size_t self) {
    const auto next = next_due();
    if (next == self) return;
    if (next) {
      slots_[*next]->go.release();
    } else {
      baton_.release();
    }
    slots_[self]->go.acquire();
  }

  struct Entry {
    TimePoint at;
    std::uint64_t seq;
    std::size_t id;
    std::uint64_t epoch;
    bool operator>(const Entry& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  std::vector<std::unique_ptr<Slot>> slots_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue_;
  std::binary_semaphore baton_{0};
  TimePoint now_ = kStart;
  TimePoint end_ = kStart;
  std::function<void(TimePoint)> at_time_;
  std::uint64_t seq_ = 0;
  bool stopping_ = false;
};

/// A window in which some instances' store calls are delayed or dropped.
struct Partition {
  TimePoint from{}, to{};     ///< [from, to)
  std::set<std::size_t> cut;  ///< The instances it affects.
  bool drop = false;          ///< Calls fail after the command timeout (else: delayed).
  Ms delay{0};                ///< Added to each call when not dropped.
};

/// The simulated store's tuning.
struct StoreOptions {
  Ms latency{1};             ///< Each call's round trip.
  Ms lease_ttl{15000};       ///< As RedisOptions::lease_ttl.
  Ms poll{200};              ///< As RedisOptions::poll.
  Ms command_timeout{2000};  ///< What a dropped call costs its caller.
  std::vector<Partition> partitions;
};

/// One lease taken from the simulated store: its fencing token, holder and renewals.
struct LeaseState {
  std::uint64_t fence = 0;
  std::size_t holder = 0;
  TimePoint taken{}, expires{};
  std::uint64_t renewals = 0;  // renewals attempted (every ttl/3 from taken)
  bool lost = false;           // a renewal failed
  bool released = false;
};

/// The shared state of the simulated store: what one Redis server holds.
struct StoreState {
  Scheduler* scheduler = nullptr;
  StoreOptions options;
  // The credential hash.
  Credential credential{};
  std::uint64_t generation = 0;
  std::uint64_t credential_fence = 0;
  std::optional<TimePoint> pending;
  std::optional<RefreshRefusal> refused;
  // The lease and the fence counter.
  std::shared_ptr<LeaseState> lease;
  std::uint64_t fence_counter = 0;
  TimePoint started = kStart;
  std::set<std::size_t> waiters;  // subscribed to the channel
  std::vector<std::uint64_t> calls;
  std::uint64_t restarts = 0, fenced_writes = 0, publishes = 0;
  int armed_kills = 0;     // crashes to place inside the next refreshes (the lease's taker)
  int kill_point = 0;      // at this resume of the refresh (1-8), or 0: seeded
  std::mt19937_64 random;  // draws the kill point

  /// True when instance `id` is cut off (store calls dropped) at `t`.
  [[nodiscard]] const Partition* partition(std::size_t id, TimePoint t) const {
    for (const Partition& p : options.partitions) {
      if (t >= p.from && t < p.to && p.cut.contains(id)) return &p;
    }
    return nullptr;
  }

  /// Applies the renewals of the current lease up to the virtual time, then its expiry.
  void settle() {
    const TimePoint now = scheduler->now();
    if (lease) renew(*lease, now);
    if (lease && now >= lease->expires) lease.reset();
  }

  /// The renewals of `l` (a thread of the holder's Lease, every ttl/3) up to `now`.
  void renew(LeaseState& l, TimePoint now) {
    const auto step = options.lease_ttl / 3;
    for (;;) {
      if (l.lost || l.released) return;
      const TimePoint at = l.taken + step * static_cast<std::int64_t>(l.renewals + 1);
      if (at > now) return;
      const Slot& holder = scheduler->slot(l.holder);
      if (holder.died && *holder.died <= at) return;  // died: nothing renews it any more
      ++l.renewals;
      ++calls[l.holder];
      const Partition* p = partition(l.holder, at);
      if ((p != nullptr && p->drop) || lease.get() != &l || at >= l.expires) {
        l.lost = true;  // a renewal that fails loses the lease for good
        return;
      }
      l.expires = at + options.lease_ttl;
    }
  }

  /// Loses every key, as a Redis without persistence that restarts.
  void restart() {
    ++restarts;
    credential = Credential{};
    generation = credential_fence = 0;
    pending.reset();
    refused.reset();
    lease.reset();
    fence_counter = 0;
    started = scheduler->now();
    waiters.clear();
  }

  /// Publishes on the channel: every subscribed waiter wakes.
  void publish() {
    ++publishes;
    for (std::size_t id : waiters) scheduler->wake(id);
  }
};

/// A handle on the simulated store for one instance; satisfies the CredentialStore role with
/// store::Redis's semantics: leases with expiry, renewal and fencing, compare-and-swap, refresh
/// markers and refusal records, notifications to lease waiters, restarts that lose data.
class SimStore {
 public:
  /// The lease, as store::Redis::Lease: renewed while its holder lives, released when destroyed.
  class Lease {
   public:
    Lease() = default;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    /// Moves the lease.
    Lease(Lease&& o) noexcept : state_(std::move(o.state_)), store_(o.store_) {}
    /// Moves the lease.
    Lease& operator=(Lease&& o) noexcept {
      release();
      state_ = std::move(o.state_);
      store_ = o.store_;
      return *this;
    }
    ~Lease() { release(); }
    /// True when this caller took the lease.
    [[nodiscard]] bool held() const noexcept { return state_ != nullptr; }
    /// True while held and no renewal failed.
    [[nodiscard]] bool valid() const {
      if (state_ == nullptr) return false;
      store_->renew(*state_, store_->scheduler->now());
      return !state_->lost;
    }
    /// The fencing token (0 when not held).
    [[nodiscard]] std::uint64_t fence() const noexcept { return state_ ? state_->fence : 0; }

   private:
    friend class SimStore;
    Lease(std::shared_ptr<LeaseState> state, StoreState* store)
        : state_(std::move(state)), store_(store) {}
    void release() noexcept {
      if (state_ == nullptr) return;
      auto state = std::move(state_);
      Scheduler& s = *store_->scheduler;
      // A dead holder releases nothing: its lease is left to expire.
      if (s.slot(state->holder).dead || s.stopping()) return;
      store_->settle();
      state->released = true;
      ++store_->calls[state->holder];
      const Partition* p = store_->partition(state->holder, s.now());
      if ((p == nullptr || !p->drop) && store_->lease == state) {
        store_->lease.reset();
        store_->publish();
      }
      s.sleep_until(state->holder, s.now() + store_->options.latency, false);
    }
    std::shared_ptr<LeaseState> state_;
    StoreState* store_ = nullptr;
  };

  /// Instance `id`'s handle on `state`.
  SimStore(std::shared_ptr<StoreState> state, std::size_t id) : state_(std::move(state)), id_(id) {}

  /// The stored credential and its generation.
  [[nodiscard]] Result<StoredCredential> load() {
    if (auto ok = call(); !ok) return unexpected(std::move(ok).error());
    StoredCredential stored;
    stored.generation = state_->generation;
    if (stored.generation == 0) return stored;
    stored.credential = state_->credential;
    stored.refresh_pending = state_->pending;
    stored.refresh_refused = state_->refused;
    return stored;
  }

  /// Compare-and-swap, fenced by this instance's lease (as the Redis script).
  [[nodiscard]] Result<std::uint64_t> compare_and_swap(std::uint64_t expected,
                                                       const Credential& next) {
    if (auto ok = call(); !ok) return unexpected(std::move(ok).error());
    StoreState& s = *state_;
    s.settle();
    std::uint64_t fence = s.credential_fence;
    const bool leased = held_ != nullptr && !held_->released;
    if (leased) {
      if (s.lease != held_ || held_->fence < s.credential_fence) {
        ++s.fenced_writes;
        return unexpected(
            make_error(Errc::store_unavailable, "the refresh lease was lost: nothing was written"));
      }
      fence = held_->fence;
    }
    if (s.generation != expected && !(s.generation == 0 && leased)) {
      return unexpected(make_error(Errc::store_conflict, "the credential changed meanwhile"));
    }
    s.generation = std::max(s.generation, expected) + 1;
    s.credential = next;
    s.credential_fence = fence;
    s.pending.reset();
    s.refused.reset();
    s.publish();
    if (slot().redeemed_unstored && next.refresh_token == slot().issued_refresh) {
      slot().redeemed_unstored = false;
    }
    return s.generation;
  }

  /// Takes the lease, waiting up to `wait` (virtual time), as store::Redis::lease.
  [[nodiscard]] Result<Lease> lease(Ms wait) {
    const TimePoint deadline = state_->scheduler->now() + wait;
    auto start = load();
    if (!start) return unexpected(std::move(start).error());
    bool subscribed = false;
    for (;;) {
      if (auto ok = call(); !ok) return unexpected(std::move(ok).error());
      StoreState& s = *state_;
      s.settle();
      if (!s.lease) {
        std::uint64_t n = ++s.fence_counter;
        if (n <= s.credential_fence) n = s.fence_counter = s.credential_fence + 1;
        auto l = std::make_shared<LeaseState>();
        l->fence = n;
        l->holder = id_;
        l->taken = s.scheduler->now();
        l->expires = l->taken + s.options.lease_ttl;
        s.lease = l;
        held_ = l;
        if (s.armed_kills > 0) {  // a crash inside this refresh
          --s.armed_kills;
          slot().crash_after_resumes =
              s.kill_point > 0 ? s.kill_point
                               : static_cast<int>(std::uniform_int_distribution<>(1, 8)(s.random));
        }
        return Lease{l, state_.get()};
      }
      if (!subscribed) {
        subscribed = true;
        continue;
      }
      auto now_stored = load();
      if (!now_stored) return unexpected(std::move(now_stored).error());
      if (now_stored->generation != start->generation) return Lease{};
      const TimePoint now = s.scheduler->now();
      if (now >= deadline) return Lease{};
      s.waiters.insert(id_);
      slot().waiting_for_lease = true;
      struct Unwait {
        StoreState& s;
        Slot& slot;
        std::size_t id;
        ~Unwait() {
          s.waiters.erase(id);
          slot.waiting_for_lease = false;
        }
      } unwait{s, slot(), id_};
      s.scheduler->sleep_until(id_, std::min(deadline, now + s.options.poll));
    }
  }

  /// The refresh marker, refused without the current lease or soon after a restart that lost the
  /// credential (as store::Redis::mark_refreshing).
  [[nodiscard]] Result<void> mark_refreshing(std::uint64_t generation, TimePoint now) {
    if (auto ok = call(); !ok) return unexpected(std::move(ok).error());
    StoreState& s = *state_;
    s.settle();
    if (held_ != nullptr && !held_->released && s.lease != held_) {
      ++s.fenced_writes;
      return unexpected(make_error(Errc::store_unavailable, "the refresh lease was lost"));
    }
    if (s.generation != generation) {
      if (s.generation != 0) {
        return unexpected(make_error(Errc::store_conflict, "the credential changed"));
      }
      if (generation != 0 && s.scheduler->now() - s.started < s.options.lease_ttl) {
        return unexpected(make_error(Errc::refresh_failed,
                                     "the store lost its data and restarted less than a lease "
                                     "ttl ago; the next request retries"));
      }
      return {};
    }
    s.pending = now;
    return {};
  }

  /// Records a refused refresh token for every holder.
  [[nodiscard]] Result<void> mark_refused(std::uint64_t generation, const RefreshRefusal& r) {
    if (auto ok = call(); !ok) return unexpected(std::move(ok).error());
    if (state_->generation != generation) {
      return unexpected(make_error(Errc::store_conflict, "the credential changed meanwhile"));
    }
    state_->refused = r;
    state_->pending.reset();
    return {};
  }

  /// True, as store::Redis.
  [[nodiscard]] bool durable() const noexcept { return true; }

 private:
  Slot& slot() { return state_->scheduler->slot(id_); }

  // One round trip: counted, delayed or dropped by a partition, then the caller resumes (and
  // dies there if its crash is due).
  Result<void> call() {
    StoreState& s = *state_;
    Scheduler& sched = *s.scheduler;
    sched.check(id_);
    ++s.calls[id_];
    if (const Partition* p = s.partition(id_, sched.now())) {
      if (p->drop) {
        sched.sleep_until(id_, sched.now() + s.options.command_timeout);
        return unexpected(make_error(Errc::store_unavailable, "the store did not answer"));
      }
      sched.sleep_until(id_, sched.now() + p->delay + s.options.latency);
      return {};
    }
    sched.sleep_until(id_, sched.now() + s.options.latency);
    return {};
  }

  std::shared_ptr<StoreState> state_;
  std::size_t id_ = 0;
  std::shared_ptr<LeaseState> held_;
};

static_assert(CredentialStore<SimStore>);
static_assert(LosesLeases<SimStore>);
static_assert(MarksRefreshes<SimStore>);
static_assert(RecordsRefusals<SimStore>);

/// The simulated token endpoint: one grant, refresh tokens rotated on every refresh, and the
/// whole grant revoked when a spent refresh token is presented (as authorization servers that
/// treat reuse as theft do).
struct AuthState {
  Scheduler* scheduler = nullptr;
  Ms expires_in{3600000};  ///< Of issued access tokens.
  Ms latency{300};         ///< A token call's round trip; the grant rotates on arrival.
  std::string live_refresh;
  std::set<std::string> spent;
  std::map<std::string, TimePoint> access;  // access token -> its expiry
  std::vector<TimePoint> expiries;          // of every access token, the first included
  bool revoked = false;
  int serial = 0;
  std::uint64_t token_calls = 0, spent_presented = 0, revocations = 0, api_calls = 0,
                api_rejected = 0;

  /// The n-th token of `kind` (its last four characters, what a fingerprint shows, the serial).
  static std::string name(std::string_view kind, int n) {
    std::string serial = std::to_string(n);
    serial.insert(0, serial.size() < 4 ? 4 - serial.size() : 0, '0');
    return "sim-" + std::string{kind} + "-fleet-0123456789-" + serial;
  }
  /// Issues the first login: its credential.
  Credential login(TimePoint now) {
    live_refresh = name("refresh", 0);
    const std::string token = name("access", 0);
    access[token] = now + expires_in;
    expiries.push_back(now + expires_in);
    return Credential::oauth(token, live_refresh, now + expires_in);
  }
};

/// One instance's transport: the API and the token endpoint, on virtual time.
class FleetTransport {
 public:
  /// Instance `id`'s transport to `auth`.
  FleetTransport(std::shared_ptr<AuthState> auth, std::size_t id)
      : auth_(std::move(auth)), id_(id) {}

  /// Answers one request (the token endpoint's answer arrives after its latency).
  TransportResult send(const Request& request) const {
    AuthState& a = *auth_;
    Scheduler& s = *a.scheduler;
    s.check(id_);
    const Headers json{{"content-type", "application/json"}};
    if (request.url != kFleetTokenUrl) {
      ++a.api_calls;
      const std::string_view auth = request.headers.get("authorization").value_or("");
      const std::string token{auth.starts_with("Bearer ") ? auth.substr(7) : auth};
      const auto it = a.access.find(token);
      if (a.revoked || it == a.access.end() || s.now() >= it->second) {
        ++a.api_rejected;
        return Response{401, Headers{{"www-authenticate", R"(Bearer error="invalid_token")"}},
                        "{}"};
      }
      return Response{200, json, "{}"};
    }
    ++a.token_calls;
    std::string presented;
    if (const auto at = request.body.find("refresh_token="); at != std::string::npos) {
      presented = request.body.substr(at + 14, request.body.find('&', at) - at - 14);
    }
    Response answer{400, json, R"({"error":"invalid_grant"})"};
    if (!a.revoked && !presented.empty() && presented == a.live_refresh) {
      a.spent.insert(presented);
      const int n = ++a.serial;
      const std::string access = AuthState::name("access", n);
      a.live_refresh = AuthState::name("refresh", n);
      a.access[access] = s.now() + a.expires_in;
      a.expiries.push_back(s.now() + a.expires_in);
      Slot& me = s.slot(id_);
      me.redeemed_unstored = true;
      me.issued_refresh = a.live_refresh;
      answer =
          Response{200, json,
                   R"({"access_token":")" + access + R"(","token_type":"Bearer","expires_in":)" +
                       std::to_string(
                           std::chrono::duration_cast<std::chrono::seconds>(a.expires_in).count()) +
                       R"(,"refresh_token":")" + a.live_refresh + R"("})"};
    } else if (!a.revoked && a.spent.contains(presented)) {
      ++a.spent_presented;  // reuse: the whole grant is revoked
      ++a.revocations;
      a.revoked = true;
    } else if (a.spent.contains(presented)) {
      ++a.spent_presented;
    }
    s.sleep_until(id_, s.now() + a.latency);
    return answer;
  }

 private:
  std::shared_ptr<AuthState> auth_;
  std::size_t id_;
};

/// An instance's clock: the virtual time plus its own skew.
struct SkewedClock {
  const Scheduler* scheduler = nullptr;  ///< The virtual time.
  Ms skew{0};                            ///< This instance's offset.
  /// The instance's time.
  [[nodiscard]] TimePoint now() const { return scheduler->now() + skew; }
};

/// An instance's sleeps: they yield to the scheduler.
struct YieldingSleeper {
  Scheduler* scheduler = nullptr;  ///< The baton.
  std::size_t id = 0;              ///< Whose sleep.
  /// Yields for `d` of virtual time.
  void sleep_for(Ms d) const { scheduler->sleep_until(id, scheduler->now() + d); }
};

/// Counts the events of the whole fleet by kind.
struct EventCounter {
  std::shared_ptr<std::map<std::string, std::uint64_t>> counts =
      std::make_shared<std::map<std::string, std::uint64_t>>();  ///< Shared by every instance.
  /// Counts `event`.
  void on_event(const Event& event) const { ++(*counts)[std::string{to_string(event.kind)}]; }
};

/// The fleet's policies: an OAuth login over the simulated store, on virtual time.
struct FleetPolicies : DefaultPolicies {
  using Refresh = refresh::OAuth2RefreshToken;  ///< The refresh-token grant.
  using Store = SimStore;                       ///< The shared simulated store.
  using Clock = SkewedClock;                    ///< Virtual time plus skew.
  using Sleeper = YieldingSleeper;              ///< Sleeps yield.
  using Observer = EventCounter;                ///< Counted events.
};

/// What a fleet scenario asks for (docs/simulate.md, "Fleets").
struct FleetScenario {
  std::size_t instances = 1;
  std::uint64_t seed = 1;
  double hours = 24;
  double every_s = 60;
  Ms skew{2000};
  double crashes_per_hour = 0;
  int crashes_in_refresh = 0;
  int crash_point = 0;
  std::vector<double> restarts_s;
  Ms expires_in{3600000};
  Ms token_latency{300};
  StoreOptions store;
  std::vector<std::pair<std::string, double>> expect;  // report field (or field_at_most), value
};

/// The figures of one run.
struct FleetReport {
  std::map<std::string, double> figures;  ///< By name, as the report line prints them.
  std::string line;                       ///< The report as one JSON line.
  std::string status;                     ///< The final states, as the last line.
};

/// A figure as JSON: whole numbers without an exponent or a fraction.
inline std::string number_text(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return std::to_string(static_cast<std::int64_t>(v));
  std::ostringstream s;
  s << v;
  return s.str();
}

/// Runs `sc` and reports its figures.
inline FleetReport run_fleet(const FleetScenario& sc) {
  Scheduler sched(sc.instances);
  auto store = std::make_shared<StoreState>();
  store->scheduler = &sched;
  store->options = sc.store;
  store->calls.assign(sc.instances, 0);
  store->kill_point = sc.crash_point;
  store->random.seed(sc.seed * 31 + 7);
  auto auth = std::make_shared<AuthState>();
  auth->scheduler = &sched;
  auth->expires_in = sc.expires_in;
  auth->latency = sc.token_latency;
  // The login, stored before the fleet starts (as `keyward login-import` would).
  store->credential = auth->login(kStart);
  store->generation = 1;

  std::mt19937_64 random(sc.seed);
  const auto end =
      kStart + std::chrono::duration_cast<Ms>(std::chrono::duration<double>(sc.hours * 3600));
  const auto every = std::chrono::duration_cast<Ms>(std::chrono::duration<double>(sc.every_s));
  std::vector<TimePoint> start(sc.instances);
  std::vector<Ms> skew(sc.instances);
  for (std::size_t i = 0; i < sc.instances; ++i) {
    start[i] = kStart + Ms{std::uniform_int_distribution<std::int64_t>(0, every.count())(random)};
    skew[i] =
        Ms{std::uniform_int_distribution<std::int64_t>(-sc.skew.count(), sc.skew.count())(random)};
  }
  // Crashes: each hour, that share of the instances dies at a seeded moment of the hour.
  std::vector<std::size_t> order(sc.instances);
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), random);
  std::size_t next_victim = 0;
  const auto per_hour = static_cast<std::size_t>(
      std::llround(sc.crashes_per_hour * static_cast<double>(sc.instances)));
  for (int h = 0; h < static_cast<int>(std::ceil(sc.hours)); ++h) {
    for (std::size_t k = 0; k < per_hour && next_victim < order.size(); ++k) {
      sched.slot(order[next_victim++]).crash_at =
          kStart + std::chrono::hours{h} +
          Ms{std::uniform_int_distribution<std::int64_t>(0, 3600000 - 1)(random)};
    }
  }

  refresh::OAuth2RefreshToken strategy{
      {.token_url = std::string{kFleetTokenUrl}, .client_id = "sim-client"}};
  EventCounter events;
  std::uint64_t requests = 0, errors = 0, rejected = 0;
  Ms longest{0};
  std::vector<std::optional<CredentialState>> last(sc.instances);
  CredentialOptions base;
  base.profile = "fleet";
  std::size_t restarts_done = 0;
  int hours_armed = 0;

  sched.run(
      start, end,
      [&](std::size_t id) {
        SimStore handle{store, id};
        auto loaded = handle.load();
        sched.check(id);
        if (!loaded || loaded->generation == 0) return;  // nothing to start from
        CredentialOptions options = base;
        options.jitter_seed = sc.seed * 1000003 + id;
        ResilientCredential<FleetTransport, FleetPolicies> credential(
            FleetTransport{auth, id}, *loaded, options,
            {.refresh = strategy,
             .store = handle,
             .clock = SkewedClock{&sched, skew[id]},
             .sleeper = YieldingSleeper{&sched, id},
             .observer = events});
        for (;;) {
          const TimePoint before = sched.now();
          auto result = credential.send(Request{
              .method = "POST", .url = std::string{kFleetApiUrl}, .headers = {}, .body = "{}"});
          sched.check(id);
          ++requests;
          if (!result) {
            ++errors;
          } else if (result->status != 200) {
            ++rejected;
          }
          longest = std::max(longest, std::chrono::duration_cast<Ms>(sched.now() - before));
          last[id] = credential.status().state;
          sched.sleep_until(id, before + every);
        }
      },
      [&](TimePoint now) {
        while (restarts_done < sc.restarts_s.size() &&
               now >= kStart + std::chrono::duration_cast<Ms>(
                                   std::chrono::duration<double>(sc.restarts_s[restarts_done]))) {
          store->restart();
          ++restarts_done;
        }
        while (hours_armed < sc.crashes_in_refresh &&
               now >= kStart + std::chrono::hours{hours_armed + 1}) {
          ++hours_armed;
          ++store->armed_kills;
        }
      });

  // Expiries: tokens of the login whose refresh window (the soft margin before expiry) began
  // inside the run; a fleet that refreshes once per expiry makes as many token calls.
  std::uint64_t expiries = 0;
  for (const TimePoint e : auth->expiries)
    expiries += e - base.refresh.soft_margin <= end ? 1U : 0U;
  std::uint64_t calls = 0;
  for (const auto c : store->calls) calls += c;
  std::size_t alive = 0;
  for (std::size_t i = 0; i < sc.instances; ++i) alive += sched.slot(i).died ? 0U : 1U;
  FleetReport report;
  auto& f = report.figures;
  f["instances"] = static_cast<double>(sc.instances);
  f["hours"] = sc.hours;
  f["crashes"] = static_cast<double>(sched.crashes);
  f["crashes_in_window"] = static_cast<double>(sched.crashes_in_window);
  f["alive"] = static_cast<double>(alive);
  f["store_restarts"] = static_cast<double>(store->restarts);
  f["expiries"] = static_cast<double>(expiries);
  f["token_calls"] = static_cast<double>(auth->token_calls);
  f["extra_token_calls"] = static_cast<double>(auth->token_calls) - static_cast<double>(expiries);
  f["token_calls_per_expiry"] = expiries == 0
                                    ? 0
                                    : std::round(1000.0 * static_cast<double>(auth->token_calls) /
                                                 static_cast<double>(expiries)) /
                                          1000.0;
  f["spent_presented"] = static_cast<double>(auth->spent_presented);
  f["grants_revoked"] = static_cast<double>(auth->revocations);
  f["requests"] = static_cast<double>(requests);
  f["errors"] = static_cast<double>(errors);
  f["rejected"] = static_cast<double>(rejected);
  f["longest_wait_ms"] = static_cast<double>(longest.count());
  f["wait_bound_ms"] = static_cast<double>(base.refresh.wait_timeout.count());
  f["fenced_writes"] = static_cast<double>(store->fenced_writes);
  f["store_calls"] = static_cast<double>(calls);
  f["store_calls_per_instance_hour"] =
      sc.hours <= 0 ? 0
                    : std::round(100.0 * static_cast<double>(calls) /
                                 (static_cast<double>(sc.instances) * sc.hours)) /
                          100.0;
  for (const auto& [kind, n] : *events.counts) f["event_" + kind] = static_cast<double>(n);
  std::map<std::string, std::size_t> states;
  for (std::size_t i = 0; i < sc.instances; ++i) {
    if (!sched.slot(i).died && last[i]) ++states[std::string{to_string(*last[i])}];
  }
  f["needs_reauth_at_end"] = static_cast<double>(states["needs_reauth"]);
  std::ostringstream line;
  line << "{\"fleet\":{";
  bool first = true;
  for (const auto& [name, value] : f) {
    line << (first ? "" : ",") << '"' << name << "\":" << number_text(value);
    first = false;
  }
  line << "}}";
  report.line = line.str();
  std::ostringstream status;
  status << "{\"status\":{\"generation\":" << store->generation << ",\"instances\":{";
  first = true;
  for (const auto& [state, n] : states) {
    status << (first ? "" : ",") << '"' << state << "\":" << n;
    first = false;
  }
  status << "},\"crashed\":" << sched.crashes << "}}";
  report.status = status.str();
  return report;
}

/// Reads a fleet scenario, refusing unknown keys and bad values with the line and path named.
inline FleetScenario read_fleet(const Value& doc, std::string_view text) {
  using detail::json::Type;
  using expect_detail::member;
  const expect_detail::Reader reader(text);
  reader.object(doc, "",
                {{"description", Type::string},
                 {"instances", Type::number, 1},
                 {"seed", Type::number, 0},
                 {"hours", Type::number, 0},
                 {"requests", Type::object},
                 {"token_endpoint", Type::object},
                 {"clock_skew_ms", Type::number, 0},
                 {"crashes", Type::object},
                 {"store", Type::object},
                 {"expect", Type::object}});
  FleetScenario sc;
  const auto num = [](const Value& v, std::string_view key, double fallback) {
    const Value& m = member(v, key);
    return m.is_number() ? *m.as_number() : fallback;
  };
  const auto ms = [&](const Value& v, std::string_view key, Ms fallback) {
    return Ms{static_cast<std::int64_t>(num(v, key, static_cast<double>(fallback.count())))};
  };
  sc.instances = static_cast<std::size_t>(num(doc, "instances", 1));
  if (sc.instances > 100000) reader.fail(member(doc, "instances"), "instances", "at most 100000");
  sc.seed = static_cast<std::uint64_t>(num(doc, "seed", 1));
  sc.hours = num(doc, "hours", 24);
  sc.skew = ms(doc, "clock_skew_ms", sc.skew);
  if (const Value& r = member(doc, "requests"); !r.is_null()) {
    reader.object(r, "requests", {{"every_s", Type::number, 0}});
    sc.every_s = num(r, "every_s", sc.every_s);
    if (sc.every_s < 0.001) reader.fail(member(r, "every_s"), "requests.every_s", "must be > 0");
  }
  if (const Value& t = member(doc, "token_endpoint"); !t.is_null()) {
    reader.object(t, "token_endpoint",
                  {{"expires_in_s", Type::number, 1}, {"latency_ms", Type::number, 0}});
    sc.expires_in = Ms{static_cast<std::int64_t>(num(t, "expires_in_s", 3600) * 1000)};
    sc.token_latency = ms(t, "latency_ms", sc.token_latency);
  }
  if (const Value& c = member(doc, "crashes"); !c.is_null()) {
    reader.object(c, "crashes",
                  {{"per_hour", Type::number, 0},
                   {"in_refresh", Type::number, 0},
                   {"point", Type::number, 1}});
    sc.crashes_per_hour = num(c, "per_hour", 0);
    if (sc.crashes_per_hour > 1) {
      reader.fail(member(c, "per_hour"), "crashes.per_hour", "must be a share, at most 1");
    }
    sc.crashes_in_refresh = static_cast<int>(num(c, "in_refresh", 0));
    sc.crash_point = static_cast<int>(num(c, "point", 0));
    if (sc.crash_point > 8) reader.fail(member(c, "point"), "crashes.point", "at most 8");
  }
  if (const Value& st = member(doc, "store"); !st.is_null()) {
    reader.object(st, "store",
                  {{"latency_ms", Type::number, 0},
                   {"lease_ttl_ms", Type::number, 1},
                   {"poll_ms", Type::number, 1},
                   {"command_timeout_ms", Type::number, 1},
                   {"restarts_s", Type::array},
                   {"partitions", Type::array}});
    sc.store.latency = ms(st, "latency_ms", sc.store.latency);
    sc.store.lease_ttl = ms(st, "lease_ttl_ms", sc.store.lease_ttl);
    sc.store.poll = ms(st, "poll_ms", sc.store.poll);
    sc.store.command_timeout = ms(st, "command_timeout_ms", sc.store.command_timeout);
    reader.array(member(st, "restarts_s"), "store.restarts_s",
                 [&](const Value& v, const std::string& path) {
                   if (!v.is_number() || *v.as_number() < 0) {
                     reader.fail(v, path, "must be a number of seconds, at least 0");
                   }
                   sc.restarts_s.push_back(*v.as_number());
                 });
    std::sort(sc.restarts_s.begin(), sc.restarts_s.end());
    std::mt19937_64 random(sc.seed * 17 + 3);
    reader.array(
        member(st, "partitions"), "store.partitions", [&](const Value& v, const std::string& path) {
          reader.object(v, path,
                        {{"from_s", Type::number, 0},
                         {"to_s", Type::number, 0},
                         {"share", Type::number, 0},
                         {"drop", Type::boolean},
                         {"delay_ms", Type::number, 0}});
          Partition p;
          const auto at = [](double s) { return kStart + Ms{static_cast<std::int64_t>(s * 1000)}; };
          p.from = at(num(v, "from_s", 0));
          p.to = at(num(v, "to_s", 0));
          if (p.to <= p.from) reader.fail(v, path + ".to_s", "must be after from_s");
          const double share = num(v, "share", 1);
          if (share > 1) reader.fail(member(v, "share"), path + ".share", "at most 1");
          const Value& drop = member(v, "drop");
          p.drop = drop.as_bool().value_or(false);
          p.delay = ms(v, "delay_ms", Ms{0});
          for (std::size_t i = 0; i < sc.instances; ++i) {
            if (std::uniform_real_distribution<>(0, 1)(random) < share) p.cut.insert(i);
          }
          sc.store.partitions.push_back(std::move(p));
        });
  }
  if (const Value& e = member(doc, "expect"); !e.is_null()) {
    static const std::set<std::string> kFields{"instances",
                                               "crashes",
                                               "crashes_in_window",
                                               "alive",
                                               "store_restarts",
                                               "expiries",
                                               "token_calls",
                                               "extra_token_calls",
                                               "token_calls_per_expiry",
                                               "spent_presented",
                                               "grants_revoked",
                                               "requests",
                                               "errors",
                                               "rejected",
                                               "longest_wait_ms",
                                               "fenced_writes",
                                               "store_calls_per_instance_hour",
                                               "needs_reauth_at_end"};
    for (const auto& [key, value] : *e.as_object()) {
      std::string field = key;
      if (field.ends_with("_at_most")) field.resize(field.size() - 8);
      if (!kFields.contains(field)) {
        std::string known;
        for (const auto& k : kFields) known += (known.empty() ? "" : ", ") + k;
        reader.fail(value, "expect." + key,
                    "unknown key (known: " + known + ", each also as NAME_at_most)");
      }
      reader.type(value, "expect." + key, Type::number);
      sc.expect.emplace_back(key, *value.as_number());
    }
  }
  return sc;
}

/// Checks `report` against the scenario's expectations: one line per failure.
inline std::vector<std::string> check_fleet(const FleetScenario& sc, const FleetReport& report) {
  std::vector<std::string> failed;
  const auto text = [](double v) { return number_text(v); };
  for (const auto& [key, want] : sc.expect) {
    const bool at_most = key.ends_with("_at_most");
    const std::string field = at_most ? key.substr(0, key.size() - 8) : key;
    const double got = report.figures.at(field);
    if (at_most ? got <= want : got == want) continue;
    failed.push_back("expect." + key + ": expected " + (at_most ? "at most " : "") + text(want) +
                     ", got " + text(got));
  }
  return failed;
}

/// Runs the fleet scenario `doc` (its text `text`), writes its report line to `out` (and a table
/// with `summary`), and returns the failed expectations.
inline std::vector<std::string> run(const Value& doc, std::string_view text, std::ostream& out,
                                    bool summary) {
  const FleetScenario sc = read_fleet(doc, text);
  const FleetReport report = run_fleet(sc);
  out << report.line << "\n" << report.status << "\n";
  if (summary) {
    const auto& f = report.figures;
    out << "\ninstances: " << f.at("instances") << " over " << f.at("hours")
        << " h, crashes: " << f.at("crashes") << " (" << f.at("crashes_in_window")
        << " in the window), store restarts: " << f.at("store_restarts") << "\n"
        << "token calls: " << f.at("token_calls") << " for " << f.at("expiries")
        << " expiries, spent tokens presented: " << f.at("spent_presented")
        << ", grants revoked: " << f.at("grants_revoked") << "\n"
        << "longest wait: " << f.at("longest_wait_ms") << " ms (bound " << f.at("wait_bound_ms")
        << " ms), store calls per instance per hour: " << f.at("store_calls_per_instance_hour")
        << "\n";
  }
  return check_fleet(sc, report);
}

}  // namespace keyward::cli::sim::fleet
