// detail::Driver<Transport, Policies>: the request loop, once, for both faces.
//
// ResilientCredential (one seat) and CredentialPool (a seat per profile, chosen by its
// selection) are faces over this driver (docs/architecture.md). serve() runs one seat's turn at
// a request: admit, attach, send (streamed when the caller streams), follow redirects (the
// credential never leaves the request's origin), classify, record, act (deliver, replay, refresh
// once and replay, retry a provider-scoped failure behind the provider's breaker and budget),
// observe and notify, and share or adopt a cooldown window through a store that
// SharesCooldowns. What only the pool does per attempt (model windows, remaining quota, the
// server's stated waits) comes in through the `Call` a face passes; detail::Plain is none.
//
// Why this header is over 300 lines: it is the one loop both faces share, and its steps (admit,
// attempt, follow, classify, act, retry) read best in one place.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "keyward/action.hpp"
#include "keyward/attacher.hpp"
#include "keyward/breaker.hpp"
#include "keyward/classifier.hpp"
#include "keyward/clock.hpp"
#include "keyward/cooldown_policy.hpp"
#include "keyward/credential.hpp"
#include "keyward/credential_cell.hpp"
#include "keyward/credential_store.hpp"
#include "keyward/default_policies.hpp"
#include "keyward/detail/policy_support.hpp"
#include "keyward/detail/redirect.hpp"
#include "keyward/detail/stream_attempt.hpp"
#include "keyward/detail/time.hpp"
#include "keyward/error.hpp"
#include "keyward/observer.hpp"
#include "keyward/options.hpp"
#include "keyward/preflight.hpp"
#include "keyward/provider_guard.hpp"
#include "keyward/refresh_coordinator.hpp"
#include "keyward/refresh_strategy.hpp"
#include "keyward/result.hpp"
#include "keyward/transport.hpp"

namespace keyward::detail {

/// The policies a face of the driver takes, for transport T (each policy's concept).
template <class Policies, class T>
concept DriverPolicies = Classifier<typename Policies::Classifier> &&
    RefreshStrategy<typename Policies::Refresh, T> && CooldownPolicy<typename Policies::Cooldown> &&
    Attacher<typename Policies::Attach> && Preflight<typename Policies::Preflight> &&
    CredentialStore<typename Policies::Store> && Clock<typename Policies::Clock> &&
    Sleeper<typename Policies::Sleeper> && Observer<typename Policies::Observer>;

/// How a seat's turn at a request ended: `answer` holds what the caller gets (done), or an
/// error of this credential's that a pool answers by trying another profile (rotate); or how an
/// attempt ended: go round again now (again), after Progress::wait (wait), or once the
/// attempt's generation is refreshed (refresh: the credential was rejected; the request is then
/// replayed).
enum class Next : std::uint8_t { done, rotate, again, wait, refresh };

/// One credential the driver serves: its options (named after its profile), its store, its cell
/// and its refresh coordinator.
template <class Policies>
struct Seat {
  using Store = typename Policies::Store;                    ///< Where the credential lives.
  using Cell = CredentialCell<typename Policies::Cooldown>;  ///< Its state machine.
  /// Its single-flight refresh.
  using Coordinator = RefreshCoordinator<Cell, Store, typename Policies::Clock>;

  /// Builds the cell and the coordinator from a credential that passed pre-flight.
  Seat(const CredentialOptions& o, Store& s, typename Policies::Cooldown& cooldown,
       const typename Policies::Clock& clock, Credential credential, TokenTraits traits,
       TimePoint now, std::vector<Secret> secrets)
      : options(o),
        store(s),
        cell(options, cooldown, std::move(credential), std::move(traits), now, std::move(secrets)),
        coordinator(options, cell, store, clock) {}

