// AsyncPool: the asynchronous face of a CredentialPool, with asio completion tokens.
//
// Optional, as async.hpp: needs standalone asio and an AsyncTransport. An AsyncPool sends through
// a CredentialPool's own driver, seats, chooser and provider guard (docs/async.md, docs/pool.md):
// async_send() chooses a profile as send() does (the same function of the pool's), serves it
// with the operation AsyncCredential runs (detail::AsyncSend, the driver's steps a completion at
// a time), and on a credential-scoped failure moves on to the next profile; when none can
// serve, the panic rule or the one Errc::no_usable_credential error. A profile's refresh is one
// flight for its operations (detail::AsyncFlight, one per profile) and runs, with store work,
// on the AsyncPool's own threads.
#pragma once

#include <asio/any_io_executor.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "keyward/async_transport.hpp"
#include "keyward/detail/async_flight.hpp"
#include "keyward/detail/async_send.hpp"
#include "keyward/detail/messages.hpp"
#include "keyward/detail/url.hpp"
#include "keyward/error.hpp"
#include "keyward/pool.hpp"
#include "keyward/pool/member.hpp"
#include "keyward/pool/selection.hpp"
#include "keyward/result.hpp"
#include "keyward/transport.hpp"

namespace keyward {

namespace detail {

/// The pool's part of an AsyncSend: the profile the pool chooses, its flight and the PoolCall of
/// its attempts, and the failover to the next profile.
template <class T, class P>
class AsyncPoolRoute {
 public:
  using Pool = CredentialPool<T, P>;                          ///< The pool.
  using Driver = typename Pool::Driver;                       ///< The loop.
  using Transport = T;                                        ///< The transport.
  using Policies = P;                                         ///< The policies.
  using Flights = std::vector<std::unique_ptr<AsyncFlight>>;  ///< One per profile.

  /// A call to `pool`, whose profiles' refreshes operations join through `flights`, for `scope`
  /// (its model and session are copied: the operation outlives the caller's strings).
  AsyncPoolRoute(Pool& pool, Flights& flights, const RequestScope& scope)
      : pool_(&pool), flights_(&flights), model_(scope.model), session_(scope.session) {}

  /// The driver.
  Driver& driver() const noexcept { return pool_->driver_; }
  /// The chosen profile's seat.
  typename Driver::Seat& seat() const noexcept { return *pool_->members_[chosen_]->seat; }
  /// The chosen profile's refresh flight.
  AsyncFlight& flight() const noexcept { return *(*flights_)[chosen_]; }
  /// The pool's part of an attempt on the chosen profile.
  PoolCall<Driver>& call() noexcept { return *call_; }
  /// The panic rule's profile is probed even while it is out.
  bool force() const noexcept { return panic_; }
  /// The chosen profile's messages (the first profile's before one is chosen).
  const Messages& messages() const noexcept { return pool_->members_[chosen_]->cell.messages(); }
  /// Why `request` may not be sent (its URL), if it may not.
  std::optional<Error> refusal(const Request& request) const {
    if (pool_->origins_.allows(request.url)) return std::nullopt;
    return pool_->members_.front()->cell.messages().insecure_url(url_scheme(request.url));
  }
  /// Chooses the profile the call tries next as CredentialPool::send() does (its chooser, then
  /// its panic rule), or puts the one error of a call no profile can serve in `answer` (false).
  bool choose(Result<Response>& answer) {
    call_.reset();
    typename Pool::LazyNow at{pool_->parts_.clock};
    const typename Pool::Cell::InlinePin pin;  // keeps what the choice reads valid meanwhile
    const Snapshot* seen = nullptr;            // the admission loads its own: the op holds no Pin
    panic_ = false;
    const RequestScope scope{model_, session_};
    auto choice = rotation_ ? pool_->chooser_.choose(scope, rotation_->tried, at, seen)
                            : pool_->chooser_.choose(scope, NoneTried{}, at, seen);
    if (!choice) choice = pool_->panic_or_all_out(scope, rotation_, at, seen, panic_, answer);
    if (!choice) return false;
    chosen_ = *choice;
    // A braced temporary, moved in: clang 14 has no parenthesized aggregate initialization.
    call_.emplace(PoolCall<Driver>{pool_->driver_, pool_->options_,
                                   pool_->enter(chosen_, rotation_.get(), panic_),
                                   std::string_view{model_}});
    return true;
  }
  /// The chosen profile failed the call with the error in `answer`: the next one takes it.
  bool rotate(Result<Response>& answer) {
    detail::Rotation::fail(rotation_, pool_->members_.size(), chosen_, answer);
    return true;
  }

