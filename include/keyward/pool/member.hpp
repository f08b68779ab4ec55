// One profile of a CredentialPool (detail::PoolMember) and what the pool adds to the driver's
// attempt on it (detail::PoolCall, the `Call` of detail/driver.hpp): the model windows
// (pool/model_windows.hpp), the remaining quota its responses state, and the waits the server
// stated, which the panic rule never cuts short (docs/pool.md).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/credential.hpp"
#include "keyward/credential_store.hpp"
#include "keyward/detail/driver.hpp"
#include "keyward/detail/time.hpp"
#include "keyward/error.hpp"
#include "keyward/observer.hpp"
#include "keyward/options.hpp"
#include "keyward/pool/model_windows.hpp"
#include "keyward/pool/selection.hpp"
#include "keyward/pool/status.hpp"
#include "keyward/result.hpp"
#include "keyward/transport.hpp"

namespace keyward::detail {

/// One profile: its options (named after it), its store, its seat and the pool's state of it.
template <class Driver>
struct PoolMember {
  using Store = typename Driver::Store;  ///< Where its credential lives.

  /// Builds its seat in `driver` for `credential` (which must pass pre-flight).
  PoolMember(Driver& driver, CredentialOptions o, std::uint32_t w, Store s, const Credential& c)
      : options(std::move(o)),
        store(std::move(s)),
        weight(w),
        seat(driver.make_seat(options, store, c)),
        cell(seat->cell) {}

  CredentialOptions options;                    ///< Its options.
  Store store;                                  ///< Its store.
  std::uint32_t weight;                         ///< Its share, for Selection::weighted.
  std::unique_ptr<typename Driver::Seat> seat;  ///< Its credential, in the driver.
  typename Driver::Cell& cell;                  ///< The seat's cell.
  ModelWindows models;                          ///< Its models' rate-limit windows.
  Remaining remaining;                          ///< What its last response said is left.
  StatedWaits stated;                           ///< The server's waits (never cut short).
};

/// Adds profile `name` to `members`, with the pool's `shared` options named after it, and seeds
/// its store (from `loaded` when the credential was loaded from it). Throws
/// std::invalid_argument naming the problem (never a secret).
template <class Driver>
void add_member(Driver& driver, std::vector<std::unique_ptr<PoolMember<Driver>>>& members,
                const std::string& prefix, const CredentialOptions& shared, std::string name,
                const Credential& credential, std::uint32_t weight, typename Driver::Store store,
                const StoredCredential* loaded) {
  for (const auto& m : members) {
    if (m->options.profile == name) {
      throw std::invalid_argument(std::string{prefix} + "two profiles are named '" + name + "'");
    }
  }
  if (weight == 0) {
    throw std::invalid_argument(prefix + "profile '" + name + "': weight must be at least 1");
  }
  CredentialOptions each = shared;
  each.profile = std::move(name);
  if (each.jitter_seed) *each.jitter_seed += members.size();
  validate(each);
  members.push_back(std::make_unique<PoolMember<Driver>>(driver, std::move(each), weight,
                                                         std::move(store), credential));
  if (loaded != nullptr) {
    driver.seed(*members.back()->seat, *loaded);
  } else {
    driver.seed(*members.back()->seat);
  }
}

/// What the pool adds to one attempt on member `m` for `model` (detail::Driver's Call).
template <class Driver>
struct PoolCall {
  using Member = PoolMember<Driver>;       ///< The profile.
  using Now = typename Driver::Now;        ///< The clock, read when needed.
  using Ticket = typename Driver::Ticket;  ///< The admitted attempt.

  Driver& driver;              ///< The driver.
  const PoolOptions& options;  ///< The pool's options.
  Member& m;                   ///< The profile.
  std::string_view model;      ///< The model the request names ("" for none).

  /// A model probe, handed back however the attempt ends (a decided one is gone).
  struct Claim {
    const PoolCall& call;  ///< Whose probe (its profile's windows, its model).
    std::uint64_t probe;   ///< The probe (0: none).
    bool is_out;           ///< The model is out and another request probes it.
    /// Holds `p` of `c`'s model (the call outlives its attempts' claims: the windows and the
    /// model are read from it when a probe is handed back, not copied into every claim).
    Claim(const PoolCall& c, std::uint64_t p, bool o) noexcept : call(c), probe(p), is_out(o) {}
    Claim(const Claim&) = delete;
    Claim& operator=(const Claim&) = delete;
    Claim(Claim&&) = delete;
    Claim& operator=(Claim&&) = delete;
    ~Claim() {
      if (probe != 0) call.m.models.release(call.model, probe);
    }
    /// The model cannot be sent now.
    [[nodiscard]] bool out() const noexcept { return is_out; }
    /// This request probes the model.
    [[nodiscard]] bool probing() const noexcept { return probe != 0; }
  };

  /// Claims the model: out while its window runs, a probe when it has ended.
  Claim claim(std::uint64_t generation, std::optional<TimePoint> admitted, bool force) {
    if (model.empty()) return Claim{*this, 0, false};  // no window: no clock read
    const auto c = m.models.claim(model, generation, admitted.value_or(driver.now()), force);
    return Claim{*this, c.out ? 0 : c.probe, c.out};
  }

  /// The error of a request whose model another request is probing on this profile.
  Error model_out(std::uint64_t generation) {
    const TimePoint at = driver.now();
    const Verdict verdict{.kind = VerdictKind::rate_limited};
    return m.cell.messages().taken_out(verdict, m.cell.snapshot()->token->fingerprint,
                                       "for model '" + std::string{model} + "'",
                                       m.models.out_until(model, generation, at), at);
  }

