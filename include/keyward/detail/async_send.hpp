// detail::AsyncSend: one asynchronous send, detail::Driver's loop taken a step at a time.
//
// AsyncCredential::async_send() (async.hpp) runs this composed operation (asio::async_compose).
// Each step is the driver's own (docs/architecture.md): the cell's admission, the breaker's
// open(), announce(), the transport's send (asynchronous here), the redirect chain
// (detail::RedirectChain, a hop at a time), conclude(). Where the blocking loop would wait, the
// operation returns and is resumed: by the transport's completion, by an asio timer (a retry's
// wait), or by the end of a refresh that runs on the AsyncCredential's own threads; an operation
// that needs a refresh while another operation of the same credential makes one joins it
// (detail::AsyncFlight) rather than holding a thread.
#pragma once

#include <asio/associated_executor.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "keyward/async_transport.hpp"
#include "keyward/clock.hpp"
#include "keyward/detail/driver.hpp"
#include "keyward/detail/redirect.hpp"
#include "keyward/detail/stream_attempt.hpp"
#include "keyward/detail/url.hpp"
#include "keyward/error.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/result.hpp"

namespace keyward {
template <class T, class Policies>
class AsyncCredential;
}  // namespace keyward

namespace keyward::detail {

/// A streaming caller's sink, held by its operation, with the StreamAttempt over it.
class SinkBase {
 public:
  SinkBase() = default;
  SinkBase(const SinkBase&) = delete;
  SinkBase& operator=(const SinkBase&) = delete;
  SinkBase(SinkBase&&) = delete;
  SinkBase& operator=(SinkBase&&) = delete;
  virtual ~SinkBase() = default;
  /// The stream handler the transport is given.
  virtual StreamAttempt& attempt() noexcept = 0;
};

/// SinkBase for a sink of type Sink.
template <class Sink>
class HeldSink final : public SinkBase {
 public:
  /// Holds `sink`.
  explicit HeldSink(Sink sink) : sink_(std::move(sink)), stream_(sink_) {}
  /// The stream handler over the sink.
  StreamAttempt& attempt() noexcept override { return stream_; }

 private:
  Sink sink_;
  StreamAttempt stream_;
};

/// How a refresh an asynchronous operation made or waited for ended.
struct Refreshed {
  Result<void> result{};               ///< The coordinator's answer.
  std::exception_ptr thrown{nullptr};  ///< What the refresh threw, if it threw.
};

/// The refresh one operation of a credential runs for all of them: the others wait for it as
/// completions, not threads.
class AsyncFlight {
 public:
  using Waiter = std::function<void(const Refreshed&)>;  ///< Resumes a waiting operation.

  /// True when the caller is to run the flight (none was running); else `resume` is called with
  /// the flight's outcome when it lands.
  bool take(Waiter& resume) {
    const std::lock_guard lock{mutex_};
    if (!running_) {
      running_ = true;
      return true;
    }
    waiters_.push_back(std::move(resume));
    return false;
  }
  /// True while a flight runs.
  [[nodiscard]] bool busy() {
    const std::lock_guard lock{mutex_};
    return running_;
  }
  /// Ends the flight with `outcome`: every waiting operation is resumed with it.
  void land(const Refreshed& outcome) {
    std::vector<Waiter> waiters;
    {
      const std::lock_guard lock{mutex_};
      running_ = false;
      waiters.swap(waiters_);
    }
    for (auto& resume : waiters) resume(outcome);
  }

 private:
  std::mutex mutex_;
  bool running_ = false;
  std::vector<Waiter> waiters_;
};

/// One asynchronous send through AsyncCredential<T, Policies>: the implementation given to
/// asio::async_compose.
template <class T, class Policies>
class AsyncSend {
 public:
  using Owner = AsyncCredential<T, Policies>;    ///< The face.
  using Driver = detail::Driver<T, Policies>;    ///< The loop whose steps it takes.
  using Seat = typename Driver::Seat;            ///< The credential.
  using Elsewhere = typename Driver::Elsewhere;  ///< Where a redirect chain went.

  /// What an operation keeps between its steps (one allocation; nothing moves).
  struct State {
    /// The request to send and, for a streamed one, its sink.
    State(Request r, std::unique_ptr<SinkBase> s) : request(std::move(r)), sink(std::move(s)) {}
    Request request;                            ///< The caller's request.
    std::unique_ptr<SinkBase> sink;             ///< The caller's sink, when it streams.
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
    bool replay = false;                        ///< The refresh under way replays the request.
    std::optional<Loan> loan{};  ///< Takes the credential's fields back (destroyed first).
  };

  /// The operation of `owner` with `state`.
  AsyncSend(Owner& owner, std::unique_ptr<State> state) noexcept
      : owner_(&owner), s_(std::move(state)) {}

