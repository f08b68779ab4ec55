// keyward_async_bench: the cost of one asynchronous send over a real loopback HTTP server
// (keyward_bench_server, in another process: callgrind counts every thread of the process it
// runs), keyward (AsyncCredential over transport::AsyncCurl) against a careful hand-written asio +
// curl-multi client doing the same request: `POST /v1/messages` with a small JSON body, a
// content type and `authorization: Bearer <token>`, answered by the Anthropic message of
// bench/bodies.hpp (about 2.3 KB of JSON), whose status and body each reads. One send at a time
// on one io_context thread, each started by the previous one's completion, over one kept-alive
// connection.
//
//   keyward_async_bench --list          one line per case: name, operation count, body bytes
//   keyward_async_bench CASE N          N sends of CASE (after a warm-up of 20), for callgrind
//   keyward_async_bench --allocs N      per send of each case, over N sends after the warm-up:
//                                       global operator new calls on the loop's thread (building
//                                       the request left out), and calls to the completion
//                                       handler's own allocator; with the transport alone
//                                       (transport::AsyncCurl, the bearer header the caller's)
//
// The server's port is KEYWARD_BENCH_PORT's (bench/run starts the server).
#include <curl/curl.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "alloc_counter.hpp"
#include "bodies.hpp"
#include "keyward/async.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/transport/async_curl.hpp"

namespace keyward::bench {
namespace {

constexpr long kWarmUp = 20;

/// The token both send (bench/designs.hpp's token()).
std::string token() { return "sk-ant-oat01-" + std::string(48, 'x') + "-0-abcd"; }

/// The request's body, the same for both clients.
std::string request_body() {
  return R"({"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user",)"
         R"("content":"How do I retry an HTTP request safely?"}]})";
}

/// The careful hand-written client: libcurl's multi interface on asio sockets and an asio timer
/// (the sockets libcurl connects with are asio's: CURLOPT_OPENSOCKETFUNCTION), one easy handle
/// reused with the options every request shares set once (its connection kept alive by the multi
/// handle), what a request names (URL, header list, body) set per request, the body read into a
/// string, the status read.
class HandClient {
 public:
  using Done = void (*)(void* context, long status, std::string body);