  /// Remembers the remaining quota the response states and a wait the server stated with a
  /// rate limit (for the model when the request named one, else the profile) or a quota verdict
  /// (the profile); a late answer for a replaced credential states nothing about the current one.
  void note(const TransportResult& sent, std::uint64_t generation, const Verdict& verdict,
            Now& at) {
    if (sent && options.steer_by_remaining) {
      if (const auto left = remaining_fraction(sent->headers)) {
        m.remaining.record(*left, saturating_add(at(), options.remaining_valid_for));
      }
    }
    if (!verdict.retry_after) return;
    std::string_view scope = model;
    if (verdict.kind == VerdictKind::quota_exhausted) {
      scope = {};
    } else if (verdict.kind != VerdictKind::rate_limited) {
      return;
    }
    if (m.cell.snapshot()->token->generation != generation) return;
    m.stated.record(scope, saturating_add(at(), *verdict.retry_after), at());
  }

  /// A rate limit for a request that named a model: only (profile, model) cools, and `answer`
  /// is the error for the next profile (true); false for any other verdict.
  bool divert(Ticket& ticket, const Verdict& verdict, Now& now, Result<Response>& answer) {
    if (verdict.kind != VerdictKind::rate_limited || model.empty()) return false;
    return cool_model(ticket, verdict, now, answer);
  }

 private:
  // divert()'s work, out of the common path (a request without a model never gets here).
  [[gnu::noinline]] bool cool_model(Ticket& ticket, const Verdict& verdict, Now& now,
                                    Result<Response>& answer) {
    const TimePoint at = now();
    const auto token = m.cell.snapshot()->token;
    ticket.hand_back();
    std::optional<TimePoint> until;
    if (token->generation == ticket.generation) {  // a replaced credential's 429 changes nothing
      until = m.models.record(model, ticket.generation, verdict, at, [&](std::uint32_t failures) {
        return driver.parts()
            .cooldown.on_failure(verdict, failures, m.cell.jitter())
            .value_or(std::chrono::milliseconds::zero());
      });
      if (until) driver.notify(*m.seat, EventKind::cooldown_entered, *token, &verdict, until);
    }
    answer = unexpected(m.cell.messages().taken_out(
        verdict, token->fingerprint, "for model '" + std::string{model} + "'", until, at));
    return true;
  }

 public:
  /// A delivered answer ends the model's window on this profile.
  void delivered(const Verdict& verdict) {
    if (!model.empty() && m.models.clear(model)) {
      driver.notify(*m.seat, EventKind::cooldown_left, *m.cell.snapshot()->token, &verdict);
    }
  }
};

/// "is cooling down (rate_limited) until ...", "needs a person (unauthenticated: ...)", ...
inline std::string describe_outage(const ProfileOutage& p) {
  const std::string reason = p.reason ? std::string{to_string(*p.reason)} : std::string{};
  const std::string until = p.until ? format_deadline(*p.until) : std::string{};
  if (p.state == "needs_reauth") {
    return "needs a person (" + reason + ": an authentication failure, not a rate limit)" +
           (p.until ? "; one probe request at " + until : std::string{});
  }
  if (p.state == "probing") return "is being probed (" + reason + ")";
  if (p.state == "failed") return "failed this request";
  return "is cooling down" + (p.model.empty() ? std::string{} : " for model '" + p.model + "'") +
         " (" + reason + ")" + (p.until ? " until " + until : std::string{});
}

/// The one error of a call that no profile of `members` could serve: each profile's outage
/// (with the error this call saw from it, or its last), and when the soonest comes back.
template <class Chooser, class Member>
Error all_out(const std::string& prefix, const std::vector<std::unique_ptr<Member>>& members,
              typename Chooser::Outage out, TimePoint at,
              const std::vector<std::pair<std::size_t, Error>>& seen,
              std::optional<Verdict> verdict) {
  std::string text = prefix + "no profile can serve this request.";
  for (std::size_t i = 0; i < out.profiles.size(); ++i) {
    const ProfileOutage& p = out.profiles[i];
    text += " '" + p.profile + "' " + describe_outage(p) + "; fix: " + p.fix + ".";
    const auto own =
        std::find_if(seen.begin(), seen.end(), [i](const auto& e) { return e.first == i; });
    if (own != seen.end()) {
      text += " [" + own->second.message + "]";
    } else if (const auto s = members[i]->cell.snapshot(); s->error && p.model.empty()) {
      text += " [" + s->error->message + "]";
    }
  }
  if (out.until) {
    text += " The soonest a profile can serve again: " + describe_until(*out.until, at) + ".";
  } else {
    text += " No profile comes back by itself: a person must act.";
  }
  Error error = make_error(Errc::no_usable_credential, std::move(text));
  error.until = out.until;
  error.verdict = std::move(verdict);
  error.profiles = std::move(out.profiles);
  for (const auto& m : members) m->cell.scrub(error);
  return error;
}

/// Tells `observer` that a call fails over from profile `from` to `to` because of `why`.
template <class Observer, class Member>
void announce_failover(Observer& observer, const Member& from, const Member& to, const Error& why) {
  if constexpr (!std::is_same_v<Observer, NoObserver>) {
    const auto token = from.cell.snapshot()->token;
    const std::string detail =
        "to '" + to.options.profile + "'" +
        (why.verdict ? " after " + std::string{to_string(why.verdict->kind)} : std::string{});
    observer.on_event(Event{.kind = EventKind::failover,
                            .profile = from.options.profile,
                            .fingerprint = token->fingerprint,
                            .generation = token->generation,
                            .verdict = why.verdict ? &*why.verdict : nullptr,
                            .until = why.until,
                            .detail = detail});
  } else {
    static_cast<void>(observer);
    static_cast<void>(from);
    static_cast<void>(to);
    static_cast<void>(why);
  }
}

}  // namespace keyward::detail
