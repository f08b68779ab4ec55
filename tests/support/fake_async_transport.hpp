// A scripted AsyncTransport: FakeTransport's routes and records, answered through the completion
// handler's associated executor (never inside async_send()), as async_transport.hpp requires.
// Its synchronous send() is FakeTransport's (a refresh's token call goes through it).
#pragma once

#include <asio/associated_executor.hpp>
#include <asio/post.hpp>
#include <utility>

#include "keyward/async_transport.hpp"
#include "support/fake_transport.hpp"

namespace keyward::testing {

/// FakeTransport, also asynchronous.
class FakeAsyncTransport : public FakeTransport {
 public:
  FakeAsyncTransport() = default;
  /// Shares `routes`' routes and records (implicit: a face's tests build either kind from one).
  FakeAsyncTransport(const FakeTransport& routes)  // NOLINT(google-explicit-constructor)
      : FakeTransport(routes) {}

  /// Answers `request` later, on the handler's executor.
  template <class Handler>
  void async_send(const Request& request, Handler&& handler) const {
    auto executor = asio::get_associated_executor(handler);
    asio::post(executor, [this_ = *this, &request, h = std::forward<Handler>(handler)]() mutable {
      std::move(h)(this_.send(request));
    });
  }
};

static_assert(AsyncTransport<FakeAsyncTransport>);
static_assert(Transport<FakeAsyncTransport>);

}  // namespace keyward::testing
