// The driver's cooldowns through both faces (tests/driver/faces.hpp): windows, probes and
// counters for rate limits, quota and rejected credentials; replacement and status.
#include <atomic>
#include <future>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "driver/faces.hpp"

namespace keyward::testing {
namespace {

using namespace std::chrono_literals;

// 402 is quota, with a fix.
struct QuotaClassifier : classify::HttpStatus {
  [[nodiscard]] Verdict classify(const Response& r, const ClassifyContext& c) const {
    Verdict v = HttpStatus::classify(r, c);
    if (r.status == 402) v.kind = VerdictKind::quota_exhausted;
    v.fix = "buy credits at console.example.test/billing";
    return v;
  }
  using HttpStatus::classify;
};
struct QuotaPolicies : ObservedPolicies {
  using Classifier = QuotaClassifier;
};

// Any OAuth answer is a misconfiguration, with a fix.
struct MisconfiguredClassifier : classify::HttpStatus {
  [[nodiscard]] Verdict classify(const Response& r, const ClassifyContext& c) const {
    Verdict v = HttpStatus::classify(r, c);
    v.kind = c.credential == CredentialKind::oauth ? VerdictKind::misconfigured : v.kind;
    v.message = "OAuth authentication is currently not supported";
    v.fix = "send OAuth tokens with the anthropic-beta header";
    return v;
  }
  using HttpStatus::classify;
};
struct MisconfiguredPolicies : ObservedOAuthPolicies {
  using Classifier = MisconfiguredClassifier;
};

// --- cooldowns and probes -----------------------------------------------------------------

TYPED_TEST(DriverFacesTest, RateLimitCoolsForTheServersWaitThenProbesOnce) {
  std::atomic<int> mode{429};
  std::unique_ptr<typename TestFixture::Subject> rc;
  std::optional<Result<Response>> nested;
  this->transport.on(kApi, [&](const Request&) -> TransportResult {
    if (mode == 429)
      return json_response(429, R"({"error":{"type":"rate_limit_error"}})",
                           {{"retry-after", "20"}});
    // The probe: while it is in flight, every other request is refused without being sent.
    nested.emplace(TypeParam::send(*rc, api_request()));
    return response(200);
  });
  rc = make_static<TypeParam>(this->transport, this->clock);
  const TimePoint t0 = this->clock.now();

  auto limited = TypeParam::send(*rc, api_request());
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().code, TypeParam::out(Errc::cooling_down));
  EXPECT_EQ(TypeParam::status(*rc).state, CredentialState::cooling);
  EXPECT_EQ(TypeParam::status(*rc).until, t0 + 20s);
  EXPECT_NE(limited.error().message.find("not an authentication failure"), std::string::npos);

  this->clock.advance(19s);
  auto refused = TypeParam::send(*rc, api_request());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, TypeParam::out(Errc::cooling_down));
  EXPECT_EQ(this->transport.count(kApi), 1U);

  this->clock.advance(1s);
  mode = 200;
  auto probe = TypeParam::send(*rc, api_request());
  ASSERT_TRUE(probe) << probe.error().message;
  ASSERT_TRUE(nested.has_value());
  ASSERT_FALSE(*nested);
  EXPECT_NE(nested->error().message.find("probe"), std::string::npos);
  EXPECT_EQ(this->transport.count(kApi), 2U);  // the 429 and the probe; the nested one was refused
  const Status status = TypeParam::status(*rc);
  EXPECT_EQ(status.state, CredentialState::ready);
  EXPECT_EQ(status.consecutive_failures, 0U);
  EXPECT_FALSE(status.until);
}

// The late 429 counts no new failure, but its server-stated wait ends later than the window:
// the window is extended to the server's time (a window never shrinks).
TYPED_TEST(DriverFacesTest, FailureDuringTheWindowCountsNoFailureAndOnlyTheServersWaitExtends) {
  std::promise<void> first_done;
  auto first_done_future = first_done.get_future().share();
  std::latch both_in_flight(2);
  const auto first_thread = std::this_thread::get_id();
  this->transport.on(kApi, [&](const Request&) {
    both_in_flight.arrive_and_wait();
    if (std::this_thread::get_id() == first_thread) {
      return json_response(429, "{}", {{"retry-after", "20"}});
    }
    first_done_future.wait();  // answers after the first 429 has opened the window
    return json_response(429, "{}", {{"retry-after", "60"}});
  });
  auto rc = make_static<TypeParam>(this->transport, this->clock);
  const TimePoint t0 = this->clock.now();

  auto second = std::async(std::launch::async, [&] { return TypeParam::send(*rc, api_request()); });
  auto first = TypeParam::send(*rc, api_request());
  ASSERT_FALSE(first);
  this->clock.advance(5s);
  first_done.set_value();
  auto late = second.get();

  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, TypeParam::out(Errc::cooling_down));
  EXPECT_EQ(TypeParam::status(*rc).until, t0 + 65s);
  EXPECT_EQ(TypeParam::status(*rc).consecutive_failures, 1U);
}