 private:
  Pool* pool_;
  Flights* flights_;
  std::string model_;
  std::string session_;
  std::unique_ptr<detail::Rotation> rotation_{};  // made by the first failure
  std::size_t chosen_ = 0;
  bool panic_ = false;
  std::optional<PoolCall<Driver>> call_{};  // on the chosen profile
};

}  // namespace detail

/// Sends asynchronously through `pool`, a CredentialPool whose transport is also an
/// AsyncTransport; the pool must outlive it, and it must outlive its operations.
template <class T, class Policies = DefaultPolicies>
class AsyncPool {
 public:
  using Pool = CredentialPool<T, Policies>;  ///< The pool it drives.
  static_assert(AsyncTransport<T>, "AsyncPool needs an AsyncTransport (async_transport.hpp)");

  /// Completes operations on `executor` unless their token names another; runs refreshes and
  /// store work on `blocking_threads` threads of its own.
  AsyncPool(Pool& pool, asio::any_io_executor executor, std::size_t blocking_threads = 2)
      : pool_(pool), flights_(flights(pool.size())), home_(std::move(executor), blocking_threads) {}
  /// Completes operations on the transport's executor (`transport().get_executor()`).
  explicit AsyncPool(Pool& pool, std::size_t blocking_threads = 2)
      : AsyncPool(pool, detail::transport_executor(pool.transport()), blocking_threads) {}
  AsyncPool(const AsyncPool&) = delete;
  AsyncPool& operator=(const AsyncPool&) = delete;
  AsyncPool(AsyncPool&&) = delete;
  AsyncPool& operator=(AsyncPool&&) = delete;
  /// Waits for refreshes and store work under way on its threads.
  ~AsyncPool() = default;

  /// CredentialPool::send() without a thread waiting: a profile chosen for `scope` (its strings
  /// are copied), failing over to the next on a credential-scoped failure. `token`: as
  /// AsyncCredential::async_send()'s.
  template <class Token>
  auto async_send(Request request, const RequestScope& scope, Token&& token) {
    return detail::async_send(home_, std::move(request), nullptr, route(scope),
                              std::forward<Token>(token));
  }
  /// async_send() for a request that names no model or session.
  template <class Token>
  auto async_send(Request request, Token&& token) {
    return async_send(std::move(request), RequestScope{}, std::forward<Token>(token));
  }

  /// CredentialPool::send_stream() without a thread waiting, under its rules: a failover happens
  /// before `sink` sees a byte; once it has one, nothing is sent again.
  template <class Sink, class Token>
  requires AsyncStreamingTransport<T> && std::is_invocable_r_v<bool, Sink&, std::string_view>
  auto async_send_stream(Request request, Sink sink, const RequestScope& scope, Token&& token) {
    return detail::async_send(home_, std::move(request), std::move(sink), route(scope),
                              std::forward<Token>(token));
  }

  /// async_send_stream() for a request that names no model or session.
  template <class Sink, class Token>
  requires AsyncStreamingTransport<T> && std::is_invocable_r_v<bool, Sink&, std::string_view>
  auto async_send_stream(Request request, Sink sink, Token&& token) {
    return async_send_stream(std::move(request), std::move(sink), RequestScope{},
                             std::forward<Token>(token));
  }

  /// The pool it drives.
  [[nodiscard]] Pool& pool() noexcept { return pool_; }
  /// The executor operations complete on by default.
  [[nodiscard]] const asio::any_io_executor& get_executor() const noexcept {
    return home_.executor();
  }

 private:
  using Route = detail::AsyncPoolRoute<T, Policies>;

  static typename Route::Flights flights(std::size_t n) {
    typename Route::Flights made;
    for (std::size_t i = 0; i < n; ++i) made.push_back(std::make_unique<detail::AsyncFlight>());
    return made;
  }
  Route route(const RequestScope& scope) { return Route{pool_, flights_, scope}; }

  Pool& pool_;
  typename Route::Flights flights_;
  detail::AsyncHome home_;  // last: destroyed first, it waits for the work that uses the flights
};

}  // namespace keyward