  const CredentialOptions& options;  ///< Its options.
  Store& store;                      ///< Its store.
  Cell cell;                         ///< Its state.
  Coordinator coordinator;           ///< Its refreshes.
  /// When a window another holder shared is looked up next (stores that share them).
  std::atomic<TimePoint::rep> next_shared_check{TimePoint::min().time_since_epoch().count()};
};

/// The single credential's per-attempt extras: none.
struct Plain {
  /// No model to claim.
  struct Claim {
    [[nodiscard]] static constexpr bool out() noexcept { return false; }      ///< Never out.
    [[nodiscard]] static constexpr bool probing() noexcept { return false; }  ///< Never probes.
  };
  /// Claims nothing.
  template <class... A>
  static constexpr Claim claim(A&&... /*unused*/) noexcept {
    return {};
  }
  /// Never reached (a Plain claim is never out).
  template <class... A>
  static Error model_out(A&&... /*unused*/) {
    return make_error(Errc::invalid_credential, "keyward: no model window");
  }
  /// Notes nothing.
  template <class... A>
  static constexpr void note(A&&... /*unused*/) noexcept {}
  /// Diverts nothing.
  template <class... A>
  static constexpr bool divert(A&&... /*unused*/) noexcept {
    return false;
  }
  /// Nothing to clear on delivery.
  template <class... A>
  static constexpr void delivered(A&&... /*unused*/) noexcept {}
};

/// Converts to an empty Response: a face's `Result<Response> answer{NoResponseYet{}}` builds its
/// Response in place, where `answer{Response{}}` moved a temporary in and destroyed it (some 60
/// instructions a send).
struct NoResponseYet {
  /// The empty Response.
  operator Response() const { return {}; }  // NOLINT(google-explicit-constructor): converts
};

/// The request loop over seats: the transport and the shared policy instances.
template <Transport T, class Policies>
class Driver {
 public:
  using Components = keyward::Components<Policies>;  ///< The policy instances.
  using Seat = detail::Seat<Policies>;               ///< One credential.
  using Cell = typename Seat::Cell;                  ///< Its state machine.
  using Ticket = typename Cell::Ticket;              ///< One admitted attempt.
  using Snapshot = typename Cell::Snapshot;          ///< A seat's published state.
  using Now = LazyNow<typename Policies::Clock>;     ///< The clock, read when needed.
  using Store = typename Policies::Store;            ///< A seat's store.
  static constexpr bool kObserving = !std::is_same_v<typename Policies::Observer, NoObserver>;
  static constexpr bool kSharing = SharesCooldowns<Store>;  ///< Windows go through the store.

  /// Takes the transport and the policies, with a provider guard of its own when none is shared.
  Driver(T transport, Components components)
      : transport_(std::move(transport)), parts_(std::move(components)) {
    if (!parts_.provider) parts_.provider = std::make_shared<ProviderGuard>();
  }

  /// The transport.
  T& transport() noexcept { return transport_; }
  /// The policy instances.
  Components& parts() noexcept { return parts_; }
  /// The policy instances.
  const Components& parts() const noexcept { return parts_; }
  /// The injected clock's time.
  [[nodiscard]] TimePoint now() const { return parts_.clock.now(); }

  /// Builds a seat for `credential` (std::invalid_argument naming the problem when pre-flight
  /// finds one); seed() it once it has its final address.
  std::unique_ptr<Seat> make_seat(const CredentialOptions& options, Store& store,
                                  const Credential& credential) {
    check(options, credential);
    return std::make_unique<Seat>(options, store, parts_.cooldown, parts_.clock, credential,
                                  traits(credential), now(), strategy_secrets(parts_.refresh));
  }
  /// make_seat(), built in `seat` (in place: one allocation fewer).
  void emplace_seat(std::optional<Seat>& seat, const CredentialOptions& options, Store& store,
                    const Credential& credential) {
    check(options, credential);
    seat.emplace(options, store, parts_.cooldown, parts_.clock, credential, traits(credential),
                 now(), strategy_secrets(parts_.refresh));
  }
  /// Seeds the store with the seat's credential.
  void seed(Seat& seat) { seat.coordinator.seed(seat.cell.snapshot()->token->credential); }
  /// Seeds from a credential loaded from a shared store: a newer stored generation wins.
  void seed(Seat& seat, const StoredCredential& loaded) {
    Hooks hooks{*this, seat};
    seat.coordinator.seed(loaded, now(), hooks);
  }

  /// What pre-flight finds wrong with `credential` at `at` (now when not given).
  [[nodiscard]] std::optional<std::string> problems(
      const Credential& credential, std::optional<TimePoint> at = std::nullopt) const {
    return preflight_problems(parts_.preflight, credential, at.value_or(now()));
  }

