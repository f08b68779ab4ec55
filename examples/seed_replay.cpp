// The failure of openclaw issue 9095, replayed through keyward against an in-process provider.
//
// A gateway holds one Anthropic OAuth login. In the issue, a 401 "Invalid bearer token" was
// treated as a rate limit: the only credential went into a growing cooldown and every later
// request failed with "No available auth profile for anthropic (all in cooldown or unavailable)",
// forever, with no refresh and no hint. Here the same events meet keyward: the 401 is refreshed
// and replayed; a dead grant gets an error that says what to do; the fix needs no restart; a
// 429 cools only for the server's wait; a 529 is retried without touching the credential.
// Time is simulated, so the run takes milliseconds.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <map>
#include <mutex>
#include <string>

#include "keyward/keyward.hpp"

namespace {

using namespace std::chrono_literals;
constexpr const char* kApi = "https://api.anthropic.example/v1/messages";
constexpr const char* kTokenUrl = "https://console.anthropic.example/v1/oauth/token";

// Simulated time: the sleeper moves the clock instead of waiting.
std::atomic<std::int64_t> g_now_ms{1'770'206'400'000};  // 2026-02-04T12:00:00Z
struct DemoClock {
  [[nodiscard]] keyward::TimePoint now() const {
    return keyward::TimePoint{std::chrono::milliseconds{g_now_ms.load()}};
  }
};
struct DemoSleeper {
  void sleep_for(std::chrono::milliseconds d) const { g_now_ms += d.count(); }
};

// A scripted Anthropic: an API that accepts the access tokens it issued, and a token endpoint
// with single-use, rotating refresh tokens. `next_api_status` scripts the next API answers.
struct Provider {
  std::mutex mutex;
  std::map<std::string, bool> access_tokens;  // token -> valid
  std::string refresh_token;
  int serial = 0;
  std::vector<int> next_api_status;

  std::pair<std::string, std::string> login() {
    const std::scoped_lock lock(mutex);
    return issue();
  }
  std::pair<std::string, std::string> issue() {
    const std::string n = std::to_string(++serial);
    std::string access = "sk-ant-oat01-demo-access-token-0000000000-" + n + "x7Qa";
    refresh_token = "sk-ant-ort01-demo-refresh-token-000000000-" + n + "Zp3k";
    access_tokens[access] = true;
    return {access, refresh_token};
  }
};
Provider g_provider;

// The application's HTTP client, adapted to keyward's Transport concept.
struct InProcessTransport {
  keyward::TransportResult send(const keyward::Request& request) const {
    Provider& p = g_provider;
    const std::scoped_lock lock(p.mutex);
    keyward::Response response;
    response.headers.set("content-type", "application/json");
    if (request.url == kTokenUrl) {
      if (p.refresh_token.empty() || request.body.find(p.refresh_token) == std::string::npos) {
        response.status = 400;
        response.body =
            R"({"error":"invalid_grant","error_description":"Refresh token not found or invalid"})";
        return response;
      }
      const auto [access, refresh] = p.issue();
      response.status = 200;
      response.body = R"({"access_token":")" + access + R"(","refresh_token":")" + refresh +
                      R"(","expires_in":28800,"token_type":"Bearer"})";
      return response;
    }
    if (!p.next_api_status.empty()) {
      response.status = p.next_api_status.front();
      p.next_api_status.erase(p.next_api_status.begin());
      if (response.status == 429) {
        response.headers.set("retry-after", "20");
        response.body =
            R"({"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}})";
      } else {
        response.body =
            R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})";
      }
      return response;
    }
    const auto auth = request.headers.get("authorization").value_or("");
    const auto it = p.access_tokens.find(std::string{auth.substr(auth.find(' ') + 1)});
    if (it == p.access_tokens.end() || !it->second) {
      response.status = 401;
      response.headers.set("request-id", "req_011CXkPt8sQ9");
      response.body =
          R"({"type":"error","error":{"type":"authentication_error","message":"Invalid bearer token"}})";
      return response;
    }
    response.status = 200;
    response.body = R"({"type":"message","content":[{"type":"text","text":"Hello!"}]})";
    return response;
  }
};

