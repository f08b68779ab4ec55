// What the asynchronous faces (async.hpp, async_pool.hpp) share besides their operation
// (detail/async_send.hpp): the threads that run what blocks by nature (detail::AsyncHome), a
// seat's single-flight refresh as operations wait for it (detail::AsyncFlight: completions, not
// threads; a waiter can leave it when cancelled), a streaming caller's sink, and the transport's
// executor as the faces' default.
#pragma once

#include <algorithm>
#include <asio/any_io_executor.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "keyward/detail/stream_attempt.hpp"
#include "keyward/error.hpp"
#include "keyward/result.hpp"

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

/// SinkBase for a sink of type Sink (allocated through the operation's handler's allocator:
/// detail/async_alloc.hpp).
template <class Sink>
class HeldSink : public SinkBase {
 public:
  /// Holds `sink`.
  explicit HeldSink(Sink sink) : sink_(std::move(sink)), stream_(sink_) {}
  /// The stream handler over the sink.
  StreamAttempt& attempt() noexcept override { return stream_; }

 private:
  Sink sink_;
  StreamAttempt stream_;
};

/// How a refresh an asynchronous operation made or waited for ended, for that operation.
struct Refreshed {
  Result<void> result{};               ///< The coordinator's answer.
  std::exception_ptr thrown{nullptr};  ///< What the refresh threw, if it threw.
  bool cancelled = false;              ///< The operation was cancelled while it waited.
};

/// The refresh one operation of a seat runs for all of them: every operation that needs it, the
/// one that runs it included, waits for it as a completion, not a thread, and a cancelled one
/// leaves it while it goes on for the others.
class AsyncFlight {
 public:
  using Waiter = std::function<void(const Refreshed&)>;  ///< Resumes a waiting operation.

  /// A name for a waiter, unique in this flight (for join() and leave()).
  std::uint64_t next_id() noexcept { return last_id_.fetch_add(1, std::memory_order_relaxed) + 1; }
  /// Waits for the flight as waiter `id`: `resume` is called once, with the flight's outcome
  /// when it lands, unless leave() takes it first. True when the caller is to run the flight
  /// (none was running).
  bool join(std::uint64_t id, Waiter resume) {
    const std::lock_guard lock{mutex_};
    waiters_.emplace_back(id, std::move(resume));
    return !std::exchange(running_, true);
  }
  /// Takes waiter `id` out: its `resume`, now the caller's to call, or none when the flight
  /// already landed (it is being resumed).
  Waiter leave(std::uint64_t id) {
    const std::lock_guard lock{mutex_};
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
      if (it->first == id) {
        Waiter resume = std::move(it->second);
        waiters_.erase(it);
        return resume;
      }
    }
    return {};
  }
  /// True while a flight runs.
  [[nodiscard]] bool busy() {
    const std::lock_guard lock{mutex_};
    return running_;
  }
  /// Ends the flight with `outcome`: every waiting operation is resumed with it, kResumeBatch at
  /// a time. Each batch is a handler posted to `pace` (the face's executor) after the one before
  /// has posted its resumptions, so that the loop runs its timers and sockets between batches:
  /// 10,000 waiters resumed at once would hold a loop for as long as they all take to run.
  void land(const Refreshed& outcome, const asio::any_io_executor& pace) {
    auto landing = std::make_shared<Landing>();
    landing->outcome = outcome;
    {
      const std::lock_guard lock{mutex_};
      running_ = false;
      landing->waiters.swap(waiters_);
    }
    resume(std::move(landing), pace);
  }

  /// How many waiters one handler of land() resumes: each resumed operation goes on to send, on
  /// the loop (tests/async/async_proof_test.cpp, one thread, Debug, 8 runs each: the largest
  /// stall was 5.2 ms with 8 a handler, 4.0 ms with 4).
  static constexpr std::size_t kResumeBatch = 4;

 private:
  struct Landing {
    Refreshed outcome;
    std::vector<std::pair<std::uint64_t, Waiter>> waiters;
    std::size_t next = 0;
  };

  static void resume(std::shared_ptr<Landing> landing, const asio::any_io_executor& pace) {
    const std::size_t end = std::min(landing->waiters.size(), landing->next + kResumeBatch);
    for (; landing->next < end; ++landing->next) {
      landing->waiters[landing->next].second(landing->outcome);
    }
    if (landing->next == landing->waiters.size()) return;
    asio::post(
        pace, [landing = std::move(landing), pace]() mutable { resume(std::move(landing), pace); });
  }

  std::mutex mutex_;
  bool running_ = false;
  std::atomic<std::uint64_t> last_id_{0};
  std::vector<std::pair<std::uint64_t, Waiter>> waiters_;
};

/// An asynchronous face's executor (where its operations complete unless their token names
/// another) and its threads for what blocks (a refresh's token call and store writes, a store's
/// cooldown lookups). A face declares it last, so that it is destroyed first: its destructor
/// waits for the work on its threads, which uses the face's flights.
class AsyncHome {
 public:
  /// Completes on `executor`; runs blocking work on `threads` threads.
  AsyncHome(asio::any_io_executor executor, std::size_t threads)
      : executor_(std::move(executor)), blocking_(threads) {}
  AsyncHome(const AsyncHome&) = delete;
  AsyncHome& operator=(const AsyncHome&) = delete;
  AsyncHome(AsyncHome&&) = delete;
  AsyncHome& operator=(AsyncHome&&) = delete;
  /// Waits for the work under way on its threads.
  ~AsyncHome() { blocking_.join(); }

  /// The default executor.
  [[nodiscard]] const asio::any_io_executor& executor() const noexcept { return executor_; }
  /// The threads for blocking work.
  [[nodiscard]] asio::thread_pool& blocking() noexcept { return blocking_; }

 private:
  asio::any_io_executor executor_;
  asio::thread_pool blocking_;
};

/// The executor of `transport`, where a face completes its operations when not given one. Not a
/// constraint on the faces' constructors: g++ 12 crashes (an internal compiler error) deducing a
/// class's template arguments from a constructor with a requires-clause.
template <class T>
asio::any_io_executor transport_executor(T& transport) {
  static_assert(
      requires { asio::any_io_executor{transport.get_executor()}; },
      "this transport has no get_executor(): pass the executor to complete on");
  return transport.get_executor();
}

}  // namespace keyward::detail