TYPED_TEST(DriverFacesTest, FailedProbeOpensALongerWindowAndSuccessResetsTheCounters) {
  std::atomic<int> status{429};
  this->transport.on(kApi, [&](const Request&) { return response(status.load()); });
  auto rc = make_static<TypeParam>(this->transport, this->clock);

  ASSERT_FALSE(TypeParam::send(*rc, api_request()));
  const auto first_until = *TypeParam::status(*rc).until;
  EXPECT_LE(first_until - this->clock.now(), 30s);  // full jitter within the first 30 s window
  this->clock.advance(first_until - this->clock.now());
  ASSERT_FALSE(TypeParam::send(*rc, api_request()));  // the probe is rate limited again
  EXPECT_EQ(TypeParam::status(*rc).consecutive_failures, 2U);
  EXPECT_LE(*TypeParam::status(*rc).until - this->clock.now(), 60s);

  this->clock.advance(*TypeParam::status(*rc).until - this->clock.now());
  status = 200;
  ASSERT_TRUE(TypeParam::send(*rc, api_request()));
  EXPECT_EQ(TypeParam::status(*rc).consecutive_failures, 0U);

  // A new failure starts from the first window again: old failures have decayed.
  status = 429;
  ASSERT_FALSE(TypeParam::send(*rc, api_request()));
  EXPECT_EQ(TypeParam::status(*rc).consecutive_failures, 1U);
  EXPECT_LE(*TypeParam::status(*rc).until - this->clock.now(), 30s);
}

TYPED_TEST(DriverFacesTest, QuotaExhaustionIsOutForFiveHours) {
  this->transport.on(kApi, [](const Request&) { return response(402); });
  auto rc = TypeParam::template build<QuotaPolicies>(
      this->transport, Credential::api_key(kApiKey), {},
      {.clock = this->clock, .sleeper = RecordingSleeper{this->clock}});

  auto result = TypeParam::send(*rc, api_request());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, TypeParam::out(Errc::cooling_down));
  EXPECT_EQ(TypeParam::status(*rc).until, this->clock.now() + 5h);
  EXPECT_NE(result.error().message.find("quota"), std::string::npos);
  // No application text was configured, so the classifier's fix reaches the person.
  EXPECT_NE(result.error().message.find("Fix: buy credits at console.example.test/billing"),
            std::string::npos)
      << result.error().message;
}

TYPED_TEST(DriverFacesTest, MisconfiguredNeedsReauthWithoutRefreshOrProbe) {
  OAuthSetup<TypeParam> setup;
  setup.transport.on(kApi, [](const Request&) { return response(400); });
  auto rc = TypeParam::template build<MisconfiguredPolicies>(
      setup.transport, Credential::oauth(setup.access, setup.refresh_token, std::nullopt),
      {.profile = "anthropic-main"},
      {.refresh = setup.strategy(), .clock = setup.clock, .sleeper = setup.sleeper});

  auto result = TypeParam::send(*rc, api_request());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, TypeParam::out(Errc::needs_reauth));
  EXPECT_NE(result.error().message.find("Refreshing cannot help"), std::string::npos);
  // The classifier saw the credential's kind and its fix reached the person.
  EXPECT_NE(result.error().message.find("Fix: send OAuth tokens with the anthropic-beta header"),
            std::string::npos)
      << result.error().message;
  EXPECT_EQ(setup.server.token_calls(), 0U);
  EXPECT_FALSE(TypeParam::status(*rc).until);  // no probe: only a person can fix the configuration
  setup.clock.advance(24h);
  EXPECT_FALSE(TypeParam::send(*rc, api_request()));
  EXPECT_EQ(setup.transport.count(kApi), 1U);
}

