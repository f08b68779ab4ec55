// ResilientCredential<Transport, Policies>: one credential kept alive for an HTTP client.
//
// The thin synchronous driver over the parts that do the work (docs/architecture.md):
//   - CredentialCell (credential_cell.hpp): the credential's state machine, with no I/O;
//   - RefreshCoordinator (refresh_coordinator.hpp): single-flight refresh through the store;
//   - a CredentialStore (credential_store.hpp): where the credential lives, store::Memory by
//     default;
//   - detail::Messages (detail/messages.hpp): every text a person reads;
//   - CredentialOptions (options.hpp): the tuning and its validation.
// send() loops: admit, attach, send through the Transport, classify, record, act on the action:
// deliver the response, replay with a newer token, refresh once (single flight) and replay,
// retry a provider-scoped failure with jittered backoff, or fail with an Error that names the
// profile, the fingerprint, what the provider said and the fix. The driver is the only part that
// knows the transport, and it sleeps only through the injected Sleeper.
//
// Exceptions from any policy (transport, classifier, attacher, observer, store, refresh
// strategy) reach the caller; the parts they interrupt unwind through RAII, so the next request
// proceeds: a probe is handed back, a refresh ends, a redeemed credential is kept until stored.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
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
#include "keyward/detail/backoff.hpp"
#include "keyward/detail/time.hpp"
#include "keyward/detail/url.hpp"
#include "keyward/error.hpp"
#include "keyward/observer.hpp"
#include "keyward/options.hpp"
#include "keyward/preflight.hpp"
#include "keyward/refresh_coordinator.hpp"
#include "keyward/refresh_strategy.hpp"
#include "keyward/result.hpp"
#include "keyward/status.hpp"
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
  using Options = CredentialOptions;            ///< Tuning; see options.hpp.
  using RetryOptions = keyward::RetryOptions;      ///< Retries of provider-scoped failures.
  using RefreshOptions = keyward::RefreshOptions;  ///< Refresh thresholds and backoff.
  using FixOptions = keyward::FixOptions;          ///< Fix texts.

  /// The policy instances; each defaults to a default-constructed policy.
  struct Components {
    typename Policies::Classifier classifier{};  ///< Classifies responses.
    typename Policies::Refresh refresh{};        ///< Redeems refresh tokens.
    typename Policies::Cooldown cooldown{};      ///< Chooses cooldown windows.
    typename Policies::Attach attach{};          ///< Places the credential on requests.
    typename Policies::Preflight preflight{};    ///< Checks credentials before they are used.
    typename Policies::Store store{};            ///< Keeps (and persists) the credential.
    typename Policies::Clock clock{};            ///< Tells the time.
    typename Policies::Sleeper sleeper{};        ///< Waits between retries.
    typename Policies::Observer observer{};      ///< Receives events.
  };

  /// The credential and its state, as with_current() lends them.
  struct Current {
    const Credential& credential;    ///< The credential to attach.
    CredentialState state;           ///< Where it stands (status() also reports refreshing).
    std::uint64_t generation;        ///< Its generation.
    std::optional<TimePoint> until;  ///< When its window ends, while it is out.
    /// Lends the parts of one snapshot.
    Current(const Credential& c, CredentialState s, std::uint64_t g, std::optional<TimePoint> u)
        : credential(c), state(s), generation(g), until(u) {}
    Current(const Current&) = delete;
    Current& operator=(const Current&) = delete;
    Current(Current&&) = delete;
    Current& operator=(Current&&) = delete;
    ~Current() = default;
  };

  /// Takes the transport, the credential, options and policies. Throws std::invalid_argument
  /// (naming the problem, never the secret) when the credential or the options are unusable, and
  /// std::runtime_error when the store cannot be read or written.
  ResilientCredential(T transport, Credential credential, Options options = {},
                      Components components = {})
      : transport_(std::move(transport)),
        options_(validated(std::move(options))),
        parts_(std::move(components)),
        cell_(options_, parts_.cooldown, checked(credential), traits(credential), now(),
              strategy_secrets()),
        coordinator_(options_, cell_, parts_.store, parts_.clock) {
    coordinator_.seed(cell_.snapshot()->token->credential);
  }

  ResilientCredential(const ResilientCredential&) = delete;
  ResilientCredential& operator=(const ResilientCredential&) = delete;
  ResilientCredential(ResilientCredential&&) = delete;
  ResilientCredential& operator=(ResilientCredential&&) = delete;
  ~ResilientCredential() = default;

  /// Sends `request` with the credential and acts on the verdict; see the file comment.
  ///
  /// Returns the response for ok, forbidden, request_error and for provider-scoped failures once
  /// retries are spent; returns an Error when keyward refused or could not act.
  Result<Response> send(Request request) { return run(std::move(request), false); }

  /// Sends the provider policy's health request (e.g. Anthropic's `GET /v1/models`) through the
  /// credential and records its verdict like any request's. A credential that is out is probed
  /// at once, so that a person who fixed it can bring it back without waiting for its window.
  Result<Response> probe() requires requires { Policies::health_request(); } {
    return run(Policies::health_request(), true);
  }

  /// probe() with a health request of the caller's choice.
  Result<Response> probe(Request health_request) { return run(std::move(health_request), true); }

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
      Error error = std::move(token).error();
      cell_.scrub(error);
      error.message = cell_.messages().prefix() +
                      "the new credential could not be stored, and the current one was kept: " +
                      error.message;
      return unexpected(std::move(error));
    }
    notify(EventKind::credential_replaced, **token, nullptr);
    return {};
  }

  /// Calls `f(const Current&)` with the current credential and state, read lock-free with no
  /// allocation; they stay valid during the call, whatever else the thread reads meanwhile.
  /// `f` may not return a reference or a pointer into them: copy what must outlive the call.
  template <class F>
  requires std::invocable<F, const Current&>
  auto with_current(F&& f) const -> std::invoke_result_t<F, const Current&> {
    using R = std::invoke_result_t<F, const Current&>;
    static_assert(!std::is_reference_v<R> && !std::is_pointer_v<R>,
                  "with_current(f): f must not return a reference or pointer into the "
                  "credential, which is valid only during the call");
    return cell_.read([&](const detail::Snapshot& snapshot) -> R {
      const Current current{snapshot.token->credential, snapshot.state, snapshot.token->generation,
                            snapshot.until};
      return std::invoke(std::forward<F>(f), current);
    });
  }

  /// A snapshot of the credential's state, free of secrets.
  [[nodiscard]] Status status() const {
    const auto snapshot = cell_.snapshot();
    const detail::Token& token = *snapshot->token;
    Status status;
    status.profile = options_.profile;
    status.state = snapshot->state;
    status.reason = snapshot->reason;
    status.since = snapshot->since;
    status.until = snapshot->until;
    status.consecutive_failures = snapshot->failures;
    status.fingerprint = token.fingerprint;
    status.generation = token.generation;
    status.expires_at = token.credential.expires_at;
    if (snapshot->error) status.last_error = snapshot->error->message;
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

 private:
  using Cell = CredentialCell<typename Policies::Cooldown>;
  using Ticket = typename Cell::Ticket;
  using Coordinator =
      RefreshCoordinator<Cell, typename Policies::Store, typename Policies::Clock>;
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
                std::optional<TimePoint> until, std::string_view /*detail*/) {
      self.notify(kind, token, verdict, until);
    }
  };

  [[nodiscard]] TimePoint now() const { return parts_.clock.now(); }

  static Options validated(Options options) {
    validate(options);
    return options;
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

  // Every pre-flight finding, joined for a person, or nothing when the credential looks usable.
  [[nodiscard]] std::optional<std::string> preflight_problems(
      const Credential& credential, std::optional<TimePoint> at = std::nullopt) const {
    const auto findings = parts_.preflight.validate(credential, at.value_or(now()));
    if (findings.empty()) return std::nullopt;
    std::string text;
    for (const auto& finding : findings) text += (text.empty() ? "" : "; ") + finding.message;
    return text;
  }

  // Whether the refresh strategy can renew `credential`, and if not, why not in words.
  TokenTraits traits(const Credential& credential) const {
    TokenTraits traits{parts_.refresh.refreshable(credential), {}};
    if (traits.refreshable) return traits;
    if (credential.kind != CredentialKind::oauth) {
      traits.not_refreshable = "and an " + std::string{to_string(credential.kind)} +
                               " cannot be refreshed";
    } else if (credential.refresh_token.empty()) {
      traits.not_refreshable = "and it has no refresh token to renew it with";
    } else if constexpr (requires { parts_.refresh.why_not_refreshable(credential); }) {
      traits.not_refreshable = "and it cannot be refreshed: " +
                               std::string{parts_.refresh.why_not_refreshable(credential)};
    } else {
      traits.not_refreshable =
          "and this policy does not refresh tokens, although the credential has a refresh "
          "token (give the policy a refresh strategy, e.g. the provider bundle's or "
          "refresh::OAuth2RefreshToken)";
    }
    return traits;
  }

  // The refresh strategy's own secrets (a client secret), scrubbed from every outside text.
  std::vector<Secret> strategy_secrets() const {
    if constexpr (requires { parts_.refresh.secrets(); }) {
      return parts_.refresh.secrets();
    } else {
      return {};
    }
  }

  Result<Response> run(Request request, bool probe) {
    if (!detail::url_allows_credentials(request.url, options_.allow_insecure_http)) {
      return unexpected(cell_.messages().insecure_url(detail::url_scheme(request.url)));
    }
    std::uint32_t replays = 0;
    std::uint32_t attempts = 0;
    bool refresh_tried = false;
    for (;;) {
      const TimePoint now = this->now();
      auto admission = cell_.admit(
          now, {.force_probe = probe, .refresh_tried = refresh_tried, .keep_token = kObserving},
          [&](const Credential& credential) { parts_.attach.attach(request, credential); });
      using Kind = typename Cell::Admission::Kind;
      if (admission.kind == Kind::refuse) return unexpected(std::move(*admission.error));
      if (admission.kind == Kind::refresh) {
        refresh_tried = true;
        if (admission.need == RefreshNeed::soft && coordinator_.quiet(now)) continue;
        if (auto refreshed = refresh(admission.generation, admission.need, now); !refreshed) {
          return unexpected(std::move(refreshed).error());
        }
        continue;
      }
      Ticket ticket = std::move(admission.ticket);
      if (ticket.probe != 0) observe(EventKind::probe, ticket, nullptr);
      observe(EventKind::attempt, ticket, nullptr);
      auto sent = transport_.send(request);
      const TimePoint at = this->now();
      Verdict verdict =
          sent ? parts_.classifier.classify(
                     *sent, {.endpoint = Endpoint::api, .now = at, .credential = ticket.kind})
               : parts_.classifier.classify(sent.error());
      cell_.scrub(verdict);
      observe(EventKind::verdict, ticket, &verdict);
      Action action = cell_.record(ticket, verdict, at, replays);
      if (action.change) {
        notify(action.change->kind, *action.change->token, &verdict, action.change->until);
      }
      switch (action.kind) {
        case ActionKind::deliver:
          return std::move(*sent);
        case ActionKind::fail:
          return unexpected(std::move(*action.error));
        case ActionKind::replay:
          ++replays;
          continue;
        case ActionKind::refresh_then_replay:
          if (auto refreshed = refresh(ticket.generation, RefreshNeed::rejected, at); !refreshed) {
            return unexpected(std::move(refreshed).error());
          }
          ++replays;
          continue;
        case ActionKind::retry:
          break;
      }
      ++attempts;
      const auto wait = retry_wait(verdict, attempts);
      if (!wait) {
        if (sent) return std::move(*sent);
        return unexpected(cell_.messages().no_response(attempts, std::move(verdict)));
      }
      observe(EventKind::retry, ticket, &verdict, detail::saturating_add(at, *wait));
      parts_.sleeper.sleep_for(*wait);
    }
  }

  // Refreshes through the coordinator; a caller whose token was rejected or has expired gets an
  // error when no new token came of it.
  Result<void> refresh(std::uint64_t seen, RefreshNeed need, TimePoint now) {
    Hooks hooks{*this};
    if (auto refreshed = coordinator_.refresh(seen, need, now, hooks); !refreshed) {
      return refreshed;
    }
    if (need == RefreshNeed::soft || cell_.generation() != seen) return {};
    const bool expired =
        cell_.read([&](const detail::Snapshot& s) { return s.token->expired(now); });
    if (need == RefreshNeed::rejected || expired) {
      return unexpected(cell_.messages().no_new_token(expired));
    }
    return {};
  }

  // The wait before the next attempt at a provider-scoped failure, or none when retries end.
  std::optional<std::chrono::milliseconds> retry_wait(const Verdict& verdict,
                                                      std::uint32_t attempts) {
    const RetryOptions& retry = options_.retry;
    if (!verdict.retryable || attempts >= retry.max_attempts) return std::nullopt;
    if (verdict.retry_after) {
      if (*verdict.retry_after > retry.max_server_wait) return std::nullopt;
      return *verdict.retry_after;
    }
    const auto window = detail::doubled(retry.initial_backoff, retry.max_backoff, attempts);
    return std::chrono::milliseconds{static_cast<std::chrono::milliseconds::rep>(
        static_cast<double>(window.count()) * cell_.jitter())};
  }

  void observe(EventKind kind, const Ticket& ticket, const Verdict* verdict,
               std::optional<TimePoint> until = {}) {
    if constexpr (kObserving) notify(kind, *ticket.token, verdict, until);
  }

  void notify(EventKind kind, const detail::Token& token, const Verdict* verdict,
              std::optional<TimePoint> until = {}) {
    if constexpr (kObserving) {
      parts_.observer.on_event(Event{.kind = kind,
                                     .profile = options_.profile,
                                     .fingerprint = token.fingerprint,
                                     .generation = token.generation,
                                     .verdict = verdict,
                                     .until = until,
                                     .detail = {}});
    } else {
      static_cast<void>(kind);
      static_cast<void>(token);
      static_cast<void>(verdict);
      static_cast<void>(until);
    }
  }

  T transport_;
  Options options_;
  Components parts_;
  Cell cell_;
  Coordinator coordinator_;
};

}  // namespace keyward