  /// Installs a new credential on `seat` (written to the store first); `cleared()` runs once it
  /// is in, before the event. Refused with Errc::invalid_credential, or the store's error.
  template <class Cleared>
  Result<void> replace(Seat& seat, Credential credential, Cleared&& cleared) {
    if (auto found = problems(credential)) {
      return unexpected(seat.cell.messages().replacement_refused(*found));
    }
    Hooks hooks{*this, seat};
    auto token = seat.coordinator.replace(std::move(credential), now(), hooks);
    if (!token) {
      seat.cell.scrub(token.error());
      return unexpected(seat.cell.messages().replacement_not_stored(std::move(token).error()));
    }
    cleared();
    notify(seat, EventKind::credential_replaced, **token, nullptr);
    return {};
  }

  /// Serves `request` on `seat` until `answer` holds what the caller gets (done) or an error of
  /// this credential's (rotate). `force` probes the seat even while it is out; `first` is the
  /// time the seat was chosen at; `stream` is set when the caller streams.
  template <class Call>
  Next serve(Seat& seat, Request& request, Call& call, bool force, StreamAttempt* stream,
             Now& first, Result<Response>& answer) {
    return serve_inline<false>(seat, request, call, force, stream, first, answer, nullptr);
  }
  /// serve(), inlined where it is called: the pool's loop, whose own work around it left g++
  /// calling serve() and attempt() out of line (some 120 instructions a send). The single
  /// credential calls serve(), which g++ inlines as a whole, as it did before. `Pinned`: the
  /// caller holds a Pin (the SnapshotCell's) for the whole call, and `seen`, when set, is the
  /// seat's snapshot as it read it under that Pin (a pool's chooser read it to choose the seat):
  /// the first admission takes it, and the others load under that Pin, not one of their own.
  template <bool Pinned, class Call>
  [[gnu::always_inline]] Next serve_inline(Seat& seat, Request& request, Call& call, bool force,
                                           StreamAttempt* stream, Now& first,
                                           Result<Response>& answer, const Snapshot* seen) {
    if constexpr (kSharing) {
      if (const TimePoint at = now(); shared_cooldown_due(seat, at)) {
        adopt_shared_cooldown(seat, seat.store.shared_cooldown(), at);
      }
      seen = nullptr;  // a window it adopted took the seat out after the chooser read it
    }
    Progress progress;
    // The first admission's time is the caller's; each later one reads the clock afresh (an
    // optional, not a LazyNow per turn: one store, where the pool's loop paid some 8).
    std::optional<Now> later;
    for (Now* turn = &first;; turn = &later.emplace(parts_.clock)) {
      Now& at = *turn;
      const typename Cell::AdmitOptions how{
          .force_probe = force, .refresh_tried = progress.refresh_tried, .keep_token = kObserving};
      const auto use = [&](const Token& token) { place(parts_.attach, request, token); };
      auto admission = admit<Pinned>(seat, std::exchange(seen, nullptr), at, how, use);
      using Kind = typename Cell::Admission::Kind;
      if (admission.kind == Kind::refuse) {
        answer = unexpected(std::move(*admission.error));
        return Next::rotate;
      }
      if (admission.kind == Kind::send) {
        const Next next = attempt(seat, request, call, admission.ticket, at.read(), progress, force,
                                  stream, answer);
        if (next < Next::again) return next;
        if (!between(seat, admission.ticket.generation, next, progress, answer)) {
          return Next::rotate;
        }
        continue;
      }
      progress.refresh_tried = true;
      if (admission.need == RefreshNeed::soft && seat.coordinator.quiet(now())) continue;
      if (auto refreshed = refresh(seat, admission.generation, admission.need, now()); !refreshed) {
        answer = unexpected(std::move(refreshed).error());
        return Next::rotate;
      }
    }
  }

  // Between an attempt and the next, in the blocking loop: the retry's wait, or the rejected
  // generation's refresh (then the request is replayed); false, with the error in `answer`, when
  // that refresh failed.
  bool between(Seat& seat, std::uint64_t generation, Next next, Progress& progress,
               Result<Response>& answer) {
    if (next == Next::wait) parts_.sleeper.sleep_for(progress.wait);
    if (next != Next::refresh) return true;
    auto refreshed = refresh(seat, generation, RefreshNeed::rejected, now());
    if (!refreshed) {
      answer = unexpected(std::move(refreshed).error());
      return false;
    }
    ++progress.replays;
    return true;
  }

