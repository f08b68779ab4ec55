// CredentialPool<Transport, Policies>: several profiles of one provider behind one transport.
//
// A pool is N CredentialCells (each with its RefreshCoordinator and store) and one driver whose
// failover picks the next cell (docs/architecture.md, docs/pool.md). send() chooses a profile
// (pool/selection.hpp), admits the request on its cell, sends, classifies and records the verdict
// like ResilientCredential does; a credential-scoped verdict takes that profile out and the same
// call goes on with the next one, each profile tried at most once; a provider-scoped verdict
// (overloaded, transient) never rotates and never cools a credential. A rate limit of a request
// that names a model cools only (profile, model) (pool/model_windows.hpp). When nothing can
// serve, the panic rule probes the profile whose window ends first, or the call fails with one
// Errc::no_usable_credential error that says, for each profile, why it is out, until when, and
// the fix.
//
// Overload and server failures belong to the provider: every attempt passes the provider's
// circuit breaker first and is recorded in it and in the retry budget after
// (provider_guard.hpp, docs/retries.md), shared with the provider's other credentials and pools
// through Components::provider.
//
// Why this header is over 300 lines: choosing, the per-attempt loop, failover, panic and the
// all-out error read the same members and belong to one driver; the selection parts, the model
// windows and the status types are in pool/*.hpp.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
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
#include "keyward/detail/may_view.hpp"
#include "keyward/detail/origin_cache.hpp"
#include "keyward/detail/policy_support.hpp"
#include "keyward/detail/time.hpp"
#include "keyward/detail/url.hpp"
#include "keyward/error.hpp"
#include "keyward/observer.hpp"
#include "keyward/options.hpp"
#include "keyward/pool/model_windows.hpp"
#include "keyward/pool/selection.hpp"
#include "keyward/pool/status.hpp"
#include "keyward/preflight.hpp"
#include "keyward/provider_guard.hpp"
#include "keyward/refresh_coordinator.hpp"
#include "keyward/refresh_strategy.hpp"
#include "keyward/result.hpp"
#include "keyward/status.hpp"
#include "keyward/transport.hpp"

namespace keyward {

/// Keeps a pool of profiles (credentials) of one provider working for requests sent through a
/// Transport, failing over between them.
template <Transport T, class Policies = DefaultPolicies>
requires Classifier<typename Policies::Classifier> &&
    RefreshStrategy<typename Policies::Refresh, T> && CooldownPolicy<typename Policies::Cooldown> &&
    Attacher<typename Policies::Attach> && Preflight<typename Policies::Preflight> &&
    CredentialStore<typename Policies::Store> && Clock<typename Policies::Clock> &&
    Sleeper<typename Policies::Sleeper> && Observer<typename Policies::Observer>
class CredentialPool {
 public:
  using Store = typename Policies::Store;            ///< Each profile's store.
  using Components = keyward::Components<Policies>;  ///< The shared policy instances.

  /// One profile: its name, its credential, its weight and its store.
  struct Profile {
    std::string name;          ///< Its name, in messages, events and status.
    Credential credential;     ///< Its credential.
    std::uint32_t weight = 1;  ///< Its share, for Selection::weighted (>= 1).
    Store store{};             ///< Where its credential lives.
  };

  /// Takes the transport, the profiles (in priority order), the options and the policies shared
  /// by every profile (Components::store is unused: each profile has its own). Throws
  /// std::invalid_argument naming the problem (never a secret) when a profile or option is
  /// unusable, and std::runtime_error when a store fails.
  CredentialPool(T transport, std::vector<Profile> profiles, PoolOptions options = {},
                 Components components = {})
      : transport_(std::move(transport)),
        options_(validated(std::move(options))),
        parts_(guarded(std::move(components))),
        origins_(options_.credential.allow_insecure_http) {
    if (profiles.empty()) throw std::invalid_argument(prefix() + "a pool needs a profile");
    std::uint64_t total = 0;
    for (Profile& p : profiles) {
      for (const auto& m : members_) {
        if (m->options.profile == p.name) {
          throw std::invalid_argument(prefix() + "two profiles are named '" + p.name + "'");
        }
      }
      if (p.weight == 0) {
        throw std::invalid_argument(prefix() + "profile '" + p.name +
                                    "': weight must be at least 1");
      }
      CredentialOptions each = options_.credential;
      each.profile = p.name;
      if (each.jitter_seed) *each.jitter_seed += members_.size();
      validate(each);
      members_.push_back(std::make_unique<Member>(*this, std::move(each), std::move(p)));
      total += members_.back()->weight;
      cumulative_.push_back(total);
    }
  }  // neither copyable nor movable: the members refer to the pool

