// An in-process OAuth 2.0 provider for tests: an API that accepts only the access tokens it
// issued, and a token endpoint that redeems single-use refresh tokens with rotation, as
// Anthropic's and most modern servers do. It routes through a FakeTransport; tests can make either
// endpoint fail, block, or revoke the grant.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "keyward/detail/json.hpp"
#include "keyward/transport.hpp"
#include "support/fake_transport.hpp"

namespace keyward::testing {

inline constexpr std::string_view kApiUrl = "https://api.example.test/v1/messages";
inline constexpr std::string_view kTokenUrl = "https://auth.example.test/oauth/token";

/// The provider's state, shared between its two endpoints and the test.
class FakeOAuthServer {
 public:
  /// Routes kApiUrl and kTokenUrl of `transport` to this server.
  explicit FakeOAuthServer(const FakeTransport& transport) : state_(std::make_shared<State>()) {
    auto state = state_;
    transport.on(std::string{kTokenUrl}, [state](const Request& r) { return token(*state, r); });
    transport.on(std::string{kApiUrl}, [state](const Request& r) { return api(*state, r); });
  }

  /// Answers an API request as the server's API route does (for tests that wrap the route).
  TransportResult handle_api(const Request& request) const { return api(*state_, request); }

  /// Issues a first access token and refresh token, as a login would.
  std::pair<std::string, std::string> login() const {
    const std::scoped_lock lock(state_->mutex);
    return issue(*state_);
  }
  /// Makes every access token issued so far invalid (the API answers 401).
  void expire_access_tokens() const {
    const std::scoped_lock lock(state_->mutex);
    state_->valid_access.clear();
  }
  /// Revokes every grant: no refresh token works any more (invalid_grant).
  void revoke_grant() const {
    const std::scoped_lock lock(state_->mutex);
    state_->refresh_tokens.clear();
  }
  /// Makes the token endpoint answer with `status` (0 restores normal service).
  void token_endpoint_status(int status) const { state_->forced_token_status = status; }
  /// Makes the token endpoint issue tokens that the API rejects.
  void issue_rejected_tokens(bool on) const { state_->issue_rejected = on; }
  /// Blocks the token endpoint until release_token_endpoint() (to hold a refresh in flight).
  void block_token_endpoint() const {
    const std::scoped_lock lock(state_->mutex);
    state_->blocked = true;
  }
  /// Lets blocked token requests proceed.
  void release_token_endpoint() const {
    {
      const std::scoped_lock lock(state_->mutex);
      state_->blocked = false;
    }
    state_->unblocked.notify_all();
  }
  /// How many token requests have entered the endpoint (including blocked ones).
  [[nodiscard]] std::size_t token_calls() const { return state_->token_calls.load(); }
  /// Makes the next API request answer `status` with a `retry-after` of `retry_after` seconds.
  void fail_next_api_request(int status, int retry_after) const {
    state_->injected_retry_after = retry_after;
    state_->injected_status = status;
  }
  /// How many API requests carried a token older than their `x-test-min-serial` header allows.
  [[nodiscard]] std::size_t stale_tokens() const { return state_->stale_tokens.load(); }
  /// The serial number of a token this server issued (tokens end in "-<serial>").
  static int serial_of(std::string_view token) {
    const auto dash = token.rfind('-');
    return dash == std::string_view::npos ? -1
                                          : std::atoi(std::string{token.substr(dash + 1)}.c_str());
  }
  /// The `expires_in` the token endpoint sends.
  void expires_in(int seconds) const { state_->expires_in = seconds; }
  /// How often a refresh token that was already exchanged was presented again.
  [[nodiscard]] std::size_t double_redemptions() const { return state_->double_redemptions; }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable unblocked;
    bool blocked = false;
    std::set<std::string> valid_access;
    std::set<std::string> refresh_tokens;  // one live, single-use token per grant
    int serial = 0;
    std::atomic<int> forced_token_status{0};
    std::atomic<bool> issue_rejected{false};
    std::atomic<int> expires_in{3600};
    std::atomic<std::size_t> token_calls{0};
    std::atomic<int> injected_status{0};
    std::atomic<int> injected_retry_after{0};
    std::atomic<std::size_t> stale_tokens{0};
    std::set<std::string> redeemed;                  // refresh tokens already exchanged
    std::atomic<std::size_t> double_redemptions{0};  // spent tokens presented again
  };

  static std::pair<std::string, std::string> issue(State& state) {
    ++state.serial;
    const std::string serial = std::to_string(state.serial);
    std::string access = "sk-test-access-" + std::string(24, 'a') + "-" + serial;
    std::string refresh = "sk-test-refresh-" + std::string(24, 'r') + "-" + serial;
    state.refresh_tokens.insert(refresh);
    if (!state.issue_rejected) state.valid_access.insert(access);
    return {access, refresh};
  }

  static TransportResult token(State& state, const Request& request) {
    ++state.token_calls;
    std::unique_lock lock(state.mutex);
    state.unblocked.wait(lock, [&] { return !state.blocked; });
    if (const int forced = state.forced_token_status.load(); forced != 0) {
      return response(forced, "upstream connect error");
    }
    const auto at = request.body.find("refresh_token=");
    const std::string presented =
        at == std::string::npos
            ? ""
            : request.body.substr(at + 14, request.body.find('&', at) - at - 14);
    // Rotation: a refresh token is redeemed once; a second use, or a revoked grant, is refused.
    if (state.refresh_tokens.erase(presented) == 0) {
      if (state.redeemed.count(presented) != 0) ++state.double_redemptions;
      return json_response(
          400, R"({"error":"invalid_grant","error_description":"refresh token revoked"})");
    }
    state.redeemed.insert(presented);
    const auto [access, refresh] = issue(state);
    return json_response(200, R"({"access_token":")" + access + R"(","token_type":"Bearer",)" +
                                  R"("expires_in":)" + std::to_string(state.expires_in.load()) +
                                  R"(,"refresh_token":")" + refresh + R"("})");
  }

  static TransportResult api(State& state, const Request& request) {
    const auto auth = request.headers.get("authorization").value_or("");
    const std::string token{auth.starts_with("Bearer ") ? auth.substr(7) : std::string_view{}};
    if (const auto min = request.headers.get("x-test-min-serial")) {
      if (serial_of(token) < std::atoi(std::string{*min}.c_str())) ++state.stale_tokens;
    }
    if (const int injected = state.injected_status.exchange(0); injected != 0) {
      return response(injected, "",
                      {{"retry-after", std::to_string(state.injected_retry_after.load())}});
    }
    const std::scoped_lock lock(state.mutex);
    if (state.valid_access.count(token) == 0) {
      return json_response(
          401,
          R"({"type":"error","error":{"type":"authentication_error","message":"Invalid bearer token"}})",
          {{"request-id", "req_401"}});
    }
    return json_response(200, R"({"ok":true,"token":")" + token + R"("})");
  }

  std::shared_ptr<State> state_;
};

}  // namespace keyward::testing
