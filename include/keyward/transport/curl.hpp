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

#include <array>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/detail/ascii.hpp"
#include "keyward/detail/url.hpp"
#include "keyward/detail/url_parts.hpp"
#include "keyward/streaming.hpp"
#include "keyward/transport.hpp"
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
  struct HandleDeleter {
    void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
  };
  using Handle = std::unique_ptr<CURL, HandleDeleter>;
  struct ListDeleter {
    void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
  };
  using List = std::unique_ptr<curl_slist, ListDeleter>;
  struct UrlDeleter {
    void operator()(CURLU* url) const noexcept { curl_url_cleanup(url); }
  };
  using Url = std::unique_ptr<CURLU, UrlDeleter>;

  // libcurl's URL handle built from keyward's parse, part by part: libcurl never reads the text.
  static Url curl_url_of(const keyward::detail::UrlParts& parts) {
    Url url{curl_url()};
    if (!url) return url;
    const std::string host{parts.host};
    const std::string port = std::to_string(parts.port);
    const std::string target = parts.request_target();
    const auto query = target.find('?');
    const std::string path = target.substr(0, query);
    bool ok =
        curl_url_set(url.get(), CURLUPART_SCHEME, parts.https ? "https" : "http", 0) == CURLUE_OK &&
        curl_url_set(url.get(), CURLUPART_HOST, host.c_str(), 0) == CURLUE_OK &&
        curl_url_set(url.get(), CURLUPART_PORT, port.c_str(), 0) == CURLUE_OK &&
        curl_url_set(url.get(), CURLUPART_PATH, path.c_str(), 0) == CURLUE_OK;
    if (ok && query != std::string::npos) {
      ok = curl_url_set(url.get(), CURLUPART_QUERY, target.c_str() + query + 1, 0) == CURLUE_OK;
    }
    if (!ok) url.reset();
    return url;
  }

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

  // One exchange: the bookkeeping and the header line parsing.
  struct Transfer {
    explicit Transfer(const Request& request, const HttpOptions& options, StreamHandler* handler)
        : exchange(request, options, handler) {}
    detail::Exchange exchange;
    bool in_head = true;
  };

  Handle take() {
    {
      const std::scoped_lock lock(shared_->mutex);
      if (!shared_->idle.empty()) {
        Handle handle = std::move(shared_->idle.back());
        shared_->idle.pop_back();
        curl_easy_reset(handle.get());  // keeps the handle's open connections
        return handle;
      }
    }
    return Handle{curl_easy_init()};
  }

  void give_back(Handle handle) {
    const std::scoped_lock lock(shared_->mutex);
    if (shared_->idle.size() < shared_->options.max_idle_connections) {
      shared_->idle.push_back(std::move(handle));
    }
  }

  template <class V>
  static void set(CURL* handle, CURLoption option, V value) noexcept {
    curl_easy_setopt(handle, option, value);
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto& transfer = *static_cast<Transfer*>(user);
    std::string_view line{data, size * count};
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    Response& response = transfer.exchange.response();
    if (line.starts_with("HTTP/")) {  // a status line: a new head (after 1xx ones)
      response.headers = Headers{};
      response.status = 0;
      const auto space = line.find(' ');
      for (std::size_t i = space == std::string_view::npos ? line.size() : space + 1;
           i < line.size() && keyward::detail::is_digit(line[i]); ++i) {
        response.status = response.status * 10 + (line[i] - '0');
      }
      transfer.in_head = true;
    } else if (line.empty()) {
      if (response.status >= 200 && transfer.in_head) {
        transfer.in_head = false;
        transfer.exchange.deliver_head();
      }
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      response.headers.add(std::string{line.substr(0, colon)}, std::string{value});
    }
    return size * count;
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto& transfer = *static_cast<Transfer*>(user);
    return transfer.exchange.body({data, size * count}) ? size * count : 0;
  }

  static TransportFailure library_failure(CURLcode code, const char* detail_text) {
    std::string message = curl_easy_strerror(code);
    if (detail_text != nullptr && *detail_text != '\0') message += std::string{": "} + detail_text;
    switch (code) {
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
        return {TransportErrc::connect, std::move(message)};
      case CURLE_OPERATION_TIMEDOUT:
        return {TransportErrc::timeout, std::move(message)};
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CIPHER:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      case CURLE_SSL_INVALIDCERTSTATUS:
      case CURLE_SSL_ENGINE_NOTFOUND:
      case CURLE_SSL_ENGINE_SETFAILED:
      case CURLE_SSL_SHUTDOWN_FAILED:
      case CURLE_SSL_CRL_BADFILE:
        return {TransportErrc::tls, std::move(message)};
      case CURLE_RECV_ERROR:
      case CURLE_SEND_ERROR:
      case CURLE_GOT_NOTHING:
      case CURLE_PARTIAL_FILE:
      case CURLE_WEIRD_SERVER_REPLY:
      case CURLE_HTTP2:
      case CURLE_HTTP2_STREAM:
      case CURLE_BAD_CONTENT_ENCODING:
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_FILESIZE_EXCEEDED:
        return {TransportErrc::protocol, std::move(message)};
      default:
        return {TransportErrc::other, std::move(message)};
    }
  }

  // The method, and the body for those that carry one.
  static void set_method(CURL* h, const Request& request) {
    if (request.method == "GET") {
      set(h, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
      set(h, CURLOPT_NOBODY, 1L);
    } else {
      set(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
        set(h, CURLOPT_POSTFIELDS, request.body.data());
        set(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      }
    }
  }

  TransportResult perform(const Request& request, StreamHandler* handler) {
    // The URL is judged once (detail/url_parts.hpp) and libcurl is handed the parts.
    const auto parts = keyward::detail::split_url(request.url);
    if (!parts) {
      return unexpected(TransportFailure{
          TransportErrc::other,
          "refused URL: " + std::string{keyward::detail::split_url_problem(request.url)}});
    }
    if (!parts->https && !keyward::detail::is_loopback_host(parts->host)) {
      return unexpected(TransportFailure{
          TransportErrc::other, "refused URL: plain http is spoken only to a loopback host"});
    }
    const detail::ProxyChoice proxy = detail::choose_proxy(shared_->options.proxy, parts->https);
    if (!proxy.problem.empty()) {
      return unexpected(TransportFailure{TransportErrc::other, "refused proxy: " + proxy.problem});
    }
    const Url url = curl_url_of(*parts);
    if (!url) {
      return unexpected(TransportFailure{TransportErrc::other, "libcurl refused the URL's parts"});
    }
    Handle handle = take();
    if (!handle) return unexpected(TransportFailure{TransportErrc::other, "curl_easy_init failed"});
    CURL* h = handle.get();
    const HttpOptions& options = shared_->options;
    Transfer transfer{request, options, handler};
    std::array<char, CURL_ERROR_SIZE> error_text{};

    set(h, CURLOPT_CURLU, url.get());
    set(h, CURLOPT_PROTOCOLS_STR, parts->https ? "https" : "http");
    // "" disables every proxy, the environment's included.
    set(h, CURLOPT_PROXY, proxy.url.c_str());
    if (!proxy.bypass.empty()) set(h, CURLOPT_NOPROXY, proxy.bypass.c_str());
    set(h, CURLOPT_FOLLOWLOCATION, 0L);
    set(h, CURLOPT_NOSIGNAL, 1L);
    set(h, CURLOPT_SSL_VERIFYPEER, 1L);
    set(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options.ca_file.empty()) set(h, CURLOPT_CAINFO, options.ca_file.c_str());
    set(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    set(h, CURLOPT_TIMEOUT_MS, static_cast<long>(transfer.exchange.total().count()));
    set(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_body_bytes));
    set(h, CURLOPT_ERRORBUFFER, error_text.data());
    set(h, CURLOPT_HEADERFUNCTION, &Curl::on_header);
    set(h, CURLOPT_HEADERDATA, static_cast<void*>(&transfer));
    set(h, CURLOPT_WRITEFUNCTION, &Curl::on_body);
    set(h, CURLOPT_WRITEDATA, static_cast<void*>(&transfer));

    set_method(h, request);

    List fields;
    const auto append = [&](const std::string& line) {
      curl_slist* grown = curl_slist_append(fields.get(), line.c_str());
      if (grown != nullptr) {
        (void)fields.release();
        fields.reset(grown);
      }
      return grown != nullptr;
    };
    bool listed = append("Expect:");  // no 100-continue round trip for small bodies
    for (const auto& [name, value] : request.headers) {
      // "name;" is libcurl's way to send a field with an empty value.
      std::string line = name;
      if (value.empty()) {
        line += ';';
      } else {
        line += ": ";
        line += value;
      }
      listed = listed && append(line);
    }
    if (!listed) return unexpected(TransportFailure{TransportErrc::other, "out of memory"});
    set(h, CURLOPT_HTTPHEADER, fields.get());

    const CURLcode code = curl_easy_perform(h);
    set(h, CURLOPT_ERRORBUFFER, static_cast<char*>(nullptr));
    set(h, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
    set(h, CURLOPT_CURLU, static_cast<CURLU*>(nullptr));
    if (code != CURLE_OK) {
      // A failed exchange may leave its connection half-read: drop the handle and its cache.
      // A stream its receiver stopped is the response the receiver asked for.
      if (transfer.exchange.stop_reason() == detail::Exchange::Stop::handler) {
        return std::move(transfer.exchange.response());
      }
      const TransportFailure failure =
          transfer.exchange.failure(library_failure(code, error_text.data()));
      return unexpected(failure);
    }
    give_back(std::move(handle));
    Response& response = transfer.exchange.response();
    if (!transfer.exchange.head_delivered()) transfer.exchange.deliver_head();
    return std::move(response);
  }

  std::shared_ptr<Shared> shared_;
};

static_assert(StreamingTransport<Curl>);

}  // namespace keyward::transport
