// ResilientCredential behaviours added by the core's second cut, through the public API against
// the in-process provider: secrets others echo, short-lived tokens, a refused refresh token,
// truthful errors, provider bundles that refresh, reads that cannot dangle, and probe().
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "keyward/keyward.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_oauth_server.hpp"
#include "support/fake_transport.hpp"
#include "support/policies.hpp"
#include "support/recording_observer.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeOAuthServer;
using testing::FakeTransport;
using testing::json_response;
using testing::RecordingObserver;
using testing::RecordingSleeper;
using testing::response;

const std::string kApi{testing::kApiUrl};
const std::string kToken{testing::kTokenUrl};

Request api_request() {
  return Request{.method = "POST", .url = kApi, .headers = {}, .body = "{}"};
}

using testing::ObservedOAuthPolicies;
using testing::ObservedPolicies;

// --- item: no secret ever leaves, including secrets others echo ------------------------------

// An observer that keeps every text an event carries.
struct TextObserver {
  std::shared_ptr<std::vector<std::string>> texts = std::make_shared<std::vector<std::string>>();
  void on_event(const Event& event) const {
    texts->emplace_back(event.fingerprint);
    if (event.verdict != nullptr) {
      texts->push_back(event.verdict->message);
      texts->push_back(event.verdict->request_id);
      texts->push_back(event.verdict->provider_code);
    }
  }
};
struct Echoing : ObservedPolicies {
  using Observer = TextObserver;
  using Refresh = refresh::OAuth2RefreshToken;
};

TEST(SecretEchoTest, AKeyTheProviderEchoesNeverReachesErrorsStatusJsonOrEvents) {
  const std::string key = "sk-test-echoed-key-0123456789abcdef";
  FakeTransport transport;
  FakeClock clock;
  transport.on(kApi, [&](const Request&) {
    return json_response(
        401,
        R"({"error":{"type":"authentication_error","message":"invalid x-api-key: )" + key +
            R"("}})",
        {{"request-id", "req_" + key}});
  });
  TextObserver observer;
  ResilientCredential<FakeTransport, Echoing> rc{
      transport,
      Credential::api_key(key),
      {.profile = "echo"},
      {.clock = clock, .sleeper = RecordingSleeper{clock}, .observer = observer}};

  auto result = rc.send(api_request());

  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message.find(key), std::string::npos) << result.error().message;
  EXPECT_NE(result.error().message.find("[redacted]"), std::string::npos) << result.error().message;
  ASSERT_TRUE(result.error().verdict);
  EXPECT_EQ(result.error().verdict->message.find(key), std::string::npos);
  EXPECT_EQ(result.error().verdict->request_id.find(key), std::string::npos);
  EXPECT_EQ(rc.status().last_error.find(key), std::string::npos);
  EXPECT_EQ(to_json(rc.status()).find(key), std::string::npos);
  // The refused request that follows carries the same (scrubbed) error.
  auto again = rc.send(api_request());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message.find(key), std::string::npos);
  for (const auto& text : *observer.texts) EXPECT_EQ(text.find(key), std::string::npos) << text;
}

TEST(SecretEchoTest, ATransportFailureQuotingTheTokenIsScrubbed) {
  const std::string key = "sk-test-echoed-key-0123456789abcdef";
  FakeTransport transport;
  FakeClock clock;
  transport.on(kApi, [&](const Request& r) -> TransportResult {
    return unexpected(TransportFailure{
        TransportErrc::connect,
        "proxy refused " + std::string{r.headers.get("authorization").value_or("")}});
  });
  ResilientCredential<FakeTransport, ObservedPolicies> rc{
      transport,
      Credential::api_key(key),
      {},
      {.clock = clock, .sleeper = RecordingSleeper{clock}}};
  auto result = rc.send(api_request());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::transport_failed);
  EXPECT_EQ(result.error().message.find(key), std::string::npos) << result.error().message;
}

TEST(SecretEchoTest, StatusJsonIsValidUtf8WhateverTheProviderSent) {
  FakeTransport transport;
  FakeClock clock;
  transport.on(kApi, [](const Request&) {
    return json_response(
        401, "{\"error\":{\"type\":\"authentication_error\",\"message\":\"bad \xff\xfe token\"}}");
  });
  ResilientCredential<FakeTransport, ObservedPolicies> rc{
      transport,
      Credential::api_key("sk-test-key-0123456789abcdefWXYZ"),
      {},
      {.clock = clock, .sleeper = RecordingSleeper{clock}}};
  ASSERT_FALSE(rc.send(api_request()));
  const std::string json = to_json(rc.status());
  EXPECT_TRUE(detail::json::parse(json).has_value()) << json;
  EXPECT_EQ(json.find('\xff'), std::string::npos);
}

