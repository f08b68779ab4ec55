// What the shipped transports (curl.hpp, httplib.hpp) share: their options, and the bookkeeping
// of one exchange (where the body goes, how much of it is allowed, by when it must be done, and
// why a transfer was stopped), so that both report the same failure for the same fault.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "keyward/streaming.hpp"
#include "keyward/transport.hpp"

namespace keyward::transport {

/// Limits and TLS settings of a shipped transport.
struct HttpOptions {
  /// The most connecting (TCP and TLS handshake) may take.
  std::chrono::milliseconds connect_timeout{10'000};
  /// The most a whole exchange may take, unless the request names its own (Request::timeout).
  std::chrono::milliseconds timeout{600'000};
  /// The most a response body may hold; a longer body ends the exchange with a failure.
  std::size_t max_body_bytes = std::size_t{32} << 20U;
  /// A file of CA certificates (PEM) to verify servers with; empty for the system's.
  std::string ca_file{};
  /// Idle connections kept for reuse.
  std::size_t max_idle_connections = 8;
};

namespace detail {

/// One exchange's bookkeeping: the head and the body as they arrive, the body bound, the
/// deadline, and why the transfer was stopped (the library only knows that it was).
class Exchange {
 public:
  using Clock = std::chrono::steady_clock;  ///< Deadlines are measured on the steady clock.

  /// An exchange of `request` under `options`, optionally streamed to `handler`.
  Exchange(const Request& request, const HttpOptions& options, StreamHandler* handler) noexcept
      : handler_(handler),
        max_body_(options.max_body_bytes),
        total_(request.timeout.count() > 0 ? request.timeout : options.timeout),
        deadline_(Clock::now() + total_) {}

  /// The total time allowed.
  [[nodiscard]] std::chrono::milliseconds total() const noexcept { return total_; }
  /// The time left before the deadline, at least 1 ms (0 means "no limit" to the libraries).
  [[nodiscard]] std::chrono::milliseconds remaining() const noexcept {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now());
    return left.count() > 0 ? left : std::chrono::milliseconds{1};
  }
  /// True once the deadline has passed.
  [[nodiscard]] bool expired() const noexcept { return Clock::now() >= deadline_; }

  /// The response being received.
  [[nodiscard]] Response& response() noexcept { return response_; }
  /// True once the head went to the handler.
  [[nodiscard]] bool head_delivered() const noexcept { return head_delivered_; }

  /// Hands the head to the handler, once, which chooses whether the body streams to it.
  void deliver_head() {
    if (head_delivered_) return;
    head_delivered_ = true;
    streaming_ = handler_ != nullptr && handler_->on_head(response_);
  }

  /// Takes a piece of the body: to the handler when streaming, else into the response (within
  /// the bound). False when the transfer must stop; stop_reason() says why.
  bool body(std::string_view bytes) {
    if (expired()) return stop(Stop::deadline);
    received_ += bytes.size();
    if (received_ > max_body_) return stop(Stop::too_large);
    if (!head_delivered_) deliver_head();
    if (streaming_) return handler_->on_body(bytes) || stop(Stop::handler);
    response_.body.append(bytes);
    return true;
  }

  /// Why the transfer was stopped by this side.
  enum class Stop : unsigned char {
    none,       ///< Not stopped.
    deadline,   ///< The deadline passed.
    too_large,  ///< The body outgrew its bound.
    handler,    ///< The stream's receiver asked to stop.
  };
  /// Why the transfer was stopped by this side, if it was.
  [[nodiscard]] Stop stop_reason() const noexcept { return stop_; }

  /// The failure for a transfer this side stopped, or `library` (the library's own verdict).
  [[nodiscard]] TransportFailure failure(TransportFailure library) const {
    switch (stop_) {
      case Stop::deadline:
        return {TransportErrc::timeout,
                "the exchange took longer than " + std::to_string(total_.count()) + " ms"};
      case Stop::too_large:
        return {TransportErrc::protocol,
                "the response body exceeded " + std::to_string(max_body_) + " bytes"};
      case Stop::handler:  // the transports return the response instead
      case Stop::none:
        break;
    }
    if (library.kind == TransportErrc::timeout) {
      library.message += " (limit " + std::to_string(total_.count()) + " ms)";
    }
    return library;
  }

 private:
  bool stop(Stop why) noexcept {
    stop_ = why;
    return false;
  }

  StreamHandler* handler_;
  std::size_t max_body_;
  std::chrono::milliseconds total_;
  Clock::time_point deadline_;
  Response response_{};
  std::size_t received_ = 0;
  bool head_delivered_ = false;
  bool streaming_ = false;
  Stop stop_ = Stop::none;
};

}  // namespace detail

}  // namespace keyward::transport
