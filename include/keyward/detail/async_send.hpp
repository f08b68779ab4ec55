// detail::AsyncSend: one asynchronous send, detail::Driver's loop taken a step at a time.
//
// The asynchronous faces (AsyncCredential, async.hpp; AsyncPool, async_pool.hpp) run this
// composed operation (asio::async_compose) over a Route, the face's part: which seat serves the
// request (a single credential's one; the pool's chooser, its failover and panic rule), its
// refresh flight and the `Call` of the driver's attempt. Each step is the driver's own
// (docs/architecture.md): the cell's admission, the breaker's open(), the call's claim,
// announce(), the transport's send (asynchronous here), the redirect chain (detail::RedirectChain,
// a hop at a time), conclude(). Where the blocking loop would wait, the operation returns and is
// resumed: by the transport's completion, by an asio timer (a retry's wait), or by the end of
// work that blocks by nature, run on the face's own threads (a refresh, which operations that
// need it meanwhile join through detail::AsyncFlight; a store's cooldown lookup or write).
//
// Why this header is over 300 lines: it is one composed operation, the driver's loop for both
// asynchronous faces, and its steps read best in one place (as detail/driver.hpp's do).
#pragma once

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/compose.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "keyward/async_transport.hpp"
#include "keyward/clock.hpp"
#include "keyward/credential_store.hpp"
#include "keyward/detail/async_alloc.hpp"
#include "keyward/detail/async_flight.hpp"
#include "keyward/detail/driver.hpp"
#include "keyward/detail/redirect.hpp"
#include "keyward/detail/stream_attempt.hpp"
#include "keyward/error.hpp"
#include "keyward/result.hpp"

namespace keyward::detail {

/// What a store's work on the face's threads found: a shared window (a lookup; nothing for a
/// share), or what it threw.
struct StoreDone {
  std::optional<Result<std::optional<SharedCooldown>>> found{};  ///< A lookup's answer.
  TimePoint at{};                                                ///< When it was asked for.
  std::exception_ptr thrown{nullptr};                            ///< What the store threw.
};

/// One asynchronous send over `Route` (a face's seats): the implementation given to
/// asio::async_compose.
template <class Route>
class AsyncSend {
 public:
  using Driver = typename Route::Driver;         ///< The loop whose steps it takes.
  using Seat = typename Driver::Seat;            ///< A credential.
  using Elsewhere = typename Driver::Elsewhere;  ///< Where a redirect chain went.
  using Call = std::remove_reference_t<decltype(std::declval<Route&>().call())>;  ///< Per attempt.

  /// An attempt's claim (a pool's model probe), held in place: a pool's neither moves nor copies.
  struct HeldClaim {
    /// Claims through `call`.
    HeldClaim(Call& call, std::uint64_t generation, std::optional<TimePoint> admitted, bool force)
        : claim(call.claim(generation, admitted, force)) {}
    decltype(std::declval<Call&>().claim(std::uint64_t{}, std::optional<TimePoint>{},
                                         false)) claim;  ///< The claim.
  };

  /// What an operation keeps between its steps: one allocation, through the completion
  /// handler's allocator (detail/async_alloc.hpp), made when it starts; nothing moves.
  struct State {
    /// The request to send, for a streamed one its sink, and the seats it goes to.
    State(Request r, HandlerOwned<SinkBase> s, Route seats)
        : request(std::move(r)), sink(std::move(s)), route(std::move(seats)) {}
    Request request;                            ///< The caller's request.
    HandlerOwned<SinkBase> sink;                ///< The caller's sink, when it streams.
    Route route;                                ///< The seat serving it, and how it is chosen.
    Result<Response> answer{NoResponseYet{}};   ///< What the caller gets.
    Progress progress{};                        ///< Replays, retries, refresh tried.
    typename Driver::Ticket ticket{};           ///< The attempt's admission.
    CircuitBreaker::Pass pass{};                ///< The attempt's pass through the breaker.
    std::optional<TimePoint> admitted{};        ///< When it was admitted, if the clock was read.
    std::optional<TransportResult> sent{};      ///< The credential's last answer.
    std::unique_ptr<Elsewhere> foreign{};       ///< Where a chain that left the origin went.
    std::vector<std::string> placed{};          ///< The credential's fields (for a chain).
    std::optional<RedirectChain> chain{};       ///< The redirects being followed.
    std::optional<asio::steady_timer> timer{};  ///< A retry's wait.
    std::optional<SharedCooldown> to_share{};   ///< A window the attempt shares, off the loop.
    Next shared_then = Next::done;              ///< What the attempt does once it is shared.
    bool replay = false;                        ///< The refresh under way replays the request.
    std::optional<HeldClaim> claim{};  ///< The attempt's claim (on the route's call: after it).
    std::optional<Loan> loan{};        ///< Takes the credential's fields back (destroyed first).
  };

