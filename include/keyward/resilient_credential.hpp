// ResilientCredential<Transport, Policies>: one credential kept alive for an HTTP client.
//
// The thin synchronous driver, the only part that knows the transport, over CredentialCell (the
// state machine), RefreshCoordinator (single-flight refresh through the CredentialStore),
// detail::Messages and CredentialOptions (docs/architecture.md). send() loops: admit, attach,
// send, classify, record, act: deliver, replay, refresh once and replay, retry a provider-scoped
// failure (sleeping through the Sleeper; within the provider's retry budget, behind its circuit
// breaker, and only when sending twice is safe: docs/retries.md), or fail with an Error that
// names the profile, the fingerprint, what the provider said and the fix. Exceptions from any
// policy reach the caller; RAII leaves the credential where the next request can proceed.
//
// Why this header is over 300 lines: it is the one class that knows the transport, and its send
// loop (admit, attempt, act) reads best in one place.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "keyward/attacher.hpp"
#include "keyward/classifier.hpp"
#include "keyward/clock.hpp"
#include "keyward/cooldown_policy.hpp"
#include "keyward/credential.hpp"
#include "keyward/credential_cell.hpp"
#include "keyward/credential_store.hpp"
#include "keyward/default_policies.hpp"
#include "keyward/detail/may_view.hpp"
#include "keyward/detail/origin_cache.hpp"
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
#include "keyward/status.hpp"
#include "keyward/streaming.hpp"
#include "keyward/transport.hpp"

namespace keyward {

/// Keeps one credential working for requests sent through a Transport.
template <Transport T, class Policies = DefaultPolicies>
requires Classifier<typename Policies::Classifier> &&
    RefreshStrategy<typename Policies::Refresh, T> && CooldownPolicy<typename Policies::Cooldown> &&
    Attacher<typename Policies::Attach> && Preflight<typename Policies::Preflight> &&
    CredentialStore<typename Policies::Store> && Clock<typename Policies::Clock> &&
    Sleeper<typename Policies::Sleeper> && Observer<typename Policies::Observer>
class ResilientCredential {
 public:
  using Options = CredentialOptions;                 ///< Tuning; see options.hpp.
  using RetryOptions = keyward::RetryOptions;        ///< Retries of provider-scoped failures.
  using RefreshOptions = keyward::RefreshOptions;    ///< Refresh thresholds and backoff.
  using FixOptions = keyward::FixOptions;            ///< Fix texts.
  using Components = keyward::Components<Policies>;  ///< The policy instances.
  using Current = CurrentCredential;                 ///< What with_current() lends.

  /// Takes the transport, the credential, options and policies. Throws std::invalid_argument
  /// (naming the problem, never the secret) when the credential or the options are unusable, and
  /// std::runtime_error when the store cannot be read or written.
  ResilientCredential(T transport, const Credential& credential, Options options = {},
                      Components components = {})
      : ResilientCredential(Unseeded{}, std::move(transport), credential, std::move(options),
                            std::move(components)) {
    coordinator_.seed(cell_.snapshot()->token->credential);
  }  // neither copyable nor movable: the parts refer to one another

  /// Takes the credential as loaded from a shared store (`store.load()`): when another process
  /// stored a newer generation meanwhile, that one is used rather than overwritten.
  ResilientCredential(T transport, const StoredCredential& loaded, Options options = {},
                      Components components = {})
      : ResilientCredential(Unseeded{}, std::move(transport), loaded.credential, std::move(options),
                            std::move(components)) {
    Hooks hooks{*this};
    coordinator_.seed(loaded, now(), hooks);
  }

  /// Sends `request` with the credential and acts on the verdict: the response for ok, forbidden,
  /// request_error, and provider-scoped failures once retries are spent; an Error when keyward
  /// refused or could not act. The credential's fields are lent to the request, not copied, and
  /// taken back before send() returns.
  Result<Response> send(Request& request) { return run(request, false); }
  /// send() for a request built in the call.
  Result<Response> send(Request&& request) { return run(request, false); }
  /// send() for a request that must not change: a copy is sent.
  Result<Response> send(const Request& request) { return send(Request{request}); }

