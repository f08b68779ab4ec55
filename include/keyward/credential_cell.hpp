// CredentialCell: one credential's state machine, with no I/O.
//
// A driver (ResilientCredential::send, later a pool) asks the cell to admit a request, sends it,
// classifies the response, and tells the cell the verdict; the cell answers with the next action
// (deliver the response, retry, replay, refresh then replay, or fail with an Error). The cell is
// the only writer of its snapshots: every change publishes one immutable detail::Snapshot, which
// readers get with one atomic load (detail::SnapshotCell). It knows no transport, no refresh
// strategy and no observer: changes worth an event come back to the driver in the Action.
//
// A probe is owned by the Ticket that claimed it, not by the credential's generation: a refresh
// that lands during a probe keeps the probe's owner, and a ticket that ends without a decision
// (an exception, a provider-scoped failure) hands the probe back when it is destroyed.
//
// Why this header is over 300 lines: every transition (admit, claim and hand back a probe, take
// out, accept, install, replace) reads and publishes the same snapshot under the same writer
// lock, and the design keeps that writer in one class; the vocabulary it shares with drivers is
// in action.hpp and the token thresholds in detail/credential_state.hpp.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/action.hpp"
#include "keyward/classifier.hpp"
#include "keyward/cooldown_policy.hpp"
#include "keyward/credential.hpp"
#include "keyward/detail/credential_state.hpp"
#include "keyward/detail/jitter.hpp"
#include "keyward/detail/messages.hpp"
#include "keyward/detail/snapshot_cell.hpp"
#include "keyward/detail/time.hpp"
#include "keyward/error.hpp"
#include "keyward/observer.hpp"
#include "keyward/options.hpp"
#include "keyward/status.hpp"

namespace keyward {

/// One credential's state machine, with no I/O: it admits requests, records their verdicts and
/// answers with the next Action, and is the only writer of its snapshots.
template <CooldownPolicy Cooldown>
class CredentialCell {
 public:
  /// A published token: the credential, its generation and its refresh thresholds.
  using TokenPtr = std::shared_ptr<const detail::Token>;
  /// The immutable state the cell publishes.
  using Snapshot = detail::Snapshot;
  /// Keeps the snapshots this thread reads valid while it exists.
  using Pin = typename detail::SnapshotCell<Snapshot>::Pin;
  /// A Pin always inlined (detail::SnapshotCell::InlinePin): a pool's send() holds one.
  using InlinePin = typename detail::SnapshotCell<Snapshot>::InlinePin;
  /// What admit() hands out for one attempt.
  using Ticket = keyward::Ticket<CredentialCell>;

  /// How admit() treats this request.
  struct AdmitOptions {
    bool force_probe = false;    ///< probe(): claim the probe even while a window runs.
    bool refresh_tried = false;  ///< A refresh was tried for this request: do not ask again.
    bool keep_token = false;     ///< Keep the token in the ticket (for events).
  };

  /// admit()'s answer: send with the ticket, refresh first, or refuse with an error.
  struct Admission {
    /// Send with the ticket, refresh first, or refuse.
    enum class Kind : std::uint8_t { send, refresh, refuse };
    // Constructors, not an aggregate: g++ 12 zero-fills an aggregate holding an optional Error
    // on every construction, and every send() constructs one.
    /// Send with `sent`.
    explicit Admission(Ticket sent) noexcept
        : kind(Kind::send), generation(sent.generation), ticket(std::move(sent)) {}
    /// Refresh generation `stale` first.
    Admission(RefreshNeed urgency, std::uint64_t stale) noexcept
        : kind(Kind::refresh), need(urgency), generation(stale) {}
    /// Refuse with `refusal`.
    explicit Admission(Error refusal) : kind(Kind::refuse), error(std::move(refusal)) {}

    Kind kind;                             ///< What to do.
    RefreshNeed need = RefreshNeed::soft;  ///< For refresh: soft (others carry on) or hard (wait).
    std::uint64_t generation = 0;          ///< For send and refresh: the generation concerned.
    Ticket ticket;                         ///< For send.
    std::optional<Error> error;            ///< For refuse.
  };

