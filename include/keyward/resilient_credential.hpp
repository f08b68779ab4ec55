// ResilientCredential<Transport, Policies>: one credential kept alive for an HTTP client.
//
// send() attaches the current credential, sends the request through the Transport, classifies the
// response and acts on the verdict (BRIEF sections 3-5):
//   - unauthenticated: a refreshable credential is refreshed once (single flight) and the request
//     replayed once; a static credential, or a token rejected right after its refresh, goes to
//     needs_reauth with an error that names the profile, the fingerprint, the provider's message
//     and the fix. set_credential() brings it back on the next request, no restart needed.
//   - misconfigured: needs_reauth with the configuration fix; refreshing cannot help.
//   - rate_limited / quota_exhausted: the credential cools down for an immutable window, then one
//     probe request is let through; success makes it ready and resets the counters.
//   - transient / overloaded: retried with jittered backoff; the credential's state is untouched.
//   - ok / forbidden / request_error: the response is returned; the credential was accepted.
//
// The hot path (read the current token and state) is one atomic load through a SnapshotCell:
// lock-free, allocation-free, no shared writes. Every change publishes a new immutable Snapshot
// under a mutex that readers never take. Refresh is single flight: one caller refreshes, callers
// whose token is still valid carry on, callers past the hard threshold wait with a deadline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "keyward/attacher.hpp"
#include "keyward/classifier.hpp"
#include "keyward/clock.hpp"
#include "keyward/cooldown_policy.hpp"
#include "keyward/credential.hpp"
#include "keyward/default_policies.hpp"
#include "keyward/detail/backoff.hpp"
#include "keyward/detail/credential_state.hpp"
#include "keyward/detail/jitter.hpp"
#include "keyward/detail/snapshot_cell.hpp"
#include "keyward/detail/url.hpp"
#include "keyward/error.hpp"
#include "keyward/observer.hpp"
#include "keyward/preflight.hpp"
#include "keyward/refresh_strategy.hpp"
#include "keyward/result.hpp"
#include "keyward/status.hpp"
#include "keyward/transport.hpp"

namespace keyward {

/// Keeps one credential working for requests sent through a Transport.
template <Transport T, class Policies = DefaultPolicies>
requires Classifier<typename Policies::Classifier> &&
    RefreshStrategy<typename Policies::Refresh, T> && CooldownPolicy<typename Policies::Cooldown> &&
    Attacher<typename Policies::Attach> && Clock<typename Policies::Clock> &&
    Sleeper<typename Policies::Sleeper> && Observer<typename Policies::Observer>
class ResilientCredential {
 public:
  using milliseconds = std::chrono::milliseconds;

  /// Retries of provider-scoped failures (transient, overloaded) within one send().
  struct RetryOptions {
    std::uint32_t max_attempts = 3;                      ///< Attempts per send(), at least 1.
    milliseconds initial_backoff{500};                   ///< First backoff, before full jitter.
    milliseconds max_backoff = std::chrono::seconds{8};  ///< Backoff cap.
    milliseconds max_server_wait = std::chrono::seconds{60};  ///< Longer server waits end retries.
  };

  /// When and how the credential is refreshed (BRIEF section 5).
  struct RefreshOptions {
    milliseconds soft_margin = std::chrono::minutes{5};   ///< Refresh this long before expiry.
    milliseconds hard_margin = std::chrono::seconds{30};  ///< Callers wait from here on.
    milliseconds long_lived = std::chrono::hours{2};  ///< Tokens this long refresh at half-life.
    milliseconds failure_backoff_first = std::chrono::seconds{5};  ///< First wait after a failure.
    milliseconds failure_backoff_max = std::chrono::minutes{5};    ///< Cap on that wait.
    milliseconds wait_timeout = std::chrono::seconds{30};  ///< Deadline for waiting on a refresh.
  };

  /// The fix text of each terminal error; keyward does not know the application's login command.
  /// An empty text falls back to the classifier's own fix (Verdict::fix), then a generic one.
  struct FixOptions {
    std::string
        unauthenticated;        ///< Rejected credential; empty: the classifier's or a generic fix.
    std::string misconfigured;  ///< Misconfigured credential; empty: likewise.
    std::string quota_exhausted;  ///< Quota or credits gone; empty: likewise.
  };

  /// Tuning; designated initializers make the overrides read well.
  struct Options {
    std::string profile = "default";           ///< The name used in messages, events and status.
    RetryOptions retry;                        ///< Retries of provider-scoped failures.
    RefreshOptions refresh;                    ///< Refresh thresholds and backoff.
    FixOptions fix;                            ///< Fix texts.
    bool allow_insecure_http = false;          ///< Permit plain http to non-loopback hosts.
    std::optional<std::uint64_t> jitter_seed;  ///< Fixes the jitter sequence (tests).
  };