  // The seat's admission (see serve_inline()).
  template <bool Pinned, class Use>
  [[gnu::always_inline]] auto admit(Seat& seat, const Snapshot* seen, Now& at,
                                    const typename Cell::AdmitOptions& how, const Use& use) {
    if constexpr (Pinned) {
      return seat.cell.admit(seen != nullptr ? *seen : seat.cell.current(), at, how, use);
    } else {
      return seat.cell.admit(at, how, use);
    }
  }

  /// Emits `kind` for `seat`'s `token`.
  void notify(Seat& seat, EventKind kind, const Token& token, const Verdict* verdict,
              std::optional<TimePoint> until = {}) {
    emit(parts_.observer, kind, seat.options.profile, token, verdict, until);
  }

 private:
  // What the coordinator needs from the driver: redeem through the transport, check, notify.
  struct Hooks {
    Driver& self;
    Seat& seat;
    Result<RefreshOutcome> redeem(const Credential& credential, TimePoint at) {
      return self.parts_.refresh.refresh(credential, self.transport_, at);
    }
    std::optional<std::string> problems(const Credential& credential, TimePoint at) const {
      return self.problems(credential, at);
    }
    TokenTraits traits(const Credential& credential) const { return self.traits(credential); }
    void notify(EventKind kind, const Token& token, const Verdict* verdict,
                std::optional<TimePoint> until) {
      self.notify(seat, kind, token, verdict, until);
    }
  };

  void check(const CredentialOptions& options, const Credential& credential) const {
    if (auto found = problems(credential)) {
      throw std::invalid_argument(Messages{options}.unusable(*found));
    }
  }

  TokenTraits traits(const Credential& credential) const {
    TokenTraits traits = token_traits(parts_.refresh, credential);
    if constexpr (PreparingAttacher<typename Policies::Attach>) {
      traits.placement = parts_.attach.prepare(credential);
    }
    return traits;
  }

  // Sends once with `ticket` (the admission's, which hands a claimed probe back when it goes)
  // and acts on the verdict. Always inlined, into serve_inline() (see there).
  template <class Call>
  [[gnu::always_inline]] Next attempt(Seat& seat, const Request& request, Call& call,
                                      Ticket& ticket, std::optional<TimePoint> admitted,
                                      Progress& progress, bool force, StreamAttempt* stream,
                                      Result<Response>& answer) {
    CircuitBreaker::Pass pass = open(seat, ticket, admitted);
    if (!pass) return closed(seat, pass, answer);
    // A pool's model whose window is over is probed by one request; the others go elsewhere.
    const auto claim = call.claim(ticket.generation, admitted, force);
    if (claim.out()) {
      answer = unexpected(call.model_out(ticket.generation));
      return Next::rotate;
    }
    announce(seat, ticket, claim.probing());
    TransportResult sent = send_once(request, stream);
    // The verdict is on the credential's last answer; a chain that left the origin, or was
    // refused at its edge, ends with the caller's `foreign` answer (allocated only then).
    std::unique_ptr<Elsewhere> foreign;
    if (redirected(sent)) follow(seat, request, sent, foreign, stream);
    return conclude(seat, request, call, ticket, pass, sent, foreign, admitted, progress, stream,
                    answer);
  }

 public:
  // The steps of an attempt, which the asynchronous face (async.hpp) takes one at a time around
  // its transport's completions: open(), announce(), send, follow, conclude().

  /// Where a redirect chain went once it reached another origin: what it ended with there, or
  /// why the hop was refused (leave_origin()).
  struct Elsewhere {
    std::optional<TransportResult> result;  ///< The chain's last answer there.
    std::optional<std::string> refused;     ///< Why it was refused instead.
  };