  /// Starts ready with `credential`; `options` and `cooldown` must outlive the cell.
  CredentialCell(const CredentialOptions& options, const Cooldown& cooldown, Credential credential,
                 TokenTraits traits, TimePoint now, std::vector<Secret> other_secrets = {})
      : options_(options),
        cooldown_(cooldown),
        messages_(options),
        jitter_(options.jitter_seed.value_or(std::random_device{}())),
        // A draw of its own, so that the retry jitter's sequence stays as seeded.
        spread_(detail::Jitter{options.jitter_seed.value_or(std::random_device{}()) ^
                               0x5851F42D4C957F2DULL}
                    .next()),
        other_secrets_(std::move(other_secrets)),
        cell_(first_snapshot(std::move(credential), std::move(traits), now)) {}

  /// Decides whether a request may go out and, if so, lets `use(const detail::Token&)` place the
  /// credential; `use` may throw, and a probe claimed for it is then handed back. `now()` is
  /// called at most once, and only when the decision needs the time (a credential that is out,
  /// or a token with an expiry).
  template <class Now, class Use>
  [[gnu::always_inline]] Admission admit(Now&& now, AdmitOptions how, Use&& use) {
    const Pin pin;
    return admit(cell_.load(), std::forward<Now>(now), how, std::forward<Use>(use));
  }

  /// admit() on `seen`, this cell's snapshot as the caller read it (current(), read()) under a
  /// Pin it still holds: a pool's chooser has just read it to choose the profile, and loading
  /// it again would cost a second load and Pin per send.
  template <class Now, class Use>
  [[gnu::always_inline]] Admission admit(const Snapshot& seen, Now&& now, AdmitOptions how,
                                         Use&& use) {
    const bool timed = seen.state != CredentialState::ready || seen.token->soft_at.has_value();
    const TimePoint at = timed ? detail::time_of(now) : TimePoint{};
    std::optional<RefreshNeed> need;
    if (timed) need = refresh_need(*seen.token, at, how.refresh_tried);
    Ticket ticket;
    ticket.cell = this;
    if (seen.state != CredentialState::ready) {
      const bool window_over = seen.state != CredentialState::probing &&
                               (how.force_probe || (seen.until && at >= *seen.until));
      if (!window_over) return refuse(seen, at);
      if (need) return Admission{*need, seen.token->generation};
      ticket.probe = claim_probe(at, how.force_probe);
      if (ticket.probe == 0) return refuse(cell_.load(), at);
      ticket.probed_reason = seen.reason;
    } else if (need) {
      return Admission{*need, seen.token->generation};
    }
    const Snapshot& current = ticket.probe != 0 ? cell_.load() : seen;
    ticket.generation = current.token->generation;
    ticket.unverified = !current.verified;
    ticket.settled = current.verified && current.failures == 0;
    ticket.kind = current.token->credential.kind;
    if (how.keep_token) ticket.token = current.token;
    use(*current.token);
    return Admission{std::move(ticket)};
  }

  /// Records the verdict for an attempt and returns what to do next; `replays` is how often this
  /// request was replayed already. The verdict's outside text must be scrubbed (scrub()).
  /// `now()` is called only when the verdict changes the state.
  template <class Now>
  Action record(Ticket& ticket, const Verdict& verdict, Now&& now, std::uint32_t replays) {
    switch (verdict.kind) {
      case VerdictKind::ok:
      case VerdictKind::forbidden:
      case VerdictKind::request_error: {
        if (ticket.probe == 0 && ticket.settled) return Action{};  // a success changes nothing
        Action action;
        action.change = accepted(ticket, now);
        ticket.probe = 0;  // decided
        return action;
      }
      case VerdictKind::unauthenticated:
        return unauthenticated(ticket, verdict, detail::time_of(now), replays);
      case VerdictKind::misconfigured:
      case VerdictKind::rate_limited:
      case VerdictKind::quota_exhausted:
        return fail(take_out(ticket, verdict, detail::time_of(now), {}));
      case VerdictKind::overloaded:
      case VerdictKind::transient:
        break;
    }
    // Provider-scoped: the credential is not at fault, so its state stays as it was.
    ticket.hand_back();
    return Action{ActionKind::retry};
  }