// --- item: short-lived tokens refresh once per lifetime ---------------------------------------

class LifetimeTest : public ::testing::TestWithParam<std::chrono::seconds> {};

TEST_P(LifetimeTest, SteadyTrafficRefreshesATokenOncePerLifetime) {
  const std::chrono::seconds lifetime = GetParam();
  FakeTransport transport;
  FakeOAuthServer server{transport};
  FakeClock clock;
  server.expires_in(static_cast<int>(lifetime.count()));
  const auto [access, refresh_token] = server.login();
  ResilientCredential<FakeTransport, ObservedOAuthPolicies> rc{
      transport,
      Credential::oauth(access, refresh_token, clock.now() + lifetime),
      {.profile = "short", .jitter_seed = 1},
      {.refresh = refresh::OAuth2RefreshToken{{.token_url = kToken, .client_id = "c"}},
       .clock = clock,
       .sleeper = RecordingSleeper{clock}}};

  // One request every 1/60 of the lifetime, over ten lifetimes.
  const auto step = lifetime / 60;
  for (int i = 0; i < 600; ++i) {
    auto result = rc.send(api_request());
    ASSERT_TRUE(result) << i << ": " << result.error().message;
    clock.advance(step);
  }
  // Each token is refreshed once: no earlier than half its lifetime (the short ones), or at the
  // 5 min margin (the 1 h one), or at half-life (the long-lived one). The old behaviour, a
  // refresh every 5 s inside the margin, makes hundreds of calls here.
  EXPECT_GE(server.token_calls(), 10U);
  EXPECT_LE(server.token_calls(), 21U);
  EXPECT_EQ(server.token_calls(), rc.status().generation - 1);
}

INSTANTIATE_TEST_SUITE_P(Lifetimes, LifetimeTest, ::testing::Values(60s, 300s, 3600s, 8 * 3600s));

// --- item: a refresh token refused while the access token is valid ------------------------------

TEST(RefusedRefreshTokenTest, TheAccessTokenServesUntilExpiryThenNeedsReauthNamingTheRefreshToken) {
  FakeTransport transport;
  FakeOAuthServer server{transport};
  FakeClock clock;
  RecordingObserver observer;
  const auto [access, refresh_token] = server.login();
  const TimePoint expiry = clock.now() + 3h;
  ResilientCredential<FakeTransport, ObservedOAuthPolicies> rc{
      transport,
      Credential::oauth(access, refresh_token, expiry),
      {.profile = "work"},
      {.refresh = refresh::OAuth2RefreshToken{{.token_url = kToken, .client_id = "c"}},
       .clock = clock,
       .sleeper = RecordingSleeper{clock},
       .observer = observer}};
  clock.advance(2h);  // past half-life: a proactive refresh
  server.revoke_grant();

  ASSERT_TRUE(rc.send(api_request()));  // invalid_grant, but hours... one hour left
  EXPECT_EQ(observer.count(EventKind::refresh_token_refused), 1U);
  const Status status = rc.status();
  EXPECT_EQ(status.state, CredentialState::ready);
  EXPECT_EQ(status.reauth_by, expiry);
  EXPECT_NE(status.refresh_error.find("refused the refresh token"), std::string::npos);
  ASSERT_TRUE(rc.send(api_request()));
  EXPECT_EQ(server.token_calls(), 1U);  // not asked again

  clock.advance(1h);  // expired
  auto dead = rc.send(api_request());
  ASSERT_FALSE(dead);
  EXPECT_EQ(dead.error().code, Errc::needs_reauth);
  EXPECT_NE(dead.error().message.find("refused the refresh token"), std::string::npos)
      << dead.error().message;
  EXPECT_EQ(dead.error().message.find("The provider rejected"), std::string::npos);
  EXPECT_EQ(rc.status().state, CredentialState::needs_reauth);
  EXPECT_EQ(server.token_calls(), 1U);
}

