// What the shipped transports (curl.hpp, httplib.hpp) share: their options, and the bookkeeping
// of one exchange (where the body goes, how much of it is allowed, by when it must be done, and
// why a transfer was stopped), so that both report the same failure for the same fault.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/detail/config.hpp"
#include "keyward/streaming.hpp"
#include "keyward/transport.hpp"

namespace keyward::transport {

/// Which proxy a shipped transport goes through: none unless chosen (docs/http.md).
struct Proxy {
  /// Where the proxy comes from.
  enum class Kind : unsigned char {
    none,              ///< No proxy; the environment's proxy variables are ignored (default).
    from_environment,  ///< https_proxy/HTTPS_PROXY, http_proxy, all_proxy/ALL_PROXY, no_proxy.
    url,               ///< The proxy at `url`.
  };
  Kind kind = Kind::none;  ///< Where the proxy comes from.
  std::string url{};       ///< The proxy's URL when kind is Kind::url.

  /// No proxy, whatever the environment says.
  [[nodiscard]] static Proxy none() { return {}; }
  /// The proxy the environment names, as curl reads it.
  [[nodiscard]] static Proxy from_environment() { return {Kind::from_environment, {}}; }
  /// The proxy at `proxy_url` (e.g. "http://127.0.0.1:3128").
  [[nodiscard]] static Proxy at(std::string proxy_url) { return {Kind::url, std::move(proxy_url)}; }
};

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
  /// The proxy to go through; none by default, so proxy variables are ignored unless chosen.
  Proxy proxy{};
};

namespace detail {

/// The first of the environment variables `names` that is set and not empty, or "".
KEYWARD_DECL std::string first_env(std::initializer_list<const char*> names);

/// The proxy chosen for a request to an origin (https or not) under `proxy`: its URL ("" for
/// none) and, from the environment, the hosts that bypass it; or the reason it is refused. A
/// plain http request goes through a proxy only when the proxy is on loopback: the credential
/// would otherwise cross the network in clear.
struct ProxyChoice {
  std::string url{};      ///< The proxy's URL; empty for none.
  std::string bypass{};   ///< no_proxy/NO_PROXY when the proxy comes from the environment.
  std::string problem{};  ///< Why the request is refused; empty when it may go.
};

/// The proxy for a request to an origin of scheme https (or http) under `proxy`.
KEYWARD_DECL ProxyChoice choose_proxy(const Proxy& proxy, bool https);

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
  /// When the total time allowed ends (counted from the exchange's construction).
  [[nodiscard]] Clock::time_point deadline() const noexcept { return deadline_; }

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

  /// Checks the body length a head declares (its Content-Length) against the bound before any
  /// of it is read, as libcurl's CURLOPT_MAXFILESIZE does: false, and stopped as too large, when
  /// it is over; true when it fits or declares nothing readable (the bound still holds as the
  /// body arrives).
  KEYWARD_DECL bool declared_fits(std::string_view content_length);

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
  [[nodiscard]] KEYWARD_DECL TransportFailure failure(TransportFailure library) const;

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

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/transport/impl/options.ipp"
#endif