  /// The policy instances; each defaults to a default-constructed policy.
  struct Components {
    typename Policies::Classifier classifier{};  ///< Classifies responses.
    typename Policies::Refresh refresh{};        ///< Renews the credential.
    typename Policies::Cooldown cooldown{};      ///< Chooses cooldown windows.
    typename Policies::Attach attach{};          ///< Places the credential on requests.
    typename Policies::Preflight preflight{};    ///< Checks credentials before first use.
    typename Policies::Clock clock{};            ///< Tells the time.
    typename Policies::Sleeper sleeper{};        ///< Waits between retries.
    typename Policies::Observer observer{};      ///< Receives events.
  };

  /// Takes the transport, the credential, options and policies; throws std::invalid_argument
  /// (without echoing the secret) when the credential or the options are unusable.
  ResilientCredential(T transport, Credential credential, Options options = {},
                      Components components = {})
      : transport_(std::move(transport)),
        options_(std::move(options)),
        parts_(std::move(components)),
        jitter_(options_.jitter_seed.value_or(std::random_device{}())),
        cell_(initial_snapshot(std::move(credential))) {}

  ResilientCredential(const ResilientCredential&) = delete;
  ResilientCredential& operator=(const ResilientCredential&) = delete;
  ResilientCredential(ResilientCredential&&) = delete;
  ResilientCredential& operator=(ResilientCredential&&) = delete;
  ~ResilientCredential() = default;

  /// Sends `request` with the credential and acts on the verdict; see the file comment.
  ///
  /// Returns the response for ok, forbidden, request_error and for provider-scoped failures once
  /// retries are spent; returns an Error when keyward refused or could not act.
  Result<Response> send(Request request) {
    if (!detail::url_allows_credentials(request.url, options_.allow_insecure_http)) {
      return unexpected(make_error(
          Errc::insecure_transport,
          prefix() +
              "refused to send the credential to a URL that is neither https nor http to "
              "a loopback host (scheme '" +
              std::string{detail::url_scheme(request.url)} + "')"));
    }
    std::uint32_t replays = 0;
    std::uint32_t attempts = 0;
    for (;;) {
      auto ticket = admit(request);
      if (!ticket) return unexpected(std::move(ticket).error());
      ProbeGuard guard{*this, *ticket};
      observe(EventKind::attempt, *ticket, nullptr);
      auto sent = transport_.send(request);
      const TimePoint now = parts_.clock.now();
      Verdict verdict =
          sent ? parts_.classifier.classify(
                     *sent, {.endpoint = Endpoint::api, .now = now, .credential = ticket->kind})
               : parts_.classifier.classify(sent.error());
      observe(EventKind::verdict, *ticket, &verdict);
      switch (verdict.kind) {
        case VerdictKind::ok:
        case VerdictKind::forbidden:
        case VerdictKind::request_error:
          guard.dismiss();
          accepted(*ticket, now);
          return std::move(*sent);
        case VerdictKind::unauthenticated:
          if (ticket->probe && is_auth(ticket->probed_reason)) {
            guard.dismiss();  // probing a credential that waits for a person: still rejected
            return unexpected(take_out(*ticket, verdict, now, "again, at the probe"));
          }
          guard.hand_back();  // a replay probes again
          if (auto replay = on_unauthenticated(*ticket, verdict, replays, now); !replay) {
            return unexpected(std::move(replay).error());
          }
          ++replays;
          continue;
        case VerdictKind::misconfigured:
        case VerdictKind::rate_limited:
        case VerdictKind::quota_exhausted:
          guard.dismiss();
          return unexpected(take_out(*ticket, verdict, now, {}));
        case VerdictKind::overloaded:
        case VerdictKind::transient:
          break;
      }
      // Provider-scoped: the credential is not at fault, so its state stays as it was (a probe
      // is handed back and the next attempt probes again).
      guard.hand_back();
      ++attempts;
      const auto wait = retry_wait(verdict, attempts);
      if (!wait) {
        if (sent) return std::move(*sent);
        Error error = make_error(Errc::transport_failed,
                                 prefix() + "no response after " + std::to_string(attempts) +
                                     " attempt(s)" + detail::describe(verdict) +
                                     ". This is a network or provider problem, not a credential "
                                     "problem.");
        error.verdict = std::move(verdict);
        return unexpected(std::move(error));
      }
      observe(EventKind::retry, *ticket, &verdict, now + *wait);
      parts_.sleeper.sleep_for(*wait);
    }
  }