  /// Installs a credential obtained by refreshing generation `from`, or adopted from the store;
  /// returns it, or nothing when `from` was replaced meanwhile (the replacement wins).
  TokenPtr install(std::uint64_t from, Credential credential, TokenTraits traits, TimePoint now,
                   std::optional<std::chrono::seconds> refresh_in, bool from_refresh) {
    const std::scoped_lock lock(mutex_);
    const auto current = cell_.load_shared();
    if (current->token->generation != from) return nullptr;
    auto token =
        detail::make_token(std::move(credential), std::move(traits), from + 1, from_refresh, now,
                           refresh_in, current->token.get(), options_.refresh, spread_);
    auto next = std::make_shared<Snapshot>(*current);
    next->hold(token);
    next->verified = !from_refresh;  // a refreshed token proves itself with its first response
    cell_.publish(std::move(next));
    return token;
  }

  /// Installs a person's replacement: ready at once, whatever the state was.
  TokenPtr replace(Credential credential, TokenTraits traits, TimePoint now) {
    const std::scoped_lock lock(mutex_);
    const auto current = cell_.load_shared();
    auto token =
        detail::make_token(std::move(credential), std::move(traits), current->token->generation + 1,
                           false, now, {}, current->token.get(), options_.refresh, spread_);
    auto next = std::make_shared<Snapshot>();
    next->hold(token);
    next->since = now;
    cell_.publish(std::move(next));
    return token;
  }

  /// Takes generation `generation` out for a credential-scoped verdict that did not come from a
  /// ticket (the token endpoint refused its refresh token); returns the error and the change.
  std::pair<Error, std::optional<Change>> take_out(std::uint64_t generation, const Verdict& verdict,
                                                   TimePoint now, std::string_view why,
                                                   detail::RefusedBy by) {
    return take_out_of(generation, 0, verdict, now, why, by);
  }

  /// Removes every secret this credential knows from the verdict's outside text.
  void scrub(Verdict& verdict) const {
    if (verdict.message.empty() && verdict.provider_code.empty() && verdict.request_id.empty()) {
      return;
    }
    const Pin pin;
    detail::scrub(verdict, secrets(*cell_.load().token));
  }

  /// Removes every secret this credential knows from an error's text.
  void scrub(Error& error) const {
    const Pin pin;
    detail::scrub(error, secrets(*cell_.load().token));
  }

  /// Calls `f(const Snapshot&)` with the current snapshot, which stays valid during the call.
  template <class F>
  decltype(auto) read(F&& f) const {
    const Pin pin;
    return std::forward<F>(f)(cell_.load());
  }

  /// The current snapshot, borrowed: valid until the caller's outermost Pin, which must be held
  /// during the call, ends.
  [[nodiscard, gnu::always_inline]] const Snapshot& current() const { return cell_.load(); }

  /// The current snapshot, shared.
  [[nodiscard]] std::shared_ptr<const Snapshot> snapshot() const { return cell_.load_shared(); }

  /// The current generation.
  [[nodiscard]] std::uint64_t generation() const {
    return read([](const Snapshot& s) { return s.token->generation; });
  }

  /// A jitter fraction in [0, 1), shared with the driver's retries.
  [[nodiscard]] double jitter() noexcept { return jitter_.next(); }

  /// The texts of this credential's messages.
  [[nodiscard]] const detail::Messages& messages() const noexcept { return messages_; }

  /// Hands probe `probe` back: the credential is out again, with its window already over.
  void release_probe(std::uint64_t probe) noexcept {
    try {
      const std::scoped_lock lock(mutex_);
      const auto current = cell_.load_shared();
      if (current->probe != probe) return;
      auto next = std::make_shared<Snapshot>(*current);
      next->state =
          is_auth(next->reason) ? CredentialState::needs_reauth : CredentialState::cooling;
      next->probe = 0;
      cell_.publish(std::move(next));
    } catch (...) {
      // Out of memory: the probe stays claimed until the next publish, which clears it.
    }
  }

 private:
  static bool is_auth(std::optional<VerdictKind> kind) noexcept {
    return kind == VerdictKind::unauthenticated || kind == VerdictKind::misconfigured;
  }

  static Action fail(std::pair<Error, std::optional<Change>> out) {
    return {std::move(out.first), std::move(out.second)};
  }

  std::vector<std::string_view> secrets(const detail::Token& token) const {
    std::vector<std::string_view> out;
    token.secrets(out);
    for (const Secret& s : other_secrets_) out.push_back(s.reveal());
    return out;
  }