// --- item: errors that tell the truth ----------------------------------------------------------

TEST(TruthfulErrorTest, AnOAuthCredentialUnderAPolicyThatDoesNotRefreshSaysSo) {
  FakeTransport transport;
  FakeClock clock;
  transport.on(kApi, [](const Request&) { return response(401); });
  ResilientCredential<FakeTransport, ObservedPolicies> rc{
      transport,
      Credential::oauth("sk-test-access-0123456789ab", "sk-test-refresh-0123456789", std::nullopt),
      {},
      {.clock = clock, .sleeper = RecordingSleeper{clock}}};
  auto result = rc.send(api_request());
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("policy does not refresh"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(result.error().message.find("no refresh token"), std::string::npos);
}

TEST(TruthfulErrorTest, AnUnconfiguredRefreshStrategySaysWhatIsMissing) {
  FakeTransport transport;
  FakeClock clock;
  transport.on(kApi, [](const Request&) { return response(401); });
  ResilientCredential<FakeTransport, ObservedOAuthPolicies> rc{
      transport,
      Credential::oauth("sk-test-access-0123456789ab", "sk-test-refresh-0123456789", std::nullopt),
      {},
      {.clock = clock, .sleeper = RecordingSleeper{clock}}};
  auto result = rc.send(api_request());
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("no token endpoint"), std::string::npos)
      << result.error().message;
}

TEST(TruthfulErrorTest, InvalidClientNamesTheClientConfiguration) {
  FakeTransport transport;
  FakeOAuthServer server{transport};
  FakeClock clock;
  const auto [access, refresh_token] = server.login();
  transport.on(kToken, [](const Request&) {
    return json_response(
        401, R"({"error":"invalid_client","error_description":"Client authentication failed"})");
  });
  server.expire_access_tokens();
  ResilientCredential<FakeTransport, ObservedOAuthPolicies> rc{
      transport,
      Credential::oauth(access, refresh_token, std::nullopt),
      {},
      {.refresh = refresh::OAuth2RefreshToken{{.token_url = kToken, .client_id = "c"}},
       .clock = clock,
       .sleeper = RecordingSleeper{clock}}};
  auto result = rc.send(api_request());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::needs_reauth);
  EXPECT_NE(result.error().message.find("client configuration"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(result.error().message.find("set_credential"), std::string::npos)
      << result.error().message;
}

// --- item: provider bundles refresh out of the box -----------------------------------------------

struct AnthropicFake : provider::Anthropic {
  using Clock = FakeClock;
  using Sleeper = RecordingSleeper;
};

TEST(ProviderRefreshTest, AnthropicRefreshesAtItsTokenEndpointWithAJsonBody) {
  FakeTransport transport;
  FakeClock clock;
  const std::string anthropic_token_url{provider::Anthropic::tuning().token_url};
  const std::string access = "sk-ant-oat01-" + std::string(40, 'a');
  const std::string refreshed = "sk-ant-oat01-" + std::string(40, 'b');
  const std::string refresh_token = "sk-ant-ort01-" + std::string(40, 'r');
  transport.on(anthropic_token_url, [&](const Request&) {
    return json_response(200, R"({"access_token":")" + refreshed +
                                  R"(","refresh_token":"sk-ant-ort01-)" + std::string(40, 's') +
                                  R"(","expires_in":28800})");
  });
  transport.on("https://api.anthropic.com/", [&](const Request& r) {
    const bool ok = r.headers.get("authorization") == "Bearer " + refreshed;
    return ok ? json_response(200, "{}")
              : json_response(
                    401,
                    R"({"type":"error","error":{"type":"authentication_error","message":"Invalid bearer token"}})");
  });
  ResilientCredential<FakeTransport, AnthropicFake> rc{
      transport,
      Credential::oauth(access, refresh_token, std::nullopt),
      {},
      {.refresh = provider::Anthropic::oauth_refresh("my-client-id"),
       .clock = clock,
       .sleeper = RecordingSleeper{clock}}};

  auto result = rc.send({.method = "POST", .url = "https://api.anthropic.com/v1/messages"});

  ASSERT_TRUE(result) << result.error().message;
  const auto requests = transport.requests();
  ASSERT_EQ(requests.size(), 3U);  // 401, the refresh, the replay
  const Request& token_request = requests[1];
  EXPECT_EQ(token_request.url, anthropic_token_url);
  EXPECT_EQ(token_request.headers.get("content-type"), "application/json");
  EXPECT_NE(token_request.body.find(R"("client_id":"my-client-id")"), std::string::npos);
  EXPECT_NE(token_request.body.find(R"("grant_type":"refresh_token")"), std::string::npos);
}