  /// Installs a new credential; a credential waiting for a person is ready on the next request.
  ///
  /// A refresh already in flight is discarded when it completes. An unusable credential is
  /// refused with Errc::invalid_credential and the current one is kept.
  Result<void> set_credential(Credential credential) {
    if (auto problems = preflight_problems(credential)) {
      return unexpected(make_error(
          Errc::invalid_credential,
          prefix() + "the new credential was refused and the current one kept: " + *problems));
    }
    std::shared_ptr<const detail::Token> token;
    {
      const std::scoped_lock lock(mutex_);
      const auto current = cell_.load_shared();
      token = make_token(std::move(credential), current->token->generation + 1, false, now());
      auto next = std::make_shared<detail::Snapshot>();
      next->token = token;
      next->since = now();
      cell_.publish(std::move(next));
      refresh_failures_ = 0;
      next_refresh_at_.reset();
      last_refresh_error_.reset();
    }
    refreshed_.notify_all();
    notify(EventKind::credential_replaced, *token, nullptr);
    return {};
  }

  /// The current credential and its state, borrowed from the published snapshot.
  struct Current {
    const Credential& credential;    ///< The credential to attach.
    CredentialState state;           ///< Where it stands (status() also reports refreshing).
    std::uint64_t generation;        ///< Its generation.
    std::optional<TimePoint> until;  ///< When its window ends, while it is out.
  };

  /// The hot path: reads the current credential and state with one atomic load, no lock and no
  /// allocation. The reference stays valid until this thread's next call into any
  /// ResilientCredential; until then this thread may keep that snapshot alive.
  [[nodiscard]] Current current() const {
    const detail::Snapshot& snapshot = cell_.load();
    return {snapshot.token->credential, snapshot.state, snapshot.token->generation, snapshot.until};
  }

  /// A snapshot of the credential's state, free of secrets.
  [[nodiscard]] Status status() const {
    const std::scoped_lock lock(mutex_);
    const auto snapshot = cell_.load_shared();
    const detail::Token& token = *snapshot->token;
    Status status;
    status.profile = options_.profile;
    status.state = refreshing_ && snapshot->state == CredentialState::ready
                       ? CredentialState::refreshing
                       : snapshot->state;
    status.reason = snapshot->reason;
    status.since = snapshot->since;
    status.until = snapshot->until;
    status.consecutive_failures = snapshot->failures;
    status.fingerprint = token.fingerprint;
    status.generation = token.generation;
    status.expires_at = token.credential.expires_at;
    status.last_refresh = last_refresh_;
    status.refresh_failures = refresh_failures_;
    if (snapshot->error) {
      status.last_error = snapshot->error->message;
    } else if (last_refresh_error_) {
      status.last_error = last_refresh_error_->message;
    }
    return status;
  }

  /// The transport, for adapters that expose their own controls.
  [[nodiscard]] T& transport() noexcept { return transport_; }
  /// The observer, for observers that collect events.
  [[nodiscard]] typename Policies::Observer& observer() noexcept { return parts_.observer; }
  /// The options in use.
  [[nodiscard]] const Options& options() const noexcept { return options_; }

 private:
  using TokenPtr = std::shared_ptr<const detail::Token>;
  using SnapshotPtr = std::shared_ptr<const detail::Snapshot>;
  enum class Need : std::uint8_t { soft, hard, rejected };
  static constexpr bool kObserving = !std::is_same_v<typename Policies::Observer, NoObserver>;
  // One send() replays a rejected request at most this often (each time with a newer token).
  static constexpr std::uint32_t kMaxReplays = 3;

  // What one attempt was sent with. Plain values, so that a send() never touches a shared
  // reference count; the token itself is kept only when an observer needs its fingerprint.
  struct Ticket {
    std::uint64_t generation = 0;
    bool probe = false;
    std::optional<VerdictKind> probed_reason;  // what took the credential out, when probing
    bool unverified = false;  // a refreshed token that no response has accepted yet
    bool refreshable = false;
    CredentialKind kind = CredentialKind::api_key;
    TokenPtr observed;  // set only when kObserving
  };

