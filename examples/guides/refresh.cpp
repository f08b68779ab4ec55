// docs/guides/refresh.md: refreshing OAuth tokens with refresh::OAuth2RefreshToken, and keeping
// each rotated refresh token with a store::Memory persist hook.
//
// The provider runs in this process: an API that accepts the access tokens it issued, and a token
// endpoint that rotates refresh tokens (each works once), as many providers do. Time is a manual
// clock, so the run takes milliseconds.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/keyward.hpp"

class OAuthProvider {
 public:
  static constexpr std::string_view kTokenUrl = "https://auth.example.com/oauth/token";

  // A person logs in: a new access token and refresh token.
  std::pair<std::string, std::string> login() {
    const std::scoped_lock lock(mutex_);
    return issue();
  }
  // The server drops its access tokens early (a key rotation, say); refresh tokens still work.
  void expire_access_tokens() {
    const std::scoped_lock lock(mutex_);
    access_tokens_.clear();
  }
  // The person logged out everywhere: nothing issued so far works.
  void revoke_all() {
    const std::scoped_lock lock(mutex_);
    access_tokens_.clear();
    refresh_token_.clear();
  }
  [[nodiscard]] int redemptions() const {
    const std::scoped_lock lock(mutex_);
    return redemptions_;
  }
  [[nodiscard]] std::string refresh_token() const {
    const std::scoped_lock lock(mutex_);
    return refresh_token_;
  }

  keyward::Response handle(const keyward::Request& request) {
    const std::scoped_lock lock(mutex_);
    return request.url == kTokenUrl ? token_endpoint(request) : api(request);
  }

 private:
  keyward::Response api(const keyward::Request& request) const {
    const auto authorization = request.headers.get("authorization").value_or("");
    if (authorization.starts_with("Bearer ") &&
        access_tokens_.contains(std::string{authorization.substr(7)})) {
      return {.status = 200, .headers = {}, .body = R"({"user":"ada"})"};
    }
    return {.status = 401,
            .headers = {{"www-authenticate", R"(Bearer error="invalid_token")"}},
            .body = {}};
  }

  // RFC 6749 section 6: grant_type=refresh_token, client_secret_basic.
  keyward::Response token_endpoint(const keyward::Request& request) {
    if (!request.headers.get("authorization").value_or("").starts_with("Basic ")) {
      return {.status = 401, .headers = {}, .body = R"({"error":"invalid_client"})"};
    }
    if (refresh_token_.empty() || form_field(request.body, "refresh_token") != refresh_token_) {
      return {.status = 400,
              .headers = {},
              .body = R"({"error":"invalid_grant","error_description":"the refresh token is )"
                      R"(invalid or was already used"})"};
    }
    ++redemptions_;
    const auto [access, refresh] = issue();
    return {.status = 200,
            .headers = {{"content-type", "application/json"}},
            .body = R"({"access_token":")" + access + R"(","refresh_token":")" + refresh +
                    R"(","token_type":"Bearer","expires_in":3600})"};
  }

  std::pair<std::string, std::string> issue() {
    const std::string n = std::to_string(++serial_);
    std::string access = "example-access-token-000" + n;
    refresh_token_ = "example-refresh-token-000" + n;
    access_tokens_.insert(access);
    return {access, refresh_token_};
  }

  // The value of `name` in a form body (the values here need no decoding).
  static std::string_view form_field(std::string_view body, std::string_view name) {
    while (!body.empty()) {
      const std::string_view field = body.substr(0, body.find('&'));
      body.remove_prefix(std::min(field.size() + 1, body.size()));
      if (field.size() > name.size() && field.starts_with(name) && field[name.size()] == '=') {
        return field.substr(name.size() + 1);
      }
    }
    return {};
  }

  mutable std::mutex mutex_;
  std::set<std::string, std::less<>> access_tokens_;
  std::string refresh_token_;
  int serial_ = 0;
  int redemptions_ = 0;
};

struct ProviderTransport {
  OAuthProvider* provider = nullptr;
  keyward::TransportResult send(const keyward::Request& request) const {
    return provider->handle(request);
  }
};

// Time as the example says it is: keyward reads the clock policy, never the system clock.
struct ManualClock {
  std::shared_ptr<std::atomic<std::int64_t>> ms =
      std::make_shared<std::atomic<std::int64_t>>(1'770'206'400'000);  // 2026-02-04T12:00:00Z
  [[nodiscard]] keyward::TimePoint now() const {
    return keyward::TimePoint{std::chrono::milliseconds{ms->load()}};
  }
  void advance(std::chrono::milliseconds by) const { *ms += by.count(); }
};