  /// send() for a response that streams (server-sent events): each response is decided on its
  /// status and headers before its body is read, so a refresh and replay, a retry or a refusal
  /// happens before `sink` sees a byte; a 2xx body then flows to `sink(std::string_view)` as it
  /// arrives (false from `sink` stops it), and the Response returned holds no body. An error
  /// event in the stream is classified and recorded against the credential or the provider, but
  /// nothing is sent again once `sink` has had a byte (detail/stream_attempt.hpp).
  template <class Sink>
  requires StreamingTransport<T> && std::is_invocable_r_v<bool, Sink&, std::string_view>
      Result<Response> send_stream(Request& request, Sink&& sink) {
    detail::StreamAttempt stream{sink};
    return run(request, false, &stream);
  }

  /// Sends the provider policy's health request (e.g. Anthropic's `GET /v1/models`) through the
  /// credential and records its verdict like any request's. A credential that is out is probed
  /// at once, so that a person who fixed it can bring it back without waiting for its window.
  Result<Response> probe() requires requires { Policies::health_request(); }
  { return probe(Policies::health_request()); }

  /// probe() with a health request of the caller's choice.
  Result<Response> probe(Request health_request) { return run(health_request, true); }

  /// Installs a new credential; a credential waiting for a person is ready on the next request.
  ///
  /// The credential is written to the store first. A refresh in flight is discarded when it
  /// completes. An unusable credential is refused with Errc::invalid_credential, and a store that
  /// fails with its error; either way the current credential is kept.
  Result<void> set_credential(Credential credential) {
    if (auto problems = preflight_problems(credential)) {
      return unexpected(cell_.messages().replacement_refused(*problems));
    }
    Hooks hooks{*this};
    auto token = coordinator_.replace(std::move(credential), now(), hooks);
    if (!token) {
      cell_.scrub(token.error());
      return unexpected(cell_.messages().replacement_not_stored(std::move(token).error()));
    }
    notify(EventKind::credential_replaced, **token, nullptr);
    return {};
  }

  /// Calls `f(const Current&)` with the current credential and state, read lock-free with no
  /// allocation; they stay valid during the call, whatever else the thread reads meanwhile.
  /// `f` may not return anything that can view them (a reference, a pointer, a string_view, a
  /// span, or a type holding one: detail/may_view.hpp), which is refused at compile time: copy
  /// what must outlive the call (std::string, integers).
  template <class F>
  requires std::invocable<F, const Current&>
  auto with_current(F&& f) const -> std::invoke_result_t<F, const Current&> {
    using R = std::invoke_result_t<F, const Current&>;
    static_assert(!detail::may_view<R>,
                  "with_current(f): f must not return a reference, pointer, string_view, span "
                  "or anything holding one: the credential is valid only during the call; "
                  "return a copy (std::string) instead");
    return cell_.read([&](const detail::Snapshot& snapshot) -> R {
      const Current current{snapshot};
      return std::invoke(std::forward<F>(f), current);
    });
  }

  /// A snapshot of the credential's state, free of secrets.
  [[nodiscard]] Status status() const {
    Status status = detail::describe(*cell_.snapshot(), options_.profile);
    coordinator_.describe(status);
    return status;
  }

  /// The transport, for adapters that expose their own controls.
  [[nodiscard]] T& transport() noexcept { return transport_; }
  /// The observer, for observers that collect events.
  [[nodiscard]] typename Policies::Observer& observer() noexcept { return parts_.observer; }
  /// The store.
  [[nodiscard]] typename Policies::Store& store() noexcept { return parts_.store; }
  /// The options in use.
  [[nodiscard]] const Options& options() const noexcept { return options_; }
  /// The provider's retry budget and circuit breaker (Components::provider, or this
  /// credential's own).
  [[nodiscard]] ProviderGuard& provider() noexcept { return *parts_.provider; }

