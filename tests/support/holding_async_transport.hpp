// An AsyncTransport that holds an exchange until it is cancelled: FakeAsyncTransport, except that
// while hold() is on, a request's handler is kept until the handler's
// cancellation slot (asio::get_associated_cancellation_slot) is emitted, which completes it with
// TransportErrc::cancelled, as async_transport.hpp lets a transport do.
#pragma once

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "keyward/async_transport.hpp"
#include "support/fake_async_transport.hpp"

namespace keyward::testing {

/// FakeAsyncTransport that can hold its exchanges until they are cancelled.
class HoldingAsyncTransport : public FakeAsyncTransport {
 public:
  HoldingAsyncTransport() = default;
  /// Shares `routes`' routes and records.
  HoldingAsyncTransport(const FakeTransport& routes)  // NOLINT(google-explicit-constructor)
      : FakeAsyncTransport(routes) {}

  /// Holds the exchanges that start from now on (true) or answers them (false).
  void hold(bool on) const { hold_->hold = on; }
  /// The exchanges held now.
  [[nodiscard]] int held() const { return hold_->held.load(); }
  /// The exchanges held so far.
  [[nodiscard]] int holds() const { return hold_->holds.load(); }

  /// Answers `request` later, or holds it until it is cancelled.
  template <class Handler>
  void async_send(const Request& request, Handler&& handler) const {
    if (!hold_->hold)
      return FakeAsyncTransport::async_send(request, std::forward<Handler>(handler));
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto executor = asio::get_associated_executor(handler);
    auto kept =
        std::make_shared<std::optional<std::decay_t<Handler>>>(std::forward<Handler>(handler));
    ++hold_->held;
    ++hold_->holds;
    // The exchange ends only through its slot: a test that holds one must cancel it.
    slot.assign([kept, executor, state = hold_](asio::cancellation_type /*type*/) {
      --state->held;
      asio::post(executor, [kept]() mutable {
        auto h = std::move(**kept);
        kept->reset();
        std::move(h)(TransportResult{unexpected(
            TransportFailure{.kind = TransportErrc::cancelled, .message = "cancelled"})});
      });
    });
  }

 private:
  struct Holds {
    std::atomic<bool> hold{false};
    std::atomic<int> held{0};
    std::atomic<int> holds{0};
  };
  std::shared_ptr<Holds> hold_ = std::make_shared<Holds>();
};

static_assert(AsyncTransport<HoldingAsyncTransport>);

}  // namespace keyward::testing