// Prints every decision keyward takes; events carry fingerprints, never secrets.
struct PrintingObserver {
  void on_event(const keyward::Event& e) const {
    if (e.kind == keyward::EventKind::attempt) return;
    std::printf("    event %-19s %s (generation %llu)", std::string{to_string(e.kind)}.c_str(),
                std::string{e.fingerprint}.c_str(), static_cast<unsigned long long>(e.generation));
    if (e.verdict != nullptr) {
      std::printf(" verdict=%s status=%d", std::string{to_string(e.verdict->kind)}.c_str(),
                  e.verdict->status);
    }
    std::printf("\n");
  }
};

struct AnthropicOAuth : keyward::DefaultPolicies {
  using Refresh = keyward::refresh::OAuth2RefreshToken;
  using Clock = DemoClock;
  using Sleeper = DemoSleeper;
  using Observer = PrintingObserver;
};
using Credentialed = keyward::ResilientCredential<InProcessTransport, AnthropicOAuth>;

void step(const char* title) { std::printf("\n== %s\n", title); }

bool request(Credentialed& claude) {
  auto result = claude.send(
      {.method = "POST", .url = kApi, .headers = {}, .body = R"({"model":"claude-opus-4-5"})"});
  if (result) {
    std::printf("  -> HTTP %d\n", result->status);
  } else {
    std::printf("  -> error [%s]\n     %s\n", result.error().code.message().c_str(),
                result.error().message.c_str());
  }
  return result.has_value() && result->status == 200;
}

}  // namespace

int run() {
  int persisted = 0;
  auto [access, refresh] = g_provider.login();
  Credentialed claude{
      InProcessTransport{},
      keyward::Credential::oauth(access, refresh, DemoClock{}.now() + 8h),
      {.profile = "anthropic:claude-oauth",
       .fix = {.unauthenticated =
                   "run `openclaw providers setup anthropic --auth-method setup-token`"}},
      {.refresh =
           keyward::refresh::OAuth2RefreshToken{
               {.token_url = kTokenUrl,
                .client_id = "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
                .body_format = keyward::refresh::BodyFormat::json}},
       .store = keyward::store::Memory{
           [&persisted](const keyward::Credential&) -> keyward::Result<void> {
             ++persisted;  // a real application writes its credential file here, atomically
             return {};
           }}}};
  bool ok = true;

  step("1. The access token is no longer accepted: HTTP 401 authentication_error");
  {
    const std::scoped_lock lock(g_provider.mutex);
    for (auto& [token, valid] : g_provider.access_tokens) valid = false;
  }
  ok &= request(claude);
  std::printf(
      "  keyward refreshed once, persisted the rotated refresh token (%d persisted), and "
      "replayed once.\n",
      persisted);

  step("2. The provider is overloaded (529, then 529): retried, the credential is untouched");
  g_provider.next_api_status = {529, 529};
  ok &= request(claude);
  ok &= claude.status().state == keyward::CredentialState::ready;

  step("3. A rate limit (429, retry-after: 20): only this credential cools, for 20 s exactly");
  g_provider.next_api_status = {429};
  ok &= !request(claude);
  std::printf("  status: %s\n", to_json(claude.status()).c_str());
  DemoSleeper{}.sleep_for(20s);
  std::printf("  20 s later, one probe request:\n");
  ok &= request(claude);

  step("4. The login is revoked elsewhere: the refresh token is dead");
  {
    const std::scoped_lock lock(g_provider.mutex);
    g_provider.refresh_token.clear();
    for (auto& [token, valid] : g_provider.access_tokens) valid = false;
  }
  ok &= !request(claude);

  step("5. Every later request says what to fix, instead of 'all in cooldown'");
  DemoSleeper{}.sleep_for(5min);
  ok &= !request(claude);
  std::printf("  status: %s\n", to_json(claude.status()).c_str());

  step("6. A person logs in again; set_credential() brings it back, no restart");
  auto [new_access, new_refresh] = g_provider.login();
  ok &= claude
            .set_credential(
                keyward::Credential::oauth(new_access, new_refresh, DemoClock{}.now() + 8h))
            .has_value();
  ok &= request(claude);
  std::printf("  status: %s\n", to_json(claude.status()).c_str());

  std::printf("\n%s\n", ok ? "seed_replay: every step behaved as keyward promises"
                           : "seed_replay: a step did not behave as expected");
  return ok ? 0 : 1;
}

int main() {
  try {
    return run();
  } catch (const std::exception& e) {
    // The constructor throws std::invalid_argument for an unusable credential or options.
    std::cerr << e.what() << '\n';
    return 1;
  }
}