  HandClient(asio::io_context& io, std::string url, const std::string& token)
      : io_(io),
        timer_(io),
        url_(std::move(url)),
        authorization_("authorization: Bearer " + token) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &HandClient::on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, static_cast<void*>(this));
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &HandClient::on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, static_cast<void*>(this));
    easy_ = curl_easy_init();
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, 600000L);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &HandClient::on_body);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, static_cast<void*>(this));
    curl_easy_setopt(easy_, CURLOPT_OPENSOCKETFUNCTION, &HandClient::on_open);
    curl_easy_setopt(easy_, CURLOPT_OPENSOCKETDATA, static_cast<void*>(this));
    curl_easy_setopt(easy_, CURLOPT_CLOSESOCKETFUNCTION, &HandClient::on_close);
    curl_easy_setopt(easy_, CURLOPT_CLOSESOCKETDATA, static_cast<void*>(this));
  }
  HandClient(const HandClient&) = delete;
  HandClient& operator=(const HandClient&) = delete;
  HandClient(HandClient&&) = delete;
  HandClient& operator=(HandClient&&) = delete;
  ~HandClient() {
    curl_multi_cleanup(multi_);
    curl_easy_cleanup(easy_);
  }

  /// Starts `POST url` of `body` (alive until `done` runs) with its content type and the bearer
  /// header; `done(context, status or -1, response body)` once it ends.
  void post(const std::string& body, Done done, void* context) {
    headers_ = curl_slist_append(nullptr, "content-type: application/json");
    headers_ = curl_slist_append(headers_, authorization_.c_str());
    curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    done_ = done;
    context_ = context;
    curl_multi_add_handle(multi_, easy_);
  }

 private:
  struct Socket {
    explicit Socket(asio::io_context& io) : tcp(io) {}
    asio::ip::tcp::socket tcp;
    int want = 0;
    bool reading = false;
    bool writing = false;
  };

  static curl_socket_t on_open(void* self, curlsocktype /*purpose*/, curl_sockaddr* address) {
    auto& client = *static_cast<HandClient*>(self);
    auto socket = std::make_unique<Socket>(client.io_);
    asio::error_code error;
    socket->tcp.open(address->family == AF_INET ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), error);
    if (error) return CURL_SOCKET_BAD;
    const curl_socket_t fd = socket->tcp.native_handle();
    client.sockets_[fd] = std::move(socket);
    return fd;
  }
  static int on_close(void* self, curl_socket_t fd) {
    static_cast<HandClient*>(self)->sockets_.erase(fd);
    return 0;
  }

  static int on_socket(CURL* /*easy*/, curl_socket_t fd, int what, void* self, void* /*socketp*/) {
    auto& client = *static_cast<HandClient*>(self);
    const auto it = client.sockets_.find(fd);
    if (it == client.sockets_.end()) return 0;
    it->second->want = what == CURL_POLL_REMOVE ? 0 : what;
    client.arm(fd, *it->second);
    return 0;
  }

  // A wait for each direction wanted and not yet waited for.
  void arm(curl_socket_t fd, Socket& socket) {
    if ((socket.want & CURL_POLL_IN) != 0 && !socket.reading) {
      socket.reading = true;
      socket.tcp.async_wait(
          asio::socket_base::wait_read,
          [this, fd, s = &socket](const asio::error_code& e) { ready(fd, s, true, e); });
    }
    if ((socket.want & CURL_POLL_OUT) != 0 && !socket.writing) {
      socket.writing = true;
      socket.tcp.async_wait(
          asio::socket_base::wait_write,
          [this, fd, s = &socket](const asio::error_code& e) { ready(fd, s, false, e); });
    }
  }

  void ready(curl_socket_t fd, Socket* waited, bool read, const asio::error_code& error) {
    auto it = sockets_.find(fd);
    if (it == sockets_.end() || it->second.get() != waited) return;  // closed meanwhile
    (read ? waited->reading : waited->writing) = false;
    if (error == asio::error::operation_aborted) return;
    if ((waited->want & (read ? CURL_POLL_IN : CURL_POLL_OUT)) != 0) {
      int running = 0;
      curl_multi_socket_action(
          multi_, fd, error ? CURL_CSELECT_ERR : (read ? CURL_CSELECT_IN : CURL_CSELECT_OUT),
          &running);
      collect();
    }
    it = sockets_.find(fd);
    if (it != sockets_.end() && it->second.get() == waited) arm(fd, *waited);
  }

  static int on_timer(CURLM* /*multi*/, long timeout_ms, void* self) {
    auto& client = *static_cast<HandClient*>(self);
    if (timeout_ms < 0) {
      client.timer_.cancel();
      return 0;
    }
    client.timer_.expires_after(std::chrono::milliseconds{timeout_ms});
    client.timer_.async_wait([&client](const asio::error_code& error) {
      if (error) return;
      int running = 0;
      curl_multi_socket_action(client.multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      client.collect();
    });
    return 0;
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self) {
    static_cast<HandClient*>(self)->response_.append(data, size * count);
    return size * count;
  }

  void collect() {
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      const CURLcode code = message->data.result;
      curl_multi_remove_handle(multi_, easy_);
      long status = -1;
      if (code == CURLE_OK) curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
      curl_slist_free_all(std::exchange(headers_, nullptr));
      std::exchange(done_, nullptr)(context_, status, std::move(response_));
    }
  }

  asio::io_context& io_;
  asio::steady_timer timer_;
  std::string url_;
  std::string authorization_;
  CURLM* multi_ = nullptr;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::unordered_map<curl_socket_t, std::unique_ptr<Socket>> sockets_;
  std::string response_;
  Done done_ = nullptr;
  void* context_ = nullptr;
};

/// Where a run's sends are counted.
struct Run {
  long left = 0;                          ///< Sends still to start.
  bool failed = false;                    ///< A send did not end with a 200 and the body.
  std::uint64_t handler_allocations = 0;  ///< Calls to the completion handler's allocator.
  std::uint64_t building = 0;             ///< Global operator new calls building the requests.
};

