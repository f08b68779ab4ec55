// One profile of a CredentialPool (detail::PoolMember) and what the pool adds to the driver's
// attempt on it (detail::PoolCall, the `Call` of detail/driver.hpp): the model windows
// (pool/model_windows.hpp), the remaining quota its responses state, and the waits the server
// stated, which the panic rule never cuts short (docs/pool.md).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/classifier.hpp"
#include "keyward/credential.hpp"
#include "keyward/detail/driver.hpp"
#include "keyward/detail/time.hpp"
#include "keyward/error.hpp"
#include "keyward/observer.hpp"
#include "keyward/options.hpp"
#include "keyward/pool/model_windows.hpp"
#include "keyward/pool/selection.hpp"
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
  std::atomic<std::uint64_t> last_used{0};      ///< A logical time, for least_recently_used.
};

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
    ModelWindows& windows;   ///< Whose probe.
    std::string_view model;  ///< The model.
    std::uint64_t probe;     ///< The probe (0: none).
    bool is_out;             ///< The model is out and another request probes it.
    /// Holds `p` of `w` for `name`.
    Claim(ModelWindows& w, std::string_view name, std::uint64_t p, bool o) noexcept
        : windows(w), model(name), probe(p), is_out(o) {}
    Claim(const Claim&) = delete;
    Claim& operator=(const Claim&) = delete;
    Claim(Claim&&) = delete;
    Claim& operator=(Claim&&) = delete;
    ~Claim() {
      if (probe != 0) windows.release(model, probe);
    }
    /// The model cannot be sent now.
    [[nodiscard]] bool out() const noexcept { return is_out; }
    /// This request probes the model.
    [[nodiscard]] bool probing() const noexcept { return probe != 0; }
  };

  /// Claims the model: out while its window runs, a probe when it has ended.
  Claim claim(std::uint64_t generation, std::optional<TimePoint> admitted, bool force) {
    const auto c = m.models.claim(model, generation, admitted.value_or(driver.now()), force);
    return Claim{m.models, model, c.out ? 0 : c.probe, c.out};
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

  /// A delivered answer ends the model's window on this profile.
  void delivered(const Verdict& verdict) {
    if (!model.empty() && m.models.clear(model)) {
      driver.notify(*m.seat, EventKind::cooldown_left, *m.cell.snapshot()->token, &verdict);
    }
  }
};

}  // namespace keyward::detail
