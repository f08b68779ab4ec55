// transport::Httplib: a keyward Transport (and StreamingTransport) over cpp-httplib's client.
//
// Optional: nothing else in keyward includes this header; link keyward::httplib (CMake, when
// pkg-config finds cpp-httplib; Debian: libcpp-httplib-dev, which ships the library compiled,
// with OpenSSL, and a pkg-config file whose flags must be used so that the header and the library
// agree), or cpp-httplib yourself with CPPHTTPLIB_OPENSSL_SUPPORT for https.
//
// Threads: send() may be called from any number of threads at once. An httplib::Client holds one
// connection and serves one request at a time, so the transport keeps idle clients per origin in
// a pool guarded by a mutex: each call takes one for its URL's origin (creating one when none is
// idle) and gives it back afterwards with its connection kept alive for the next call. At most
// HttpOptions::max_idle_connections clients per origin are kept idle.
//
// Behaviour: redirects are never followed (keyward follows them itself, detail/redirect.hpp);
// server certificates are verified; only http and https URLs are sent; the connect timeout, the
// total timeout and the request's own deadline (Request::timeout) bound the exchange (cpp-httplib
// has no total timeout: each read waits at most the time left, and the body stops when the
// deadline passes); the body is bounded (HttpOptions::max_body_bytes). Failures map to
// TransportErrc: refused and DNS to connect; timeouts and a deadline passed to timeout; TLS and
// certificate failures to tls; a reset, a truncated response or a body over the bound to protocol.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/detail/url_parts.hpp"
#include "keyward/streaming.hpp"
#include "keyward/transport.hpp"
#include "keyward/transport/options.hpp"

namespace keyward::transport {

/// Sends requests through cpp-httplib; copies share one pool of connections.
class Httplib {
 public:
  /// A transport with `options`.
  explicit Httplib(HttpOptions options = {})
      : shared_(std::make_shared<Shared>(std::move(options))) {}

  /// Sends `request`, collecting the whole body.
  TransportResult send(const Request& request) { return perform(request, nullptr); }
  /// Sends `request`, handing its head to `handler` before the body is read (streaming.hpp).
  TransportResult send(const Request& request, StreamHandler& handler) {
    return perform(request, &handler);
  }

  /// The options in use.
  [[nodiscard]] const HttpOptions& options() const noexcept { return shared_->options; }

 private:
  using Client = std::unique_ptr<httplib::Client>;

  struct Shared {
    explicit Shared(HttpOptions o) : options(std::move(o)) {}
    HttpOptions options;
    std::mutex mutex;
    std::map<std::string, std::vector<Client>, std::less<>> idle;  // by origin
  };

  Client take(const std::string& origin) {
    {
      const std::scoped_lock lock(shared_->mutex);
      if (auto it = shared_->idle.find(origin); it != shared_->idle.end() && !it->second.empty()) {
        Client client = std::move(it->second.back());
        it->second.pop_back();
        return client;
      }
    }
    auto client = std::make_unique<httplib::Client>(origin);
    client->set_follow_location(false);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);  // as libcurl does: small requests are not held back
    client->set_connection_timeout(shared_->options.connect_timeout);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    client->enable_server_certificate_verification(true);
    if (!shared_->options.ca_file.empty()) client->set_ca_cert_path(shared_->options.ca_file);
#endif
    return client;
  }

  void give_back(const std::string& origin, Client client) {
    const std::scoped_lock lock(shared_->mutex);
    auto& idle = shared_->idle[origin];
    if (idle.size() < shared_->options.max_idle_connections) idle.push_back(std::move(client));
  }

  static TransportFailure library_failure(httplib::Error error, bool expired) {
    std::string message = httplib::to_string(error);
    switch (error) {
      case httplib::Error::Connection:
      case httplib::Error::BindIPAddress:
        return {TransportErrc::connect, std::move(message)};
      case httplib::Error::ConnectionTimeout:
        return {TransportErrc::timeout, std::move(message)};
      case httplib::Error::Read:
        // A read that waited out its timeout and a connection reset look alike here.
        if (expired) return {TransportErrc::timeout, "no answer in time (" + message + ")"};
        return {TransportErrc::protocol, std::move(message)};
      case httplib::Error::Canceled:
        if (expired) return {TransportErrc::timeout, "no answer in time (" + message + ")"};
        return {TransportErrc::other, std::move(message)};
      case httplib::Error::Write:
      case httplib::Error::ExceedRedirectCount:
      case httplib::Error::Compression:
        return {TransportErrc::protocol, std::move(message)};
      case httplib::Error::SSLConnection:
      case httplib::Error::SSLLoadingCerts:
      case httplib::Error::SSLServerVerification:
        return {TransportErrc::tls, std::move(message)};
      default:
        return {TransportErrc::other, std::move(message)};
    }
  }

  TransportResult perform(const Request& request, StreamHandler* handler) {
    const auto parts = keyward::detail::split_url(request.url);
    if (!parts) {
      return unexpected(TransportFailure{
          TransportErrc::other,
          "refused URL: " + std::string{keyward::detail::split_url_problem(request.url)}});
    }
    const detail::ProxyChoice proxy = detail::choose_proxy(shared_->options.proxy, parts->https);
    if (!proxy.problem.empty()) {
      return unexpected(TransportFailure{TransportErrc::other, "refused proxy: " + proxy.problem});
    }
    if (!proxy.url.empty()) {
      return unexpected(
          TransportFailure{TransportErrc::other,
                           "transport::Httplib does not go through proxies; use transport::Curl"});
    }
    const std::string origin = parts->origin();
    Client client = take(origin);
    detail::Exchange exchange{request, shared_->options, handler};
    // Each read waits at most the time left; the body's receiver checks the deadline too.
    client->set_read_timeout(exchange.remaining());
    client->set_write_timeout(exchange.remaining());

    httplib::Request out;
    out.method = request.method;
    out.path = parts->request_target();
    out.body = request.body;
    for (const auto& [name, value] : request.headers) out.headers.emplace(name, value);
    out.response_handler = [&exchange](const httplib::Response& head) {
      if (!exchange.declared_fits(head.get_header_value("Content-Length"))) return false;
      Response& response = exchange.response();
      response.status = head.status;
      for (const auto& [name, value] : head.headers) response.headers.add(name, value);
      exchange.deliver_head();
      return !exchange.expired();
    };
    out.content_receiver = [&exchange](const char* data, std::size_t size, std::uint64_t,
                                       std::uint64_t) {
      return exchange.body({data, size});
    };

    httplib::Response in;
    httplib::Error error = httplib::Error::Success;
    if (!client->send(out, in, error)) {
      // The connection may be half-read: the client is dropped, not pooled. A stream its
      // receiver stopped is the response the receiver asked for.
      if (exchange.stop_reason() == detail::Exchange::Stop::handler) {
        return std::move(exchange.response());
      }
      return unexpected(exchange.failure(library_failure(error, exchange.expired())));
    }
    if (!exchange.head_delivered()) {  // no body (HEAD, 204): the handler ran or the head is here
      Response& response = exchange.response();
      if (response.status == 0) {
        response.status = in.status;
        for (const auto& [name, value] : in.headers) response.headers.add(name, value);
      }
      exchange.deliver_head();
    }
    give_back(origin, std::move(client));
    return std::move(exchange.response());
  }

  std::shared_ptr<Shared> shared_;
};

static_assert(StreamingTransport<Httplib>);

}  // namespace keyward::transport