// The refresh-token grant instead of the default (never refresh), and the manual clock.
struct OAuthPolicies : keyward::DefaultPolicies {
  using Refresh = keyward::refresh::OAuth2RefreshToken;
  using Clock = ManualClock;
};

// Where the application keeps its login between runs (a file, the OS keychain): here, memory.
struct SavedLogin {
  std::mutex mutex;
  keyward::Credential credential;
  int writes = 0;
  bool fail_next = false;  // to show what a failed write does
};

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

}  // namespace

int run() {
  using namespace std::chrono_literals;
  OAuthProvider provider;
  const ManualClock clock;
  SavedLogin saved;

  // Called with every credential keyward installs after the first, before it is used. An error
  // (or an exception) means "not saved": keyward does not use the new credential yet, keeps it,
  // and retries the write later without redeeming the refresh token again.
  const auto persist = [&saved](const keyward::Credential& credential) -> keyward::Result<void> {
    const std::scoped_lock lock(saved.mutex);
    if (std::exchange(saved.fail_next, false)) {
      return keyward::unexpected(keyward::make_error(keyward::Errc::persist_failed, "disk full"));
    }
    saved.credential = credential;
    ++saved.writes;
    return {};
  };

  // The token endpoint, the client's id and secret, and how the client authenticates.
  keyward::refresh::OAuth2Options oauth;
  oauth.token_url = OAuthProvider::kTokenUrl;
  oauth.client_id = "example-client";
  oauth.client_secret = "example-client-secret-0123";
  oauth.client_auth = keyward::refresh::ClientAuth::client_secret_basic;
  keyward::refresh::OAuth2RefreshToken refresh{std::move(oauth)};  // throws if unusable

  const auto [access, refresh_token] = provider.login();
  keyward::ResilientCredential<ProviderTransport, OAuthPolicies> api{
      ProviderTransport{&provider},
      keyward::Credential::oauth(access, refresh_token, clock.now() + 1h),
      {.profile = "example:oauth", .fix = {.unauthenticated = "run `example login`"}},
      {.refresh = std::move(refresh), .store = keyward::store::Memory{persist}, .clock = clock}};
  const keyward::Request me{.method = "GET", .url = "https://api.example.com/v1/me"};

  auto first = api.send(me);
  expect(first && first->status == 200, "the login's access token works");
  expect(saved.writes == 0, "the application's own credential is not written back");

  // A 401 on a refreshable token: one refresh, then the request is replayed.
  provider.expire_access_tokens();
  auto replayed = api.send(me);
  expect(replayed && replayed->status == 200, "401: refreshed once and replayed");
  expect(provider.redemptions() == 1 && api.status().generation == 2, "one redemption");
  expect(saved.writes == 1 && saved.credential.refresh_token.reveal() == provider.refresh_token(),
         "the rotated refresh token was saved before it was used");
  expect(!api.status().rotation_unpersisted, "status() knows the store is durable");

  // The save fails once: the new credential is kept but not used, and the caller is told.
  provider.expire_access_tokens();
  saved.fail_next = true;
  auto unsaved = api.send(me);
  expect(!unsaved && unsaved.error().code == keyward::Errc::persist_failed,
         "a failed save: Errc::persist_failed");
  // After the refresh backoff (5 s by default), the kept credential is saved, not redeemed again.
  clock.advance(6s);
  auto saved_now = api.send(me);
  expect(saved_now && saved_now->status == 200, "the next attempt saves it and succeeds");
  expect(provider.redemptions() == 2 && saved.writes == 2,
         "the refresh token was redeemed once, the credential saved once");

  // The refresh token is refused (invalid_grant): a person must log in again.
  provider.revoke_all();
  auto refused = api.send(me);
  expect(!refused && refused.error().code == keyward::Errc::needs_reauth,
         "invalid_grant: Errc::needs_reauth");
  if (!refused) std::printf("  %s\n", refused.error().message.c_str());

  // The person logs in; set_credential() saves the new login and brings the credential back.
  const auto [access2, refresh2] = provider.login();
  auto replaced =
      api.set_credential(keyward::Credential::oauth(access2, refresh2, clock.now() + 1h));
  auto back = api.send(me);
  expect(replaced && back && back->status == 200 && saved.writes == 3,
         "set_credential(): saved, and ready on the next request");
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
