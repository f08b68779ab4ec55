// The servers of http_servers.hpp (built only when cpp-httplib is found). Longer than most files:
// two endpoints and every scripted fault, each a few lines, read best in one place.
#ifdef KEYWARD_TEST_HTTPLIB

#include "support/http_servers.hpp"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "keyward/detail/json.hpp"

namespace keyward::testing {

namespace {

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kOAuthBeta = "oauth-2025-04-20";

std::string anthropic_error(std::string_view type, std::string_view message) {
  return R"({"type":"error","error":{"type":")" + std::string{type} + R"(","message":")" +
         std::string{message} + R"("},"request_id":"req_test"})";
}

std::string sse_event(std::string_view name, std::string_view data) {
  return "event: " + std::string{name} + "\ndata: " + std::string{data} + "\n\n";
}

const std::string kMessageStart = sse_event(
    "message_start",
    R"({"type":"message_start","message":{"id":"msg_test","type":"message","role":"assistant","content":[],"model":"claude-test","usage":{"input_tokens":3,"output_tokens":1}}})");

std::string text_delta(std::string_view text) {
  return sse_event(
      "content_block_delta",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":")" +
          std::string{text} + R"("}})");
}

// The messages API's event stream, event by event.
std::vector<std::string> stream_events() {
  return {kMessageStart, text_delta("Hello"), text_delta(" there"),
          sse_event("message_stop", R"({"type":"message_stop"})")};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of `name` in an application/x-www-form-urlencoded body.
std::string form_field(std::string_view body, std::string_view name) {
  while (!body.empty()) {
    const std::size_t amp = std::min(body.find('&'), body.size());
    const std::string_view pair = body.substr(0, amp);
    body.remove_prefix(std::min(amp + 1, body.size()));
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
    std::string value;
    const std::string_view raw = pair.substr(eq + 1);
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') {
        value += ' ';
      } else if (raw[i] == '%' && i + 2 < raw.size() && hex_value(raw[i + 1]) >= 0 &&
                 hex_value(raw[i + 2]) >= 0) {
        value += static_cast<char>(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2]));
        i += 2;
      } else {
        value += raw[i];
      }
    }
    return value;
  }
  return {};
}

}  // namespace

struct ProviderServer::State {
  struct Grant {
    std::string refresh;             // the refresh token it accepts now
    std::set<std::string> consumed;  // refresh tokens already redeemed
    std::set<std::string> access;    // access tokens the API accepts
    bool revoked = false;
  };

  httplib::Server server;
  std::thread thread;
  mutable std::mutex mutex;
  std::condition_variable stopping_cv;
  bool stopping = false;
  bool released = false;  // release_held() was called
  int holding = 0;        // requests a `held` fault holds now
  std::vector<Grant> grants;
  std::deque<std::pair<Route, Fault>> faults;
  std::vector<Received> received;
  std::uint64_t serial = 0;
  int refreshes = 0;
  std::string api_key = "sk-ant-api03-test-key-0001";

  // A token of `prefix`'s kind whose last characters (what a fingerprint shows) are its serial.
  std::string next(std::string_view prefix) {
    std::string number = std::to_string(++serial);
    number.insert(0, number.size() < 4 ? 4 - number.size() : 0, '0');
    return std::string{prefix} + "test-AAAAAAAAAAAAAAAA-" + number;
  }

  std::pair<std::string, std::string> issue(Grant& grant) {
    std::string access = next("sk-ant-oat01-");
    std::string refresh = next("sk-ant-ort01-");
    grant.access.insert(access);
    grant.refresh = refresh;
    return {access, refresh};
  }

  std::optional<Fault> take_fault(Route route) {
    for (auto it = faults.begin(); it != faults.end(); ++it) {
      if (it->first != route) continue;
      Fault fault = it->second;
      if (--it->second.times <= 0) faults.erase(it);
      return fault;
    }
    return std::nullopt;
  }

