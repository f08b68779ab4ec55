// docs/guides/transport.md: adapting an HTTP client to keyward's Transport concept.
//
// The "HTTP client" here is an in-process fake server with types of its own, as libcurl or
// cpp-httplib have theirs; the adapter translates keyward's Request into the client's call and
// the client's answer into a keyward::Response, or into a TransportFailure when no answer came.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "keyward/keyward.hpp"

namespace fake {

// The client's own types: a reply, and the ways a call can fail without one.
using HeaderLines = std::vector<std::pair<std::string, std::string>>;
struct Reply {
  int code = 0;
  HeaderLines header_lines;
  std::string payload;
};
enum class NetError : std::uint8_t { none, refused, timed_out };

// A server that answers fixed replies by URL and refuses any other; it logs each request line and
// keeps the last Authorization header. Thread-safe: a transport is called from every thread.
class Server {
 public:
  void route(const std::string& url, Reply reply) {
    const std::scoped_lock lock(mutex_);
    routes_[url] = std::move(reply);
  }
  NetError call(const std::string& method, const std::string& url, const HeaderLines& headers,
                Reply& out) {
    const std::scoped_lock lock(mutex_);
    last_authorization_.clear();
    for (const auto& [name, value] : headers) {
      if (name == "authorization") last_authorization_ = value;
    }
    log_.push_back(method + " " + url);
    const auto found = routes_.find(url);
    if (found == routes_.end()) return NetError::refused;
    out = found->second;
    return NetError::none;
  }
  [[nodiscard]] std::vector<std::string> log() const {
    const std::scoped_lock lock(mutex_);
    return log_;
  }
  [[nodiscard]] std::string last_authorization() const {
    const std::scoped_lock lock(mutex_);
    return last_authorization_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, Reply> routes_;
  std::vector<std::string> log_;
  std::string last_authorization_;
};

}  // namespace fake

// The adapter: one const send() that keyward calls from any thread.
struct FakeServerTransport {
  fake::Server* server = nullptr;  // not owned; outlives every ResilientCredential using it

  keyward::TransportResult send(const keyward::Request& request) const {
    const fake::HeaderLines headers(request.headers.begin(), request.headers.end());
    fake::Reply reply;
    switch (server->call(request.method, request.url, headers, reply)) {
      case fake::NetError::refused:
        return keyward::unexpected(
            keyward::TransportFailure{keyward::TransportErrc::connect, "connection refused"});
      case fake::NetError::timed_out:
        return keyward::unexpected(
            keyward::TransportFailure{keyward::TransportErrc::timeout, "no answer in 30 s"});
      case fake::NetError::none:
        break;
    }
    // Every status is a response, 4xx and 5xx included, and every header is passed on: the
    // classifier reads Retry-After, WWW-Authenticate and the request id from them.
    keyward::Response response{.status = reply.code, .headers = {}, .body = reply.payload};
    for (auto& [name, value] : reply.header_lines) {
      response.headers.add(std::move(name), std::move(value));
    }
    return response;
  }
};

static_assert(keyward::Transport<FakeServerTransport>);

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

}  // namespace

int run() {
  using namespace std::chrono_literals;
  fake::Server server;
  server.route("https://api.example.com/v1/models",
               {.code = 200,
                .header_lines = {{"content-type", "application/json"}},
                .payload = R"({"data":[]})"});
  server.route("https://api.example.com/v1/missing",
               {.code = 404, .header_lines = {}, .payload = R"({"error":"not_found"})"});
  server.route("https://api.example.com/v1/busy",
               {.code = 429, .header_lines = {{"retry-after", "120"}}, .payload = {}});

  keyward::ResilientCredential<FakeServerTransport> api{
      FakeServerTransport{&server},
      keyward::Credential::api_key("kw-example-api-key-0123456789abcd"),
      {.profile = "example", .retry = {.max_attempts = 2, .initial_backoff = 1ms}}};

  // A 200 comes back as a response, with the credential attached by the Attach policy.
  auto ok = api.send({.method = "GET", .url = "https://api.example.com/v1/models"});
  expect(ok && ok->status == 200, "GET /v1/models: HTTP 200");
  expect(server.last_authorization() == "Bearer kw-example-api-key-0123456789abcd",
         "the server saw the credential as Authorization: Bearer");

  // A 404 is the request's fault, not the credential's: it is returned as a response.
  auto missing = api.send({.method = "GET", .url = "https://api.example.com/v1/missing"});
  expect(missing && missing->status == 404, "GET /v1/missing: HTTP 404, returned as a response");

  // No response at all: retried (max_attempts = 2), then an Error; the credential is not blamed.
  auto refused = api.send({.method = "GET", .url = "https://down.example.com/v1/models"});
  expect(!refused && refused.error().code == keyward::Errc::transport_failed,
         "a refused connection: Errc::transport_failed after 2 attempts");
  expect(api.status().state == keyward::CredentialState::ready, "the credential is still ready");

  // A 429 with Retry-After cools this credential for the server's wait; the next request is
  // refused without reaching the server.
  auto busy = api.send({.method = "GET", .url = "https://api.example.com/v1/busy"});
  expect(!busy && busy.error().code == keyward::Errc::cooling_down, "a 429: Errc::cooling_down");
  const auto sent = server.log().size();
  auto refused_locally = api.send({.method = "GET", .url = "https://api.example.com/v1/models"});
  expect(!refused_locally && server.log().size() == sent,
         "while cooling, requests are refused before the transport");
  const auto status = api.status();
  expect(status.until && *status.until - status.since == 120s, "the window is Retry-After's 120 s");

  for (const std::string& line : server.log()) std::printf("  server: %s\n", line.c_str());
  return failures == 0 ? 0 : 1;
}

int main() {
  try {
    return run();
  } catch (const std::exception& error) {  // e.g. an unusable credential given to a constructor
    std::fprintf(stderr, "error: %s\n", error.what());
  }
  return 1;
}