  /// The operation with `state`, on `home`'s executor and threads.
  AsyncSend(AsyncHome& home, HandlerOwned<State> state) noexcept
      : home_(&home), s_(std::move(state)) {}

  /// Starts (posted through the handler's executor, so it never completes inside
  /// async_send()): a terminal or partial cancellation ends it (a retry or a refresh may have
  /// happened by then).
  template <class Self>
  void operator()(Self& self) {
    if (!std::exchange(started_, true)) {
      self.reset_cancellation_state(asio::enable_partial_cancellation());
      asio::post(std::move(self));
      return;
    }
    guarded(self, [&] { begin(self); });
  }
  /// The transport's answer to the attempt or to a redirect's hop.
  template <class Self>
  void operator()(Self& self, TransportResult result) {
    guarded(self, [&] { answered(self, std::move(result)); });
  }
  /// A retry's wait is over (or was cancelled).
  template <class Self>
  void operator()(Self& self, std::error_code ec) {
    guarded(self, [&] {
      if (ec) return finish_cancelled(self);
      resume(self);
    });
  }
  /// A refresh it ran or waited for ended, or it was cancelled while it waited.
  template <class Self>
  void operator()(Self& self, Refreshed refreshed) {
    guarded(self, [&] {
      if (refreshed.cancelled) return finish_cancelled(self);
      self.get_cancellation_state().slot().clear();  // it no longer waits for the flight
      if (refreshed.thrown) std::rethrow_exception(refreshed.thrown);
      if (!refreshed.result) {
        s_->answer = unexpected(std::move(refreshed.result).error());
        return rotated(self);
      }
      if (std::exchange(s_->replay, false)) ++s_->progress.replays;
      resume(self);
    });
  }
  /// A store's cooldown lookup (then admission) or share (then what the attempt does) is done.
  template <class Self>
  void operator()(Self& self, StoreDone done) {
    guarded(self, [&] {
      if (done.thrown) std::rethrow_exception(done.thrown);
      if (!done.found) return act(self, s_->shared_then);
      s_->route.driver().adopt_shared_cooldown(s_->route.seat(), *done.found, done.at);
      resume(self);
    });
  }

 private:
  using Policies = typename Route::Policies;
  using T = typename Route::Transport;

  // Runs `step`; what it throws ends the operation with the exception, after the state (ticket,
  // claim, pass, loan) has let the credential go.
  template <class Self, class Step>
  void guarded(Self& self, Step&& step) {
    try {
      step();
    } catch (...) {
      if (completing_) throw;  // the caller's own handler threw: asio's to propagate
      s_.reset();
      self.complete(std::current_exception(), Result<Response>{NoResponseYet{}});
    }
  }

  template <class Self>
  static bool cancelled(Self& self) {
    return self.get_cancellation_state().cancelled() != asio::cancellation_type::none;
  }

  // The URL check, the loan of the request's fields, the first seat.
  template <class Self>
  void begin(Self& self) {
    if (cancelled(self)) return finish_cancelled(self);
    State& s = *s_;
    if (auto refused = s.route.refusal(s.request)) {
      s.answer = unexpected(std::move(*refused));
      return finish(self);
    }
    s.loan.emplace(s.request.headers);
    choose(self);
  }

  // The route's next seat (or its error), whose turn starts afresh, after a window another
  // holder shared is looked up (a store that shares cooldowns) on the face's threads.
  template <class Self>
  void choose(Self& self) {
    State& s = *s_;
    if (!s.route.choose(s.answer)) return finish(self);
    s.progress = {};
    if constexpr (Driver::kSharing) {
      Driver& d = s.route.driver();
      if (const TimePoint at = d.now(); d.shared_cooldown_due(s.route.seat(), at)) {
        return off_loop(self, [&seat = s.route.seat(), at] {
          return StoreDone{.found = seat.store.shared_cooldown(), .at = at};
        });
      }
    }
    resume(self);
  }

  // Runs `work` (returning a StoreDone) on the face's threads; resumes with what it returned.
  template <class Self, class Work>
  void off_loop(Self& self, Work work) {
    auto held = std::allocate_shared<Self>(allocator_for<Self>(self), std::move(self));
    asio::post(home_->blocking(), [held, work = std::move(work)]() mutable {
      StoreDone done;
      try {
        done = work();
      } catch (...) {
        done.thrown = std::current_exception();
      }
      asio::post(asio::get_associated_executor(*held),
                 [held, done = std::move(done)]() mutable { (*held)(std::move(done)); });
    });
  }

