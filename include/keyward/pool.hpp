// CredentialPool<Transport, Policies>: several profiles of one provider behind one transport.
//
// A face over detail::Driver (detail/driver.hpp), the loop it shares with ResilientCredential,
// with a seat per profile (docs/architecture.md, docs/pool.md). send() chooses a profile
// (pool/chooser.hpp) and the driver serves the request on it; a credential-scoped failure moves
// the call on to the next profile, each tried once; a provider-scoped one never rotates. When
// nothing can serve, the panic rule probes the profile whose estimated window ends first, or the
// call fails with one Errc::no_usable_credential error saying why each profile is out.
#pragma once

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

#include "keyward/credential.hpp"
#include "keyward/credential_store.hpp"
#include "keyward/default_policies.hpp"
#include "keyward/detail/driver.hpp"
#include "keyward/detail/may_view.hpp"
#include "keyward/detail/origin_cache.hpp"
#include "keyward/detail/stream_attempt.hpp"
#include "keyward/detail/url.hpp"
#include "keyward/error.hpp"
#include "keyward/observer.hpp"
#include "keyward/pool/chooser.hpp"
#include "keyward/pool/member.hpp"
#include "keyward/pool/profile.hpp"
#include "keyward/pool/rotation.hpp"
#include "keyward/pool/status.hpp"
#include "keyward/result.hpp"
#include "keyward/streaming.hpp"
#include "keyward/transport.hpp"

namespace keyward {

namespace detail {
template <class T, class Policies>
class AsyncPoolRoute;
}  // namespace detail

/// Keeps a pool of profiles (credentials) of one provider working for requests sent through a
/// Transport, failing over between them.
template <Transport T, class Policies = DefaultPolicies>
requires detail::DriverPolicies<Policies, T>
class CredentialPool {
 public:
  using Store = typename Policies::Store;            ///< Each profile's store.
  using Components = keyward::Components<Policies>;  ///< The shared policy instances.

  using Profile = PoolProfile<Store>;              ///< One profile (pool/profile.hpp).
  using StoredProfile = StoredPoolProfile<Store>;  ///< One profile as loaded from its store.

  /// Takes the transport, the profiles (in priority order), the options and the policies shared
  /// by every profile (Components::store is unused: each profile has its own). Throws
  /// std::invalid_argument naming the problem (never a secret) when a profile or option is
  /// unusable, and std::runtime_error when a store fails.
  CredentialPool(T transport, std::vector<Profile> profiles, PoolOptions options = {},
                 Components components = {})
      : CredentialPool(std::move(transport), std::move(options), std::move(components),
                       profiles.size()) {
    for (Profile& p : profiles) {
      add(std::move(p.name), p.credential, p.weight, std::move(p.store), nullptr);
    }
  }  // neither copyable nor movable: the members refer to the pool

  /// Each profile as loaded from its store, like ResilientCredential's stored constructor (a
  /// template only so that `{}` still means no Profile).
  template <std::same_as<StoredProfile> P>
  CredentialPool(T transport, std::vector<P> profiles, PoolOptions options = {},
                 Components components = {})
      : CredentialPool(std::move(transport), std::move(options), std::move(components),
                       profiles.size()) {
    for (P& p : profiles) {
      add(std::move(p.name), p.loaded.credential, p.weight, std::move(p.store), &p.loaded);
    }
  }

  /// Sends `request` with a profile chosen for `scope`, failing over to the next profile on a
  /// credential-scoped failure; the response, or an Error (Errc::no_usable_credential when no
  /// profile could serve, with Error::profiles saying why each is out).
  Result<Response> send(Request& request, RequestScope scope) {
    return run(request, scope, kAny, nullptr);
  }
  /// send() for a request that names no model or session (a scope of its own, not one the
  /// caller builds for each call).
  Result<Response> send(Request& request) { return run(request, kNoScope, kAny, nullptr); }
  /// send() for a request built in the call.
  Result<Response> send(Request&& request, RequestScope scope) { return send(request, scope); }
  /// send() for a request built in the call, naming no model or session.
  Result<Response> send(Request&& request) { return send(request); }

  /// send() for a response that streams, with the rules of ResilientCredential::send_stream: a
  /// failover, refresh, retry or refusal happens before `sink` sees a byte; once it has one,
  /// nothing is sent again, to this profile or another.
  template <class Sink>
  requires StreamingTransport<T> && std::is_invocable_r_v<bool, Sink&, std::string_view>
      Result<Response> send_stream(Request& request, Sink&& sink, RequestScope scope = {}) {
    detail::StreamAttempt stream{sink};
    return run(request, scope, kAny, &stream);
  }