 private:
  using Cell = CredentialCell<typename Policies::Cooldown>;
  using Ticket = typename Cell::Ticket;
  using Coordinator = RefreshCoordinator<Cell, typename Policies::Store, typename Policies::Clock>;
  static constexpr bool kObserving = !std::is_same_v<typename Policies::Observer, NoObserver>;

  // What the coordinator needs from the driver: redeem through the transport, check, notify.
  struct Hooks {
    ResilientCredential& self;
    Result<RefreshOutcome> redeem(const Credential& credential, TimePoint now) {
      return self.parts_.refresh.refresh(credential, self.transport_, now);
    }
    std::optional<std::string> problems(const Credential& credential, TimePoint now) const {
      return self.preflight_problems(credential, now);
    }
    TokenTraits traits(const Credential& credential) const { return self.traits(credential); }
    void notify(EventKind kind, const detail::Token& token, const Verdict* verdict,
                std::optional<TimePoint> until) {
      self.notify(kind, token, verdict, until);
    }
  };

  [[nodiscard]] TimePoint now() const { return parts_.clock.now(); }

  static Options validated(Options options) {
    validate(options);
    return options;
  }

  // Every part built; the constructors then seed the store.
  struct Unseeded {};
  ResilientCredential(Unseeded /*tag*/, T transport, const Credential& credential, Options options,
                      Components components)
      : transport_(std::move(transport)),
        options_(validated(std::move(options))),
        parts_(guarded(std::move(components))),
        cell_(options_, parts_.cooldown, checked(credential), traits(credential), now(),
              strategy_secrets()),
        coordinator_(options_, cell_, parts_.store, parts_.clock) {}

  // The components, with a provider guard of the credential's own when none is shared.
  static Components guarded(Components components) {
    if (!components.provider) components.provider = std::make_shared<ProviderGuard>();
    return components;
  }

  // The credential, when pre-flight finds nothing wrong with it.
  Credential checked(const Credential& credential) const {
    if (auto problems = preflight_problems(credential)) {
      throw std::invalid_argument(cell_messages().unusable(*problems));
    }
    return credential;
  }

  // Messages before cell_ exists (the constructor's checks).
  [[nodiscard]] detail::Messages cell_messages() const { return detail::Messages{options_}; }

  [[nodiscard]] std::optional<std::string> preflight_problems(
      const Credential& credential, std::optional<TimePoint> at = std::nullopt) const {
    return detail::preflight_problems(parts_.preflight, credential, at.value_or(now()));
  }
  TokenTraits traits(const Credential& credential) const {
    TokenTraits traits = detail::token_traits(parts_.refresh, credential);
    if constexpr (PreparingAttacher<typename Policies::Attach>) {
      traits.placement = parts_.attach.prepare(credential);
    }
    return traits;
  }
  std::vector<Secret> strategy_secrets() const { return detail::strategy_secrets(parts_.refresh); }

  Result<Response> run(Request& request, bool probe, detail::StreamAttempt* stream = nullptr) {
    // The call's one Result, returned by name (so without a move): the response is moved once,
    // from the transport's answer into it.
    Result<Response> answer{Response{}};
    if (!origins_.allows(request.url)) {
      answer = unexpected(cell_.messages().insecure_url(detail::url_scheme(request.url)));
      return answer;
    }
    const typename Cell::Pin pin;  // keeps the token whose fields are lent alive until return
    const detail::Loan loan{request.headers};
    detail::Progress progress;
    if constexpr (SharesCooldowns<typename Policies::Store>) adopt_shared_cooldown();
    for (;;) {
      detail::LazyNow<typename Policies::Clock> now{parts_.clock};
      auto admission = cell_.admit(
          now,
          {.force_probe = probe, .refresh_tried = progress.refresh_tried, .keep_token = kObserving},
          [&](const detail::Token& token) { detail::place(parts_.attach, request, token); });
      using Kind = typename Cell::Admission::Kind;
      if (admission.kind == Kind::refuse) {
        answer = unexpected(std::move(*admission.error));
        return answer;
      }
      if (admission.kind == Kind::send) {
        if (attempt(request, std::move(admission.ticket), now.read(), progress, stream, answer)) {
          return answer;
        }
        continue;
      }
      progress.refresh_tried = true;
      if (admission.need == RefreshNeed::soft && coordinator_.quiet(now())) continue;
      if (auto refreshed = refresh(admission.generation, admission.need, now()); !refreshed) {
        answer = unexpected(std::move(refreshed).error());
        return answer;
      }
    }
  }

