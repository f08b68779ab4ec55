// transport::AsyncCurl: a keyward AsyncTransport and AsyncStreamingTransport (async_transport.hpp)
// over libcurl's multi interface driven by asio, and a Transport and StreamingTransport too.
//
// Optional: nothing else in keyward includes this header; link keyward::async_curl (CMake, when
// libcurl, standalone asio and threads are found; Debian: libcurl4-openssl-dev, libasio-dev).
//
// Behaviour: that of transport::Curl (curl.hpp), from the same code (detail/curl_exchange.hpp):
// the URL and proxy rules, no redirect followed, TLS verified, the connect and total timeouts and
// Request::timeout, the body bound, the same TransportErrc for the same fault (docs/http.md).
//
// How: one libcurl multi handle per transport (copies share it) whose sockets and timer are asio
// ones (detail/curl_multi.hpp): no thread waits for a response. All of its work runs on a strand
// of the executor given; async_send() may be called from any thread. The completion handler is
// called once, on that strand, never from inside async_send(). The multi handle keeps up to
// HttpOptions::max_idle_connections connections for reuse and opens at most that many to one
// host at once (at least 1); further requests wait for one in the transport's own queue, their
// total timeout counting the wait (detail/curl_multi.hpp).
//
// Cancellation: a handler with an asio cancellation slot (asio::bind_cancellation_slot) can be
// cancelled through it (terminal or partial): the transfer is removed from the multi handle, its
// connection closed, and the handler gets TransportErrc::cancelled. Emit the signal from the
// thread that runs the executor, or otherwise not while the exchange completes: asio's slots are
// not safe against a concurrent emit and clear.
//
// Lifetime: the executor's execution context must outlive the transport. When the last copy of
// a transport is destroyed, every exchange still in flight completes with TransportErrc::cancelled
// (on the strand, once the executor runs it).
//
// send() (Transport, StreamingTransport) is synchronous: a transport::Curl with the same options,
// for what must block (keyward's refresh strategy makes its token call that way).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/post.hpp>
#include <concepts>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include "keyward/async_transport.hpp"
#include "keyward/streaming.hpp"
#include "keyward/transport.hpp"
#include "keyward/transport/curl.hpp"
#include "keyward/transport/detail/curl_multi.hpp"
#include "keyward/transport/options.hpp"

namespace keyward::transport {

/// Sends requests through libcurl's multi interface on an asio executor; copies share one multi
/// handle and its connections.
class AsyncCurl {
 public:
  /// A transport whose work runs on a strand of `executor`, with `options`.
  explicit AsyncCurl(const asio::any_io_executor& executor, HttpOptions options = {})
      : sync_(options), owner_(std::make_shared<Owner>(executor, std::move(options))) {}

  /// Starts sending `request`, collecting the whole body; `handler(TransportResult)` is called
  /// once when it ends. `request` stays alive and unchanged until then.
  template <class Handler>
  requires std::invocable<std::decay_t<Handler>, TransportResult>
  void async_send(const Request& request, Handler&& handler) {
    launch(request, nullptr, std::forward<Handler>(handler));
  }
  /// Starts sending `request`, handing its head to `stream` before the body is read
  /// (streaming.hpp); `handler(TransportResult)` is called once when it ends. `request` and
  /// `stream` stay alive until then.
  template <class Handler>
  requires std::invocable<std::decay_t<Handler>, TransportResult>
  void async_send(const Request& request, StreamHandler& stream, Handler&& handler) {
    launch(request, &stream, std::forward<Handler>(handler));
  }

  /// Sends `request` synchronously, collecting the whole body.
  TransportResult send(const Request& request) { return sync_.send(request); }
  /// Sends `request` synchronously, streaming it to `handler` (streaming.hpp).
  TransportResult send(const Request& request, StreamHandler& handler) {
    return sync_.send(request, handler);
  }

  /// The options in use.
  [[nodiscard]] const HttpOptions& options() const noexcept { return sync_.options(); }
  /// The executor it was given (its work runs on a strand of it): an AsyncCredential made
  /// without one completes its operations there.
  [[nodiscard]] asio::any_io_executor get_executor() const noexcept {
    return owner_->multi->strand().get_inner_executor();
  }

 private:
  // Shared by copies; the last one gone cancels what is in flight.
  struct Owner {
    Owner(const asio::any_io_executor& executor, HttpOptions options)
        : multi(std::make_shared<detail::CurlMulti>(executor, std::move(options))) {}
    Owner(const Owner&) = delete;
    Owner& operator=(const Owner&) = delete;
    Owner(Owner&&) = delete;
    Owner& operator=(Owner&&) = delete;
    // NOLINTNEXTLINE(bugprone-exception-escape): post() throws only std::bad_alloc
    ~Owner() {
      asio::post(multi->strand(), [multi = multi] { multi->shut_down(); });
    }
    std::shared_ptr<detail::CurlMulti> multi;
  };

  // Ends operation `id` when its handler's slot is emitted.
  struct Canceller {
    std::weak_ptr<detail::CurlMulti> multi;
    std::uint64_t id;
    void operator()(asio::cancellation_type type) const {
      if ((type & (asio::cancellation_type::terminal | asio::cancellation_type::partial)) ==
          asio::cancellation_type::none) {
        return;
      }
      if (auto alive = multi.lock()) {
        asio::post(alive->strand(), [alive, id = id] { alive->cancel(id); });
      }
    }
  };

  template <class Handler>
  class Operation final : public detail::CurlOperation {
   public:
    Operation(const Request& request, const HttpOptions& options, StreamHandler* stream,
              Handler handler)
        : CurlOperation(request, options, stream),
          handler_(std::move(handler)),
          slot_(asio::get_associated_cancellation_slot(handler_)) {}
    void connect(const std::shared_ptr<detail::CurlMulti>& multi) {
      if (slot_.is_connected()) slot_.template emplace<Canceller>(Canceller{multi, id});
    }
    void complete(TransportResult result) override {
      if (slot_.is_connected()) slot_.clear();
      Handler handler = std::move(handler_);
      std::move(handler)(std::move(result));
    }

   private:
    Handler handler_;
    asio::cancellation_slot slot_;
  };

  template <class Handler>
  void launch(const Request& request, StreamHandler* stream, Handler&& handler) {
    const std::shared_ptr<detail::CurlMulti>& multi = owner_->multi;
    auto op = std::make_unique<Operation<std::decay_t<Handler>>>(request, multi->options(), stream,
                                                                 std::forward<Handler>(handler));
    op->id = multi->next_id();
    op->connect(multi);
    std::unique_ptr<detail::CurlOperation> erased = std::move(op);
    // The URL is judged on the strand (start()): the handler is never called from inside
    // async_send().
    asio::post(multi->strand(),
               [multi, erased = std::move(erased)]() mutable { multi->start(std::move(erased)); });
  }

  Curl sync_;
  std::shared_ptr<Owner> owner_;
};

static_assert(AsyncStreamingTransport<AsyncCurl>);
static_assert(StreamingTransport<AsyncCurl>);

}  // namespace keyward::transport
