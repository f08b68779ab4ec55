// The send() fast path: the credential's fields are prepared once per token and lent to each
// request (Headers::lend), the caller's request is used in place and left without the
// credential, and the clock is read only when a decision needs it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "keyward/keyward.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_transport.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeTransport;
using testing::RecordingSleeper;
using testing::response;

using Fields = std::vector<std::pair<std::string, std::string>>;

Fields sorted(const Headers& headers) {
  Fields out(headers.begin(), headers.end());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(HeadersLoanTest, LentFieldsAreSeenAfterTheOwnedOnesAndCopiesOwnThem) {
  const std::vector<Headers::Field> lent{{"authorization", "Bearer lent-token"}};
  Headers headers{{"accept", "application/json"}};
  headers.lend(lent);
  EXPECT_EQ(headers.size(), 2U);
  EXPECT_EQ(headers.get("Authorization"), "Bearer lent-token");
  EXPECT_EQ(sorted(headers),
            (Fields{{"accept", "application/json"}, {"authorization", "Bearer lent-token"}}));
  const Headers copy = headers;  // owns everything
  headers.lend({});
  EXPECT_EQ(headers.size(), 1U);
  EXPECT_FALSE(headers.contains("authorization"));
  EXPECT_EQ(copy.get("authorization"), "Bearer lent-token");
  Headers moved = std::move(headers);
  EXPECT_EQ(moved.size(), 1U);
}

struct Policies : DefaultPolicies {
  using Clock = FakeClock;
  using Sleeper = RecordingSleeper;
};

TEST(SendInPlaceTest, TheTransportSeesTheCredentialAndTheCallerGetsItsRequestBackWithout) {
  FakeTransport transport;
  transport.on("https://api.example.test/", [](const Request& r) {
    return response(r.headers.get("authorization") == "Bearer sk-test-key-0123456789abcdef" ? 200
                                                                                            : 401);
  });
  FakeClock clock;
  ResilientCredential<FakeTransport, Policies> rc{
      transport,
      Credential::api_key("sk-test-key-0123456789abcdef"),
      {},
      {.clock = clock, .sleeper = RecordingSleeper{clock}}};
  Request request{.method = "GET",
                  .url = "https://api.example.test/v1",
                  .headers = {{"authorization", "Basic old"}},
                  .body = {}};

  auto result = rc.send(request);

  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(request.headers.size(), 0U);  // its own authorization was replaced; nothing lent stays
  EXPECT_FALSE(request.headers.contains("authorization"));
  // The transport's copy owns what it saw.
  EXPECT_EQ(transport.requests().back().headers.get("authorization"),
            "Bearer sk-test-key-0123456789abcdef");
}

// Every combination of the request's own Anthropic headers gets the same fields whether the
// credential is placed by the prepared path or the one that builds strings.
struct AnthropicCase {
  const char* name;
  CredentialKind kind;
  Fields own;
};

class AnthropicPlacementTest : public ::testing::TestWithParam<AnthropicCase> {};

TEST_P(AnthropicPlacementTest, PreparedAndBuiltPlacementsAgree) {
  const AnthropicCase& c = GetParam();
  const Credential credential =
      c.kind == CredentialKind::api_key
          ? Credential::api_key("sk-ant-api03-" + std::string(40, 'k'))
          : Credential::oauth("sk-ant-oat01-" + std::string(40, 'a'), "", std::nullopt);
  const provider::AnthropicAttacher attacher;
  Request built;
  Request lent;
  for (const auto& [name, value] : c.own) {
    built.headers.add(name, value);
    lent.headers.add(name, value);
  }
  attacher.attach(built, credential);
  const auto prepared = attacher.prepare(credential);
  attacher.attach(lent, credential, prepared);
  attacher.attach(lent, credential, prepared);  // a replay places it again, once
  EXPECT_EQ(sorted(lent.headers), sorted(built.headers));
}

INSTANTIATE_TEST_SUITE_P(
    Combinations, AnthropicPlacementTest,
    ::testing::Values(
        AnthropicCase{"key_bare", CredentialKind::api_key, {}},
        AnthropicCase{"key_own_beta",
                      CredentialKind::api_key,
                      {{"anthropic-beta", "oauth-2025-04-20,tools-2024"}}},
        AnthropicCase{"oauth_bare", CredentialKind::oauth, {}},
        AnthropicCase{"oauth_own_beta", CredentialKind::oauth, {{"anthropic-beta", "tools-2024"}}},
        AnthropicCase{
            "oauth_own_version", CredentialKind::oauth, {{"anthropic-version", "2024-01-01"}}},
        AnthropicCase{"oauth_own_both",
                      CredentialKind::oauth,
                      {{"anthropic-version", "2024-01-01"}, {"anthropic-beta", "tools-2024"}}},
        AnthropicCase{"oauth_stale_key", CredentialKind::oauth, {{"x-api-key", "old"}}}),
    [](const auto& param_info) { return std::string{param_info.param.name}; });

// A clock that counts its reads.
struct CountingClock {
  FakeClock inner;
  std::shared_ptr<std::atomic<int>> reads = std::make_shared<std::atomic<int>>(0);
  [[nodiscard]] TimePoint now() const {
    ++*reads;
    return inner.now();
  }
};

struct Counting : DefaultPolicies {
  using Clock = CountingClock;
  using Sleeper = RecordingSleeper;
  using Refresh = refresh::OAuth2RefreshToken;
};

TEST(ClockReadsTest, ASuccessfulSendReadsTheClockOnlyWhenADecisionNeedsIt) {
  FakeTransport transport;
  transport.on("https://api.example.test/", [](const Request&) { return response(200); });
  CountingClock clock;
  ResilientCredential<FakeTransport, Counting> key{
      transport,
      Credential::api_key("sk-test-key-0123456789abcdef"),
      {},
      {.clock = clock, .sleeper = RecordingSleeper{clock.inner}}};
  ResilientCredential<FakeTransport, Counting> oauth{
      transport,
      Credential::oauth("sk-test-access-0123456789", "sk-test-refresh-0123456789",
                        clock.inner.now() + 1h),
      {},
      {.refresh = refresh::OAuth2RefreshToken{{.token_url = "https://auth.example.test/token",
                                               .client_id = "c"}},
       .clock = clock,
       .sleeper = RecordingSleeper{clock.inner}}};
  // An API key without expiry: no decision needs the time, before or after the 200.
  for (int i = 0; i < 3; ++i) {
    const int before = clock.reads->load();
    ASSERT_TRUE(key.send({.method = "GET", .url = "https://api.example.test/v1"}));
    EXPECT_EQ(clock.reads->load() - before, 0);
  }
  // A token with an expiry: read once to admit it, and that time serves the 200.
  for (int i = 0; i < 3; ++i) {
    const int before = clock.reads->load();
    ASSERT_TRUE(oauth.send({.method = "GET", .url = "https://api.example.test/v1"}));
    EXPECT_EQ(clock.reads->load() - before, 1);
  }
}

// A classifier that keeps the times it was given, and finds a 200 whose body says "limited" a
// rate limit with a wait given as a date.
struct DatedLimitClassifier {
  std::shared_ptr<std::vector<TimePoint>> times = std::make_shared<std::vector<TimePoint>>();
  TimePoint retry_at{};  // the date the server gives
  [[nodiscard]] Verdict classify(const Response& response, const ClassifyContext& context) const {
    times->push_back(context.now);
    Verdict verdict;
    if (response.body == "limited") {
      verdict.kind = VerdictKind::rate_limited;
      verdict.scope = Scope::credential;
      // A wait given as a date: only right with the real time.
      verdict.retry_after =
          std::chrono::duration_cast<std::chrono::milliseconds>(retry_at - context.now);
    }
    return verdict;
  }
  [[nodiscard]] Verdict classify(const TransportFailure& /*failure*/) const {
    return Verdict{.kind = VerdictKind::transient, .scope = Scope::provider};
  }
};

struct CountingDated : Counting {
  using Classifier = DatedLimitClassifier;
};

TEST(ClockReadsTest, A2xxThatIsNotOkIsClassifiedAgainWithTheTime) {
  FakeTransport transport;
  std::string body = "fine";
  transport.on("https://api.example.test/", [&](const Request&) {
    return Response{.status = 200, .headers = {}, .body = body};
  });
  CountingClock clock;
  DatedLimitClassifier classifier;
  classifier.retry_at = clock.inner.now() + 30s;
  ResilientCredential<FakeTransport, CountingDated> key{
      transport,
      Credential::api_key("sk-test-key-0123456789abcdef"),
      {},
      {.classifier = classifier, .clock = clock, .sleeper = RecordingSleeper{clock.inner}}};
  ASSERT_TRUE(key.send({.method = "GET", .url = "https://api.example.test/v1"}));
  ASSERT_EQ(classifier.times->size(), 1U);
  EXPECT_EQ(classifier.times->back(), TimePoint{});  // ok without the time

  body = "limited";
  const auto limited = key.send({.method = "GET", .url = "https://api.example.test/v1"});
  ASSERT_FALSE(limited);
  ASSERT_EQ(classifier.times->size(), 3U);
  EXPECT_EQ((*classifier.times)[1], TimePoint{});
  EXPECT_EQ((*classifier.times)[2], clock.inner.now());  // again, with the time
  // The window is the server's 30 s from now, not decades.
  ASSERT_TRUE(key.status().until);
  EXPECT_EQ(*key.status().until, clock.inner.now() + 30s);
}

}  // namespace
}  // namespace keyward