  /// Sends the provider's health request through profile `profile`, probing it at once even if
  /// it is out, and records the verdict like any request's.
  Result<Response> probe(std::string_view profile) requires requires { Policies::health_request(); }
  { return probe(profile, Policies::health_request()); }

  /// probe() with a health request of the caller's choice.
  Result<Response> probe(std::string_view profile, Request health_request) {
    const auto index = detail::find_profile(members_, profile);
    if (!index) return unexpected(detail::unknown_profile(prefix(), profile));
    return run(health_request, {}, *index, nullptr);
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
    const auto index = detail::find_profile(members_, profile);
    if (!index) return unexpected(detail::unknown_profile(prefix(), profile));
    Member& m = *members_[*index];
    return driver_.replace(*m.seat, std::move(credential), [&m] {
      m.models.clear_all();
      m.stated.clear();
    });
  }

  /// Chooses a profile for `scope` as send() would (no panic; one relaxed write at most) and
  /// calls `f(std::string_view profile, const CurrentCredential&)` with its credential, read
  /// lock-free; nothing when none can serve. `f` may not return anything that can view the
  /// credential (detail/may_view.hpp; refused at compile time): copy what must outlive the call.
  template <class F>
  auto with_chosen(RequestScope scope, F&& f)
      -> std::optional<std::invoke_result_t<F, std::string_view, const CurrentCredential&>> {
    static_assert(
        !detail::may_view<std::invoke_result_t<F, std::string_view, const CurrentCredential&>>,
        "with_chosen(scope, f): f must not return a reference, pointer, string_view, span or "
        "anything holding one: the credential is valid only during the call; return a copy");
    LazyNow now{parts_.clock};
    const typename Cell::InlinePin pin;  // keeps the snapshot the choice read valid in the call
    const detail::Snapshot* seen = nullptr;
    const auto chosen = chooser_.choose(scope, detail::NoneTried{}, now, seen);
    if (!chosen) return std::nullopt;
    return std::invoke(std::forward<F>(f), std::string_view{members_[*chosen]->options.profile},
                       CurrentCredential{*seen});
  }

  /// A snapshot of every profile, free of secrets.
  [[nodiscard]] PoolStatus status() const { return chooser_.status(now()); }
  /// The transport.
  [[nodiscard]] T& transport() noexcept { return driver_.transport(); }
  /// The observer.
  [[nodiscard]] typename Policies::Observer& observer() noexcept { return parts_.observer; }
  /// The provider's retry budget and circuit breaker (Components::provider, or the pool's own).
  [[nodiscard]] ProviderGuard& provider() noexcept { return *parts_.provider; }
  /// The options in use.
  [[nodiscard]] const PoolOptions& options() const noexcept { return options_; }
  /// How many profiles the pool has.
  [[nodiscard]] std::size_t size() const noexcept { return members_.size(); }

 private:
  static constexpr RequestScope kNoScope{};                          // send()'s, when given none
  static constexpr std::size_t kAny = static_cast<std::size_t>(-1);  // run(): any profile

  template <class, class>
  friend class detail::AsyncPoolRoute;  // the asynchronous face's steps (async_pool.hpp)
  using Driver = detail::Driver<T, Policies>;
  using Cell = typename Driver::Cell;
  using LazyNow = typename Driver::Now;
  using Next = detail::Next;
  using Member = detail::PoolMember<Driver>;
  using Chooser = detail::Chooser<Member, typename Policies::Clock>;

  // Every part built; the constructors then add the profiles.
  CredentialPool(T transport, PoolOptions options, Components components, std::size_t count)
      : driver_(std::move(transport), std::move(components)),
        options_(validated(std::move(options))),
        origins_(options_.credential.allow_insecure_http) {
    if (count == 0) throw std::invalid_argument(prefix() + "a pool needs a profile");
  }

  void add(std::string name, const Credential& credential, std::uint32_t weight, Store store,
           const StoredCredential* loaded) {
    detail::add_member(driver_, members_, prefix(), options_.credential, std::move(name),
                       credential, weight, std::move(store), loaded);
    chooser_.add(weight);
  }