// Builds a request with `build`, counting its allocations as the request's, not the send's.
template <class Build>
auto built(Run& run, Build build) {
  const std::uint64_t before = thread_allocations();
  auto request = build();
  run.building += thread_allocations() - before;
  return request;
}

void check(Run& run, long status, std::size_t body_bytes) {
  if (status != 200 || body_bytes != canned_responses()[1].body.size()) run.failed = true;
}

// `sends` hand-written sends, one after another; the counts over the last `counted` of them.
struct HandRun {
  HandClient* client;
  Run* run;
  std::string body{};
  static void done(void* context, long status, std::string response) {
    auto& self = *static_cast<HandRun*>(context);
    check(*self.run, status, response.size());
    self.next();
  }
  void next() {
    if (run->left-- == 0) return;
    body = built(*run, request_body);
    client->post(body, &HandRun::done, this);
  }
};

/// A completion handler's allocator that counts (malloc underneath: none of it is operator new),
/// as a recycling allocator of the caller's would take its memory from its cache.
template <class T>
struct CountingAllocator {
  using value_type = T;
  Run* run;
  explicit CountingAllocator(Run* r) noexcept : run(r) {}
  template <class U>
  CountingAllocator(const CountingAllocator<U>& other) noexcept  // NOLINT: rebinding converts
      : run(other.run) {}
  T* allocate(std::size_t n) {
    ++run->handler_allocations;
    void* p = std::malloc(n * sizeof(T));
    if (p == nullptr) throw std::bad_alloc{};
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t /*n*/) noexcept { std::free(p); }
  template <class U>
  bool operator==(const CountingAllocator<U>& other) const noexcept {
    return run == other.run;
  }
};

using Api = ResilientCredential<transport::AsyncCurl>;
using AsyncApi = AsyncCredential<transport::AsyncCurl>;

// keyward's sends, one after another, each started by the previous one's handler; `Counted`: the
// handler carries a CountingAllocator (else it is a plain callback).
template <bool Counted>
struct KeywardRun {
  AsyncApi* api;
  Run* run;
  std::string url;
  struct Handler {
    KeywardRun* self;
    void operator()(std::exception_ptr thrown, Result<Response> answer) const {
      if (thrown || !answer) {
        self->run->failed = true;
      } else {
        check(*self->run, answer->status, answer->body.size());
      }
      self->next();
    }
  };
  struct CountedHandler : Handler {
    using allocator_type = CountingAllocator<void>;
    [[nodiscard]] allocator_type get_allocator() const noexcept {
      return allocator_type{this->self->run};
    }
  };
  void next() {
    if (run->left-- == 0) return;
    Request request = built(*run, [this] {
      Request r{.method = "POST", .url = url, .body = request_body()};
      r.headers.set("content-type", "application/json");
      return r;
    });
    if constexpr (Counted) {
      api->async_send(std::move(request), CountedHandler{{this}});
    } else {
      api->async_send(std::move(request), Handler{this});
    }
  }
};

// transport::AsyncCurl alone, the same request with the bearer header the caller's own.
struct TransportRun {
  transport::AsyncCurl* transport;
  Run* run;
  std::string url;
  std::string authorization = "Bearer " + token();
  Request request{};
  void next() {
    if (run->left-- == 0) return;
    request = built(*run, [this] {
      Request r{.method = "POST", .url = url, .body = request_body()};
      r.headers.set("content-type", "application/json");
      r.headers.set("authorization", authorization);
      return r;
    });
    transport->async_send(request, [this](TransportResult result) {
      if (!result) {
        run->failed = true;
      } else {
        check(*run, result->status, result->body.size());
      }
      next();
    });
  }
};

std::string server_url() {
  const char* port = std::getenv("KEYWARD_BENCH_PORT");
  if (port == nullptr) {
    std::fprintf(stderr, "keyward_async_bench: KEYWARD_BENCH_PORT is not set\n");
    std::exit(2);
  }
  return std::string{"http://127.0.0.1:"} + port + "/v1/messages";
}

// Runs `sends` sends through `start` (which starts the first; each handler the next) on `io`.
template <class Start>
bool drive(asio::io_context& io, Run& run, long sends, Start start) {
  run.left = sends;
  start();
  io.restart();
  io.run();
  return !run.failed;
}

