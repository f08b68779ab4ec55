// ResilientCredential<Transport, Policies>: one credential kept alive for an HTTP client.
//
// A thin face over detail::Driver (detail/driver.hpp), the request loop it shares with
// CredentialPool (docs/architecture.md): one seat, a CredentialCell (the state machine) with its
// RefreshCoordinator (single-flight refresh through the CredentialStore). send() admits,
// attaches, sends, follows redirects, classifies, records and acts: deliver, replay, refresh once
// and replay, retry a provider-scoped failure (within the provider's retry budget, behind its
// circuit breaker, and only when sending twice is safe: docs/retries.md), or fail with an Error
// that names the profile, the fingerprint, what the provider said and the fix. Exceptions from
// any policy reach the caller; RAII leaves the credential where the next request can proceed.
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "keyward/attacher.hpp"
#include "keyward/classifier.hpp"
#include "keyward/clock.hpp"
#include "keyward/cooldown_policy.hpp"
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
#include "keyward/options.hpp"
#include "keyward/preflight.hpp"
#include "keyward/provider_guard.hpp"
#include "keyward/refresh_strategy.hpp"
#include "keyward/result.hpp"
#include "keyward/status.hpp"
#include "keyward/streaming.hpp"
#include "keyward/transport.hpp"

namespace keyward {

namespace detail {
template <class T, class Policies>
class AsyncSingleRoute;  // the asynchronous face's steps (async.hpp)
}  // namespace detail

/// Keeps one credential working for requests sent through a Transport.
template <Transport T, class Policies = DefaultPolicies>
requires detail::DriverPolicies<Policies, T>
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
      : driver_(std::move(transport), std::move(components)),
        options_(validated(std::move(options))) {
    driver_.emplace_seat(seat_, options_, driver_.parts().store, credential);
    driver_.seed(*seat_);
  }  // neither copyable nor movable: the parts refer to one another

  /// Takes the credential as loaded from a shared store (`store.load()`): when another process
  /// stored a newer generation meanwhile, that one is used rather than overwritten.
  ResilientCredential(T transport, const StoredCredential& loaded, Options options = {},
                      Components components = {})
      : driver_(std::move(transport), std::move(components)),
        options_(validated(std::move(options))) {
    driver_.emplace_seat(seat_, options_, driver_.parts().store, loaded.credential);
    driver_.seed(*seat_, loaded);
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
    return driver_.replace(*seat_, std::move(credential), [] {});
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
    return seat_->cell.read([&](const detail::Snapshot& snapshot) -> R {
      const Current current{snapshot};
      return std::invoke(std::forward<F>(f), current);
    });
  }

  /// A snapshot of the credential's state, free of secrets.
  [[nodiscard]] Status status() const {
    Status status = detail::describe(*seat_->cell.snapshot(), options_.profile);
    seat_->coordinator.describe(status);
    return status;
  }

  /// The transport, for adapters that expose their own controls.
  [[nodiscard]] T& transport() noexcept { return driver_.transport(); }
  /// The observer, for observers that collect events.
  [[nodiscard]] typename Policies::Observer& observer() noexcept {
    return driver_.parts().observer;
  }
  /// The store.
  [[nodiscard]] typename Policies::Store& store() noexcept { return driver_.parts().store; }
  /// The options in use.
  [[nodiscard]] const Options& options() const noexcept { return options_; }
  /// The provider's retry budget and circuit breaker (Components::provider, or this
  /// credential's own).
  [[nodiscard]] ProviderGuard& provider() noexcept { return *driver_.parts().provider; }

 private:
  template <class, class>
  friend class detail::AsyncSingleRoute;
  using Driver = detail::Driver<T, Policies>;

  static Options validated(Options options) {
    validate(options);
    return options;
  }

  Result<Response> run(Request& request, bool probe, detail::StreamAttempt* stream = nullptr) {
    // The call's one Result, returned by name (so without a move): the response is moved once,
    // from the transport's answer into it.
    Result<Response> answer{detail::NoResponseYet{}};
    if (!origins_.allows(request.url)) {
      answer = unexpected(seat_->cell.messages().insecure_url(detail::url_scheme(request.url)));
      return answer;
    }
    const typename Driver::Cell::Pin pin;  // keeps the token whose fields are lent alive
    const detail::Loan loan{request.headers};
    detail::Plain plain;
    typename Driver::Now first{driver_.parts().clock};
    driver_.serve(*seat_, request, plain, probe, stream, first, answer);
    return answer;
  }

  Driver driver_;
  Options options_;
  std::optional<typename Driver::Seat> seat_;                  // always built (in place)
  detail::OriginCache origins_{options_.allow_insecure_http};  // the URL check, per origin
};

}  // namespace keyward
