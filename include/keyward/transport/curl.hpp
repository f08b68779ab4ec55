// transport::Curl: a keyward Transport (and StreamingTransport) over libcurl's easy interface.
//
// Optional: nothing else in keyward includes this header; link keyward::curl (CMake, when libcurl
// is found; Debian: libcurl4-openssl-dev), or libcurl yourself.
//
// Threads: send() may be called from any number of threads at once. Each call takes an easy
// handle of its own from a pool guarded by a mutex (creating one when none is idle) and gives it
// back afterwards; an easy handle keeps its connections open, so a later call that gets the same
// handle reuses them. At most HttpOptions::max_idle_connections handles are kept idle.
//
// Behaviour: redirects are never followed (keyward follows them itself, detail/redirect.hpp, and
// decides what credential goes where); TLS peers and host names are verified; the URL is judged
// by keyward (detail/url_parts.hpp) and libcurl gets its parts, never the text; only https is
// spoken, and plain http to a loopback host; no proxy unless HttpOptions::proxy names one; a
// connect timeout, a total timeout and the request's own deadline (Request::timeout) bound the
// exchange; the body is bounded (HttpOptions::max_body_bytes). Failures map to TransportErrc:
// refused, unreachable and DNS to connect; timeouts to timeout; TLS and certificate failures to
// tls; a reset, a truncated or malformed response, or a body over the bound to protocol.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "keyward/streaming.hpp"
#include "keyward/transport.hpp"
#include "keyward/transport/detail/curl_exchange.hpp"
#include "keyward/transport/options.hpp"

namespace keyward::transport {

/// Sends requests through libcurl; copies share one pool of connections.
class Curl {
 public:
  /// A transport with `options`.
  explicit Curl(HttpOptions options = {}) : shared_(std::make_shared<Shared>(std::move(options))) {}

  /// Sends `request`, collecting the whole body.
  TransportResult send(const Request& request) { return perform(request, nullptr); }
  /// Sends `request`, handing its head to `handler` before the body is read (streaming.hpp).
  TransportResult send(const Request& request, StreamHandler& handler) {
    return perform(request, &handler);
  }

  /// The options in use.
  [[nodiscard]] const HttpOptions& options() const noexcept { return shared_->options; }

 private:
  using Handle = detail::CurlHandle;

  // The pool of idle handles, shared by copies.
  struct Shared {
    explicit Shared(HttpOptions o) : options(std::move(o)) {
      // Thread-safe since libcurl 7.84; a no-op after the first call.
      curl_global_init(CURL_GLOBAL_DEFAULT);
    }
    HttpOptions options;
    std::mutex mutex;
    std::vector<Handle> idle;
  };

  Handle take() {
    {
      const std::scoped_lock lock(shared_->mutex);
      if (!shared_->idle.empty()) {
        Handle handle = std::move(shared_->idle.back());
        shared_->idle.pop_back();
        return handle;  // configured still: each exchange sets what it may change
      }
    }
    Handle handle{curl_easy_init()};
    if (handle) detail::CurlExchange::configure(handle.get(), shared_->options);
    return handle;
  }

  void give_back(Handle handle) {
    const std::scoped_lock lock(shared_->mutex);
    if (shared_->idle.size() < shared_->options.max_idle_connections) {
      shared_->idle.push_back(std::move(handle));
    }
  }

  TransportResult perform(const Request& request, StreamHandler* handler) {
    detail::CurlExchange exchange{request, shared_->options, handler};
    std::shared_ptr<const detail::JudgedUrl> judged;
    if (auto refused = exchange.judge(judged)) return unexpected(std::move(*refused));
    Handle handle = take();
    if (!handle) return unexpected(TransportFailure{TransportErrc::other, "curl_easy_init failed"});
    if (auto failed = exchange.attach(handle.get())) return unexpected(std::move(*failed));
    const CURLcode code = curl_easy_perform(handle.get());
    exchange.detach(handle.get());
    // A failed exchange may leave its connection half-read: drop the handle and its cache.
    if (code == CURLE_OK) give_back(std::move(handle));
    return exchange.finish(code);
  }

  std::shared_ptr<Shared> shared_;
};

static_assert(StreamingTransport<Curl>);

}  // namespace keyward::transport