  // Hands a claimed probe back if the attempt ends without deciding it (a provider-scoped
  // failure, or an exception from the transport), so that the next caller can probe.
  class ProbeGuard {
   public:
    ProbeGuard(ResilientCredential& self, const Ticket& ticket) : self_(self), ticket_(ticket) {}
    ProbeGuard(const ProbeGuard&) = delete;
    ProbeGuard& operator=(const ProbeGuard&) = delete;
    ProbeGuard(ProbeGuard&&) = delete;
    ProbeGuard& operator=(ProbeGuard&&) = delete;
    ~ProbeGuard() { hand_back(); }
    void dismiss() noexcept { active_ = false; }
    void hand_back() noexcept {
      if (active_ && ticket_.probe) self_.return_probe();
      active_ = false;
    }

   private:
    ResilientCredential& self_;
    const Ticket& ticket_;
    bool active_ = true;
  };

  // The outcome of taking a credential out.
  struct TakeOut {
    std::shared_ptr<const Error> error;
    std::optional<TimePoint> until;
    bool changed = false;
    TokenPtr token;
  };

  [[nodiscard]] TimePoint now() const { return parts_.clock.now(); }

  // Every pre-flight finding, joined for a person, or nothing when the credential looks usable.
  [[nodiscard]] std::optional<std::string> preflight_problems(const Credential& credential) const {
    const auto findings = parts_.preflight.validate(credential, now());
    if (findings.empty()) return std::nullopt;
    std::string text;
    for (const auto& finding : findings) text += (text.empty() ? "" : "; ") + finding.message;
    return text;
  }

  [[nodiscard]] std::string prefix() const {
    return "keyward: profile '" + options_.profile + "': ";
  }

  static bool is_auth(std::optional<VerdictKind> kind) noexcept {
    return kind == VerdictKind::unauthenticated || kind == VerdictKind::misconfigured;
  }

  SnapshotPtr initial_snapshot(Credential credential) {
    if (auto problems = preflight_problems(credential)) {
      throw std::invalid_argument(prefix() + "the credential is unusable: " + *problems);
    }
    const RetryOptions& retry = options_.retry;
    const RefreshOptions& refresh = options_.refresh;
    if (retry.max_attempts == 0 || retry.initial_backoff < milliseconds::zero() ||
        retry.max_backoff < retry.initial_backoff || refresh.hard_margin < milliseconds::zero() ||
        refresh.soft_margin < refresh.hard_margin ||
        refresh.failure_backoff_first <= milliseconds::zero() ||
        refresh.failure_backoff_max < refresh.failure_backoff_first) {
      throw std::invalid_argument(
          prefix() +
          "invalid options: need retry.max_attempts >= 1, 0 <= initial_backoff <= "
          "max_backoff, 0 <= hard_margin <= soft_margin, 0 < failure_backoff_first <= "
          "failure_backoff_max");
    }
    auto snapshot = std::make_shared<detail::Snapshot>();
    snapshot->token = make_token(std::move(credential), 1, false, now());
    snapshot->since = now();
    return snapshot;
  }

  TokenPtr make_token(Credential credential, std::uint64_t generation, bool from_refresh,
                      TimePoint obtained, std::optional<std::chrono::seconds> refresh_in = {}) {
    auto token = std::make_shared<detail::Token>();
    token->fingerprint = fingerprint(credential);
    token->refreshable = parts_.refresh.refreshable(credential);
    token->generation = generation;
    token->from_refresh = from_refresh;
    if (token->refreshable && credential.expires_at) {
      const TimePoint expiry = *credential.expires_at;
      const auto lifetime = expiry - obtained;
      TimePoint soft = expiry - options_.refresh.soft_margin;
      if (refresh_in) {
        soft = obtained + *refresh_in;
      } else if (lifetime >= options_.refresh.long_lived) {
        soft = obtained + lifetime / 2;
      }
      token->hard_at = expiry - options_.refresh.hard_margin;
      token->soft_at = std::min(soft, *token->hard_at);
    }
    token->credential = std::move(credential);
    return token;
  }