  // The fault scripted for the next request to `route`; a `slow` or `held` one is waited out
  // here (the lock is let go meanwhile) and the request is then answered as it normally would be.
  std::optional<Fault> take_fault(Route route, std::unique_lock<std::mutex>& lock) {
    auto fault = take_fault(route);
    if (!fault || (fault->kind != Fault::Kind::slow && fault->kind != Fault::Kind::held)) {
      return fault;
    }
    const bool held = fault->kind == Fault::Kind::held;
    holding += held ? 1 : 0;
    stopping_cv.wait_for(lock, fault->interval, [&] { return stopping || (held && released); });
    holding -= held ? 1 : 0;
    return std::nullopt;
  }

  void record(Route route, const httplib::Request& request) {
    Received r{route, request.method, request.path, {}, request.body, request.remote_port};
    for (const auto& [name, value] : request.headers) {
      std::string lower = name;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      r.headers.emplace(std::move(lower), value);
    }
    received.push_back(std::move(r));
  }

  // Plays `fault` as the answer; true when it answered.
  void play(const Fault& fault, httplib::Response& response) {
    switch (fault.kind) {
      case Fault::Kind::status:
        response.status = fault.status;
        for (const auto& [name, value] : fault.headers) response.set_header(name, value);
        response.set_content(fault.body, std::string{kJson});
        return;
      case Fault::Kind::slow:  // waited out in take_fault(): never played
      case Fault::Kind::held:
        return;
      case Fault::Kind::stream_paced: {
        response.status = 200;
        const auto interval = fault.interval;
        auto next = std::make_shared<std::size_t>(0);
        response.set_chunked_content_provider(
            "text/event-stream", [this, interval, next](std::size_t, httplib::DataSink& sink) {
              static const std::vector<std::string> kEvents = stream_events();
              if (*next > 0) {
                std::unique_lock lock(mutex);
                if (stopping_cv.wait_for(lock, interval, [&] { return stopping; })) return false;
              }
              if (*next == kEvents.size()) {
                sink.done();
                return true;
              }
              const std::string& event = kEvents[(*next)++];
              return sink.write(event.data(), event.size());
            });
        return;
      }
      case Fault::Kind::redirect:
        response.status = fault.status;
        response.set_header("Location", fault.location);
        return;
      case Fault::Kind::hang: {
        std::unique_lock lock(mutex);
        stopping_cv.wait(lock, [&] { return stopping; });
        response.status = 500;
        return;
      }
      case Fault::Kind::reset_mid_body:
        response.status = 200;
        response.set_content_provider(
            1000, std::string{kJson}, [](std::size_t, std::size_t, httplib::DataSink& sink) {
              sink.write(R"({"access_token":)", 16);
              return false;  // closes the connection with 984 bytes still announced
            });
        return;
      case Fault::Kind::huge_body:
        // Streamed from one small buffer, its length in the head: 10 MB copied whole, several
        // times, took longer than a client's timeout under the sanitizers.
        response.status = 200;
        response.set_content_provider(fault.size, std::string{kJson},
                                      [](std::size_t, std::size_t length, httplib::DataSink& sink) {
                                        static const std::string kPad(std::size_t{64} << 10U, 'x');
                                        return sink.write(kPad.data(),
                                                          std::min(length, kPad.size()));
                                      });
        return;
      case Fault::Kind::announced_only:
        response.status = 200;
        response.set_content_provider(fault.size, std::string{kJson},
                                      [this](std::size_t, std::size_t, httplib::DataSink&) {
                                        std::unique_lock lock(mutex);
                                        stopping_cv.wait(lock, [&] { return stopping; });
                                        return false;
                                      });
        return;
      case Fault::Kind::trickle: {
        response.status = 200;
        const auto interval = fault.interval;
        response.set_chunked_content_provider(
            std::string{kJson}, [this, interval](std::size_t offset, httplib::DataSink& sink) {
              static constexpr std::string_view kBody = R"({"access_token":"sk-ant-oat01-slow"})";
              {
                std::unique_lock lock(mutex);
                if (stopping_cv.wait_for(lock, interval, [&] { return stopping; })) return false;
              }
              if (offset >= kBody.size()) {
                sink.done();
                return true;
              }
              return sink.write(kBody.data() + offset, 1);
            });
        return;
      }
      case Fault::Kind::stream_cut:
        response.status = 200;
        response.set_chunked_content_provider(
            "text/event-stream", [](std::size_t offset, httplib::DataSink& sink) {
              if (offset == 0) {
                const std::string head = kMessageStart + text_delta("Hel");
                return sink.write(head.data(), head.size());
              }
              static constexpr std::string_view kHalf =
                  "event: content_block_delta\ndata: {\"type\":\"content_blo";
              sink.write(kHalf.data(), kHalf.size());
              return false;  // the connection closes mid-event
            });
        return;
      case Fault::Kind::stream_error: {
        response.status = 200;
        const std::string type = fault.body;
        response.set_chunked_content_provider(
            "text/event-stream", [type](std::size_t offset, httplib::DataSink& sink) {
              if (offset == 0) {
                const std::string head = kMessageStart + text_delta("Hel");
                return sink.write(head.data(), head.size());
              }
              const std::string error =
                  sse_event("error", R"({"type":"error","error":{"type":")" + type +
                                         R"(","message":"mid-stream failure"}})");
              sink.write(error.data(), error.size());
              sink.done();
              return true;
            });
        return;
      }
    }
  }

  // The API's check of the credential; an empty string when it is accepted.
  std::string rejection(const httplib::Request& request) const {
    if (request.has_header("x-api-key")) {
      return request.get_header_value("x-api-key") == api_key
                 ? std::string{}
                 : anthropic_error("authentication_error", "invalid x-api-key");
    }
    const std::string authorization = request.get_header_value("authorization");
    if (!authorization.starts_with("Bearer ")) {
      return anthropic_error("authentication_error", "x-api-key header is required");
    }
    const std::string token = authorization.substr(7);
    const bool known = std::any_of(grants.begin(), grants.end(), [&](const Grant& g) {
      return !g.revoked && g.access.contains(token);
    });
    if (!known) return anthropic_error("authentication_error", "Invalid bearer token");
    if (request.get_header_value("anthropic-beta").find(kOAuthBeta) == std::string::npos) {
      return anthropic_error("authentication_error",
                             "OAuth authentication is currently not supported.");
    }
    return {};
  }

  void api(const httplib::Request& request, httplib::Response& response) {
    std::unique_lock lock(mutex);
    record(Route::api, request);
    if (auto fault = take_fault(Route::api, lock)) {
      lock.unlock();
      play(*fault, response);
      return;
    }
    if (auto rejected = rejection(request); !rejected.empty()) {
      response.status = 401;
      response.set_content(rejected, std::string{kJson});
      return;
    }
    lock.unlock();
    if (request.body.find("\"stream\":true") == std::string::npos) {
      response.set_content(
          R"({"id":"msg_test","type":"message","role":"assistant","content":[{"type":"text","text":"Hello"}]})",
          std::string{kJson});
      return;
    }
    response.set_chunked_content_provider("text/event-stream",
                                          [](std::size_t offset, httplib::DataSink& sink) {
                                            if (offset != 0) {
                                              sink.done();
                                              return true;
                                            }
                                            std::string events;
                                            for (const auto& event : stream_events())
                                              events += event;
                                            return sink.write(events.data(), events.size());
                                          });
  }

  void token(const httplib::Request& request, httplib::Response& response) {
    std::unique_lock lock(mutex);
    record(Route::token, request);
    if (auto fault = take_fault(Route::token, lock)) {
      lock.unlock();
      play(*fault, response);
      return;
    }
    std::string grant_type;
    std::string presented;
    if (request.get_header_value("content-type").starts_with("application/json")) {
      const auto json = detail::json::parse(request.body);
      if (json) {
        grant_type = std::string{json->string_or("grant_type")};
        presented = std::string{json->string_or("refresh_token")};
      }
    } else {
      grant_type = form_field(request.body, "grant_type");
      presented = form_field(request.body, "refresh_token");
    }
    const auto invalid_grant = [&](std::string_view why) {
      response.status = 400;
      response.set_content(
          R"({"error":"invalid_grant","error_description":")" + std::string{why} + R"("})",
          std::string{kJson});
    };
    if (grant_type != "refresh_token") {
      response.status = 400;
      response.set_content(R"({"error":"unsupported_grant_type"})", std::string{kJson});
      return;
    }
    for (Grant& grant : grants) {
      if (grant.consumed.contains(presented)) {
        // Reuse of a rotated refresh token: the grant is presumed stolen and revoked.
        grant.revoked = true;
        grant.access.clear();
        grant.refresh.clear();
        invalid_grant("refresh token reused; grant revoked");
        return;
      }
      if (!grant.revoked && grant.refresh == presented) {
        grant.consumed.insert(presented);
        auto [access, refresh] = issue(grant);
        ++refreshes;
        response.set_content(R"({"access_token":")" + access + R"(","refresh_token":")" + refresh +
                                 R"(","expires_in":3600,"token_type":"Bearer"})",
                             std::string{kJson});
        return;
      }
    }
    invalid_grant("unknown or revoked refresh token");
  }
};