  /// The provider's breaker, first: while it is open nothing is sent, and the credential, which
  /// is not at fault, is left as it was (the ticket hands back a claimed probe).
  [[gnu::always_inline]] CircuitBreaker::Pass open(Seat& seat, const Ticket& ticket,
                                                   std::optional<TimePoint> admitted) {
    CircuitBreaker::Pass pass =
        parts_.provider->breaker().admit([&] { return admitted ? *admitted : now(); });
    if (pass.changed()) observe(seat, EventKind::breaker_half_open, ticket, nullptr);
    return pass;
  }
  /// The answer when the breaker refused `pass`.
  Next closed(Seat& seat, const CircuitBreaker::Pass& pass, Result<Response>& answer) {
    answer = unexpected(provider_unavailable(seat.options.profile, *pass.until(), now()));
    return Next::done;
  }
  /// The events of an attempt about to be sent.
  [[gnu::always_inline]] void announce(Seat& seat, const Ticket& ticket, bool probing) {
    if (ticket.probe != 0 || probing) observe(seat, EventKind::probe, ticket, nullptr);
    observe(seat, EventKind::attempt, ticket, nullptr);
  }

  /// The names of the fields the seat's credential placed on `request`, which no redirect to
  /// another origin carries.
  std::vector<std::string> placed(Seat& seat, const Request& request) const {
    return placed_names(parts_.attach, seat.cell.snapshot()->token->credential,
                        request.headers.lent());
  }

  /// Classifies what the attempt got (`sent`: the credential's last answer; `foreign`: where a
  /// chain that left the origin ended), records it and acts: done or rotate with `answer` set,
  /// again, or wait (Progress::wait) before going round again.
  /// A window to share with the other holders of the login (a store that SharesCooldowns) is
  /// shared here, or put in `to_share` when given (the asynchronous face shares it off its loop).
  template <class Call>
  [[gnu::always_inline]] Next conclude(
      Seat& seat, const Request& request, Call& call, Ticket& ticket, CircuitBreaker::Pass& pass,
      TransportResult& sent, std::unique_ptr<Elsewhere>& foreign, std::optional<TimePoint> admitted,
      Progress& progress, StreamAttempt* stream, Result<Response>& answer,
      [[maybe_unused]] std::optional<SharedCooldown>* to_share = nullptr) {
    // The time of the answer, read when something needs it: a settled success needs none, and
    // for any 2xx the admission's time will do when there was one.
    const bool success = sent && sent->status >= 200 && sent->status < 300;
    Now at{parts_.clock, success ? admitted : std::nullopt};
    const bool streamed = stream != nullptr && stream->delivered();
    Verdict verdict = classify(sent, streamed ? stream : nullptr, at, ticket.kind);
    // Recorded before any event, so that an observer that throws leaves them consistent; a
    // mid-stream overload counts toward the breaker like any other.
    const auto guarded = parts_.provider->record(pass, verdict, at);
    seat.cell.scrub(verdict);
    if (guarded.breaker) observe_breaker(seat, *guarded.breaker, ticket, verdict);
    observe(seat, EventKind::verdict, ticket, &verdict);
    call.note(sent, ticket.generation, verdict, at);
    if (!streamed && call.divert(ticket, verdict, at, answer)) return Next::rotate;
    Action action = seat.cell.record(ticket, verdict, at, progress.replays);
    if (action.change) {
      notify(seat, action.change->kind, *action.change->token, &verdict, action.change->until);
      if constexpr (kSharing) {
        if (auto window = window_to_share(seat, *action.change, verdict)) {
          if (to_share != nullptr) {
            *to_share = *window;
          } else {
            static_cast<void>(seat.store.share_cooldown(*window));
          }
        }
      }
    }
    if (streamed) {  // recorded; never sent again once the caller has bytes
      return deliver_streamed(seat, sent, foreign, std::move(verdict), progress, answer);
    }
    switch (action.kind) {
      case ActionKind::deliver:
        call.delivered(verdict);
        if (foreign) return deliver_foreign(seat, std::move(*foreign), answer);
        return deliver(sent, answer);
      case ActionKind::fail:
        answer = unexpected(std::move(*action.error));
        return Next::rotate;
      case ActionKind::refresh_then_replay:
        return Next::refresh;
      case ActionKind::replay:
        ++progress.replays;
        return Next::again;
      case ActionKind::retry:
        break;
    }
    return retry(seat, request, ticket, sent, std::move(verdict), guarded, at(), progress, answer);
  }