  // The gate in front of every attempt: refuses a credential that is out, claims the probe when
  // its window has ended, refreshes when a threshold has passed, and attaches the credential.
  // Snapshots are borrowed from the cell and never held across another load.
  Result<Ticket> admit(Request& request) {
    const TimePoint now = parts_.clock.now();
    Ticket ticket;
    std::optional<std::uint64_t> refresh_from;
    bool hard = false;
    {
      const detail::Snapshot& snapshot = cell_.load();  // the hot path: one atomic load
      if (snapshot.state != CredentialState::ready) {
        const bool window_over =
            snapshot.state != CredentialState::probing && snapshot.until && now >= *snapshot.until;
        if (!window_over || !claim_probe(snapshot.token->generation, now)) {
          return unexpected(refusal(now));
        }
        ticket.probe = true;
        ticket.probed_reason = snapshot.reason;
        ticket.generation = snapshot.token->generation;
      }
      const detail::Token& token = *snapshot.token;
      if (token.soft_at && now >= *token.soft_at) {
        refresh_from = token.generation;
        hard = now >= *token.hard_at;
      }
    }
    ProbeGuard guard{*this, ticket};  // hands the probe back if the refresh fails or throws
    if (refresh_from) {
      auto refreshed = refresh(*refresh_from, hard ? Need::hard : Need::soft, now);
      const auto& expiry = cell_.load().token->credential.expires_at;
      const bool expired = expiry && now >= *expiry;
      if (!refreshed && (expired || refreshed.error().code == Errc::persist_failed ||
                         refreshed.error().code == Errc::needs_reauth)) {
        return unexpected(std::move(refreshed).error());
      }
      if (refreshed && expired) return unexpected(refresh_failure(now));
    }
    const detail::Snapshot& snapshot = cell_.load();
    if (!ticket.probe && snapshot.state != CredentialState::ready) return unexpected(refusal(now));
    const detail::Token& token = *snapshot.token;
    ticket.generation = token.generation;
    ticket.unverified = !snapshot.verified;
    ticket.refreshable = token.refreshable;
    ticket.kind = token.credential.kind;
    if constexpr (kObserving) ticket.observed = snapshot.token;
    parts_.attach.attach(request, token.credential);
    guard.dismiss();
    if (ticket.probe) observe(EventKind::probe, ticket, nullptr);
    return ticket;
  }

  // The error for a request that keyward refuses without sending.
  Error refusal(TimePoint now) const {
    const auto snapshot = cell_.load_shared();
    Error error =
        snapshot->error ? *snapshot->error : make_error(Errc::cooling_down, prefix() + "not ready");
    if (snapshot->state == CredentialState::probing) {
      error.message += " One probe request is testing the credential now; try again shortly.";
    } else if (snapshot->until && now >= *snapshot->until) {
      error.message += " Its window has ended; the next request probes it.";
    }
    return error;
  }

  bool claim_probe(std::uint64_t generation, TimePoint now) {
    const std::scoped_lock lock(mutex_);
    const auto current = cell_.load_shared();
    if (current->token->generation != generation || current->state == CredentialState::ready ||
        current->state == CredentialState::probing || !current->until || now < *current->until) {
      return false;
    }
    auto next = std::make_shared<detail::Snapshot>(*current);
    next->state = CredentialState::probing;
    cell_.publish(std::move(next));
    return true;
  }

  // Only the thread holding the probe calls this, so a probing state is its own (a refresh
  // during the probe may have changed the generation, but not the state).
  void return_probe() noexcept {
    const std::scoped_lock lock(mutex_);
    const auto current = cell_.load_shared();
    if (current->state != CredentialState::probing) return;
    auto next = std::make_shared<detail::Snapshot>(*current);
    next->state = is_auth(next->reason) ? CredentialState::needs_reauth : CredentialState::cooling;
    cell_.publish(std::move(next));
  }

  // The credential was accepted: a probe succeeded, a refreshed token proved itself, or failure
  // counters decay. Writes nothing when nothing changes, so the common case stays read-only.
  void accepted(const Ticket& ticket, TimePoint now) {
    {
      const detail::Snapshot& snapshot = cell_.load();
      if (!ticket.probe && (snapshot.token->generation != ticket.generation ||
                            (snapshot.verified && snapshot.failures == 0))) {
        return;
      }
    }
    TokenPtr left_cooldown;
    {
      const std::scoped_lock lock(mutex_);
      const auto current = cell_.load_shared();
      if (current->token->generation != ticket.generation) return;
      auto next = std::make_shared<detail::Snapshot>(*current);
      next->verified = true;
      if (ticket.probe || current->state == CredentialState::ready) {
        if (current->state != CredentialState::ready) {
          left_cooldown = current->token;
          next->since = now;
        }
        next->state = CredentialState::ready;
        next->reason.reset();
        next->until.reset();
        next->failures = 0;
        next->error.reset();
      }
      cell_.publish(std::move(next));
    }
    if (left_cooldown) notify(EventKind::cooldown_left, *left_cooldown, nullptr);
  }