  /// Sends `request` with a profile chosen for `scope`, failing over to the next profile on a
  /// credential-scoped failure; the response, or an Error (Errc::no_usable_credential when no
  /// profile could serve, with Error::profiles saying why each is out).
  Result<Response> send(Request& request, RequestScope scope = {}) {
    return run(request, scope, std::nullopt);
  }
  /// send() for a request built in the call.
  Result<Response> send(Request&& request, RequestScope scope = {}) { return send(request, scope); }

  /// Sends the provider's health request through profile `profile`, probing it at once even if
  /// it is out, and records the verdict like any request's.
  Result<Response> probe(std::string_view profile) requires requires { Policies::health_request(); }
  { return probe(profile, Policies::health_request()); }

  /// probe() with a health request of the caller's choice.
  Result<Response> probe(std::string_view profile, Request health_request) {
    const auto index = find(profile);
    if (!index) return unexpected(unknown_profile(profile));
    return run(health_request, {}, *index);
  }

  /// Probes every profile with the provider's health request; returns the status after.
  PoolStatus probe() requires requires { Policies::health_request(); }
  {
    for (const auto& m : members_) static_cast<void>(probe(m->options.profile));
    return status();
  }

  /// Installs a new credential for `profile`: ready at once, its windows (the model windows
  /// too) cleared. Refused with Errc::invalid_credential when unusable.
  Result<void> set_credential(std::string_view profile, Credential credential) {
    const auto index = find(profile);
    if (!index) return unexpected(unknown_profile(profile));
    Member& m = *members_[*index];
    if (auto problems = detail::preflight_problems(parts_.preflight, credential, now())) {
      return unexpected(m.cell.messages().replacement_refused(*problems));
    }
    Hooks hooks{*this, m};
    auto token = m.coordinator.replace(std::move(credential), now(), hooks);
    if (!token) {
      m.cell.scrub(token.error());
      return unexpected(m.cell.messages().replacement_not_stored(std::move(token).error()));
    }
    m.models.clear_all();
    m.stated.clear();
    notify(m, EventKind::credential_replaced, **token, nullptr, std::nullopt);
    return {};
  }

  /// Chooses a profile for `scope` as send() would (without panic or side effects beyond the
  /// strategy's one relaxed write) and calls `f(std::string_view profile, const
  /// CurrentCredential&)` with its credential, read lock-free with no allocation; nothing when
  /// no profile can serve. `f` may not return anything that can view the credential (a
  /// reference, a pointer, a string_view, a span, or a type holding one: detail/may_view.hpp),
  /// which is refused at compile time: copy what must outlive the call.
  template <class F>
  auto with_chosen(RequestScope scope, F&& f)
      -> std::optional<std::invoke_result_t<F, std::string_view, const CurrentCredential&>> {
    static_assert(
        !detail::may_view<std::invoke_result_t<F, std::string_view, const CurrentCredential&>>,
        "with_chosen(scope, f): f must not return a reference, pointer, string_view, span or "
        "anything holding one: the credential is valid only during the call; return a copy");
    detail::LazyNow<typename Policies::Clock> now{parts_.clock};
    const detail::TriedSet tried{members_.size()};
    const auto chosen = choose(scope, tried, now);
    if (!chosen) return std::nullopt;
    const Member& m = *members_[*chosen];
    return m.cell.read([&](const detail::Snapshot& s) {
      const CurrentCredential current{s};
      return std::invoke(std::forward<F>(f), std::string_view{m.options.profile}, current);
    });
  }

  /// A snapshot of every profile, free of secrets.
  [[nodiscard]] PoolStatus status() const {
    const TimePoint at = now();
    PoolStatus out;
    out.provider = options_.provider;
    out.selection = options_.selection;
    for (const auto& m : members_) {
      ProfileStatus p;
      const auto snapshot = m->cell.snapshot();
      p.credential = detail::describe(*snapshot, m->options.profile);
      m->coordinator.describe(p.credential);
      p.weight = m->weight;
      p.usable = serves_at(*m, *snapshot, {}, at);
      p.remaining_permille = m->remaining.permille(at);
      for (const auto& w : m->models.running(snapshot->token->generation, at)) {
        p.models.push_back({w.model, w.since, w.until, w.failures});
      }
      out.usable += p.usable ? 1U : 0U;
      out.profiles.push_back(std::move(p));
    }
    if (out.usable == 0) out.soonest = outage({}, detail::TriedSet{members_.size()}, at).until;
    return out;
  }

