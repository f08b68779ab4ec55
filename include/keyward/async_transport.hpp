// AsyncTransport: a transport that starts a request and says when it ended, without a thread
// waiting for it.
//
// The asynchronous face (keyward/async.hpp, docs/async.md) sends through one. An AsyncTransport
// takes the request and a completion handler, a move-only callable taking a TransportResult, and
// calls the handler exactly once, when the exchange ended (a response, or why there is none):
//
// - never from inside async_send() itself (a request that fails at once completes later, through
//   the transport's executor), so the caller's state is never re-entered;
// - from any thread the transport chooses: the face dispatches the rest of its work onto the
//   operation's own executor;
// - the request (and a StreamHandler) stays alive, unchanged, until the handler is called;
// - when the handler has an asio cancellation slot associated with it
//   (`asio::get_associated_cancellation_slot`), the transport may cancel the exchange through it:
//   the handler then gets a TransportFailure of kind TransportErrc::cancelled.
//
// Everything else is the Transport contract (transport.hpp): any status is a response; the
// StreamHandler rules of streaming.hpp. The shipped one is transport::AsyncCurl
// (transport/async_curl.hpp); docs/async.md shows how to adapt another client.
#pragma once

#include <utility>

#include "keyward/streaming.hpp"
#include "keyward/transport.hpp"

namespace keyward {

namespace detail {
/// The least an AsyncTransport's completion handler can be: move-only, called once.
struct CompletionArchetype {
  CompletionArchetype() = default;
  CompletionArchetype(CompletionArchetype&&) = default;
  CompletionArchetype& operator=(CompletionArchetype&&) = default;
  CompletionArchetype(const CompletionArchetype&) = delete;
  CompletionArchetype& operator=(const CompletionArchetype&) = delete;
  ~CompletionArchetype() = default;
  /// Declared only: never called.
  void operator()(TransportResult result) &&;
};
}  // namespace detail

/// Starts one HTTP request and calls a completion handler with its TransportResult when it ends;
/// must be safe to call from several threads at once.
template <class T>
concept AsyncTransport = requires(T& transport, const Request& request,
                                  detail::CompletionArchetype handler) {
  transport.async_send(request, std::move(handler));
};

/// An AsyncTransport that can also stream: the StreamHandler's on_head() and on_body() are called
/// (from the transport's threads) before the completion handler, as streaming.hpp describes.
template <class T>
concept AsyncStreamingTransport = AsyncTransport<T> &&
    requires(T& transport, const Request& request, StreamHandler& stream,
             detail::CompletionArchetype handler) {
  transport.async_send(request, stream, std::move(handler));
};

}  // namespace keyward
