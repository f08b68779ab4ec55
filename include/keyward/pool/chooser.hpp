// How a CredentialPool chooses a profile (docs/pool.md, "Selection"): priority, round robin,
// weighted (a cooling profile's share spread over the others by weight), least recently used,
// sticky sessions and steering by remaining quota; and, when none can serve, why each is out and
// which one the panic rule may probe (never one whose window the server stated).
//
// Reads lock-free; a choice writes at most one relaxed word (the strategy's counter, a session
// pin), or, for least recently used, moves the chosen profile in the order of use.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/detail/policy_support.hpp"
#include "keyward/detail/time.hpp"
#include "keyward/pool/selection.hpp"
#include "keyward/pool/status.hpp"
#include "keyward/status.hpp"

namespace keyward::detail {

/// Chooses among a pool's members (detail::PoolMember) by the pool's options.
template <class Member, class Clock>
class Chooser {
 public:
  using LazyNow = detail::LazyNow<Clock>;  ///< The clock, read when needed.

  /// Chooses among `members` (filled later, in priority order) by `options`.
  Chooser(const std::vector<std::unique_ptr<Member>>& members, const PoolOptions& options)
      : members_(members),
        options_(options),
        floor_permille_(static_cast<std::uint32_t>(options.remaining_floor * 1000.0)) {}

  /// Counts the weight of the member added last.
  void add(std::uint32_t weight) {
    cumulative_.push_back((cumulative_.empty() ? 0 : cumulative_.back()) + weight);
    order_.add();
    if (options_.selection != Selection::weighted) return;
    if (cumulative_.back() <= kShares) {
      shares_.insert(shares_.end(), weight, static_cast<std::uint32_t>(cumulative_.size() - 1));
    } else {
      shares_.clear();  // too many: found by binary search
    }
  }

  /// Why nothing can serve: every profile's outage, the soonest time one could serve, and the
  /// profile the panic rule would probe (every profile out for a rate limit or quota).
  struct Outage {
    std::vector<ProfileOutage> profiles;  ///< Each profile's.
    std::optional<TimePoint> until;       ///< The soonest one can serve again.
    std::optional<std::size_t> panic;     ///< The one the panic rule may probe.
    bool any_auth = false;                ///< One needs a person.
  };

  /// True when member `m`, in state `s`, can take a request for `model` at `at`: ready, or out
  /// with its window over (the request probes it), and the model not cooling on it.
  static bool serves_at(const Member& m, const Snapshot& s, std::string_view model, TimePoint at) {
    if (s.state != CredentialState::ready &&
        (s.state == CredentialState::probing || !s.until || at < *s.until)) {
      return false;
    }
    return !m.models.out_until(model, s.token->generation, at);
  }

  // serves_at() with the clock read only when the answer needs it, and, when `steer`, not a
  // profile whose last response said its quota is nearly spent. `seen` is left on the snapshot
  // read, valid under the caller's Pin.
  [[gnu::always_inline]] bool serves(const Member& m, std::string_view model, bool steer,
                                     LazyNow& at, const Snapshot*& seen) const {
    const Snapshot& s = m.cell.current();
    seen = &s;
    if (s.state != CredentialState::ready &&
        (s.state == CredentialState::probing || !s.until || at() < *s.until)) {
      return false;
    }
    if (!model.empty() && m.models.out_until(model, s.token->generation, at())) return false;
    return !(steer && m.remaining.low(at, floor_permille_));
  }

  /// The profile to try next, or nothing when none can serve; called under a Pin (the
  /// SnapshotCell's), which keeps `seen`, the chosen profile's snapshot as the choice read it,
  /// valid (its admission takes it rather than loading it again).
  /// Inlined, with all but the common case out of line: a request without a session whose turn
  /// falls on a profile that serves costs the strategy's turn and one snapshot's checks.
  template <class Tried>
  [[gnu::always_inline]] std::optional<std::size_t> choose(const RequestScope& scope,
                                                           const Tried& tried, LazyNow& at,
                                                           const Snapshot*& seen) {
    if (!scope.session.empty()) return choose_fully(scope, tried, at, seen);
    const bool steer = options_.steer_by_remaining;
    if (options_.selection == Selection::least_recently_used) {
      const auto usable = [&](std::size_t i) __attribute__((always_inline)) {
        return can_take(i, scope.model, steer, tried, at, seen);
      };
      if (const std::size_t least = order_.take_least_index(usable); least != UseOrder::kNone) {
        return least;
      }
      return choose_fully(scope, tried, at, seen);
    }
    const std::size_t start = turn();
    if (can_take(start, scope.model, steer, tried, at, seen)) return start;
    return choose_after(start, scope.model, tried, at, seen);
  }

 private:
  // choose() when the profile whose turn it was, `start`, cannot serve.
  template <class Tried>
  [[gnu::noinline]] std::optional<std::size_t> choose_after(std::size_t start,
                                                            std::string_view model,
                                                            const Tried& tried, LazyNow& at,
                                                            const Snapshot*& seen) {
    const bool steer = options_.steer_by_remaining;
    std::optional<std::size_t> chosen = after_turn(start, model, steer, tried, at, seen);
    if (!chosen && steer) chosen = choose_by_strategy(model, false, tried, at, seen);
    return chosen;
  }