  static PoolOptions validated(PoolOptions options) {
    validate(options);
    return options;
  }
  [[nodiscard]] std::string prefix() const {
    return "keyward: provider '" + options_.provider + "': ";
  }
  [[nodiscard]] TimePoint now() const { return parts_.clock.now(); }

  using Rotation = detail::Rotation;  // made by a call's first failure (pool/rotation.hpp)

  // `only`: the profile a probe() sends with, or kAny for the one the selection chooses (an
  // index, not an optional, which g++ kept testing in send()'s call).
  Result<Response> run(Request& request, const RequestScope& scope, std::size_t only,
                       detail::StreamAttempt* stream) {
    // The call's one Result, returned by name (so without a move), as for a single credential.
    Result<Response> answer{detail::NoResponseYet{}};
    if (!origins_.allows(request.url)) {
      answer = unexpected(
          members_.front()->cell.messages().insecure_url(detail::url_scheme(request.url)));
      return answer;
    }
    const typename Cell::InlinePin pin;  // keeps the token whose fields are lent alive until return
    const detail::Loan loan{request.headers};
    std::unique_ptr<Rotation> rotation;  // made by the first failure
    for (;;) {
      LazyNow at{parts_.clock};
      bool panic = false;
      std::size_t chosen = only;
      const detail::Snapshot* seen = nullptr;  // the chosen profile's, as the choice read it
      if (only == kAny) {
        auto choice = rotation ? chooser_.choose(scope, rotation->tried, at, seen)
                               : chooser_.choose(scope, detail::NoneTried{}, at, seen);
        if (!choice) {
          choice = panic_or_all_out(scope, rotation, at, seen, panic, answer);
          if (!choice) return answer;
        }
        chosen = *choice;
      }
      Member& m = enter(chosen, rotation.get(), panic);
      detail::PoolCall<Driver> call{driver_, options_, m, scope.model};
      const Next next = driver_.template serve_inline<true>(
          *m.seat, request, call, panic || only != kAny, stream, at, answer, seen);
      if (next == Next::done || only != kAny) return answer;
      // The profile failed this request: the next one takes it.
      Rotation::fail(rotation, members_.size(), chosen, answer);
    }
  }

  // Profile `chosen` takes the call: the failover and panic events. The asynchronous face
  // (async_pool.hpp) enters with it too, and chooses with the chooser and panic_or_all_out()
  // as run() does (inlined there: a choose() of the three cost some 13 instructions a send).
  [[gnu::always_inline]] Member& enter(std::size_t chosen, Rotation* rotation, bool panic) {
    Member& m = *members_[chosen];
    if (rotation != nullptr && rotation->from) [[unlikely]] {
      announce_failover(*rotation, m);
    }
    if (panic) [[unlikely]] {
      const auto s = m.cell.snapshot();
      driver_.notify(*m.seat, EventKind::panic, *s->token, nullptr, s->until);
    }
    return m;
  }

  // Nothing can serve the call: the profile the panic rule probes (`panic` set; `seen` reset:
  // the choice read others, so the probe's admission loads its own), or nothing, with the one
  // error saying why each profile is out in `answer`.
  [[gnu::noinline]] std::optional<std::size_t> panic_or_all_out(
      const RequestScope& scope, std::unique_ptr<Rotation>& rotation, LazyNow& at,
      const detail::Snapshot*& seen, bool& panic, Result<Response>& answer) {
    if (!rotation) rotation = std::make_unique<Rotation>(members_.size());
    auto out = chooser_.outage(scope.model, rotation->tried, at());
    if (out.panic && chooser_.claim_panic(at())) {
      seen = nullptr;
      panic = true;
      return out.panic;
    }
    answer = unexpected(detail::report_all_out<Chooser>(parts_.observer, options_.provider,
                                                        prefix(), members_, std::move(out), at(),
                                                        rotation->failures));
    return std::nullopt;
  }

  [[gnu::noinline]] void announce_failover(Rotation& rotation, const Member& to) {
    detail::announce_failover(parts_.observer, *members_[*rotation.from], to,
                              rotation.failures.back().second);
    rotation.from.reset();
  }

  Driver driver_;
  PoolOptions options_;
  Components& parts_ = driver_.parts();
  detail::OriginCache origins_;
  std::vector<std::unique_ptr<Member>> members_;
  Chooser chooser_{members_, options_};
};

}  // namespace keyward
