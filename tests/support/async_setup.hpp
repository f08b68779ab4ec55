// What the asynchronous faces' tests (tests/async/, tests/driver/faces.hpp) share: an OAuth
// credential against FakeOAuthServer over FakeAsyncTransport on the fake clock, the POST they
// send, and what an operation's callback got.
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "keyward/error.hpp"
#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/result.hpp"
#include "support/fake_async_transport.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_oauth_server.hpp"
#include "support/policies.hpp"
#include "support/recording_observer.hpp"

namespace keyward::testing {

/// A POST to FakeOAuthServer's API.
inline Request api_post() {
  return Request{.method = "POST", .url = std::string{kApiUrl}, .body = "{}"};
}

/// An OAuth credential (profile "async", no expiry) logged in to FakeOAuthServer over
/// FakeAsyncTransport, on the fake clock and a recording sleeper, its events recorded.
struct AsyncOAuthSetup {
  using Api = ResilientCredential<FakeAsyncTransport, ObservedOAuthPolicies>;

  FakeAsyncTransport transport;
  FakeOAuthServer server{transport};
  FakeClock clock;
  RecordingObserver observer;
  std::unique_ptr<Api> credential;

  AsyncOAuthSetup() {
    auto [access, refresh] = server.login();
    credential = std::make_unique<Api>(
        transport, Credential::oauth(access, refresh, std::nullopt),
        CredentialOptions{.profile = "async"},
        Components<ObservedOAuthPolicies>{
            .refresh = refresh::OAuth2RefreshToken{{.token_url = std::string{kTokenUrl},
                                                    .client_id = "keyward-tests"}},
            .clock = clock,
            .sleeper = RecordingSleeper{clock},
            .observer = observer});
  }
};

/// What an operation's callback got.
struct Got {
  std::optional<Result<Response>> answer;
  std::exception_ptr thrown;

  /// The callback that fills it.
  auto callback() {
    return [this](std::exception_ptr e, Result<Response> r) {
      thrown = e;
      answer.emplace(std::move(r));
    };
  }
  [[nodiscard]] bool cancelled() const {
    return answer && !*answer && answer->error().code == Errc::cancelled;
  }
  [[nodiscard]] bool ok() const { return answer && *answer && (*answer)->status == 200; }
  /// The answer, once the callback was called; what it was given to throw is thrown.
  Result<Response> take() {
    if (thrown) std::rethrow_exception(thrown);
    return std::move(*answer);
  }
};

}  // namespace keyward::testing