/// One case's counts over `n` sends after the warm-up, per send: global operator new calls on this
/// thread (building the request left out) and calls to the handler's allocator.
struct Counts {
  double news = 0;
  double handler = 0;
};

double per_send(std::uint64_t count, long n) {
  return static_cast<double>(count) / static_cast<double>(n);
}

bool hand(long n, Counts* counts) {
  asio::io_context io;
  HandClient client{io, server_url(), token()};
  Run run;
  HandRun sends{&client, &run};
  if (!drive(io, run, kWarmUp, [&] { sends.next(); })) return false;
  run.building = 0;
  const std::uint64_t before = thread_allocations();
  if (!drive(io, run, n, [&] { sends.next(); })) return false;
  if (counts != nullptr) counts->news = per_send(thread_allocations() - before - run.building, n);
  return true;
}

bool transport_alone(long n, Counts* counts) {
  asio::io_context io;
  transport::AsyncCurl transport{io.get_executor()};
  Run run;
  TransportRun sends{&transport, &run, server_url()};
  if (!drive(io, run, kWarmUp, [&] { sends.next(); })) return false;
  run.building = 0;
  const std::uint64_t before = thread_allocations();
  if (!drive(io, run, n, [&] { sends.next(); })) return false;
  if (counts != nullptr) counts->news = per_send(thread_allocations() - before - run.building, n);
  return true;
}

template <bool Counted>
bool keyward_sends(long n, Counts* counts) {
  asio::io_context io;
  Api credential{transport::AsyncCurl{io.get_executor()}, Credential::api_key(token())};
  AsyncApi api{credential, io.get_executor(), 1};
  Run run;
  KeywardRun<Counted> sends{&api, &run, server_url()};
  if (!drive(io, run, kWarmUp, [&] { sends.next(); })) return false;
  run.building = 0;
  run.handler_allocations = 0;
  const std::uint64_t before = thread_allocations();
  if (!drive(io, run, n, [&] { sends.next(); })) return false;
  if (counts != nullptr) {
    counts->news = per_send(thread_allocations() - before - run.building, n);
    counts->handler = per_send(run.handler_allocations, n);
  }
  return true;
}

struct Case {
  std::string_view name;
  long ops;
  bool (*run)(long, Counts*);
};

constexpr Case kCases[] = {
    {"async_send_handwritten", 200, hand},
    {"async_send_keyward", 200, keyward_sends<false>},
};

}  // namespace
}  // namespace keyward::bench

int main(int argc, char** argv) {
  using namespace keyward::bench;
  const std::string_view first = argc > 1 ? argv[1] : "";
  if (argc == 2 && first == "--list") {
    for (const Case& c : kCases) {
      std::printf("%.*s %ld %zu\n", static_cast<int>(c.name.size()), c.name.data(), c.ops,
                  canned_responses()[1].body.size());
    }
    return 0;
  }
  if (argc == 3 && first == "--allocs") {
    const long n = std::strtol(argv[2], nullptr, 10);
    Counts h;
    Counts t;
    Counts k;
    if (!hand(n, &h) || !transport_alone(n, &t) || !keyward_sends<true>(n, &k)) {
      std::fprintf(stderr, "keyward_async_bench: a send failed\n");
      return 1;
    }
    // case, global operator new calls per send, handler-allocator calls per send
    std::printf("async_send_handwritten %.3f %.3f\n", h.news, h.handler);
    std::printf("async_send_transport %.3f %.3f\n", t.news, t.handler);
    std::printf("async_send_keyward %.3f %.3f\n", k.news, k.handler);
    return 0;
  }
  if (argc == 3) {
    const long n = std::strtol(argv[2], nullptr, 10);
    for (const Case& c : kCases) {
      if (c.name != first) continue;
      if (c.run(n, nullptr)) return 0;
      std::fprintf(stderr, "keyward_async_bench: a send failed\n");
      return 1;
    }
  }
  std::fprintf(
      stderr, "usage: keyward_async_bench --list | --allocs N | CASE N (KEYWARD_BENCH_PORT set)\n");
  return 2;
}