  /// Starts (posted, so it never completes inside async_send()), and resumes after a refresh it
  /// waited for ended well.
  template <class Self>
  void operator()(Self& self) {
    if (!started_) {
      started_ = true;
      asio::post(std::move(self));
      return;
    }
    guarded(self, [&] { resume(self); });
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
  /// A refresh it ran or waited for ended.
  template <class Self>
  void operator()(Self& self, Refreshed refreshed) {
    guarded(self, [&] {
      if (refreshed.thrown) std::rethrow_exception(refreshed.thrown);
      if (!refreshed.result) {
        s_->answer = unexpected(std::move(refreshed.result).error());
        return finish(self);
      }
      if (std::exchange(s_->replay, false)) ++s_->progress.replays;
      resume(self);
    });
  }

 private:
  Driver& driver() const noexcept { return owner_->credential_.driver_; }
  Seat& seat() const noexcept { return *owner_->credential_.seat_; }

  // Runs `step`; what it throws ends the operation with the exception, after the state (ticket,
  // pass, loan) has let the credential go.
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

  // Admits and sends, or refreshes first, or refuses: the blocking loop's turn.
  template <class Self>
  void resume(Self& self) {
    if (cancelled(self)) return finish_cancelled(self);
    State& s = *s_;
    Driver& d = driver();
    Seat& seat = this->seat();
    if (!s.loan) {  // the first turn
      if (!owner_->credential_.origins_.allows(s.request.url)) {
        s.answer = unexpected(seat.cell.messages().insecure_url(url_scheme(s.request.url)));
        return finish(self);
      }
      s.loan.emplace(s.request.headers);
    }
    for (;;) {
      typename Driver::Now at{d.parts().clock};
      // The ticket keeps the token whose fields the request borrows until the next admission.
      const typename Driver::Cell::AdmitOptions how{
          .force_probe = false, .refresh_tried = s.progress.refresh_tried, .keep_token = true};
      const auto use = [&](const Token& token) { place(d.parts().attach, s.request, token); };
      auto admission = seat.cell.admit(at, how, use);
      using Kind = typename Driver::Cell::Admission::Kind;
      if (admission.kind == Kind::refuse) {
        s.answer = unexpected(std::move(*admission.error));
        return finish(self);
      }
      if (admission.kind == Kind::refresh) {
        s.progress.refresh_tried = true;
        if (admission.need == RefreshNeed::soft &&
            (seat.coordinator.quiet(d.now()) || owner_->flight_.busy())) {
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
      d.announce(seat, s.ticket, false);
      return send(self, s.request);
    }
  }

  template <class Self>
  void send(Self& self, const Request& request) {
    T& transport = owner_->credential_.transport();
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
      s.placed = driver().placed(seat(), s.request);
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

  template <class Self>
  void conclude(Self& self) {
    State& s = *s_;
    Plain plain;
    StreamAttempt* stream = s.sink ? &s.sink->attempt() : nullptr;
    const Next next = driver().conclude(seat(), s.request, plain, s.ticket, s.pass, *s.sent,
                                        s.foreign, s.admitted, s.progress, stream, s.answer);
    s.sent.reset();
    s.foreign.reset();
    switch (next) {
      case Next::done:
      case Next::rotate:
        return finish(self);
      case Next::again:
        return resume(self);
      case Next::wait:
        if constexpr (std::is_same_v<typename Policies::Sleeper, ThreadSleeper>) {
          s.timer.emplace(owner_->executor_, s.progress.wait);
          return s.timer->async_wait(std::move(self));
        } else {  // an injected Sleeper (a test's) is asked, as the blocking loop asks it
          driver().parts().sleeper.sleep_for(s.progress.wait);
          return resume(self);
        }
      case Next::refresh:
        return refresh(self, s.ticket.generation, RefreshNeed::rejected, true);
    }
  }

  // Refreshes generation `seen` on the owner's threads, or waits for the flight another
  // operation runs; resumed with the outcome either way.
  template <class Self>
  void refresh(Self& self, std::uint64_t seen, RefreshNeed need, bool replay) {
    s_->replay = replay;
    auto held = std::make_shared<Self>(std::move(self));
    AsyncFlight::Waiter resume = [held](const Refreshed& outcome) {
      Self& op = *held;
      asio::post(asio::get_associated_executor(op),
                 [held, outcome]() mutable { (*held)(outcome); });
    };
    Owner& owner = *owner_;
    if (!owner.flight_.take(resume)) return;
    asio::post(owner.blocking_, [&owner, seen, need, resume = std::move(resume)] {
      Refreshed outcome;
      try {
        Driver& d = owner.credential_.driver_;
        outcome.result = d.refresh(*owner.credential_.seat_, seen, need, d.now());
      } catch (...) {
        outcome.thrown = std::current_exception();
      }
      owner.flight_.land(outcome);
      resume(outcome);
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
        Errc::cancelled, seat().cell.messages().prefix() + "the send was cancelled by its caller"));
    finish(self);
  }

  Owner* owner_;
  std::unique_ptr<State> s_;
  bool started_ = false;
  bool completing_ = false;
};

}  // namespace keyward::detail