  // A 401 or equivalent: decides between replaying with a newer token, refreshing once and
  // replaying, or needs_reauth. Success means "replay". Only a token that came from a refresh and
  // that no response has accepted yet proves the credential dead; a token that was replaced or
  // accepted before is refreshed like any other. `replays` bounds the loop whatever happens.
  Result<void> on_unauthenticated(const Ticket& ticket, const Verdict& verdict,
                                  std::uint32_t replays, TimePoint now) {
    if (!ticket.refreshable) {
      return unexpected(
          take_out(ticket, verdict, now,
                   ticket.kind == CredentialKind::oauth
                       ? "and it has no refresh token to renew it with"
                       : "and an " + std::string{to_string(ticket.kind)} + " cannot be refreshed"));
    }
    if (ticket.unverified) {
      return unexpected(take_out(ticket, verdict, now, "right after it was refreshed"));
    }
    if (replays >= kMaxReplays) {
      return unexpected(take_out(ticket, verdict, now, "on every replay"));
    }
    if (cell_.load().token->generation != ticket.generation) return {};  // renewed meanwhile
    if (auto refreshed = refresh(ticket.generation, Need::rejected, now); !refreshed) {
      return refreshed;
    }
    if (cell_.load().token->generation == ticket.generation) {
      return unexpected(refresh_failure(now));
    }
    return {};
  }

  // Takes the credential out for a credential-scoped verdict and returns the caller's error.
  Error take_out(const Ticket& ticket, const Verdict& verdict, TimePoint now,
                 const std::string& why) {
    TakeOut out;
    {
      const std::scoped_lock lock(mutex_);
      out = take_out_locked(ticket.generation, ticket.probe, verdict, now, why);
    }
    if (out.changed) {
      notify(is_auth(verdict.kind) ? EventKind::needs_reauth : EventKind::cooldown_entered,
             *out.token, &verdict, out.until);
    }
    return *out.error;
  }

  // needs_reauth for unauthenticated and misconfigured, cooling for rate_limited and
  // quota_exhausted. A window already running is never extended; called with mutex_ held.
  TakeOut take_out_locked(std::uint64_t generation, bool probe, const Verdict& verdict,
                          TimePoint now, const std::string& why) {
    const auto current = cell_.load_shared();
    const bool auth = is_auth(verdict.kind);
    const bool replaced = current->token->generation != generation;
    const bool window_running = current->state != CredentialState::ready && !probe &&
                                (!current->until || now < *current->until);
    // A newer credential, or a window already running, stands; an auth failure still overrides a
    // rate-limit window, since it is the more severe news.
    if (replaced || (window_running && (!auth || is_auth(current->reason)))) {
      if (current->error && !replaced) return {current->error, current->until, false, {}};
      const std::string name = replaced ? "its previous credential (generation " +
                                              std::to_string(generation) + ", since replaced)"
                                        : current->token->fingerprint;
      return {std::make_shared<const Error>(compose(verdict, name, why, std::nullopt, now)),
              std::nullopt,
              false,
              {}};
    }
    const std::uint32_t failures =
        current->reason == verdict.kind ? current->failures + 1 : std::uint32_t{1};
    const auto window = parts_.cooldown.on_failure(verdict, failures, jitter_.next());
    std::optional<TimePoint> until;
    if (window) until = now + *window;
    auto error = std::make_shared<const Error>(
        compose(verdict, current->token->fingerprint, why, until, now));
    auto next = std::make_shared<detail::Snapshot>(*current);
    next->state = auth ? CredentialState::needs_reauth : CredentialState::cooling;
    next->reason = verdict.kind;
    next->since = now;
    next->until = until;
    next->failures = failures;
    next->error = error;
    cell_.publish(std::move(next));
    return {error, until, true, current->token};
  }

  // The message a person reads: what happened, to which credential, what the provider said, and
  // what to do.
  Error compose(const Verdict& verdict, const std::string& credential, const std::string& why,
                std::optional<TimePoint> until, TimePoint now) const {
    std::string text = prefix();
    Errc code = Errc::cooling_down;
    const std::string when = until ? detail::describe_until(*until, now) : "until replaced";
    switch (verdict.kind) {
      case VerdictKind::unauthenticated:
        code = Errc::needs_reauth;
        text +=
            "needs a new credential. The provider rejected " + credential +
            (why.empty() ? "" : " " + why) + detail::describe(verdict) +
            ". This is an authentication failure, not a rate limit. Fix: " +
            fix_for(options_.fix.unauthenticated, verdict, "log in again to get a new credential") +
            ", then pass it to set_credential(); no restart is needed.";
        break;
      case VerdictKind::misconfigured:
        code = Errc::needs_reauth;
        text += "is misconfigured: the provider says " + credential +
                " was sent wrongly or cannot be used for this API" +
                (why.empty() ? "" : " (" + why + ")") + detail::describe(verdict) +
                ". Refreshing cannot help. Fix: " +
                fix_for(options_.fix.misconfigured, verdict,
                        "check the credential's kind and how it is sent (header, prefix, the "
                        "provider's required headers)") +
                ", then pass the corrected credential to set_credential().";
        break;
      case VerdictKind::quota_exhausted:
        text += "has run out of quota or credits" + detail::describe(verdict) + ": " + credential +
                " is out " + when + ", when one probe request tests it. Fix: " +
                fix_for(options_.fix.quota_exhausted, verdict,
                        "add credits or raise the quota with the provider") +
                ".";
        break;
      default:
        text += "is rate limited" + detail::describe(verdict) + ": " + credential +
                " is cooling down " + when + (verdict.retry_after ? ", the server's wait" : "") +
                ". This is a rate limit, not an authentication failure; when the window ends one "
                "probe request tests the credential.";
        break;
    }
    if (is_auth(verdict.kind) && until) {
      text += " In case the rejection was transient, one probe request will be let through at " +
              detail::format_rfc3339(*until) + ".";
    }
    Error error = make_error(code, std::move(text));
    error.verdict = verdict;
    error.until = until;
    return error;
  }