  // choose() for a request that names a session (its pinned profile while it serves), and for
  // least recently used.
  template <class Tried>
  [[gnu::noinline]] std::optional<std::size_t> choose_fully(const RequestScope& scope,
                                                            const Tried& tried, LazyNow& at,
                                                            const Snapshot*& seen) {
    if (!scope.session.empty()) {
      if (const auto pinned = pins_.find(scope.session, at(), options_.sticky_for);
          pinned && *pinned < members_.size() && !tried.contains(*pinned) &&
          serves(*members_[*pinned], scope.model, false, at, seen)) {
        if (options_.selection == Selection::least_recently_used) order_.used(*pinned);
        return pinned;
      }
    }
    const bool steer = options_.steer_by_remaining;
    std::optional<std::size_t> chosen = choose_by_strategy(scope.model, steer, tried, at, seen);
    if (!chosen && steer) chosen = choose_by_strategy(scope.model, false, tried, at, seen);
    if (chosen && !scope.session.empty()) pins_.pin(scope.session, *chosen, at());
    return chosen;
  }

  // The profile whose turn it is (not for least recently used): the first for priority, the
  // next in turn for round robin, the owner of the next share for weighted.
  [[gnu::always_inline]] std::size_t turn() {
    switch (options_.selection) {
      case Selection::round_robin:
        return static_cast<std::size_t>(turn_.fetch_add(1, std::memory_order_relaxed) %
                                        members_.size());
      case Selection::weighted: {
        const std::uint64_t at_weight =
            turn_.fetch_add(1, std::memory_order_relaxed) % cumulative_.back();
        return !shares_.empty()
                   ? shares_[at_weight]
                   : static_cast<std::size_t>(
                         std::upper_bound(cumulative_.begin(), cumulative_.end(), at_weight) -
                         cumulative_.begin());
      }
      case Selection::priority:
      case Selection::least_recently_used:
        break;
    }
    return 0;
  }

  // After `start`, whose turn it was, could not serve: for weighted, its share goes to the
  // others; else the next that can, in order, wrapping round.
  template <class Tried>
  std::optional<std::size_t> after_turn(std::size_t start, std::string_view model, bool steer,
                                        const Tried& tried, LazyNow& at, const Snapshot*& seen) {
    if (options_.selection == Selection::weighted) {
      return spread([&](std::size_t i) { return can_take(i, model, steer, tried, at, seen); });
    }
    for (std::size_t i = start + 1; i < members_.size(); ++i) {
      if (can_take(i, model, steer, tried, at, seen)) return i;
    }
    for (std::size_t i = 0; i < start; ++i) {
      if (can_take(i, model, steer, tried, at, seen)) return i;
    }
    return std::nullopt;
  }

 public:
  // Weighted, when the profile whose turn it is cannot serve: its share goes to the others that
  // can, in proportion to their weights (a second relaxed counter); nothing when none can.
  template <class Usable>
  std::optional<std::size_t> spread(const Usable& usable) {
    std::uint64_t open = 0;
    for (std::size_t i = 0; i < members_.size(); ++i) {
      if (usable(i)) open += members_[i]->weight;
    }
    if (open == 0) return std::nullopt;
    std::uint64_t at_share = spill_.fetch_add(1, std::memory_order_relaxed) % open;
    for (std::size_t i = 0; i < members_.size(); ++i) {
      if (!usable(i)) continue;
      if (at_share < members_[i]->weight) return i;
      at_share -= members_[i]->weight;
    }
    for (std::size_t i = 0; i < members_.size(); ++i) {  // one went out meanwhile
      if (usable(i)) return i;
    }
    return std::nullopt;
  }

  // True when profile `i`, untried by this call, serves (see serves()).
  template <class Tried>
  [[gnu::always_inline]] bool can_take(std::size_t i, std::string_view model, bool steer,
                                       const Tried& tried, LazyNow& at,
                                       const Snapshot*& seen) const {
    return !tried.contains(i) && serves(*members_[i], model, steer, at, seen);
  }

  template <class Tried>
  std::optional<std::size_t> choose_by_strategy(std::string_view model, bool steer,
                                                const Tried& tried, LazyNow& at,
                                                const Snapshot*& seen) {
    if (options_.selection == Selection::least_recently_used) {
      return order_.take([&](std::size_t i) { return can_take(i, model, steer, tried, at, seen); });
    }
    const std::size_t start = turn();
    if (can_take(start, model, steer, tried, at, seen)) return start;
    return after_turn(start, model, steer, tried, at, seen);
  }

