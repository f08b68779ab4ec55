// What transport::Curl (curl.hpp) and transport::AsyncCurl (async_curl.hpp) share: one exchange
// through a libcurl easy handle, from the judgement of the URL and the proxy to the mapping of
// libcurl's result onto a TransportResult. Curl runs it with curl_easy_perform(); AsyncCurl with
// the multi interface. Keeping it in one place keeps the two alike: the same URL and proxy rules,
// header list, timeouts, body bound, callbacks and failure kinds (docs/http.md).
// Over 300 lines: one exchange's life, from the judged URL to the result, reads best in one place.
#pragma once

#include <curl/curl.h>

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/detail/ascii.hpp"
#include "keyward/detail/url.hpp"
#include "keyward/detail/url_parts.hpp"
#include "keyward/streaming.hpp"
#include "keyward/transport.hpp"
#include "keyward/transport/options.hpp"

namespace keyward::transport::detail {

/// Frees an easy handle.
struct CurlHandleDeleter {
  /// curl_easy_cleanup().
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
/// An owned easy handle.
using CurlHandle = std::unique_ptr<CURL, CurlHandleDeleter>;

/// Sets an easy handle's option, ignoring the result as the options set here always exist.
template <class V>
void curl_set(CURL* handle, CURLoption option, V value) noexcept {
  curl_easy_setopt(handle, option, value);
}

/// libcurl's verdict as a TransportFailure: the kind of failure its code means, and its text.
inline TransportFailure curl_failure(CURLcode code, const char* detail_text) {
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

/// Frees a libcurl URL handle (curl_url_cleanup()).
struct CurlUrlDeleter {
  void operator()(CURLU* url) const noexcept { curl_url_cleanup(url); }
};

/// A URL a transport accepted (CurlExchange::judge()), kept while an exchange uses it: libcurl
/// reads its URL handle once the transfer starts.
struct JudgedUrl {
  std::string text{};                            ///< The URL as the request gave it.
  std::string origin{};                          ///< Its scheme, host and port.
  bool https = false;                            ///< Its scheme is https.
  ProxyChoice proxy{};                           ///< The proxy for it (options.hpp).
  std::unique_ptr<CURLU, CurlUrlDeleter> url{};  ///< libcurl's handle, built from keyward's parse.
};

/// One request's exchange through an easy handle: judge() it, attach() it to a handle, let
/// libcurl run it, detach() it, and finish() with libcurl's code. Its callbacks point at this
/// object, which therefore never moves; the request and the handler outlive it.
class CurlExchange {
 public:
  /// The exchange of `request` under `options`, streamed to `handler` when not null.
  CurlExchange(const Request& request, const HttpOptions& options, StreamHandler* handler)
      : request_(request), options_(options), exchange_(request, options, handler) {}
  CurlExchange(const CurlExchange&) = delete;
  CurlExchange& operator=(const CurlExchange&) = delete;
  CurlExchange(CurlExchange&&) = delete;
  CurlExchange& operator=(CurlExchange&&) = delete;
  ~CurlExchange() = default;

  /// Judges the URL (detail/url_parts.hpp: https, or plain http to a loopback host) and the
  /// proxy (options.hpp), or takes the verdict `last` (a transport's cache, which then holds
  /// this URL's) gave the same URL; the refusal when the request may not go, nothing when it may.
  std::optional<TransportFailure> judge(std::shared_ptr<const JudgedUrl>& last) {
    if (last && last->text == request_.url) {
      url_ = last;
      return std::nullopt;
    }
    const auto parts = keyward::detail::split_url(request_.url);
    if (!parts) {
      return TransportFailure{
          TransportErrc::other,
          "refused URL: " + std::string{keyward::detail::split_url_problem(request_.url)}};
    }
    if (!parts->https && !keyward::detail::is_loopback_host(parts->host)) {
      return TransportFailure{TransportErrc::other,
                              "refused URL: plain http is spoken only to a loopback host"};
    }
    std::string origin{parts->https ? "https://" : "http://"};
    origin += parts->host;
    origin += ':';
    origin += std::to_string(parts->port);
    auto judged = std::make_shared<JudgedUrl>(JudgedUrl{request_.url,
                                                        std::move(origin),
                                                        parts->https,
                                                        choose_proxy(options_.proxy, parts->https),
                                                        {}});
    if (!judged->proxy.problem.empty()) {
      return TransportFailure{TransportErrc::other, "refused proxy: " + judged->proxy.problem};
    }
    judged->url = url_of(*parts);
    if (!judged->url) {
      return TransportFailure{TransportErrc::other, "libcurl refused the URL's parts"};
    }
    url_ = judged;
    // A proxy from the environment is read again for every request.
    if (options_.proxy.kind != Proxy::Kind::from_environment) last = std::move(judged);
    return std::nullopt;
  }

  /// Sets on a fresh easy handle the options every exchange under `options` shares; a kept
  /// handle has them still (Curl and AsyncCurl keep a handle without curl_easy_reset()).
  static void configure(CURL* h, const HttpOptions& options) noexcept {
    curl_set(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_set(h, CURLOPT_NOSIGNAL, 1L);
    curl_set(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_set(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options.ca_file.empty()) curl_set(h, CURLOPT_CAINFO, options.ca_file.c_str());
    curl_set(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    curl_set(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_body_bytes));
    curl_set(h, CURLOPT_HEADERFUNCTION, &CurlExchange::on_header);
    curl_set(h, CURLOPT_WRITEFUNCTION, &CurlExchange::on_body);
  }

  /// Sets every option of this exchange that another exchange may have set otherwise on `h`
  /// (configure()d), after judge() accepted it; the failure when the header list cannot be built.
  std::optional<TransportFailure> attach(CURL* h) {
    curl_set(h, CURLOPT_CURLU, url_->url.get());  // libcurl gets keyward's parts, never the text
    curl_set(h, CURLOPT_PROTOCOLS_STR, url_->https ? "https" : "http");
    curl_set(h, CURLOPT_PROXY, url_->proxy.url.c_str());  // "" disables every proxy, the env's
    const std::string& bypass = url_->proxy.bypass;
    curl_set(h, CURLOPT_NOPROXY, bypass.empty() ? nullptr : bypass.c_str());
    // What is left of the total: a wait for a connection (AsyncCurl's queue) counts.
    curl_set(h, CURLOPT_TIMEOUT_MS, static_cast<long>(exchange_.remaining().count()));
    curl_set(h, CURLOPT_ERRORBUFFER, error_text_.data());
    curl_set(h, CURLOPT_HEADERDATA, static_cast<void*>(this));
    curl_set(h, CURLOPT_WRITEDATA, static_cast<void*>(this));
    set_method(h);
    bool listed = append("Expect:");  // no 100-continue round trip for small bodies
    std::string field;
    for (const auto& [name, value] : request_.headers) {
      field.assign(name);
      field += value.empty() ? ";" : ": ";  // "name;": libcurl's way to send an empty value
      field += value;
      listed = listed && append(field.c_str());
    }
    if (!listed) return TransportFailure{TransportErrc::other, "out of memory"};
    curl_set(h, CURLOPT_HTTPHEADER, fields_.get());
    return std::nullopt;
  }

  /// The URL judge() accepted.
  [[nodiscard]] const JudgedUrl& judged() const noexcept { return *url_; }
  /// When the total timeout ends.
  [[nodiscard]] Exchange::Clock::time_point deadline() const noexcept {
    return exchange_.deadline();
  }
  /// The failure of an exchange whose total timeout ended before it was attached to a handle.
  [[nodiscard]] TransportResult time_out_unstarted() const {
    return unexpected(exchange_.failure(curl_failure(
        CURLE_OPERATION_TIMEDOUT, "no connection to the host came free within the total timeout")));
  }

  /// Clears the options of `h` that point into this object, before the handle is kept.
  void detach(CURL* h) noexcept {
    curl_set(h, CURLOPT_ERRORBUFFER, static_cast<char*>(nullptr));
    curl_set(h, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
    curl_set(h, CURLOPT_CURLU, static_cast<CURLU*>(nullptr));
  }

  /// The result of the exchange libcurl ended with `code`. A failed exchange may have left its
  /// connection half-read: its handle is not to be kept (libcurl closes that connection).
  TransportResult finish(CURLcode code) {
    if (code != CURLE_OK) {
      // A stream its receiver stopped is the response the receiver asked for.
      if (exchange_.stop_reason() == Exchange::Stop::handler) {
        return std::move(exchange_.response());
      }
      return unexpected(exchange_.failure(curl_failure(code, error_text_.data())));
    }
    if (!exchange_.head_delivered()) exchange_.deliver_head();
    return std::move(exchange_.response());
  }

 private:
  struct ListDeleter {
    void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
  };
  // libcurl's URL handle built from keyward's parse, part by part: libcurl never reads the text.
  static std::unique_ptr<CURLU, CurlUrlDeleter> url_of(const keyward::detail::UrlParts& parts) {
    std::unique_ptr<CURLU, CurlUrlDeleter> url{curl_url()};
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

  bool append(const char* line) {
    curl_slist* grown = curl_slist_append(fields_.get(), line);
    if (grown == nullptr) return false;
    (void)fields_.release();
    fields_.reset(grown);
    return true;
  }

  // The method, and the body for those that carry one; first what another method set undone
  // (libcurl's defaults: a GET without a body).
  void set_method(CURL* h) const {
    curl_set(h, CURLOPT_POSTFIELDS, static_cast<const char*>(nullptr));
    curl_set(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(-1));
    curl_set(h, CURLOPT_HTTPGET, 1L);  // also clears NOBODY
    if (request_.method == "GET" || request_.method == "HEAD") {
      curl_set(h, CURLOPT_CUSTOMREQUEST, static_cast<const char*>(nullptr));
      if (request_.method == "HEAD") curl_set(h, CURLOPT_NOBODY, 1L);
      return;
    }
    curl_set(h, CURLOPT_CUSTOMREQUEST, request_.method.c_str());
    if (!request_.body.empty() || request_.method == "POST" || request_.method == "PUT") {
      curl_set(h, CURLOPT_POSTFIELDS, request_.body.data());
      curl_set(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request_.body.size()));
    }
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto& self = *static_cast<CurlExchange*>(user);
    std::string_view line{data, size * count};
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    Response& response = self.exchange_.response();
    if (line.starts_with("HTTP/")) {  // a status line: a new head (after 1xx ones)
      response.headers = Headers{};
      response.status = 0;
      const auto space = line.find(' ');
      for (std::size_t i = space == std::string_view::npos ? line.size() : space + 1;
           i < line.size() && keyward::detail::is_digit(line[i]); ++i) {
        response.status = response.status * 10 + (line[i] - '0');
      }
      self.in_head_ = true;
    } else if (line.empty()) {
      if (response.status >= 200 && self.in_head_) {
        self.in_head_ = false;
        self.exchange_.deliver_head();
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
    auto& self = *static_cast<CurlExchange*>(user);
    return self.exchange_.body({data, size * count}) ? size * count : 0;
  }

  const Request& request_;
  const HttpOptions& options_;
  Exchange exchange_;
  bool in_head_ = true;
  std::shared_ptr<const JudgedUrl> url_{};
  std::unique_ptr<curl_slist, ListDeleter> fields_{};
  std::array<char, CURL_ERROR_SIZE> error_text_{};
};

}  // namespace keyward::transport::detail
