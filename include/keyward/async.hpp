// AsyncCredential: the asynchronous face of a ResilientCredential, with asio completion tokens.
//
// Optional: needs standalone asio (Debian: libasio-dev) and an AsyncTransport
// (async_transport.hpp; transport::AsyncCurl is the shipped one). Nothing else in keyward
// includes this header.
//
// An AsyncCredential sends through a ResilientCredential's own driver, cell, coordinator and
// store (docs/async.md): blocking and asynchronous callers of one credential share its state and
// its single flight. async_send() takes the steps of detail::Driver's loop (admit, attach, send,
// follow redirects, classify, record, act) one at a time around its completions, so no thread
// waits on the network, a retry's wait (an asio timer) or another operation's refresh (a
// completion). The work that blocks by nature (a refresh's token call, which goes through the
// transport's synchronous send, and its store: locks, fsync) runs on a small thread pool of the
// AsyncCredential's own and completes on the operation's executor.
//
// The completion signature is `void(std::exception_ptr, Result<Response>)`, asio's form for an
// operation that may throw: what a policy, an observer or the transport throws reaches the
// caller (rethrown by `use_awaitable` and `use_future`), after RAII has left the credential
// where the next request can proceed. Cancelling an operation (an asio cancellation slot) ends it
// with Errc::cancelled: the transport's exchange is cancelled, nothing is recorded against the
// credential, and a refresh it started goes on for the others.
//
// Stores that share cooldowns (SharesCooldowns: Redis, the credentials file, OpenClaw's state)
// are looked up and written on the same threads. A pool's asynchronous face is AsyncPool
// (async_pool.hpp), over the same operation.
#pragma once

#include <asio/any_io_executor.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "keyward/async_transport.hpp"
#include "keyward/detail/async_flight.hpp"
#include "keyward/detail/async_send.hpp"
#include "keyward/detail/driver.hpp"
#include "keyward/detail/messages.hpp"
#include "keyward/detail/url.hpp"
#include "keyward/error.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/result.hpp"
#include "keyward/transport.hpp"

namespace keyward {

namespace detail {

/// The single credential's part of an AsyncSend: its one seat, its flight, no per-attempt extras.
template <class T, class P>
class AsyncSingleRoute {
 public:
  using Driver = detail::Driver<T, P>;  ///< The loop.
  using Transport = T;                  ///< The transport.
  using Policies = P;                   ///< The policies.

  /// The seat of `credential`, whose refreshes operations join through `flight`.
  AsyncSingleRoute(ResilientCredential<T, P>& credential, AsyncFlight& flight) noexcept
      : credential_(&credential), flight_(&flight) {}

  /// The driver.
  Driver& driver() const noexcept { return credential_->driver_; }
  /// The one seat.
  typename Driver::Seat& seat() const noexcept { return *credential_->seat_; }
  /// Its refresh flight.
  AsyncFlight& flight() const noexcept { return *flight_; }
  /// No per-attempt extras.
  Plain& call() noexcept { return plain_; }
  /// Never probes a credential that is out.
  static constexpr bool force() noexcept { return false; }
  /// Its messages.
  const Messages& messages() const noexcept { return seat().cell.messages(); }
  /// Why `request` may not be sent (its URL), if it may not.
  std::optional<Error> refusal(const Request& request) const {
    if (credential_->origins_.allows(request.url)) return std::nullopt;
    return seat().cell.messages().insecure_url(url_scheme(request.url));
  }
  /// Its one seat serves every request.
  static constexpr bool choose(const Result<Response>& /*answer*/) noexcept { return true; }
  /// No other seat: the caller gets the error.
  static constexpr bool rotate(const Result<Response>& /*answer*/) noexcept { return false; }

 private:
  ResilientCredential<T, P>* credential_;
  AsyncFlight* flight_;
  Plain plain_;
};

}  // namespace detail

/// What an asynchronous send completes with: an exception a policy threw, or the send's Result.
using AsyncSendSignature = detail::AsyncSendSignature;

/// Sends asynchronously through `credential`, a ResilientCredential whose transport is also an
/// AsyncTransport; the credential must outlive it, and it must outlive its operations.
template <class T, class Policies = DefaultPolicies>
class AsyncCredential {
 public:
  using Credential = ResilientCredential<T, Policies>;  ///< The credential it drives.
  static_assert(AsyncTransport<T>, "AsyncCredential needs an AsyncTransport (async_transport.hpp)");

  /// Completes operations on `executor` unless their token names another; runs refreshes and
  /// store work on `blocking_threads` threads of its own.
  AsyncCredential(Credential& credential, asio::any_io_executor executor,
                  std::size_t blocking_threads = 2)
      : credential_(credential), home_(std::move(executor), blocking_threads) {}
  /// Completes operations on the transport's executor (`transport().get_executor()`).
  explicit AsyncCredential(Credential& credential, std::size_t blocking_threads = 2)
      : AsyncCredential(credential, detail::transport_executor(credential.transport()),
                        blocking_threads) {}
  AsyncCredential(const AsyncCredential&) = delete;
  AsyncCredential& operator=(const AsyncCredential&) = delete;
  AsyncCredential(AsyncCredential&&) = delete;
  AsyncCredential& operator=(AsyncCredential&&) = delete;
  /// Waits for refreshes and store work under way on its threads.
  ~AsyncCredential() = default;

  /// send() without a thread waiting: completes with the response for ok, forbidden,
  /// request_error and provider-scoped failures once retries are spent, or an Error (as
  /// ResilientCredential::send()). `token`: a callback taking (std::exception_ptr,
  /// Result<Response>), `asio::use_future`, `asio::use_awaitable`, `asio::experimental::deferred`.
  template <class Token>
  auto async_send(Request request, Token&& token) {
    return detail::async_send(home_, std::move(request), nullptr, route(),
                              std::forward<Token>(token));
  }

  /// send_stream() without a thread waiting: a 2xx body flows to `sink(std::string_view)`
  /// (false stops it), called on the transport's threads; the rules of
  /// ResilientCredential::send_stream() hold (nothing is sent again once `sink` has a byte).
  template <class Sink, class Token>
  requires AsyncStreamingTransport<T> && std::is_invocable_r_v<bool, Sink&, std::string_view>
  auto async_send_stream(Request request, Sink sink, Token&& token) {
    return detail::async_send(home_, std::move(request), std::move(sink), route(),
                              std::forward<Token>(token));
  }

  /// The credential it drives.
  [[nodiscard]] Credential& credential() noexcept { return credential_; }
  /// The executor operations complete on by default.
  [[nodiscard]] const asio::any_io_executor& get_executor() const noexcept {
    return home_.executor();
  }

 private:
  detail::AsyncSingleRoute<T, Policies> route() noexcept { return {credential_, flight_}; }

  Credential& credential_;
  detail::AsyncFlight flight_;
  detail::AsyncHome home_;  // last: destroyed first, it waits for the work that uses the flight
};

}  // namespace keyward