  // Sends once with `ticket` and acts on the verdict: true when `answer` holds what send()
  // returns, false to go round again.
  bool attempt(const Request& request, Ticket ticket, std::optional<TimePoint> admitted,
               detail::Progress& progress, detail::StreamAttempt* stream,
               Result<Response>& answer) {
    // The provider's breaker first: while it is open nothing is sent, and the credential, which
    // is not at fault, is left as it was (the ticket hands back a claimed probe).
    CircuitBreaker& breaker = parts_.provider->breaker();
    auto pass = breaker.admit([&] { return admitted ? *admitted : now(); });
    if (pass.changed()) observe(EventKind::breaker_half_open, ticket, nullptr);
    if (!pass) {
      answer = unexpected(provider_unavailable(options_.profile, *pass.until(), now()));
      return true;
    }
    if (ticket.probe != 0) observe(EventKind::probe, ticket, nullptr);
    observe(EventKind::attempt, ticket, nullptr);
    TransportResult sent = send_once(request, stream);
    // The verdict is on the credential's last answer; a chain that left the origin, or was
    // refused at its edge, ends with the caller's `foreign` answer (allocated only then).
    std::unique_ptr<Elsewhere> foreign;
    if (redirected(sent)) follow(request, sent, foreign, stream);
    // The time of the answer, read when something needs it: a settled success needs none, and
    // for any 2xx the admission's time will do when there was one.
    const bool success = sent && sent->status >= 200 && sent->status < 300;
    detail::LazyNow<typename Policies::Clock> at{parts_.clock, success ? admitted : std::nullopt};
    const bool streamed = stream != nullptr && stream->delivered();
    Verdict verdict = classify(sent, streamed ? stream : nullptr, at, ticket.kind);
    // Recorded before any event, so that an observer that throws leaves them consistent; a
    // mid-stream overload counts toward the breaker like any other.
    const auto guarded = parts_.provider->record(pass, verdict, at);
    cell_.scrub(verdict);
    if (guarded.breaker) observe_breaker(*guarded.breaker, ticket, verdict);
    observe(EventKind::verdict, ticket, &verdict);
    Action action = cell_.record(ticket, verdict, at, progress.replays);
    if (action.change) {
      notify(action.change->kind, *action.change->token, &verdict, action.change->until);
      if constexpr (SharesCooldowns<typename Policies::Store>) {
        share_cooldown(*action.change, verdict);
      }
    }
    if (streamed) {  // recorded; never sent again once the caller has bytes
      if (foreign) return deliver_foreign(std::move(*foreign), answer);
      if (sent) return deliver(sent, answer);
      answer = unexpected(cell_.messages().no_response(progress.attempts + 1, std::move(verdict)));
      return true;
    }
    switch (action.kind) {
      case ActionKind::deliver:
        if (foreign) return deliver_foreign(std::move(*foreign), answer);
        return deliver(sent, answer);
      case ActionKind::fail:
        answer = unexpected(std::move(*action.error));
        return true;
      case ActionKind::refresh_then_replay:
        if (auto refreshed = refresh(ticket.generation, RefreshNeed::rejected, at()); !refreshed) {
          answer = unexpected(std::move(refreshed).error());
          return true;
        }
        [[fallthrough]];
      case ActionKind::replay:
        ++progress.replays;
        return false;
      case ActionKind::retry:
        break;
    }
    return retry(request, ticket, sent, std::move(verdict), guarded, at(), progress, answer);
  }

