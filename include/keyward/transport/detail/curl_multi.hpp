// The engine of transport::AsyncCurl (async_curl.hpp): one libcurl multi handle driven by asio.
//
// libcurl's multi-socket interface says which sockets it wants watched (CURLMOPT_SOCKETFUNCTION)
// and when it wants to be called back (CURLMOPT_TIMERFUNCTION); asio waits for those sockets to
// become readable or writable and for that time, then tells libcurl (curl_multi_socket_action)
// and collects the transfers it finished (curl_multi_info_read). The sockets libcurl connects
// with are asio tcp sockets (CURLOPT_OPENSOCKETFUNCTION, CLOSESOCKETFUNCTION), so asio owns every
// descriptor it watches; a descriptor libcurl made itself (its resolver's) is watched through a
// duplicate of it. Everything touching the multi handle runs on one strand of the executor.
//
// libcurl is never handed more transfers to one origin than it can run at once: the rest wait
// in the origin's queue here (CurlLane). libcurl keeps transfers beyond its per-host connection
// cap in a list that curl_multi_remove_handle() walks from the head on every removal (libcurl
// 7.88), and re-tries a connection for each one it lets go: with 10,000 transfers added at once
// that held the loop for hundreds of milliseconds at a time. A queued transfer's total timeout
// counts its wait; one timer ends those whose timeout passes in the queue.
// Over 300 lines: libcurl's four callbacks, the waits they start and the queues share the socket
// table and the operations, and read best together.
#pragma once

#include <curl/curl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <asio/any_io_executor.hpp>
#include <asio/error.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "keyward/transport.hpp"
#include "keyward/transport/detail/curl_exchange.hpp"
#include "keyward/transport/options.hpp"

namespace keyward::transport::detail {

/// The transfers to one origin (scheme, host, port): how many libcurl runs, how many it may
/// run, and the ids of those waiting for their turn, oldest first (an id whose operation ended
/// meanwhile is skipped).
struct CurlLane {
  std::size_t running = 0;
  std::size_t cap = 1;
  std::deque<std::uint64_t> waiting{};
};

/// One request in flight: its exchange, its easy handle once started, and how to complete it.
class CurlOperation {
 public:
  /// The operation for `request`, streamed to `stream` when not null.
  CurlOperation(const Request& request, const HttpOptions& options, StreamHandler* stream)
      : exchange(request, options, stream) {}
  CurlOperation(const CurlOperation&) = delete;
  CurlOperation& operator=(const CurlOperation&) = delete;
  CurlOperation(CurlOperation&&) = delete;
  CurlOperation& operator=(CurlOperation&&) = delete;
  virtual ~CurlOperation() = default;
  /// Calls the completion handler with `result`; called once, on the strand.
  virtual void complete(TransportResult result) = 0;