 private:
  // What a streamed attempt ended with, once the caller has bytes: never sent again.
  Next deliver_streamed(Seat& seat, TransportResult& sent, std::unique_ptr<Elsewhere>& foreign,
                        Verdict verdict, const Progress& progress, Result<Response>& answer) {
    if (foreign) return deliver_foreign(seat, std::move(*foreign), answer);
    if (sent) return deliver(sent, answer);
    answer =
        unexpected(seat.cell.messages().no_response(progress.attempts + 1, std::move(verdict)));
    return Next::done;
  }

  // The response, moved into `answer` (a Response, assigned in place, until an answer is put in).
  static Next deliver(TransportResult& sent, Result<Response>& answer) {
    if (answer) {
      *answer = std::move(*sent);
    } else {
      answer = std::move(*sent);
    }
    return Next::done;
  }

  // The verdict on what came back: a streamed body's error event if it had one, else the
  // response or the transport's failure. A 2xx before the clock was read is classified without
  // the time (ClassifyContext::now is the epoch), and again with it unless it was found ok.
  Verdict classify(const TransportResult& sent, const StreamAttempt* streamed, Now& at,
                   CredentialKind kind) {
    if (!sent) return parts_.classifier.classify(sent.error());
    const Response& seen =
        streamed != nullptr && streamed->error_event() ? *streamed->error_event() : *sent;
    return classify(seen, at, kind);
  }
  Verdict classify(const Response& seen, Now& at, CredentialKind kind) {
    const bool timeless = !at.read() && seen.status >= 200 && seen.status < 300;
    ClassifyContext context{
        .endpoint = Endpoint::api, .now = timeless ? TimePoint{} : at(), .credential = kind};
    Verdict verdict = parts_.classifier.classify(seen, context);  // one Verdict, returned by name
    if (timeless && verdict.kind != VerdictKind::ok) {
      context.now = at();
      verdict = parts_.classifier.classify(seen, context);
    }
    return verdict;
  }

  // A provider-scoped failure: waits (Next::wait) and goes round again when a retry is allowed,
  // else puts the response or the failure in `answer`.
  Next retry(Seat& seat, const Request& request, const Ticket& ticket, TransportResult& sent,
             Verdict verdict, const ProviderGuard::Recorded& guarded, TimePoint at,
             Progress& progress, Result<Response>& answer) {
    ++progress.attempts;
    auto wait = retry_wait(verdict, progress.attempts, seat.options.retry, seat.cell.jitter());
    // Not twice what was meant once; not into an open breaker; not beyond the provider's budget.
    using Hold = ProviderGuard::Hold;
    const Hold hold = wait ? parts_.provider->hold(request, sent, verdict, guarded) : Hold::none;
    if (hold == Hold::budget) observe(seat, EventKind::retry_budget_exhausted, ticket, &verdict);
    if (hold != Hold::none) wait.reset();
    if (!wait) {
      if (sent) return deliver(sent, answer);
      Error error = seat.cell.messages().no_response(progress.attempts, std::move(verdict));
      error.message += ProviderGuard::explain(hold);
      answer = unexpected(std::move(error));
      return Next::done;
    }
    observe(seat, EventKind::retry, ticket, &verdict, saturating_add(at, *wait));
    progress.wait = *wait;
    return Next::wait;
  }

  // A rate limit or quota window this seat was told of, for the other holders of the login (a
  // store that shares cooldowns); the window is in place here whatever the store does.
  std::optional<SharedCooldown> window_to_share(Seat& seat, const Change& change,
                                                const Verdict& verdict) {
    const bool limit =
        verdict.kind == VerdictKind::rate_limited || verdict.kind == VerdictKind::quota_exhausted;
    if (change.kind != EventKind::cooldown_entered || !limit || !change.until) return std::nullopt;
    return SharedCooldown{seat.coordinator.known(), verdict.kind, *change.until};
  }

 public:
  /// True when `seat` is to look up a window another holder of the login shared (a store that
  /// SharesCooldowns) at `at`: at most once a second (kSharedCooldownPoll), one caller at a time.
  bool shared_cooldown_due(Seat& seat, TimePoint at) {
    const auto ticks = at.time_since_epoch().count();
    auto next = seat.next_shared_check.load(std::memory_order_relaxed);
    return ticks >= next &&
           seat.next_shared_check.compare_exchange_strong(
               next, saturating_add(at, kSharedCooldownPoll).time_since_epoch().count());
  }