TEST(ProviderRefreshTest, OpenAIAndGoogleBundlesRefreshAndApiKeysStayStatic) {
  const auto openai = provider::OpenAI::oauth_refresh("app_client");
  EXPECT_EQ(openai.options().token_url, "https://auth.openai.com/oauth/token");
  EXPECT_EQ(openai.options().body_format, refresh::BodyFormat::form);
  EXPECT_FALSE(openai.refreshable(Credential::api_key("sk-proj-0123456789abcdefghij")));
  const auto google =
      provider::Google::oauth_refresh("id.apps.googleusercontent.com", "secret-0123456789");
  EXPECT_EQ(google.options().token_url, "https://oauth2.googleapis.com/token");
  EXPECT_EQ(google.options().client_auth, refresh::ClientAuth::client_secret_post);
  EXPECT_TRUE(google.refreshable(
      Credential::oauth("ya29.a0-0123456789abcdef", "1//0g-refresh", std::nullopt)));
  EXPECT_EQ(provider::Anthropic::oauth_refresh("c", "https://auth.example.test/token")
                .options()
                .token_url,
            "https://auth.example.test/token");
}

// --- item: a read API whose results cannot dangle ------------------------------------------------

TEST(WithCurrentTest, AReadStaysValidWhileSeventeenOtherCredentialsAreReadAndRepublished) {
  FakeTransport transport;
  transport.on(kApi, [](const Request&) { return response(200); });
  using Credentialed = ResilientCredential<FakeTransport, ObservedPolicies>;
  std::vector<std::unique_ptr<Credentialed>> pool;
  for (int i = 0; i < 40; ++i) {
    pool.push_back(std::make_unique<Credentialed>(
        transport, Credential::api_key("sk-test-key-" + std::to_string(1000000 + i) + "-abcdefgh"),
        CredentialOptions{}, Credentialed::Components{}));
  }
  const std::string first = pool[0]->with_current([&](const Credentialed::Current& a) {
    // While `a` is lent, every other credential is read, and `pool[0]` itself republished:
    // the snapshots these reads evict from this thread's cache must not free `a`.
    static_cast<void>(pool[0]->set_credential(Credential::api_key("sk-test-key-replaced-0000-x")));
    for (auto& other : pool) other->with_current([](const Credentialed::Current&) {});
    return std::string{a.credential.token.reveal()};
  });
  EXPECT_EQ(first, "sk-test-key-1000000-abcdefgh");
}

TEST(WithCurrentTest, LendsTheTokenBytesAndGenerationOfTheCredentialInEveryState) {
  // The snapshot keeps copies of its token's bytes and generation (so that a read need not touch
  // the token object); they must be the credential's own through every kind of publish.
  FakeTransport transport;
  FakeOAuthServer server{transport};
  FakeClock clock;
  const auto [access, refresh_token] = server.login();
  ResilientCredential<FakeTransport, ObservedOAuthPolicies> rc{
      transport,
      Credential::oauth(access, refresh_token, clock.now() + 1h),
      {.profile = "lent"},
      {.refresh = refresh::OAuth2RefreshToken{{.token_url = kToken, .client_id = "c"}},
       .clock = clock,
       .sleeper = RecordingSleeper{clock}}};
  std::vector<std::pair<std::string, std::uint64_t>> seen;
  const auto check = [&](const char* when) {
    rc.with_current([&](const auto& c) {
      EXPECT_EQ(c.token, c.credential.token.reveal()) << when;
      EXPECT_EQ(c.token.data(), c.credential.token.reveal().data()) << when;  // no copy
      EXPECT_EQ(c.generation, rc.status().generation) << when;
      seen.emplace_back(std::string{c.token}, c.generation);
    });
  };
  check("at construction");
  server.expire_access_tokens();  // the next request is refused: refreshed, then replayed
  ASSERT_TRUE(rc.send(api_request()));
  check("after a refresh");
  server.fail_next_api_request(429, 30);  // cooling: a new snapshot of the same token
  const auto limited = rc.send(api_request());
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().code, Errc::cooling_down);
  rc.with_current([](const auto& c) { EXPECT_EQ(c.state, CredentialState::cooling); });
  check("while cooling");
  ASSERT_TRUE(rc.set_credential(Credential::api_key("sk-test-replacement-0123456789")));
  check("after a replacement");
  ASSERT_EQ(seen.size(), 4U);
  EXPECT_EQ(seen[0], (std::pair<std::string, std::uint64_t>{access, 1}));
  EXPECT_EQ(seen[1].second, 2U);
  EXPECT_NE(seen[1].first, access);
  EXPECT_EQ(seen[2], seen[1]);
  EXPECT_EQ(seen[3], (std::pair<std::string, std::uint64_t>{"sk-test-replacement-0123456789", 3}));
}