  CurlExchange exchange;     ///< The request's exchange (curl_exchange.hpp).
  CurlHandle handle{};       ///< Its easy handle, once started (libcurl runs it).
  std::uint64_t id = 0;      ///< Names it to a cancellation.
  CurlLane* lane = nullptr;  ///< Its origin's queue, once judged.
};

/// The multi handle, its sockets, its timer and the operations in flight; kept alive by the
/// transport and by every wait it started.
class CurlMulti : public std::enable_shared_from_this<CurlMulti> {
 public:
  /// A multi handle whose work runs on a strand of `executor`.
  CurlMulti(const asio::any_io_executor& executor, HttpOptions options)
      : options_(std::move(options)),
        strand_(asio::make_strand(executor)),
        timer_(strand_),
        deadlines_(strand_) {
    curl_global_init(CURL_GLOBAL_DEFAULT);  // thread-safe since libcurl 7.84
    multi_ = curl_multi_init();
    if (multi_ == nullptr) return;
    // Idle connections kept, and connections open to one host at once: transfers beyond it wait
    // for one (their total timeout counts the wait).
    const auto per_host = static_cast<long>(connections());
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, static_cast<void*>(this));
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, static_cast<void*>(this));
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, per_host);
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, per_host);
  }
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;
  CurlMulti(CurlMulti&&) = delete;
  CurlMulti& operator=(CurlMulti&&) = delete;
  ~CurlMulti() {
    dying_ = true;  // libcurl's callbacks during the cleanup start nothing
    for (auto& [id, op] : ops_) {
      if (op->handle) curl_multi_remove_handle(multi_, op->handle.get());
    }
    ops_.clear();
    idle_.clear();
    if (multi_ != nullptr) curl_multi_cleanup(multi_);  // closes the cached connections
  }

  /// The options every exchange uses.
  [[nodiscard]] const HttpOptions& options() const noexcept { return options_; }
  /// The strand every multi call runs on.
  [[nodiscard]] const asio::strand<asio::any_io_executor>& strand() const noexcept {
    return strand_;
  }
  /// A new operation's id.
  std::uint64_t next_id() noexcept { return next_id_.fetch_add(1) + 1; }

  /// On the strand: judges `op`'s URL and adds it to the multi handle, or to its origin's queue
  /// when libcurl runs all it may for that origin, or completes it with why it cannot be.
  void start(std::unique_ptr<CurlOperation> op) {
    if (auto refused = op->exchange.judge(last_url_)) return op->complete(unexpected(*refused));
    if (shut_ || multi_ == nullptr) {
      return op->complete(unexpected(TransportFailure{
          multi_ == nullptr ? TransportErrc::other : TransportErrc::cancelled,
          multi_ == nullptr ? "curl_multi_init failed" : "the transport was destroyed"}));
    }
    const JudgedUrl& url = op->exchange.judged();
    auto [it, added] = lanes_.try_emplace(url.origin);
    CurlLane& lane = it->second;
    if (added) lane.cap = connections() * (url.https ? kStreamsPerConnection : 1);
    op->lane = &lane;
    if (lane.running < lane.cap) return run(std::move(op));
    lane.waiting.push_back(op->id);
    arm_deadline(op->exchange.deadline());
    ops_.emplace(op->id, std::move(op));
  }

  /// On the strand: ends operation `id` if it is still in flight or queued, with
  /// TransportErrc::cancelled.
  void cancel(std::uint64_t id) {
    const auto it = ops_.find(id);
    if (it == ops_.end()) return;  // it ended before the cancellation got here
    std::unique_ptr<CurlOperation> op = std::move(it->second);
    ops_.erase(it);
    if (op->handle) {
      curl_multi_remove_handle(multi_, op->handle.get());  // closes a connection mid-transfer
      op->exchange.detach(op->handle.get());
      finished(*op);
    }
    op->complete(
        unexpected(TransportFailure{TransportErrc::cancelled, "the exchange was cancelled"}));
  }

  /// On the strand, once the transport is gone: every operation in flight ends cancelled and
  /// every wait is cancelled, so that nothing keeps this object alive.
  void shut_down() {
    shut_ = true;
    std::vector<std::uint64_t> ids;
    for (const auto& entry : ops_) ids.push_back(entry.first);
    for (const std::uint64_t id : ids) cancel(id);
    timer_.cancel();
    deadlines_.cancel();
    for (auto& [fd, socket] : sockets_) socket->cancel();
  }

 private:
  using Clock = Exchange::Clock;

  // Transfers libcurl may run at once over one connection to an https origin: HTTP/2 multiplexes
  // them (100 streams at once is what servers commonly allow, and the least RFC 9113
  // recommends). Plain http (only to a loopback host) is HTTP/1.1: one at a time.
  static constexpr std::size_t kStreamsPerConnection = 100;

  // Origins whose queue is kept while idle (so that sending to a few does not allocate one each
  // time); beyond them an idle origin's is dropped.
  static constexpr std::size_t kKeptLanes = 16;

  // Connections kept for reuse, and opened to one host at once.
  [[nodiscard]] std::size_t connections() const noexcept {
    return std::max<std::size_t>(options_.max_idle_connections, 1);
  }

  // Hands `op` (judged, its lane has room) to libcurl, or completes it with why it cannot be.
  void run(std::unique_ptr<CurlOperation> op) {
    CurlHandle handle = take_idle();
    if (!handle) {
      return op->complete(
          unexpected(TransportFailure{TransportErrc::other, "curl_easy_init failed"}));
    }
    if (auto failed = op->exchange.attach(handle.get())) return op->complete(unexpected(*failed));
    CURL* h = handle.get();
    curl_set(h, CURLOPT_PRIVATE, static_cast<void*>(op.get()));
    op->handle = std::move(handle);
    if (const CURLMcode code = curl_multi_add_handle(multi_, h); code != CURLM_OK) {
      op->exchange.detach(h);
      return op->complete(
          unexpected(TransportFailure{TransportErrc::other, curl_multi_strerror(code)}));
    }
    ++op->lane->running;
    ops_.emplace(op->id, std::move(op));
  }

  // `done` left libcurl: the oldest transfer to its origin still waiting takes its place. An
  // origin with nothing under way is forgotten once more than kKeptLanes are known.
  void finished(const CurlOperation& done) {
    CurlLane& lane = *done.lane;
    --lane.running;
    while (lane.running < lane.cap && !lane.waiting.empty() && !shut_) {
      const auto it = ops_.find(lane.waiting.front());
      lane.waiting.pop_front();
      if (it == ops_.end()) continue;  // cancelled or timed out while it waited
      std::unique_ptr<CurlOperation> op = std::move(it->second);
      ops_.erase(it);
      if (op->exchange.deadline() <= Clock::now()) {  // its timeout passed in the queue
        op->complete(op->exchange.time_out_unstarted());
        continue;
      }
      run(std::move(op));
    }
    if (lane.running == 0 && lane.waiting.empty() && lanes_.size() > kKeptLanes) {
      lanes_.erase(done.exchange.judged().origin);
    }
  }

  // Makes the deadline timer fire by `at`, when the first queued transfer's timeout ends.
  void arm_deadline(Clock::time_point at) {
    if (at >= next_deadline_) return;  // also when `at` is max(): nothing to wait for
    next_deadline_ = at;
    deadlines_.expires_at(at);
    deadlines_.async_wait([self = shared_from_this()](const asio::error_code& e) {
      if (e || self->shut_) return;
      self->next_deadline_ = Clock::time_point::max();
      self->time_out_waiting();
    });
  }

  // Ends every queued transfer whose total timeout has passed; the timer waits for the next one.
  void time_out_waiting() {
    const auto now = Clock::now();
    auto next = Clock::time_point::max();
    std::vector<std::uint64_t> late;
    for (const auto& [id, op] : ops_) {
      if (op->handle) continue;  // libcurl runs it and times it out
      if (op->exchange.deadline() <= now) {
        late.push_back(id);
      } else {
        next = std::min(next, op->exchange.deadline());
      }
    }
    arm_deadline(next);
    for (const std::uint64_t id : late) {
      const auto it = ops_.find(id);
      if (it == ops_.end()) continue;  // a handler called meanwhile ended it
      std::unique_ptr<CurlOperation> op = std::move(it->second);
      ops_.erase(it);
      op->complete(op->exchange.time_out_unstarted());
    }
  }

  // A descriptor libcurl asked to have watched: a socket opened through on_open(), or a
  // duplicate of a descriptor libcurl opened itself.
  struct Socket {
    std::optional<asio::ip::tcp::socket> tcp{};
    std::optional<asio::posix::stream_descriptor> copy{};
    int want = 0;  // CURL_POLL_IN and CURL_POLL_OUT bits
    bool reading = false;
    bool writing = false;
    bool closed = false;
    void cancel() {
      asio::error_code ignored;
      if (tcp) tcp->cancel(ignored);
      if (copy) copy->cancel(ignored);
    }
  };

  // A kept handle (configured still: each exchange sets what it may change), or a new one.
  CurlHandle take_idle() {
    if (!idle_.empty()) {
      CurlHandle handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
    CurlHandle handle{curl_easy_init()};
    CURL* h = handle.get();
    if (h == nullptr) return handle;
    CurlExchange::configure(h, options_);
    curl_set(h, CURLOPT_OPENSOCKETFUNCTION, &CurlMulti::on_open);
    curl_set(h, CURLOPT_OPENSOCKETDATA, static_cast<void*>(this));
    curl_set(h, CURLOPT_CLOSESOCKETFUNCTION, &CurlMulti::on_close);
    curl_set(h, CURLOPT_CLOSESOCKETDATA, static_cast<void*>(this));
    return handle;
  }

  static curl_socket_t on_open(void* self, curlsocktype purpose, curl_sockaddr* address) {
    auto& multi = *static_cast<CurlMulti*>(self);
    if (purpose != CURLSOCKTYPE_IPCXN ||
        (address->family != AF_INET && address->family != AF_INET6)) {
      return CURL_SOCKET_BAD;
    }
    auto socket = std::make_shared<Socket>();
    socket->tcp.emplace(multi.strand_);
    asio::error_code error;
    socket->tcp->open(address->family == AF_INET ? asio::ip::tcp::v4() : asio::ip::tcp::v6(),
                      error);
    if (error) return CURL_SOCKET_BAD;
    const curl_socket_t fd = socket->tcp->native_handle();
    multi.forget(fd);  // an entry left for a number the system gave out again
    multi.sockets_[fd] = std::move(socket);
    return fd;
  }

  static int on_close(void* self, curl_socket_t fd) {
    auto& multi = *static_cast<CurlMulti*>(self);
    if (!multi.forget(fd)) ::close(fd);  // not one of ours: libcurl expects it closed
    return 0;
  }

  // Drops the entry for `fd` (closing what it owns; pending waits end aborted); false if none.
  bool forget(curl_socket_t fd) {
    const auto it = sockets_.find(fd);
    if (it == sockets_.end()) return false;
    it->second->closed = true;
    it->second->tcp.reset();
    it->second->copy.reset();
    sockets_.erase(it);
    return true;
  }

  static int on_socket(CURL* /*easy*/, curl_socket_t fd, int what, void* self, void* /*socketp*/) {
    auto& multi = *static_cast<CurlMulti*>(self);
    if (multi.dying_) return 0;
    auto it = multi.sockets_.find(fd);
    if (what == CURL_POLL_REMOVE) {
      if (it == multi.sockets_.end()) return 0;
      if (it->second->copy) {
        multi.forget(fd);  // our duplicate: closed now, before the number can be given out again
      } else {
        it->second->want = 0;
        it->second->cancel();  // no wait keeps this object alive for an idle connection
      }
      return 0;
    }
    if (it == multi.sockets_.end()) {
      const int duplicate = ::dup(fd);
      if (duplicate < 0) return -1;
      auto socket = std::make_shared<Socket>();
      socket->copy.emplace(multi.strand_, duplicate);
      it = multi.sockets_.emplace(fd, std::move(socket)).first;
    }
    const std::shared_ptr<Socket>& socket = it->second;
    const int dropped = socket->want & ~what;
    socket->want = what;
    if (((dropped & CURL_POLL_IN) != 0 && socket->reading) ||
        ((dropped & CURL_POLL_OUT) != 0 && socket->writing)) {
      socket->cancel();  // the aborted waits re-arm what is still wanted
    }
    multi.arm(fd, socket);
    return 0;
  }

  // Starts a wait for each direction wanted and not yet waited for.
  void arm(curl_socket_t fd, const std::shared_ptr<Socket>& socket) {
    if (shut_ || socket->closed) return;
    for (const bool read : {true, false}) {
      bool& pending = read ? socket->reading : socket->writing;
      if ((socket->want & (read ? CURL_POLL_IN : CURL_POLL_OUT)) == 0 || pending) continue;
      pending = true;
      auto ready = [self = shared_from_this(), fd, socket, read](const asio::error_code& error) {
        self->on_ready(fd, socket, read, error);
      };
      if (socket->tcp) {
        socket->tcp->async_wait(read ? asio::socket_base::wait_read : asio::socket_base::wait_write,
                                std::move(ready));
      } else {
        socket->copy->async_wait(read ? asio::posix::descriptor_base::wait_read
                                      : asio::posix::descriptor_base::wait_write,
                                 std::move(ready));
      }
    }
  }

  void on_ready(curl_socket_t fd, const std::shared_ptr<Socket>& socket, bool read,
                const asio::error_code& error) {
    (read ? socket->reading : socket->writing) = false;
    if (socket->closed || shut_) return;
    if (error != asio::error::operation_aborted &&
        (socket->want & (read ? CURL_POLL_IN : CURL_POLL_OUT)) != 0) {
      const int event = error ? CURL_CSELECT_ERR : (read ? CURL_CSELECT_IN : CURL_CSELECT_OUT);
      int running = 0;
      curl_multi_socket_action(multi_, fd, event, &running);
      collect();
    }
    arm(fd, socket);
  }

  static int on_timer(CURLM* /*multi*/, long timeout_ms, void* self) {
    auto& multi = *static_cast<CurlMulti*>(self);
    if (multi.dying_ || multi.shut_) return 0;
    // Work due at once is already coming: a wait of 0 is armed or its handler queued. Each
    // transfer added asks for 0; re-arming for each would drop the one queued, and a steady
    // stream of additions would keep libcurl's due work from ever running (it then ran all at
    // once: 10,000 transfers in one call, 0.25 s and more).
    if (timeout_ms == 0 && multi.due_now_) return 0;
    const std::uint64_t generation = ++multi.timer_generation_;
    multi.timer_.cancel();
    multi.due_now_ = timeout_ms == 0;
    if (timeout_ms < 0) return 0;
    // Never libcurl from inside its callback: even a timeout of 0 runs from the timer's handler.
    multi.timer_.expires_after(std::chrono::milliseconds{timeout_ms});
    multi.timer_.async_wait(
        [self = multi.shared_from_this(), generation](const asio::error_code& e) {
          if (e || generation != self->timer_generation_ || self->shut_) return;
          self->due_now_ = false;
          int running = 0;
          curl_multi_socket_action(self->multi_, CURL_SOCKET_TIMEOUT, 0, &running);
          self->collect();
        });
    return 0;
  }

  // Completes every transfer libcurl finished.
  void collect() {
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* const easy = message->easy_handle;
      const CURLcode code = message->data.result;
      char* owner = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &owner);
      const auto it = ops_.find(reinterpret_cast<CurlOperation*>(owner)->id);
      if (it == ops_.end()) continue;
      std::unique_ptr<CurlOperation> op = std::move(it->second);
      ops_.erase(it);
      curl_multi_remove_handle(multi_, easy);
      op->exchange.detach(easy);
      TransportResult result = op->exchange.finish(code);
      // A failed exchange's handle is dropped, as transport::Curl drops it.
      if (code == CURLE_OK && idle_.size() < options_.max_idle_connections) {
        idle_.push_back(std::move(op->handle));
      }
      finished(*op);
      op->complete(std::move(result));
    }
  }

  HttpOptions options_;
  asio::strand<asio::any_io_executor> strand_;
  asio::steady_timer timer_;
  std::uint64_t timer_generation_ = 0;  // a wait's handler acts only if no later one was armed
  bool due_now_ = false;                // the wait armed is one of 0 (libcurl has work due)
  asio::steady_timer deadlines_;        // ends queued transfers at their total timeout
  Clock::time_point next_deadline_ = Clock::time_point::max();
  CURLM* multi_ = nullptr;
  std::unordered_map<curl_socket_t, std::shared_ptr<Socket>> sockets_;
  std::unordered_map<std::uint64_t, std::unique_ptr<CurlOperation>> ops_;  // run or queued
  std::unordered_map<std::string, CurlLane> lanes_;                        // by origin
  std::vector<CurlHandle> idle_;
  std::shared_ptr<const JudgedUrl> last_url_;  // the last URL accepted, judged once
  std::atomic<std::uint64_t> next_id_{0};
  bool shut_ = false;
  bool dying_ = false;
};

}  // namespace keyward::transport::detail