  // Admits and sends, or refreshes first, or refuses: the blocking loop's turn.
  template <class Self>
  void resume(Self& self) {
    if (cancelled(self)) return finish_cancelled(self);
    State& s = *s_;
    Driver& d = s.route.driver();
    Seat& seat = s.route.seat();
    const bool force = s.route.force();
    for (;;) {
      typename Driver::Now at{d.parts().clock};
      // The ticket keeps the token whose fields the request borrows until the next admission.
      const typename Driver::Cell::AdmitOptions how{
          .force_probe = force, .refresh_tried = s.progress.refresh_tried, .keep_token = true};
      const auto use = [&](const Token& token) { place(d.parts().attach, s.request, token); };
      auto admission = seat.cell.admit(at, how, use);
      using Kind = typename Driver::Cell::Admission::Kind;
      if (admission.kind == Kind::refuse) {
        s.answer = unexpected(std::move(*admission.error));
        return rotated(self);
      }
      if (admission.kind == Kind::refresh) {
        s.progress.refresh_tried = true;
        if (admission.need == RefreshNeed::soft &&
            (seat.coordinator.quiet(d.now()) || s.route.flight().busy())) {
          continue;  // a soft refresh never holds the request up
        }
        return refresh(self, admission.generation, admission.need, false);
      }
      s.ticket = std::move(admission.ticket);
      s.admitted = at.read();
      s.pass = d.open(seat, s.ticket, s.admitted);
      if (!s.pass) {
        d.closed(seat, s.pass, s.answer);
        return finish(self);
      }
      // A pool's model whose window is over is probed by one request; the others go elsewhere.
      s.claim.emplace(s.route.call(), s.ticket.generation, s.admitted, force);
      if (s.claim->claim.out()) {
        s.answer = unexpected(s.route.call().model_out(s.ticket.generation));
        s.claim.reset();
        return rotated(self);
      }
      d.announce(seat, s.ticket, s.claim->claim.probing());
      return send(self, s.request);
    }
  }

  template <class Self>
  void send(Self& self, const Request& request) {
    T& transport = s_->route.driver().transport();
    if constexpr (AsyncStreamingTransport<T>) {
      if (s_->sink) return transport.async_send(request, s_->sink->attempt(), std::move(self));
    }
    transport.async_send(request, std::move(self));
  }

  template <class Self>
  void answered(Self& self, TransportResult result) {
    if (!result && result.error().kind == TransportErrc::cancelled) return finish_cancelled(self);
    State& s = *s_;
    if (!s.chain) {
      if (!result || !is_redirect(result->status)) {
        s.sent.emplace(std::move(result));
        return conclude(self);
      }
      s.placed = s.route.driver().placed(s.route.seat(), s.request);
      s.chain.emplace(s.request, std::move(result), s.placed, RedirectOptions{});
    } else {
      s.chain->answered(std::move(result));
    }
    if (const Request* hop = s.chain->next()) return send(self, *hop);
    Followed followed = std::move(*s.chain).finish();
    s.chain.reset();
    s.sent.emplace(std::move(followed.credentialed));
    if (followed.foreign || followed.refused) {
      s.foreign = std::make_unique<Elsewhere>(
          Elsewhere{std::move(followed.foreign), std::move(followed.refused)});
    }
    conclude(self);
  }

  // Classifies, records and acts; a window to share goes to the store on the face's threads
  // first, as the blocking loop shares it before it acts.
  template <class Self>
  void conclude(Self& self) {
    State& s = *s_;
    StreamAttempt* stream = s.sink ? &s.sink->attempt() : nullptr;
    const Next next = s.route.driver().conclude(s.route.seat(), s.request, s.route.call(), s.ticket,
                                                s.pass, *s.sent, s.foreign, s.admitted, s.progress,
                                                stream, s.answer, &s.to_share);
    s.sent.reset();
    s.foreign.reset();
    s.claim.reset();
    if constexpr (Driver::kSharing) {
      if (s.to_share) {
        s.shared_then = next;
        return off_loop(self, [&seat = s.route.seat(), window = *std::exchange(s.to_share, {})] {
          static_cast<void>(seat.store.share_cooldown(window));
          return StoreDone{};
        });
      }
    }
    act(self, next);
  }