// --- item: probe() -------------------------------------------------------------------------------

TEST(ProbeTest, ProbeSendsTheProvidersHealthRequestAndBringsACooledCredentialBack) {
  FakeTransport transport;
  FakeClock clock;
  int quota_left = 0;
  transport.on("https://api.anthropic.com/", [&](const Request& r) {
    if (quota_left == 0) {
      return json_response(
          400,
          R"({"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}})");
    }
    return json_response(200, r.url);
  });
  ResilientCredential<FakeTransport, AnthropicFake> rc{
      transport,
      Credential::api_key("sk-ant-api03-" + std::string(60, 'k')),
      {},
      {.clock = clock, .sleeper = RecordingSleeper{clock}}};
  ASSERT_FALSE(rc.send({.method = "POST", .url = "https://api.anthropic.com/v1/messages"}));
  EXPECT_EQ(rc.status().reason, VerdictKind::quota_exhausted);

  quota_left = 1;  // a person added credits; the 5 h window need not run out
  auto probed = rc.probe();
  ASSERT_TRUE(probed) << probed.error().message;
  EXPECT_EQ(probed->body, "https://api.anthropic.com/v1/models");
  EXPECT_EQ(transport.requests().back().method, "GET");
  EXPECT_EQ(rc.status().state, CredentialState::ready);
}

TEST(ProbeTest, AProbeThatFailsRecordsTheVerdictLikeAnyRequest) {
  FakeTransport transport;
  FakeClock clock;
  transport.on("https://api.openai.com/", [](const Request&) {
    return json_response(
        401,
        R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}})");
  });
  struct OpenAIFake : provider::OpenAI {
    using Clock = FakeClock;
    using Sleeper = RecordingSleeper;
  };
  ResilientCredential<FakeTransport, OpenAIFake> rc{
      transport,
      Credential::api_key("sk-proj-" + std::string(40, 'k')),
      {},
      {.clock = clock, .sleeper = RecordingSleeper{clock}}};
  auto probed = rc.probe();
  ASSERT_FALSE(probed);
  EXPECT_EQ(probed.error().code, Errc::needs_reauth);
  EXPECT_EQ(rc.status().state, CredentialState::needs_reauth);
}

// --- item: time arithmetic saturates -------------------------------------------------------------

TEST(SaturationTest, AHugeServerWaitUnderAMaximalCapNeitherOverflowsNorSleeps) {
  FakeTransport transport;
  FakeClock clock;
  transport.on(kApi, [](const Request&) {
    return response(429, "", {{"retry-after", "99999999999999999"}});
  });
  RecordingSleeper sleeper{clock};
  ResilientCredential<FakeTransport, ObservedPolicies> rc{
      transport,
      Credential::api_key("sk-test-key-0123456789abcdefWXYZ"),
      {.retry = {.max_server_wait = std::chrono::milliseconds::max()}},
      {.classifier = classify::HttpStatus{{.max_wait = std::chrono::milliseconds::max()}},
       .cooldown =
           cooldown::ExponentialBackoff{{.rate_limit_max = std::chrono::milliseconds::max()}},
       .clock = clock,
       .sleeper = sleeper}};
  auto result = rc.send(api_request());
  ASSERT_FALSE(result);
  ASSERT_TRUE(rc.status().until);
  EXPECT_GT(*rc.status().until, clock.now());  // in the future, not wrapped into the past
  EXPECT_FALSE(rc.send(api_request()));        // still out
  EXPECT_TRUE(sleeper.waits().empty());
}

}  // namespace
}  // namespace keyward