  /// Why nothing can serve (see Outage).
  Outage outage(std::string_view model, const TriedSet& tried, TimePoint at) const {
    Outage out;
    bool all_transient = true;
    std::optional<TimePoint> panic_until;
    for (std::size_t i = 0; i < members_.size(); ++i) {
      const Member& m = *members_[i];
      const auto s = m.cell.snapshot();
      ProfileOutage p;
      p.profile = m.options.profile;
      p.state = std::string{to_string(s->state)};
      p.reason = s->reason;
      p.until = s->until;
      if (s->state == CredentialState::ready) {
        if (const auto model_until = m.models.out_until(model, s->token->generation, at)) {
          p.state = "cooling";
          p.reason = VerdictKind::rate_limited;
          p.model = std::string{model};
          p.until = model_until;
        } else if (tried.contains(i)) {
          p.state = "failed";  // this call tried it (e.g. its refresh failed); see the message
        }
      }
      const bool transient =
          p.reason == VerdictKind::rate_limited || p.reason == VerdictKind::quota_exhausted;
      const bool auth =
          p.reason == VerdictKind::unauthenticated || p.reason == VerdictKind::misconfigured;
      out.any_auth = out.any_auth || auth;
      all_transient = all_transient && transient && p.state != "failed";
      p.fix = fix_for(m, p, *s);
      if (p.until && (!out.until || *p.until < *out.until)) out.until = p.until;
      // Only a window keyward estimated is probed early: never one the server stated.
      if (transient && p.until && s->state != CredentialState::probing && !tried.contains(i) &&
          (!panic_until || *p.until < *panic_until) && !m.stated.running(p.model, at)) {
        out.panic = i;
        panic_until = p.until;
      }
      out.profiles.push_back(std::move(p));
    }
    if (!all_transient) out.panic.reset();
    return out;
  }

  static std::string fix_for(const Member& m, const ProfileOutage& p, const Snapshot& s) {
    const Verdict* verdict = s.error && s.error->verdict ? &*s.error->verdict : nullptr;
    const auto configured = [&](const std::string& text, std::string_view generic) {
      if (!text.empty()) return text;
      if (verdict != nullptr && !verdict->fix.empty()) return verdict->fix;
      return std::string{generic};
    };
    if (p.state == "probing") return "wait: one probe request is testing it now";
    if (p.reason == VerdictKind::unauthenticated) {
      return configured(m.options.fix.unauthenticated, "log in again to get a new credential") +
             ", then set_credential(\"" + m.options.profile + "\", ...)";
    }
    if (p.reason == VerdictKind::misconfigured) {
      return configured(m.options.fix.misconfigured,
                        "check the credential's kind and how it is sent") +
             ", then set_credential(\"" + m.options.profile + "\", ...)";
    }
    if (p.reason == VerdictKind::quota_exhausted) {
      return configured(m.options.fix.quota_exhausted,
                        "add credits or raise the quota with the provider");
    }
    if (p.reason == VerdictKind::rate_limited) return "wait: a rate limit ends by itself";
    return "see the profile's last error";
  }

  /// A snapshot of every profile, free of secrets, at `at`.
  [[nodiscard]] PoolStatus status(TimePoint at) const {
    PoolStatus out;
    out.provider = options_.provider;
    out.selection = options_.selection;
    for (const auto& m : members_) {
      ProfileStatus p;
      const auto snapshot = m->cell.snapshot();
      p.credential = detail::describe(*snapshot, m->options.profile);
      m->seat->coordinator.describe(p.credential);
      p.weight = m->weight;
      p.usable = serves_at(*m, *snapshot, {}, at);
      p.remaining_permille = m->remaining.permille(at);
      for (const auto& w : m->models.running(snapshot->token->generation, at)) {
        p.models.push_back({w.model, w.since, w.until, w.failures});
      }
      out.usable += p.usable ? 1U : 0U;
      out.profiles.push_back(std::move(p));
    }
    if (out.usable == 0) out.soonest = outage({}, TriedSet{members_.size()}, at).until;
    return out;
  }

  /// Claims the panic rule's probe: at most one per panic_interval for the whole pool.
  bool claim_panic(TimePoint at) {
    if (options_.panic_interval <= std::chrono::milliseconds::zero()) return false;
    auto last = last_panic_.load(std::memory_order_relaxed);
    const TimePoint next =
        saturating_add(TimePoint{TimePoint::duration{last}}, options_.panic_interval);
    if (last != kNever && at < next) return false;
    return last_panic_.compare_exchange_strong(last, at.time_since_epoch().count(),
                                               std::memory_order_relaxed);
  }

 private:
  static constexpr TimePoint::rep kNever = TimePoint::min().time_since_epoch().count();

  const std::vector<std::unique_ptr<Member>>& members_;
  const PoolOptions& options_;
  std::uint32_t floor_permille_;  // options_.remaining_floor in thousandths
  // Weighted: a table of whose each unit of weight is, while the weights add up to kShares at
  // most (one load per choice, not a binary search of the running sums).
  static constexpr std::uint64_t kShares = 1024;
  std::vector<std::uint64_t> cumulative_;  // running sums of the weights
  std::vector<std::uint32_t> shares_;      // share -> profile, while the sum is <= kShares
  std::atomic<std::uint64_t> turn_{0};     // round robin and weighted
  std::atomic<std::uint64_t> spill_{0};    // weighted: the shares of profiles that cannot serve
  std::atomic<TimePoint::rep> last_panic_{kNever};
  SessionPins pins_;
  UseOrder order_;  // least recently used
};

}  // namespace keyward::detail