  std::optional<RefreshNeed> refresh_need(const detail::Token& token, TimePoint now,
                                          bool tried) const noexcept {
    if (tried || !token.soft_at || now < *token.soft_at) return std::nullopt;
    return now >= *token.hard_at ? RefreshNeed::hard : RefreshNeed::soft;
  }

  Admission refuse(const Snapshot& snapshot, TimePoint now) const {
    Error error = snapshot.error ? *snapshot.error
                                 : make_error(Errc::cooling_down, messages_.prefix() + "not ready");
    error.message += detail::Messages::refusal_note(snapshot.state == CredentialState::probing,
                                                    snapshot.until && now >= *snapshot.until);
    return Admission{std::move(error)};
  }

  // Claims the probe when the credential is out and its window is over (or `force`); returns the
  // probe's id, 0 when another caller has it or the credential is ready again.
  std::uint64_t claim_probe(TimePoint now, bool force) {
    const std::scoped_lock lock(mutex_);
    const auto current = cell_.load_shared();
    if (current->state == CredentialState::ready || current->state == CredentialState::probing ||
        (!force && (!current->until || now < *current->until))) {
      return 0;
    }
    const std::uint64_t id = ++probes_;
    auto next = std::make_shared<Snapshot>(*current);
    next->state = CredentialState::probing;
    next->probe = id;
    cell_.publish(std::move(next));
    return id;
  }

  // A 401 or equivalent: replay with a newer token, refresh once and replay, or needs_reauth.
  // Only a token that came from a refresh and that no response has accepted yet proves the
  // credential dead; `replays` bounds the loop whatever happens.
  Action unauthenticated(Ticket& ticket, const Verdict& verdict, TimePoint now,
                         std::uint32_t replays) {
    if (ticket.probe != 0 && is_auth(ticket.probed_reason)) {
      return fail(take_out(ticket, verdict, now, "again, at the probe"));
    }
    ticket.hand_back();  // a replay probes again
    if (replays >= kMaxReplays) return fail(take_out(ticket, verdict, now, "on every replay"));
    const TokenPtr current = cell_.load_shared()->token;
    if (current->generation != ticket.generation) return Action{ActionKind::replay};
    if (!current->refreshable) {
      return fail(take_out(ticket, verdict, now, current->not_refreshable));
    }
    if (ticket.unverified) {
      return fail(take_out(ticket, verdict, now, "right after it was refreshed"));
    }
    return Action{ActionKind::refresh_then_replay};
  }

  std::pair<Error, std::optional<Change>> take_out(Ticket& ticket, const Verdict& verdict,
                                                   TimePoint now, std::string_view why) {
    auto out =
        take_out_of(ticket.generation, ticket.probe, verdict, now, why, detail::RefusedBy::api);
    ticket.probe = 0;  // decided (or, for a stale probe, nothing left to hand back)
    return out;
  }

  // needs_reauth for unauthenticated and misconfigured, cooling for rate_limited and
  // quota_exhausted. A window already running never shrinks and the client's own failures never
  // extend it (no failure is counted); only a server-stated wait that ends later extends it, to
  // the server's time. An auth failure overrides a rate-limit window: it is the more severe news.
  std::pair<Error, std::optional<Change>> take_out_of(std::uint64_t generation, std::uint64_t probe,
                                                      const Verdict& verdict, TimePoint now,
                                                      std::string_view why, detail::RefusedBy by) {
    const std::scoped_lock lock(mutex_);
    const auto current = cell_.load_shared();
    const bool auth = is_auth(verdict.kind);
    const bool owns_probe = probe != 0 && current->probe == probe;
    const bool stale = current->token->generation != generation && !owns_probe;
    const bool window_running = current->state != CredentialState::ready && !owns_probe &&
                                (!current->until || now < *current->until);
    if (stale || (window_running && (!auth || is_auth(current->reason)))) {
      if (!stale && !auth && verdict.retry_after && current->until) {
        const TimePoint stated = detail::saturating_add(now, *verdict.retry_after);
        if (stated > *current->until) return extend(*current, verdict, stated, now, why);
      }
      if (current->error && !stale) return {*current->error, std::nullopt};
      const std::string name = stale ? "its previous credential (generation " +
                                           std::to_string(generation) + ", since replaced)"
                                     : current->token->fingerprint;
      return {messages_.taken_out(verdict, name, why, std::nullopt, now, by), std::nullopt};
    }
    const std::uint32_t failures =
        current->reason == verdict.kind ? current->failures + 1 : std::uint32_t{1};
    std::optional<TimePoint> until;
    if (const auto window = cooldown_.on_failure(verdict, failures, jitter_.next())) {
      until = detail::saturating_add(now, std::max(*window, std::chrono::milliseconds::zero()));
    }
    // A probe forced while the window ran (the panic rule, probe()) never shortens it.
    if (!auth && until && current->until && *current->until > *until) until = current->until;
    auto error = std::make_shared<const Error>(
        messages_.taken_out(verdict, current->token->fingerprint, why, until, now, by));
    auto next = std::make_shared<Snapshot>(*current);
    next->state = auth ? CredentialState::needs_reauth : CredentialState::cooling;
    next->reason = verdict.kind;
    next->since = now;
    next->until = until;
    next->failures = failures;
    next->probe = 0;
    next->error = error;
    cell_.publish(std::move(next));
    return {*error, Change{auth ? EventKind::needs_reauth : EventKind::cooldown_entered,
                           current->token, until}};
  }

