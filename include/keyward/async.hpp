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
// Not yet (docs/async.md): the pool's asynchronous face, and stores that share cooldowns
// (SharesCooldowns: Redis, the credentials file), whose lookups would block; both are refused
// at compile time.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/compose.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "keyward/async_transport.hpp"
#include "keyward/detail/async_send.hpp"
#include "keyward/error.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/result.hpp"
#include "keyward/transport.hpp"

namespace keyward {

/// What an asynchronous send completes with: an exception a policy threw, or the send's Result.
using AsyncSendSignature = void(std::exception_ptr, Result<Response>);

/// Sends asynchronously through `credential`, a ResilientCredential whose transport is also an
/// AsyncTransport; the credential must outlive it, and it must outlive its operations.
template <class T, class Policies = DefaultPolicies>
class AsyncCredential {
 public:
  using Credential = ResilientCredential<T, Policies>;  ///< The credential it drives.
  static_assert(AsyncTransport<T>, "AsyncCredential needs an AsyncTransport (async_transport.hpp)");
  static_assert(!SharesCooldowns<typename Policies::Store>,
                "AsyncCredential does not yet take a store that shares cooldowns (docs/async.md)");

  /// Completes operations on `executor` unless their token names another; runs refreshes on
  /// `blocking_threads` threads of its own.
  AsyncCredential(Credential& credential, asio::any_io_executor executor,
                  std::size_t blocking_threads = 2)
      : credential_(credential), executor_(std::move(executor)), blocking_(blocking_threads) {}
  /// Completes operations on the transport's executor (`transport().get_executor()`).
  explicit AsyncCredential(Credential& credential, std::size_t blocking_threads = 2) requires
      requires(T& t) {
    asio::any_io_executor{t.get_executor()};
  } : AsyncCredential(credential, credential.transport().get_executor(), blocking_threads) {
  }
  AsyncCredential(const AsyncCredential&) = delete;
  AsyncCredential& operator=(const AsyncCredential&) = delete;
  AsyncCredential(AsyncCredential&&) = delete;
  AsyncCredential& operator=(AsyncCredential&&) = delete;
  /// Waits for refreshes under way on its threads.
  ~AsyncCredential() { blocking_.join(); }

  /// send() without a thread waiting: completes with the response for ok, forbidden,
  /// request_error and provider-scoped failures once retries are spent, or an Error (as
  /// ResilientCredential::send()). `token`: a callback taking (std::exception_ptr,
  /// Result<Response>), `asio::use_future`, `asio::use_awaitable`, `asio::experimental::deferred`.
  template <class Token>
  auto async_send(Request request, Token&& token) {
    return start(std::move(request), nullptr, std::forward<Token>(token));
  }

  /// send_stream() without a thread waiting: a 2xx body flows to `sink(std::string_view)`
  /// (false stops it), called on the transport's threads; the rules of
  /// ResilientCredential::send_stream() hold (nothing is sent again once `sink` has a byte).
  template <class Sink, class Token>
  requires AsyncStreamingTransport<T> && std::is_invocable_r_v<bool, Sink&, std::string_view>
  auto async_send_stream(Request request, Sink sink, Token&& token) {
    auto held = std::make_unique<detail::HeldSink<Sink>>(std::move(sink));
    return start(std::move(request), std::move(held), std::forward<Token>(token));
  }

  /// The credential it drives.
  [[nodiscard]] Credential& credential() noexcept { return credential_; }
  /// The executor operations complete on by default.
  [[nodiscard]] const asio::any_io_executor& get_executor() const noexcept { return executor_; }

 private:
  template <class, class>
  friend class detail::AsyncSend;
  using Op = detail::AsyncSend<T, Policies>;

  template <class Token>
  auto start(Request request, std::unique_ptr<detail::SinkBase> sink, Token&& token) {
    auto state = std::make_unique<typename Op::State>(std::move(request), std::move(sink));
    return asio::async_compose<Token, AsyncSendSignature>(Op{*this, std::move(state)}, token,
                                                          executor_);
  }

  Credential& credential_;
  asio::any_io_executor executor_;
  asio::thread_pool blocking_;
  detail::AsyncFlight flight_;
};

}  // namespace keyward