  // The application's text first, then the classifier's, then a generic one.
  [[nodiscard]] static std::string fix_for(const std::string& configured, const Verdict& verdict,
                                           std::string_view generic) {
    if (!configured.empty()) return configured;
    if (!verdict.fix.empty()) return verdict.fix;
    return std::string{generic};
  }

  // Waits, with mutex_ held through `lock`, while another thread refreshes. Returns the caller's
  // result when it need not refresh itself, or nothing when it should go on to refresh.
  std::optional<Result<void>> wait_for_other_refresh(std::unique_lock<std::mutex>& lock,
                                                     std::uint64_t seen, Need need) {
    const auto deadline = std::chrono::steady_clock::now() + options_.refresh.wait_timeout;
    while (refreshing_) {
      // A replacement installed meanwhile ends the wait: the in-flight result will be discarded.
      if (need == Need::soft || cell_.load_shared()->token->generation != seen) {
        return Result<void>{};
      }
      if (refreshed_.wait_until(lock, deadline) == std::cv_status::timeout && refreshing_) {
        return Result<void>{unexpected(make_error(
            Errc::refresh_timeout,
            prefix() + "waited " + detail::format_duration(options_.refresh.wait_timeout) +
                " for another thread's token refresh, which has not finished; the token "
                "endpoint may be hanging"))};
      }
    }
    return std::nullopt;
  }

  // Single flight: at most one refresh at a time. `seen` is the generation the caller holds; if a
  // newer one is in place the caller simply uses it. Soft callers never wait; hard and rejected
  // callers wait for an in-flight refresh, up to the deadline. Errors reach the caller that ran
  // the refresh, callers that time out, and hard callers while a failed refresh backs off.
  Result<void> refresh(std::uint64_t seen, Need need, TimePoint now) {
    std::unique_lock lock(mutex_);
    if (auto waited = wait_for_other_refresh(lock, seen, need)) return std::move(*waited);
    const auto current = cell_.load_shared();
    if (current->token->generation != seen) return {};
    if (current->state == CredentialState::needs_reauth && current->error) {
      return unexpected(*current->error);  // the refresh that just ended found it dead
    }
    if (next_refresh_at_ && now < *next_refresh_at_) {
      if (need == Need::soft) return {};
      return unexpected(last_refresh_error_ ? *last_refresh_error_
                                            : make_error(Errc::refresh_failed,
                                                         prefix() + "the refresh is backing off"));
    }
    refreshing_ = true;
    lock.unlock();
    const TokenPtr token = current->token;
    notify(EventKind::refresh_started, *token, nullptr);
    std::optional<Result<RefreshOutcome>> outcome;
    try {
      outcome.emplace(parts_.refresh.refresh(token->credential, transport_, now));
    } catch (...) {
      lock.lock();
      refreshing_ = false;
      lock.unlock();
      refreshed_.notify_all();
      throw;
    }
    lock.lock();
    refreshing_ = false;
    Applied applied = apply_refresh(token, std::move(*outcome), now);
    lock.unlock();
    refreshed_.notify_all();
    if (applied.installed) {
      notify(EventKind::refresh_succeeded, *applied.installed, nullptr,
             applied.installed->credential.expires_at);
      if (applied.rotated) notify(EventKind::rotation_persisted, *applied.installed, nullptr);
    } else if (applied.error) {
      notify(applied.reauth ? EventKind::needs_reauth : EventKind::refresh_failed, *token,
             applied.error->verdict ? &*applied.error->verdict : nullptr, applied.error->until);
    }
    if (applied.error) return unexpected(*applied.error);
    return {};
  }