TYPED_TEST(DriverFacesTest, RejectedStaticCredentialIsProbedAfterTenMinutes) {
  std::atomic<int> status{401};
  this->transport.on(kApi, [&](const Request&) { return response(status.load()); });
  auto rc = make_static<TypeParam>(this->transport, this->clock);

  ASSERT_FALSE(TypeParam::send(*rc, api_request()));
  EXPECT_EQ(TypeParam::status(*rc).until, this->clock.now() + 10min);
  this->clock.advance(10min);
  ASSERT_FALSE(
      TypeParam::send(*rc, api_request()));  // the probe: still rejected, next one in 20 min
  EXPECT_EQ(TypeParam::status(*rc).until, this->clock.now() + 20min);
  EXPECT_EQ(TypeParam::status(*rc).state, CredentialState::needs_reauth);
  this->clock.advance(20min);
  status = 200;  // the provider's 401s were transient after all
  ASSERT_TRUE(TypeParam::send(*rc, api_request()));
  EXPECT_EQ(TypeParam::status(*rc).state, CredentialState::ready);
}

// A late 429 for a credential that was replaced meanwhile says nothing about the replacement:
// it stays ready, and the next request carries it (docs/pool.md, failures count against the
// generation they were sent with).
TYPED_TEST(DriverFacesTest, ALateFailureForAReplacedCredentialChangesNothing) {
  const std::string replacement = "sk-face-key-REPLACED-6789abcdefWXYZ";
  std::unique_ptr<typename TestFixture::Subject> rc;
  this->transport.on(kApi, [&](const Request& r) {
    if (bearer_of(r) == "Bearer " + kFaceKey) {
      EXPECT_TRUE(TypeParam::set_credential(*rc, Credential::api_key(replacement)));
      return json_response(429, "{}", {{"retry-after", "60"}});
    }
    return json_response(200, "{}");
  });
  rc = this->make();
  static_cast<void>(TypeParam::send(*rc, this->post()));
  EXPECT_EQ(TypeParam::status(*rc).state, CredentialState::ready);
  EXPECT_EQ(TypeParam::status(*rc).generation, 2U);
  EXPECT_FALSE(TypeParam::status(*rc).until);
  ASSERT_TRUE(TypeParam::send(*rc, this->post()));
  EXPECT_EQ(bearer_of(this->transport.requests().back()), "Bearer " + replacement);
}

// A probe forced while a window runs (probe()) that fails keeps the window's end, even when its
// answer names a shorter wait: a window never shrinks.
TYPED_TEST(DriverFacesTest, AForcedProbeThatFailsNeverShortensTheRunningWindow) {
  std::atomic<int> wait{60};
  this->transport.on(kApi, [&](const Request&) {
    return json_response(429, "{}", {{"retry-after", std::to_string(wait.load())}});
  });
  auto rc = this->make();
  const TimePoint t0 = this->clock.now();
  ASSERT_FALSE(TypeParam::send(*rc, this->post()));
  wait = 5;  // the probe's answer names a shorter wait
  ASSERT_FALSE(TypeParam::probe(*rc, Request{.method = "GET", .url = kApi}));
  const Status status = TypeParam::status(*rc);
  EXPECT_EQ(status.until, t0 + 60s);
  EXPECT_EQ(status.consecutive_failures, 2U);
  EXPECT_EQ(this->transport.count(kApi), 2U);
}

// --- replacement and status ---------------------------------------------------------------

TYPED_TEST(DriverFacesTest, SetCredentialRefusesAnUnusableCredentialAndKeepsTheCurrentOne) {
  this->transport.on(kApi, [](const Request&) { return response(200); });
  auto rc = make_static<TypeParam>(this->transport, this->clock);
  auto refused =
      TypeParam::set_credential(*rc, Credential::api_key("sk-test-key-0123\n456789abcdef"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::invalid_credential);
  EXPECT_NE(refused.error().message.find("line break at character 17"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(refused.error().message.find("0123"), std::string::npos);
  EXPECT_EQ(TypeParam::status(*rc).generation, 1U);
  ASSERT_TRUE(TypeParam::send(*rc, api_request()));
  EXPECT_EQ(bearer_of(this->transport.requests().back()), "Bearer " + kApiKey);
}

TYPED_TEST(DriverFacesTest, StatusRendersAsJson) {
  this->transport.on(kApi, [](const Request&) {
    return response(429, "", {{"retry-after", "20"}});
  });
  auto rc = make_static<TypeParam>(this->transport, this->clock);
  ASSERT_FALSE(TypeParam::send(*rc, api_request()));
  const std::string json = to_json(TypeParam::status(*rc));
  EXPECT_NE(json.find(R"("state":"cooling")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("reason":"rate_limited")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("until":"2026-02-04T12:00:20Z")"), std::string::npos) << json;
  EXPECT_TRUE(detail::json::parse(json).has_value()) << json;
}

}  // namespace
}  // namespace keyward::testing