  template <class Self>
  void act(Self& self, Next next) {
    State& s = *s_;
    switch (next) {
      case Next::done:
        return finish(self);
      case Next::rotate:
        return rotated(self);
      case Next::again:
        return resume(self);
      case Next::wait:
        if constexpr (std::is_same_v<typename Policies::Sleeper, ThreadSleeper>) {
          s.timer.emplace(home_->executor(), s.progress.wait);
          return s.timer->async_wait(std::move(self));
        } else {  // an injected Sleeper (a test's) is asked, as the blocking loop asks it
          s.route.driver().parts().sleeper.sleep_for(s.progress.wait);
          return resume(self);
        }
      case Next::refresh:
        return refresh(self, s.ticket.generation, RefreshNeed::rejected, true);
    }
  }

  // The seat failed the request with the error in `answer`: the route's next seat takes it (a
  // pool's failover), or the caller gets the error.
  template <class Self>
  void rotated(Self& self) {
    if (!s_->route.rotate(s_->answer)) return finish(self);
    choose(self);
  }

  // Refreshes generation `seen` on the face's threads, or waits for the flight another
  // operation runs; resumed with the outcome either way. Cancelled meanwhile, it leaves the
  // flight at once; the refresh goes on for the others.
  template <class Self>
  void refresh(Self& self, std::uint64_t seen, RefreshNeed need, bool replay) {
    s_->replay = replay;
    Driver& driver = s_->route.driver();
    Seat& seat = s_->route.seat();
    AsyncFlight& flight = s_->route.flight();
    auto slot = self.get_cancellation_state().slot();
    auto held = std::allocate_shared<Self>(allocator_for<Self>(self), std::move(self));
    AsyncFlight::Waiter resume = [held](const Refreshed& outcome) {
      Self& op = *held;
      asio::post(asio::get_associated_executor(op),
                 [held, outcome]() mutable { (*held)(outcome); });
    };
    const std::uint64_t id = flight.next_id();
    if (slot.is_connected()) {
      slot.assign([&flight, id](asio::cancellation_type /*type*/) {
        if (auto leave = flight.leave(id)) leave(Refreshed{.cancelled = true});
      });
    }
    if (!flight.join(id, std::move(resume))) return;
    asio::post(home_->blocking(), [&driver, &seat, &flight, seen, need, home = home_] {
      Refreshed outcome;
      try {
        outcome.result = driver.refresh(seat, seen, need, driver.now());
      } catch (...) {
        outcome.thrown = std::current_exception();
      }
      flight.land(outcome, home->executor());
    });
  }

  template <class Self>
  void finish(Self& self) {
    Result<Response> answer = std::move(s_->answer);
    s_.reset();  // lets the credential go before the caller runs
    completing_ = true;
    self.complete(nullptr, std::move(answer));
  }

  template <class Self>
  void finish_cancelled(Self& self) {
    s_->answer = unexpected(make_error(
        Errc::cancelled, s_->route.messages().prefix() + "the send was cancelled by its caller"));
    finish(self);
  }

  AsyncHome* home_;
  HandlerOwned<State> s_;
  bool started_ = false;
  bool completing_ = false;
};

/// What an asynchronous send completes with: an exception a policy threw, or the send's Result.
using AsyncSendSignature = void(std::exception_ptr, Result<Response>);

/// Starts an AsyncSend for a completion handler: its State allocated through the handler's
/// allocator (detail/async_alloc.hpp), as asio's composed operations allocate theirs.
template <class Route>
struct InitiateSend {
  AsyncHome* home;  ///< The face's executor and threads.
  /// Composes the operation of `request`, `sink` (nullptr: none) and `route` for `handler`.
  template <class Handler, class Sink>
  void operator()(Handler&& handler, Request request, Sink sink, Route route) const {
    using Op = AsyncSend<Route>;
    HandlerOwned<SinkBase> held;
    if constexpr (!std::is_same_v<Sink, std::nullptr_t>) {
      held = allocate_for<HeldSink<Sink>, SinkBase>(handler, std::move(sink));
    }
    auto state = allocate_for<typename Op::State>(handler, std::move(request), std::move(held),
                                                  std::move(route));
    asio::async_compose<std::decay_t<Handler>, AsyncSendSignature>(Op{*home, std::move(state)},
                                                                   handler, home->executor());
  }
};

/// Starts an AsyncSend of `request` (streamed into `sink` unless it is nullptr) over `route`,
/// completing through `token` (on `home`'s executor unless the token names another).
template <class Route, class Sink, class Token>
auto async_send(AsyncHome& home, Request request, Sink sink, Route route, Token&& token) {
  return asio::async_initiate<Token, AsyncSendSignature>(
      InitiateSend<Route>{&home}, token, std::move(request), std::move(sink), std::move(route));
}

}  // namespace keyward::detail