  /// The transport.
  [[nodiscard]] T& transport() noexcept { return transport_; }
  /// The observer.
  [[nodiscard]] typename Policies::Observer& observer() noexcept { return parts_.observer; }
  /// The provider's retry budget and circuit breaker (Components::provider, or the pool's own).
  [[nodiscard]] ProviderGuard& provider() noexcept { return *parts_.provider; }
  /// The options in use.
  [[nodiscard]] const PoolOptions& options() const noexcept { return options_; }
  /// How many profiles the pool has.
  [[nodiscard]] std::size_t size() const noexcept { return members_.size(); }

 private:
  using Cell = CredentialCell<typename Policies::Cooldown>;
  using Ticket = typename Cell::Ticket;
  using Coordinator = RefreshCoordinator<Cell, Store, typename Policies::Clock>;
  using LazyNow = detail::LazyNow<typename Policies::Clock>;
  static constexpr bool kObserving = !std::is_same_v<typename Policies::Observer, NoObserver>;

  // One profile: its options (named after it), store, cell, coordinator and pool-side state.
  struct Member {
    Member(CredentialPool& pool, CredentialOptions o, Profile p)
        : options(std::move(o)),
          store(std::move(p.store)),
          weight(p.weight),
          cell(options, pool.parts_.cooldown, pool.checked(p.credential, options),
               pool.traits(p.credential), pool.now(),
               detail::strategy_secrets(pool.parts_.refresh)),
          coordinator(options, cell, store, pool.parts_.clock) {
      coordinator.seed(cell.snapshot()->token->credential);
    }
    CredentialOptions options;
    Store store;
    std::uint32_t weight;
    Cell cell;
    Coordinator coordinator;
    detail::ModelWindows models;
    detail::Remaining remaining;
    detail::StatedWaits stated;  // the server's waits, which the panic rule never cuts short
    std::atomic<std::uint64_t> last_used{0};  // a logical time, for least_recently_used
  };

  // What the coordinator needs from the driver, for one member.
  struct Hooks {
    CredentialPool& self;
    Member& member;
    Result<RefreshOutcome> redeem(const Credential& credential, TimePoint at) {
      return self.parts_.refresh.refresh(credential, self.transport_, at);
    }
    std::optional<std::string> problems(const Credential& credential, TimePoint at) const {
      return detail::preflight_problems(self.parts_.preflight, credential, at);
    }
    TokenTraits traits(const Credential& credential) const { return self.traits(credential); }
    void notify(EventKind kind, const detail::Token& token, const Verdict* verdict,
                std::optional<TimePoint> until) {
      self.notify(member, kind, token, verdict, until);
    }
  };

  // How one attempt ended for the loop.
  enum class Next : std::uint8_t { done, same_profile, next_profile };

  static PoolOptions validated(PoolOptions options) {
    validate(options);
    return options;
  }
  [[nodiscard]] std::string prefix() const {
    return "keyward: provider '" + options_.provider + "': ";
  }
  [[nodiscard]] TimePoint now() const { return parts_.clock.now(); }

  Credential checked(const Credential& credential, const CredentialOptions& each) const {
    if (auto problems = detail::preflight_problems(parts_.preflight, credential, now())) {
      throw std::invalid_argument(detail::Messages{each}.unusable(*problems));
    }
    return credential;
  }
  TokenTraits traits(const Credential& credential) const {
    TokenTraits traits = detail::token_traits(parts_.refresh, credential);
    if constexpr (PreparingAttacher<typename Policies::Attach>) {
      traits.placement = parts_.attach.prepare(credential);
    }
    return traits;
  }

  [[nodiscard]] std::optional<std::size_t> find(std::string_view profile) const noexcept {
    for (std::size_t i = 0; i < members_.size(); ++i) {
      if (members_[i]->options.profile == profile) return i;
    }
    return std::nullopt;
  }
  [[nodiscard]] Error unknown_profile(std::string_view profile) const {
    return make_error(Errc::invalid_credential,
                      prefix() + "has no profile named '" + std::string{profile} + "'");
  }