  // The outcome of one refresh, once installed.
  struct Applied {
    TokenPtr installed;
    bool rotated = false;
    bool reauth = false;
    std::shared_ptr<const Error> error;
  };

  // Installs a refresh's outcome; called with mutex_ held.
  Applied apply_refresh(const TokenPtr& old, Result<RefreshOutcome> outcome, TimePoint now) {
    const auto current = cell_.load_shared();
    if (current->token != old) return {};  // replaced while refreshing: the replacement wins
    Applied applied;
    if (outcome) {
      applied.rotated = outcome->rotated;
      applied.installed = make_token(std::move(outcome->credential), old->generation + 1, true, now,
                                     outcome->refresh_in);
      auto next = std::make_shared<detail::Snapshot>(*current);
      next->token = applied.installed;
      next->verified = false;
      cell_.publish(std::move(next));
      last_refresh_ = now;
      refresh_failures_ = 0;
      next_refresh_at_.reset();
      last_refresh_error_.reset();
      // A token already inside its refresh margin would be refreshed again at once: back off as
      // after a failure instead (a real refresh stampede came from exactly that).
      if (applied.installed->soft_at && now >= *applied.installed->soft_at) {
        next_refresh_at_ = now + options_.refresh.failure_backoff_first;
      }
      return applied;
    }
    Error error = std::move(outcome).error();
    if (error.code == Errc::needs_reauth && error.verdict) {
      applied.reauth = true;
      applied.error = take_out_locked(old->generation, false, *error.verdict, now,
                                      "and the token endpoint refused its refresh token")
                          .error;
      return applied;
    }
    ++refresh_failures_;
    milliseconds wait = detail::doubled(options_.refresh.failure_backoff_first,
                                        options_.refresh.failure_backoff_max, refresh_failures_);
    if (error.verdict && error.verdict->retry_after) wait = *error.verdict->retry_after;
    next_refresh_at_ = now + wait;
    const auto& expiry = old->credential.expires_at;
    error.message = prefix() + "could not refresh " + old->fingerprint + ": " + error.message +
                    ". The next attempt is at " + detail::format_rfc3339(*next_refresh_at_) +
                    (expiry && now < *expiry ? "; until then the current token, valid until " +
                                                   detail::format_rfc3339(*expiry) + ", is used."
                                             : "; the current token has expired.");
    error.until = next_refresh_at_;
    applied.error = std::make_shared<const Error>(std::move(error));
    last_refresh_error_ = applied.error;
    return applied;
  }

  // For a caller that needed a new token but another thread's refresh did not produce one.
  Error refresh_failure(TimePoint now) const {
    const std::scoped_lock lock(mutex_);
    if (last_refresh_error_) return *last_refresh_error_;
    const auto snapshot = cell_.load_shared();
    if (snapshot->error) return *snapshot->error;
    const auto& expiry = snapshot->token->credential.expires_at;
    return make_error(Errc::refresh_failed,
                      prefix() + "the token " +
                          (expiry && now >= *expiry ? "has expired" : "was rejected") +
                          " and no refresh produced a new one");
  }

  // The wait before the next attempt at a provider-scoped failure, or none when retries end.
  std::optional<milliseconds> retry_wait(const Verdict& verdict, std::uint32_t attempts) {
    if (!verdict.retryable || attempts >= options_.retry.max_attempts) return std::nullopt;
    if (verdict.retry_after) {
      if (*verdict.retry_after > options_.retry.max_server_wait) return std::nullopt;
      return *verdict.retry_after;
    }
    const milliseconds window =
        detail::doubled(options_.retry.initial_backoff, options_.retry.max_backoff, attempts);
    return milliseconds{
        static_cast<milliseconds::rep>(static_cast<double>(window.count()) * jitter_.next())};
  }

  void observe(EventKind kind, const Ticket& ticket, const Verdict* verdict,
               std::optional<TimePoint> until = {}) {
    if constexpr (kObserving) notify(kind, *ticket.observed, verdict, until);
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
  detail::Jitter jitter_;
  mutable std::mutex mutex_;  // serialises writers; readers never take it on the hot path
  std::condition_variable refreshed_;
  bool refreshing_ = false;
  std::uint32_t refresh_failures_ = 0;
  std::optional<TimePoint> next_refresh_at_;
  std::optional<TimePoint> last_refresh_;
  std::shared_ptr<const Error> last_refresh_error_;
  detail::SnapshotCell<detail::Snapshot> cell_;  // last: built from the members above
};

}  // namespace keyward