  // A server-stated wait that ends after the running window: the window ends at the server's
  // time; the failure count stays, since the client did nothing new. Called with mutex_ held.
  std::pair<Error, std::optional<Change>> extend(const Snapshot& current, const Verdict& verdict,
                                                 TimePoint until, TimePoint now,
                                                 std::string_view why) {
    auto error = std::make_shared<const Error>(
        messages_.taken_out(verdict, current.token->fingerprint, why, until, now));
    auto next = std::make_shared<Snapshot>(current);
    next->until = until;
    next->error = error;
    cell_.publish(std::move(next));
    return {*error, Change{EventKind::cooldown_entered, current.token, until}};
  }

  // The credential was accepted: a probe succeeded, a refreshed token proved itself, or failure
  // counters decay. Writes nothing when nothing changes, so the common case stays read-only.
  template <class Now>
  std::optional<Change> accepted(const Ticket& ticket, Now&& now) {
    if (ticket.probe == 0 && ticket.settled) return std::nullopt;  // nothing was left to change
    const std::scoped_lock lock(mutex_);
    const auto current = cell_.load_shared();
    const bool owns_probe = ticket.probe != 0 && current->probe == ticket.probe;
    const bool same = current->token->generation == ticket.generation;
    if (!owns_probe && !same) return std::nullopt;
    if (!owns_probe && current->verified && current->failures == 0) return std::nullopt;
    auto next = std::make_shared<Snapshot>(*current);
    if (same) next->verified = true;
    std::optional<Change> change;
    if (owns_probe || current->state == CredentialState::ready) {
      if (current->state != CredentialState::ready) {
        change = Change{EventKind::cooldown_left, current->token, std::nullopt};
        next->since = detail::time_of(now);
      }
      next->state = CredentialState::ready;
      next->reason.reset();
      next->until.reset();
      next->failures = 0;
      next->probe = 0;
      next->error.reset();
    }
    cell_.publish(std::move(next));
    return change;
  }

  std::shared_ptr<const Snapshot> first_snapshot(Credential credential, TokenTraits traits,
                                                 TimePoint now) {
    auto snapshot = std::make_shared<Snapshot>();
    snapshot->hold(detail::make_token(std::move(credential), std::move(traits), 1, false, now, {},
                                      nullptr, options_.refresh, spread_));
    snapshot->since = now;
    return snapshot;
  }

  // One send() replays a rejected request at most this often (each time with a newer token).
  static constexpr std::uint32_t kMaxReplays = 3;

  const CredentialOptions& options_;
  const Cooldown& cooldown_;
  detail::Messages messages_;
  detail::Jitter jitter_;
  const double spread_;                  // this instance's place in the refresh spread
  std::vector<Secret> other_secrets_;    // the refresh strategy's, e.g. a client secret
  std::mutex mutex_;                     // serialises writers; readers never take it
  std::uint64_t probes_ = 0;             // probe ids handed out, under mutex_
  detail::SnapshotCell<Snapshot> cell_;  // last: built from the members above
};

}  // namespace keyward