  // True when member `m`, in state `s`, can take a request for `model` at `at`: ready, or out
  // with its window over (the request probes it), and the model not cooling on it.
  static bool serves_at(const Member& m, const detail::Snapshot& s, std::string_view model,
                        TimePoint at) {
    if (s.state != CredentialState::ready &&
        (s.state == CredentialState::probing || !s.until || at < *s.until)) {
      return false;
    }
    return !m.models.out_until(model, s.token->generation, at);
  }

  // serves_at() with the clock read only when the answer needs it, and, when `steer`, not a
  // profile whose last response said its quota is nearly spent.
  bool serves(const Member& m, std::string_view model, bool steer, LazyNow& at) const {
    return m.cell.read([&](const detail::Snapshot& s) {
      if (s.state != CredentialState::ready &&
          (s.state == CredentialState::probing || !s.until || at() < *s.until)) {
        return false;
      }
      if (!model.empty() && m.models.out_until(model, s.token->generation, at())) return false;
      return !(steer && m.remaining.low(at, floor_permille()));
    });
  }
  [[nodiscard]] std::uint32_t floor_permille() const noexcept {
    return static_cast<std::uint32_t>(options_.remaining_floor * 1000.0);
  }

  // The profile to try next, or nothing when none can serve. Reads lock-free; writes at most
  // one relaxed word (the strategy's counter, a least-recently-used stamp, a session pin).
  std::optional<std::size_t> choose(RequestScope scope, const detail::TriedSet& tried,
                                    LazyNow& at) {
    const std::size_t n = members_.size();
    if (!scope.session.empty()) {
      if (const auto pinned = pins_.find(scope.session, at(), options_.sticky_for);
          pinned && *pinned < n && !tried.contains(*pinned) &&
          serves(*members_[*pinned], scope.model, false, at)) {
        if (options_.selection == Selection::least_recently_used) used(*pinned);
        return pinned;
      }
    }
    std::optional<std::size_t> chosen;
    for (const bool steer : {options_.steer_by_remaining, false}) {
      chosen = choose_by_strategy(scope.model, steer, tried, at);
      if (chosen || !steer) break;
    }
    if (chosen && !scope.session.empty()) pins_.pin(scope.session, *chosen, at());
    return chosen;
  }

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

  // Least recently used: profile `i` serves a session's request, so it is the most recent.
  void used(std::size_t i) noexcept {
    std::uint64_t newest = 0;
    for (const auto& m : members_) {
      newest = std::max(newest, m->last_used.load(std::memory_order_relaxed));
    }
    if (members_[i]->last_used.load(std::memory_order_relaxed) != newest) {
      members_[i]->last_used.store(newest + 1, std::memory_order_relaxed);
    }
  }

  std::optional<std::size_t> choose_by_strategy(std::string_view model, bool steer,
                                                const detail::TriedSet& tried, LazyNow& at) {
    const std::size_t n = members_.size();
    const auto usable = [&](std::size_t i) {
      return !tried.contains(i) && serves(*members_[i], model, steer, at);
    };
    std::size_t start = 0;
    switch (options_.selection) {
      case Selection::priority:
        break;
      case Selection::round_robin:
        start = static_cast<std::size_t>(turn_.fetch_add(1, std::memory_order_relaxed) % n);
        break;
      case Selection::weighted: {
        const std::uint64_t at_weight =
            turn_.fetch_add(1, std::memory_order_relaxed) % cumulative_.back();
        start = static_cast<std::size_t>(
            std::upper_bound(cumulative_.begin(), cumulative_.end(), at_weight) -
            cumulative_.begin());
        if (usable(start)) return start;
        return spread(usable);  // it cannot serve: its share goes to the others
      }
      case Selection::least_recently_used: {
        std::optional<std::size_t> best;
        std::uint64_t best_stamp = 0;
        std::uint64_t newest = 0;
        for (std::size_t i = 0; i < n; ++i) {
          const std::uint64_t stamp = members_[i]->last_used.load(std::memory_order_relaxed);
          newest = std::max(newest, stamp);
          if ((!best || stamp < best_stamp) && usable(i)) {
            best = i;
            best_stamp = stamp;
          }
        }
        if (best) members_[*best]->last_used.store(newest + 1, std::memory_order_relaxed);
        return best;
      }
    }
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = (start + k) % n;
      if (usable(i)) return i;
    }
    return std::nullopt;
  }

  // Why nothing can serve: every profile's outage, the soonest time one could serve, and the
  // profile the panic rule would probe (every profile out for a rate limit or quota).
  struct Outage {
    std::vector<ProfileOutage> profiles;
    std::optional<TimePoint> until;
    std::optional<std::size_t> panic;
    bool any_auth = false;
  };