ProviderServer::ProviderServer(std::chrono::seconds keep_alive)
    : state_(std::make_shared<State>()) {
  auto& server = state_->server;
  State* state = state_.get();
  server.Post("/v1/messages",
              [state](const httplib::Request& q, httplib::Response& r) { state->api(q, r); });
  server.Get("/v1/models",
             [state](const httplib::Request& q, httplib::Response& r) { state->api(q, r); });
  server.Post("/v1/oauth/token",
              [state](const httplib::Request& q, httplib::Response& r) { state->token(q, r); });
  server.set_keep_alive_timeout(static_cast<time_t>(keep_alive.count()));
  server.set_tcp_nodelay(true);  // no 40 ms wait for a delayed ACK between head and body
  port_ = server.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("ProviderServer: could not bind 127.0.0.1");
  listen();
}

void ProviderServer::listen() {
  State* state = state_.get();
  state_->thread = std::thread([state] { state->server.listen_after_bind(); });
  while (!state_->server.is_running()) std::this_thread::yield();
}

ProviderServer::~ProviderServer() {
  {
    const std::scoped_lock lock(state_->mutex);
    state_->stopping = true;
  }
  state_->stopping_cv.notify_all();
  state_->server.stop();
  if (state_->thread.joinable()) state_->thread.join();
}