  // The response, moved into `answer` (a Response, assigned in place, until an answer is put in).
  static bool deliver(TransportResult& sent, Result<Response>& answer) {
    if (answer) {
      *answer = std::move(*sent);
    } else {
      answer = std::move(*sent);
    }
    return true;
  }

  // The verdict on what came back: a streamed body's error event if it had one, else the
  // response or the transport's failure. A 2xx before the clock was read is classified without
  // the time (ClassifyContext::now is the epoch), and again with it unless it was found ok.
  Verdict classify(const TransportResult& sent, const detail::StreamAttempt* streamed,
                   detail::LazyNow<typename Policies::Clock>& at, CredentialKind kind) {
    if (!sent) return parts_.classifier.classify(sent.error());
    const Response& seen =
        streamed != nullptr && streamed->error_event() ? *streamed->error_event() : *sent;
    return classify(seen, at, kind);
  }
  Verdict classify(const Response& seen, detail::LazyNow<typename Policies::Clock>& at,
                   CredentialKind kind) {
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

  // A provider-scoped failure: waits and goes round again (false) when a retry is allowed, else
  // puts the response or the failure in `answer` (true).
  bool retry(const Request& request, const Ticket& ticket, TransportResult& sent, Verdict verdict,
             const ProviderGuard::Recorded& guarded, TimePoint at, detail::Progress& progress,
             Result<Response>& answer) {
    ++progress.attempts;
    auto wait = detail::retry_wait(verdict, progress.attempts, options_.retry, cell_.jitter());
    // Not twice what was meant once; not into an open breaker; not beyond the provider's budget.
    using Hold = ProviderGuard::Hold;
    const Hold hold = wait ? parts_.provider->hold(request, sent, verdict, guarded) : Hold::none;
    if (hold == Hold::budget) observe(EventKind::retry_budget_exhausted, ticket, &verdict);
    if (hold != Hold::none) wait.reset();
    if (!wait) {
      if (sent) return deliver(sent, answer);
      Error error = cell_.messages().no_response(progress.attempts, std::move(verdict));
      error.message += ProviderGuard::explain(hold);
      answer = unexpected(std::move(error));
      return true;
    }
    observe(EventKind::retry, ticket, &verdict, detail::saturating_add(at, *wait));
    parts_.sleeper.sleep_for(*wait);
    return false;
  }

  // A rate limit or quota window this instance was told of, for the other holders of the login
  // (a store that shares cooldowns); the window is in place here whatever the store does.
  void share_cooldown(const Change& change, const Verdict& verdict) {
    const bool limit =
        verdict.kind == VerdictKind::rate_limited || verdict.kind == VerdictKind::quota_exhausted;
    if (change.kind != EventKind::cooldown_entered || !limit || !change.until) return;
    static_cast<void>(
        parts_.store.share_cooldown({coordinator_.known(), verdict.kind, *change.until}));
  }

  // A window another holder of the login shared: this instance waits it out too, rather than
  // hitting the limit itself. Looked up at most once a second (kSharedCooldownPoll).
  void adopt_shared_cooldown() {
    const TimePoint at = now();
    const auto ticks = at.time_since_epoch().count();
    auto next = next_shared_check_.load(std::memory_order_relaxed);
    if (ticks < next ||
        !next_shared_check_.compare_exchange_strong(
            next, detail::saturating_add(at, kSharedCooldownPoll).time_since_epoch().count())) {
      return;  // looked up recently, or another thread is looking now
    }
    auto shared = parts_.store.shared_cooldown();
    if (!shared || !*shared) return;
    const SharedCooldown& window = **shared;
    const auto snapshot = cell_.snapshot();
    if (window.generation != coordinator_.known() || window.until <= at ||
        snapshot->state != CredentialState::ready) {
      return;
    }
    Verdict verdict;
    verdict.kind = window.reason;
    verdict.scope = Scope::credential;
    verdict.retry_after = detail::saturating_diff(window.until, at);
    auto [error, change] =
        cell_.take_out(snapshot->token->generation, verdict, at,
                       "(another holder of this login was told to wait)", detail::RefusedBy::api);
    if (change) notify(change->kind, *change->token, &verdict, change->until);
  }

  // Sends once, streamed when the caller streams.
  TransportResult send_once(const Request& request, detail::StreamAttempt* stream) {
    return stream != nullptr ? send_streamed(request, *stream) : transport_.send(request);
  }

  static bool redirected(const TransportResult& sent) {
    return sent && detail::is_redirect(sent->status);
  }

  // Where a redirect chain went once it reached another origin: what it ended with there, or
  // why the hop was refused (detail::leave_origin()).
  struct Elsewhere {
    std::optional<TransportResult> result;
    std::optional<std::string> refused;
  };

  // Follows the redirect `sent` is (detail/redirect.hpp): the credential's fields never leave the
  // request's origin. `sent` becomes the credential's last answer, and `foreign` where a chain
  // that reached another origin ended.
  void follow(const Request& request, TransportResult& sent, std::unique_ptr<Elsewhere>& foreign,
              detail::StreamAttempt* stream) {
    const auto placed = detail::placed_names(parts_.attach, cell_.snapshot()->token->credential,
                                             request.headers.lent());
    auto followed =
        detail::follow_redirects(request, std::move(sent), placed, {},
                                 [this, stream](const Request& r) { return send_once(r, stream); });
    sent = std::move(followed.credentialed);
    if (followed.foreign || followed.refused) {
      foreign = std::make_unique<Elsewhere>(
          Elsewhere{std::move(followed.foreign), std::move(followed.refused)});
    }
  }

  // Sends through the streaming transport (only instantiated for one).
  TransportResult send_streamed(const Request& request, detail::StreamAttempt& stream) {
    if constexpr (StreamingTransport<T>) {
      return transport_.send(request, stream);
    } else {
      return transport_.send(request);
    }
  }

  // What a redirect chain that left the origin ended with; not the credential's to record. A
  // hop refused because it would have carried a secret there is an error saying so.
  bool deliver_foreign(Elsewhere elsewhere, Result<Response>& answer) {
    if (elsewhere.refused) {
      answer = unexpected(
          make_error(Errc::redirect_refused, cell_.messages().prefix() + *elsewhere.refused));
      return true;
    }
    TransportResult& foreign = *elsewhere.result;
    if (foreign) return deliver(foreign, answer);
    Verdict verdict = parts_.classifier.classify(foreign.error());
    cell_.scrub(verdict);
    answer = unexpected(cell_.messages().no_response(0, std::move(verdict)));
    return true;
  }

  Result<void> refresh(std::uint64_t seen, RefreshNeed need, TimePoint now) {
    Hooks hooks{*this};
    return coordinator_.renew(seen, need, now, hooks);
  }

  void observe(EventKind kind, const Ticket& ticket, const Verdict* verdict,
               std::optional<TimePoint> until = {}) {
    if constexpr (kObserving) notify(kind, *ticket.token, verdict, until);
  }

  void observe_breaker(BreakerState state, const Ticket& ticket, const Verdict& verdict) {
    if constexpr (kObserving) {
      if (state == BreakerState::open) {
        observe(EventKind::breaker_opened, ticket, &verdict,
                parts_.provider->breaker().snapshot().until);
      } else if (state == BreakerState::closed) {
        observe(EventKind::breaker_closed, ticket, &verdict);
      }
    }
  }

  void notify(EventKind kind, const detail::Token& token, const Verdict* verdict,
              std::optional<TimePoint> until = {}) {
    detail::emit(parts_.observer, kind, options_.profile, token, verdict, until);
  }

  T transport_;
  Options options_;
  Components parts_;
  Cell cell_;
  Coordinator coordinator_;
  detail::OriginCache origins_{options_.allow_insecure_http};  // the URL check, per origin
  // A shared cooldown is looked up at most this often (stores that share them).
  static constexpr std::chrono::seconds kSharedCooldownPoll{1};
  std::atomic<TimePoint::rep> next_shared_check_{TimePoint::min().time_since_epoch().count()};
};

}  // namespace keyward
