// A scripted in-process Transport: routes each request by URL prefix to a handler written in the
// test, and records every request. Copies share routes and records, so a test keeps a copy while
// the ResilientCredential holds another. Safe to call from many threads.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/transport.hpp"

namespace keyward::testing {

/// A response with a status, a body and header fields.
inline Response response(int status, std::string body = {}, Headers headers = {}) {
  return Response{status, std::move(headers), std::move(body)};
}

/// A JSON response.
inline Response json_response(int status, std::string body, Headers headers = {}) {
  headers.set("content-type", "application/json");
  return response(status, std::move(body), std::move(headers));
}

/// A scripted transport.
class FakeTransport {
 public:
  using Handler = std::function<TransportResult(const Request&)>;

  /// Routes requests whose URL starts with `url_prefix` to `handler` (the longest prefix wins).
  void on(std::string url_prefix, Handler handler) const {
    const std::scoped_lock lock(state_->mutex);
    std::erase_if(state_->routes, [&](const auto& r) { return r.first == url_prefix; });
    state_->routes.emplace_back(std::move(url_prefix), std::move(handler));
  }

  /// Records the request and answers it with its route's handler, or a 599 when none matches.
  TransportResult send(const Request& request) const {
    Handler handler;
    {
      const std::scoped_lock lock(state_->mutex);
      state_->requests.push_back(request);
      std::size_t best = 0;
      for (const auto& [prefix, h] : state_->routes) {
        if (request.url.starts_with(prefix) && prefix.size() >= best) {
          best = prefix.size();
          handler = h;
        }
      }
    }
    if (!handler) return response(599, "no route in FakeTransport for " + request.url);
    return handler(request);
  }

  /// Every request so far, in order.
  [[nodiscard]] std::vector<Request> requests() const {
    const std::scoped_lock lock(state_->mutex);
    return state_->requests;
  }
  /// How many requests went to URLs starting with `url_prefix`.
  [[nodiscard]] std::size_t count(std::string_view url_prefix) const {
    const std::scoped_lock lock(state_->mutex);
    std::size_t n = 0;
    for (const auto& r : state_->requests) n += r.url.starts_with(url_prefix) ? 1U : 0U;
    return n;
  }

 private:
  struct State {
    std::mutex mutex;
    std::vector<std::pair<std::string, Handler>> routes;
    std::vector<Request> requests;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

static_assert(Transport<FakeTransport>);

}  // namespace keyward::testing