  /// Adopts what the store's lookup found (`shared`, looked up at `at`): a window another holder
  /// of the login shared, which this seat then waits out too rather than hit the limit itself.
  void adopt_shared_cooldown(Seat& seat, const Result<std::optional<SharedCooldown>>& shared,
                             TimePoint at) {
    if (!shared || !*shared) return;
    const SharedCooldown& window = **shared;
    const auto snapshot = seat.cell.snapshot();
    if (window.generation != seat.coordinator.known() || window.until <= at ||
        snapshot->state != CredentialState::ready) {
      return;
    }
    Verdict verdict;
    verdict.kind = window.reason;
    verdict.scope = Scope::credential;
    verdict.retry_after = saturating_diff(window.until, at);
    auto [error, change] =
        seat.cell.take_out(snapshot->token->generation, verdict, at,
                           "(another holder of this login was told to wait)", RefusedBy::api);
    if (change) notify(seat, change->kind, *change->token, &verdict, change->until);
  }

 private:
  // Sends once, streamed when the caller streams (only instantiated for a streaming transport).
  TransportResult send_once(const Request& request, StreamAttempt* stream) {
    if constexpr (StreamingTransport<T>) {
      if (stream != nullptr) return transport_.send(request, *stream);
    }
    return transport_.send(request);
  }

  static bool redirected(const TransportResult& sent) { return sent && is_redirect(sent->status); }

  // Follows the redirect `sent` is (detail/redirect.hpp): the credential's fields
  // never leave the request's origin. `sent` becomes the credential's last answer, and `foreign`
  // where a chain that reached another origin ended.
  void follow(Seat& seat, const Request& request, TransportResult& sent,
              std::unique_ptr<Elsewhere>& foreign, StreamAttempt* stream) {
    const auto names = placed(seat, request);
    auto followed =
        follow_redirects(request, std::move(sent), names, {},
                         [this, stream](const Request& r) { return send_once(r, stream); });
    sent = std::move(followed.credentialed);
    if (followed.foreign || followed.refused) {
      foreign = std::make_unique<Elsewhere>(
          Elsewhere{std::move(followed.foreign), std::move(followed.refused)});
    }
  }

  // What a redirect chain that left the origin ended with; not the credential's to record. A
  // hop refused because it would have carried a secret there is an error saying so.
  Next deliver_foreign(Seat& seat, Elsewhere elsewhere, Result<Response>& answer) {
    if (elsewhere.refused) {
      answer = unexpected(
          make_error(Errc::redirect_refused, seat.cell.messages().prefix() + *elsewhere.refused));
      return Next::done;
    }
    TransportResult& result = *elsewhere.result;
    if (result) return deliver(result, answer);
    Verdict verdict = parts_.classifier.classify(result.error());
    seat.cell.scrub(verdict);
    answer = unexpected(seat.cell.messages().no_response(0, std::move(verdict)));
    return Next::done;
  }

 public:
  /// Refreshes `seat`'s generation `seen` (single flight: may wait for another's refresh).
  Result<void> refresh(Seat& seat, std::uint64_t seen, RefreshNeed need, TimePoint at) {
    Hooks hooks{*this, seat};
    return seat.coordinator.renew(seen, need, at, hooks);
  }

 private:
  void observe(Seat& seat, EventKind kind, const Ticket& ticket, const Verdict* verdict,
               std::optional<TimePoint> until = {}) {
    if constexpr (kObserving) notify(seat, kind, *ticket.token, verdict, until);
  }

  void observe_breaker(Seat& seat, BreakerState state, const Ticket& ticket,
                       const Verdict& verdict) {
    if constexpr (kObserving) {
      if (state == BreakerState::open) {
        observe(seat, EventKind::breaker_opened, ticket, &verdict,
                parts_.provider->breaker().snapshot().until);
      } else if (state == BreakerState::closed) {
        observe(seat, EventKind::breaker_closed, ticket, &verdict);
      }
    }
  }

  // A shared cooldown is looked up at most this often (stores that share them).
  static constexpr std::chrono::seconds kSharedCooldownPoll{1};

  T transport_;
  Components parts_;
};

}  // namespace keyward::detail