void ProviderServer::go_down() {
  state_->server.stop();
  state_->thread.join();
}

void ProviderServer::come_back() {
  if (!state_->server.bind_to_port("127.0.0.1", port_)) {
    throw std::runtime_error("ProviderServer: could not bind its port again");
  }
  listen();
}

std::string ProviderServer::origin() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string ProviderServer::api_key() const { return state_->api_key; }

std::pair<std::string, std::string> ProviderServer::login() {
  const std::scoped_lock lock(state_->mutex);
  state_->grants.emplace_back();
  return state_->issue(state_->grants.back());
}

void ProviderServer::expire_access_tokens() {
  const std::scoped_lock lock(state_->mutex);
  for (auto& grant : state_->grants) grant.access.clear();
}

void ProviderServer::revoke_grants() {
  const std::scoped_lock lock(state_->mutex);
  for (auto& grant : state_->grants) {
    grant.revoked = true;
    grant.access.clear();
    grant.refresh.clear();
  }
}

std::string ProviderServer::current_refresh_token() const {
  const std::scoped_lock lock(state_->mutex);
  return state_->grants.empty() ? std::string{} : state_->grants.back().refresh;
}

int ProviderServer::refreshes() const {
  const std::scoped_lock lock(state_->mutex);
  return state_->refreshes;
}

void ProviderServer::fault(Route route, Fault fault) {
  const std::scoped_lock lock(state_->mutex);
  state_->faults.emplace_back(route, std::move(fault));
}

void ProviderServer::clear_faults() {
  const std::scoped_lock lock(state_->mutex);
  state_->faults.clear();
}

void ProviderServer::release_held() {
  {
    const std::scoped_lock lock(state_->mutex);
    state_->released = true;
  }
  state_->stopping_cv.notify_all();
}

int ProviderServer::holding() const {
  const std::scoped_lock lock(state_->mutex);
  return state_->holding;
}

std::vector<Received> ProviderServer::received() const {
  const std::scoped_lock lock(state_->mutex);
  return state_->received;
}

}  // namespace keyward::testing

#endif  // KEYWARD_TEST_HTTPLIB