  Outage outage(std::string_view model, const detail::TriedSet& tried, TimePoint at) const {
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

  static std::string fix_for(const Member& m, const ProfileOutage& p, const detail::Snapshot& s) {
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

  // The one error of a call that no profile could serve.
  Error all_out(Outage out, TimePoint at, const std::vector<std::pair<std::size_t, Error>>& seen,
                std::optional<Verdict> verdict) {
    std::string text = prefix() + "no profile can serve this request.";
    for (std::size_t i = 0; i < out.profiles.size(); ++i) {
      const ProfileOutage& p = out.profiles[i];
      text += " '" + p.profile + "' " + describe(p) + "; fix: " + p.fix + ".";
      const auto own =
          std::find_if(seen.begin(), seen.end(), [i](const auto& e) { return e.first == i; });
      if (own != seen.end()) {
        text += " [" + own->second.message + "]";
      } else if (const auto s = members_[i]->cell.snapshot(); s->error && p.model.empty()) {
        text += " [" + s->error->message + "]";
      }
    }
    if (out.until) {
      text +=
          " The soonest a profile can serve again: " + detail::describe_until(*out.until, at) + ".";
    } else {
      text += " No profile comes back by itself: a person must act.";
    }
    Error error = make_error(Errc::no_usable_credential, std::move(text));
    error.until = out.until;
    error.verdict = std::move(verdict);
    error.profiles = std::move(out.profiles);
    for (const auto& m : members_) m->cell.scrub(error);
    if constexpr (kObserving) {
      parts_.observer.on_event(Event{.kind = EventKind::all_out,
                                     .profile = options_.provider,
                                     .fingerprint = {},
                                     .generation = 0,
                                     .verdict = error.verdict ? &*error.verdict : nullptr,
                                     .until = error.until,
                                     .detail = error.message});
    }
    return error;
  }

  // "is cooling down (rate_limited) until ...", "needs a person (unauthenticated: ...)", ...
  static std::string describe(const ProfileOutage& p) {
    const std::string reason = p.reason ? std::string{to_string(*p.reason)} : std::string{};
    const std::string until = p.until ? detail::format_deadline(*p.until) : std::string{};
    if (p.state == "needs_reauth") {
      return "needs a person (" + reason + ": an authentication failure, not a rate limit)" +
             (p.until ? "; one probe request at " + until : std::string{});
    }
    if (p.state == "probing") return "is being probed (" + reason + ")";
    if (p.state == "failed") return "failed this request";
    return "is cooling down" + (p.model.empty() ? std::string{} : " for model '" + p.model + "'") +
           " (" + reason + ")" + (p.until ? " until " + until : std::string{});
  }

  // Claims the panic rule's probe: at most one per panic_interval for the whole pool.
  bool claim_panic(TimePoint at) {
    if (options_.panic_interval <= std::chrono::milliseconds::zero()) return false;
    auto last = last_panic_.load(std::memory_order_relaxed);
    const TimePoint next =
        detail::saturating_add(TimePoint{TimePoint::duration{last}}, options_.panic_interval);
    if (last != kNever && at < next) return false;
    return last_panic_.compare_exchange_strong(last, at.time_since_epoch().count(),
                                               std::memory_order_relaxed);
  }

  Result<Response> run(Request& request, RequestScope scope, std::optional<std::size_t> only) {
    if (!origins_.allows(request.url)) {
      return unexpected(
          members_.front()->cell.messages().insecure_url(detail::url_scheme(request.url)));
    }
    const typename Cell::Pin pin;  // keeps the token whose fields are lent alive until return
    const detail::Loan loan{request.headers};
    detail::TriedSet tried{members_.size()};
    std::vector<std::pair<std::size_t, Error>> failures;  // allocates only on a failover
    std::optional<Verdict> last_verdict;
    std::optional<std::size_t> from;  // the profile the call fails over from
    for (;;) {
      LazyNow at{parts_.clock};
      bool panic = false;
      std::optional<std::size_t> chosen = only;
      if (!only) chosen = choose(scope, tried, at);
      if (!chosen && !only) {
        Outage out = outage(scope.model, tried, at());
        if (!out.panic || !claim_panic(at())) {
          return unexpected(all_out(std::move(out), at(), failures, std::move(last_verdict)));
        }
        chosen = out.panic;
        panic = true;
      }
      Member& m = *members_[*chosen];
      if (from) announce_failover(*members_[*from], m, failures.back().second);
      from.reset();
      if (panic) notify_current(m, EventKind::panic);
      auto [next, result] = serve(m, request, scope, panic || only.has_value(), at);
      if (next == Next::done || only) return std::move(*result);
      // The profile failed this request: the next one takes it.
      Error error = std::move(*result).error();
      if (error.verdict) last_verdict = error.verdict;
      tried.insert(*chosen);
      from = *chosen;
      failures.emplace_back(*chosen, std::move(error));
    }
  }

  void announce_failover(Member& from, Member& to, const Error& why) {
    if constexpr (kObserving) {
      const auto token = from.cell.snapshot()->token;
      const std::string detail =
          "to '" + to.options.profile + "'" +
          (why.verdict ? " after " + std::string{to_string(why.verdict->kind)} : std::string{});
      parts_.observer.on_event(Event{.kind = EventKind::failover,
                                     .profile = from.options.profile,
                                     .fingerprint = token->fingerprint,
                                     .generation = token->generation,
                                     .verdict = why.verdict ? &*why.verdict : nullptr,
                                     .until = why.until,
                                     .detail = detail});
    } else {
      static_cast<void>(from);
      static_cast<void>(to);
      static_cast<void>(why);
    }
  }

  void notify_current(Member& m, EventKind kind) {
    const auto s = m.cell.snapshot();
    notify(m, kind, *s->token, nullptr, s->until);
  }

  // Serves the request on member `m` until it is delivered (done with a response), fails
  // for this profile (done with an error that is not the caller's: next_profile), or fails for
  // the caller (done with an error). `force` probes the profile even while it is out.
  std::pair<Next, std::optional<Result<Response>>> serve(Member& m, Request& request,
                                                         RequestScope scope, bool force,
                                                         LazyNow& first) {
    detail::Progress progress;
    bool fresh = true;
    for (;;) {
      LazyNow local{parts_.clock};
      LazyNow& at = fresh ? first : local;
      fresh = false;
      auto admission = m.cell.admit(
          at,
          {.force_probe = force, .refresh_tried = progress.refresh_tried, .keep_token = kObserving},
          [&](const detail::Token& token) { detail::place(parts_.attach, request, token); });
      using Kind = typename Cell::Admission::Kind;
      if (admission.kind == Kind::refuse) {
        return {Next::next_profile, Result<Response>{unexpected(std::move(*admission.error))}};
      }
      if (admission.kind == Kind::refresh) {
        progress.refresh_tried = true;
        if (admission.need == RefreshNeed::soft && m.coordinator.quiet(now())) continue;
        Hooks hooks{*this, m};
        if (auto r = m.coordinator.renew(admission.generation, admission.need, now(), hooks); !r) {
          return {Next::next_profile, Result<Response>{unexpected(std::move(r).error())}};
        }
        continue;
      }
      auto step =
          attempt(m, request, scope, std::move(admission.ticket), at.read(), progress, force);
      if (step.first != Next::same_profile) return step;
    }
  }

  // Sends once and acts on the verdict.
  std::pair<Next, std::optional<Result<Response>>> attempt(Member& m, const Request& request,
                                                           RequestScope scope, Ticket ticket,
                                                           std::optional<TimePoint> admitted,
                                                           detail::Progress& progress, bool force) {
    using Out = std::pair<Next, std::optional<Result<Response>>>;
    // The provider's breaker first: while it is open nothing is sent, no profile is blamed and
    // none rotates (the ticket hands back a claimed probe).
    CircuitBreaker& breaker = parts_.provider->breaker();
    auto pass = breaker.admit([&] { return admitted ? *admitted : now(); });
    if (pass.changed()) observe(m, EventKind::breaker_half_open, ticket, nullptr);
    if (!pass) {
      return Out{Next::done, Result<Response>{unexpected(
                                 provider_unavailable(m.options.profile, *pass.until(), now()))}};
    }
    // A model whose window is over is probed by one request; the others go elsewhere meanwhile.
    const auto claim =
        m.models.claim(scope.model, ticket.generation, admitted.value_or(now()), force);
    if (claim.out) {
      return Out{Next::next_profile,
                 Result<Response>{unexpected(model_out(m, scope.model, ticket.generation))}};
    }
    const ModelProbe model_probe{m.models, scope.model, claim.probe};
    if (ticket.probe != 0 || claim.probe != 0) observe(m, EventKind::probe, ticket, nullptr);
    observe(m, EventKind::attempt, ticket, nullptr);
    auto sent = transport_.send(request);
    const bool success = sent && sent->status >= 200 && sent->status < 300;
    const TimePoint at = success && admitted ? *admitted : now();
    Verdict verdict =
        sent ? parts_.classifier.classify(
                   *sent, {.endpoint = Endpoint::api, .now = at, .credential = ticket.kind})
             : parts_.classifier.classify(sent.error());
    // Recorded before any event, so that an observer that throws leaves them consistent.
    const auto guarded = parts_.provider->record(pass, verdict, at);
    m.cell.scrub(verdict);
    if (guarded.breaker) observe_breaker(m, *guarded.breaker, ticket, verdict);
    observe(m, EventKind::verdict, ticket, &verdict);
    if (sent) note_remaining(m, sent->headers, at);
    note_stated(m, scope.model, ticket.generation, verdict, at);
    if (verdict.kind == VerdictKind::rate_limited && !scope.model.empty()) {
      return model_rate_limited(m, scope.model, std::move(ticket), std::move(verdict), at);
    }
    Action action = m.cell.record(
        ticket, verdict, [at] { return at; }, progress.replays);
    if (action.change) {
      notify(m, action.change->kind, *action.change->token, &verdict, action.change->until);
    }
    switch (action.kind) {
      case ActionKind::deliver:
        if (!scope.model.empty() && m.models.clear(scope.model)) {
          notify(m, EventKind::cooldown_left, *m.cell.snapshot()->token, &verdict, std::nullopt);
        }
        return Out{Next::done, Result<Response>{std::move(*sent)}};
      case ActionKind::fail:
        return Out{Next::next_profile, Result<Response>{unexpected(std::move(*action.error))}};
      case ActionKind::refresh_then_replay: {
        Hooks hooks{*this, m};
        if (auto r = m.coordinator.renew(ticket.generation, RefreshNeed::rejected, at, hooks); !r) {
          return Out{Next::next_profile, Result<Response>{unexpected(std::move(r).error())}};
        }
        [[fallthrough]];
      }
      case ActionKind::replay:
        ++progress.replays;
        return Out{Next::same_profile, std::nullopt};
      case ActionKind::retry:
        break;
    }
    return retry(m, request, std::move(sent), std::move(verdict), guarded, ticket, at, progress);
  }

  // A provider-scoped failure: no rotation, no cooldown; retried on this profile when the
  // retries, the resend rule, the breaker and the budget allow, else the last answer.
  std::pair<Next, std::optional<Result<Response>>> retry(Member& m, const Request& request,
                                                         TransportResult sent, Verdict verdict,
                                                         const ProviderGuard::Recorded& guarded,
                                                         const Ticket& ticket, TimePoint at,
                                                         detail::Progress& progress) {
    using Out = std::pair<Next, std::optional<Result<Response>>>;
    ++progress.attempts;
    auto wait =
        detail::retry_wait(verdict, progress.attempts, options_.credential.retry, m.cell.jitter());
    // Not twice what was meant once; not into an open breaker; not beyond the provider's budget.
    using Hold = ProviderGuard::Hold;
    const Hold hold = wait ? parts_.provider->hold(request, sent, verdict, guarded) : Hold::none;
    if (hold == Hold::budget) observe(m, EventKind::retry_budget_exhausted, ticket, &verdict);
    if (hold != Hold::none) wait.reset();
    if (!wait) {
      if (sent) return Out{Next::done, Result<Response>{std::move(*sent)}};
      Error error = m.cell.messages().no_response(progress.attempts, std::move(verdict));
      error.message += ProviderGuard::explain(hold);
      return Out{Next::done, Result<Response>{unexpected(std::move(error))}};
    }
    observe(m, EventKind::retry, ticket, &verdict, detail::saturating_add(at, *wait));
    parts_.sleeper.sleep_for(*wait);
    return Out{Next::same_profile, std::nullopt};
  }

  // Remembers how much of its rate limit a profile's response says is left.
  void note_remaining(Member& m, const Headers& headers, TimePoint at) {
    if (!options_.steer_by_remaining) return;
    if (const auto left = detail::remaining_fraction(headers)) {
      m.remaining.record(*left, detail::saturating_add(at, options_.remaining_valid_for));
    }
  }

  // Remembers a wait the server stated with a rate limit (for `model` when the request named
  // one, else the profile) or a quota verdict (the profile), for the panic rule; a late answer
  // for a replaced credential states nothing about the current one.
  void note_stated(Member& m, std::string_view model, std::uint64_t generation,
                   const Verdict& verdict, TimePoint at) {
    if (!verdict.retry_after) return;
    if (verdict.kind == VerdictKind::quota_exhausted) {
      model = {};
    } else if (verdict.kind != VerdictKind::rate_limited) {
      return;
    }
    if (m.cell.snapshot()->token->generation != generation) return;
    m.stated.record(model, detail::saturating_add(at, *verdict.retry_after), at);
  }

  // Hands an undecided model probe back, however the attempt ends (a decided one is gone).
  struct ModelProbe {
    detail::ModelWindows& windows;
    std::string_view model;
    std::uint64_t probe;
    ModelProbe(detail::ModelWindows& w, std::string_view m, std::uint64_t p) noexcept
        : windows(w), model(m), probe(p) {}
    ModelProbe(const ModelProbe&) = delete;
    ModelProbe& operator=(const ModelProbe&) = delete;
    ModelProbe(ModelProbe&&) = delete;
    ModelProbe& operator=(ModelProbe&&) = delete;
    ~ModelProbe() {
      if (probe != 0) windows.release(model, probe);
    }
  };

  // The error of a request whose model another request is probing on this profile.
  Error model_out(Member& m, std::string_view model, std::uint64_t generation) {
    const TimePoint at = now();
    Verdict verdict{.kind = VerdictKind::rate_limited};
    Error error = m.cell.messages().taken_out(verdict, m.cell.snapshot()->token->fingerprint,
                                              "for model '" + std::string{model} + "'",
                                              m.models.out_until(model, generation, at), at);
    return error;
  }

  // A rate limit for a request that named a model: only (profile, model) cools.
  std::pair<Next, std::optional<Result<Response>>> model_rate_limited(
      Member& m, std::string_view model, Ticket ticket, Verdict verdict, TimePoint at) {
    const auto token = m.cell.snapshot()->token;
    ticket.hand_back();
    std::optional<TimePoint> until;
    if (token->generation == ticket.generation) {  // a replaced credential's 429 changes nothing
      until = m.models.record(model, ticket.generation, verdict, at, [&](std::uint32_t failures) {
        return parts_.cooldown.on_failure(verdict, failures, m.cell.jitter())
            .value_or(std::chrono::milliseconds::zero());
      });
      if (until) notify(m, EventKind::cooldown_entered, *token, &verdict, until);
    }
    Error error = m.cell.messages().taken_out(verdict, token->fingerprint,
                                              "for model '" + std::string{model} + "'", until, at);
    return {Next::next_profile, Result<Response>{unexpected(std::move(error))}};
  }

  void observe_breaker(Member& m, BreakerState state, const Ticket& ticket,
                       const Verdict& verdict) {
    if (state == BreakerState::open) {
      observe(m, EventKind::breaker_opened, ticket, &verdict,
              parts_.provider->breaker().snapshot().until);
    } else if (state == BreakerState::closed) {
      observe(m, EventKind::breaker_closed, ticket, &verdict);
    }
  }

  // The components, with a provider guard of the pool's own when none is shared.
  static Components guarded(Components components) {
    if (!components.provider) components.provider = std::make_shared<ProviderGuard>();
    return components;
  }

  void observe(Member& m, EventKind kind, const Ticket& ticket, const Verdict* verdict,
               std::optional<TimePoint> until = {}) {
    if constexpr (kObserving) notify(m, kind, *ticket.token, verdict, until);
  }

  void notify(Member& m, EventKind kind, const detail::Token& token, const Verdict* verdict,
              std::optional<TimePoint> until) {
    detail::emit(parts_.observer, kind, m.options.profile, token, verdict, until);
  }

  static constexpr TimePoint::rep kNever = TimePoint::min().time_since_epoch().count();

  T transport_;
  PoolOptions options_;
  Components parts_;
  detail::OriginCache origins_;
  std::vector<std::unique_ptr<Member>> members_;
  std::vector<std::uint64_t> cumulative_;  // running sums of the weights
  std::atomic<std::uint64_t> turn_{0};     // round robin and weighted
  std::atomic<std::uint64_t> spill_{0};    // weighted: the shares of profiles that cannot serve
  std::atomic<TimePoint::rep> last_panic_{kNever};
  detail::SessionPins pins_;
};

}  // namespace keyward
