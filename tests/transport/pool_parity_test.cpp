// A pool streams and follows redirects under the single credential's rules (one driver:
// detail/driver.hpp), over real sockets with both transports: a failover, a retry or a refusal
// happens before the caller's sink sees a byte, and a redirect carries the credential on its
// origin only.

#ifdef KEYWARD_TEST_HTTPLIB

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "keyward/pool.hpp"
#include "keyward/provider/anthropic.hpp"
#include "support/fake_clock.hpp"
#include "support/http_servers.hpp"
#include "support/transports.hpp"

namespace keyward::testing {
namespace {

struct ParityPolicies : provider::Anthropic {
  using Clock = FakeClock;
  using Sleeper = RecordingSleeper;
};

template <class T>
class PoolParityTest : public ::testing::Test {
 protected:
  using Pool = CredentialPool<T, ParityPolicies>;

  ProviderServer home;
  ProviderServer elsewhere;
  FakeClock clock;
  RecordingSleeper sleeper{clock};
  std::string streamed;

  // Profile "bad" (a key the server refuses) first, then "good", in priority order.
  Pool pool() {
    std::vector<typename Pool::Profile> profiles;
    profiles.push_back({"bad", Credential::api_key("sk-ant-api03-refused-key-0009"), 1, {}});
    profiles.push_back({"good", Credential::api_key(home.api_key()), 1, {}});
    PoolOptions options;
    options.provider = "anthropic";
    return Pool{
        make_transport<T>(), std::move(profiles), options, {.clock = clock, .sleeper = sleeper}};
  }

  Result<Response> stream(Pool& pool) {
    Request request{.method = "POST", .url = home.api_url()};
    request.headers.set("content-type", "application/json");
    request.body = R"({"model":"claude-test","stream":true})";
    return pool.send_stream(request, [this](std::string_view bytes) {
      streamed.append(bytes);
      return true;
    });
  }

  int api_requests(const ProviderServer& server) const {
    int n = 0;
    for (const auto& r : server.received()) n += r.route == Route::api ? 1 : 0;
    return n;
  }
};

TYPED_TEST_SUITE(PoolParityTest, TransportTypes, TransportNames);

TYPED_TEST(PoolParityTest, AStreamFailsOverBeforeTheFirstByteAndFlowsToTheSink) {
  auto pool = this->pool();
  auto response = this->stream(pool);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->body.empty());
  EXPECT_EQ(this->streamed.find("authentication_error"), std::string::npos);
  EXPECT_EQ(this->streamed.find("event: message_start"), 0U);
  EXPECT_NE(this->streamed.find("event: message_stop"), std::string::npos);
  EXPECT_EQ(this->api_requests(this->home), 2);  // "bad" refused, then "good"
  const PoolStatus status = pool.status();
  EXPECT_EQ(status.profiles[0].credential.state, CredentialState::needs_reauth);
  EXPECT_EQ(status.profiles[1].credential.state, CredentialState::ready);
}

TYPED_TEST(PoolParityTest, AMidStreamErrorIsRecordedAndNothingIsSentAgain) {
  auto pool = this->pool();
  static_cast<void>(pool.set_credential("bad", Credential::api_key(this->home.api_key())));
  this->home.fault(Route::api, {.kind = Fault::Kind::stream_error, .body = "rate_limit_error"});
  auto response = this->stream(pool);
  ASSERT_TRUE(response) << response.error().message;  // the caller has bytes: no failover
  EXPECT_NE(this->streamed.find("rate_limit_error"), std::string::npos);
  EXPECT_EQ(this->api_requests(this->home), 1);
  EXPECT_EQ(pool.status().profiles[0].credential.state, CredentialState::cooling);
}

TYPED_TEST(PoolParityTest, ARedirectOnTheOriginKeepsTheCredentialAndAnotherOriginGetsNone) {
  auto pool = this->pool();
  static_cast<void>(pool.set_credential("bad", Credential::api_key(this->home.api_key())));
  const std::string models = "/v1/models";
  this->home.fault(Route::api, {.kind = Fault::Kind::redirect,
                                .status = 307,
                                .location = this->home.origin() + models + "?moved=1"});
  auto same = pool.send(Request{.method = "GET", .url = this->home.origin() + models});
  ASSERT_TRUE(same) << same.error().message;
  EXPECT_EQ(same->status, 200);
  const auto at_home = this->home.received();
  ASSERT_EQ(at_home.size(), 2U);
  EXPECT_EQ(at_home.back().headers.count("x-api-key"), 1U);

  this->elsewhere.fault(Route::api, {.status = 200, .body = R"({"from":"elsewhere"})"});
  this->home.fault(Route::api, {.kind = Fault::Kind::redirect,
                                .status = 302,
                                .location = this->elsewhere.origin() + models});
  auto away = pool.send(Request{.method = "GET", .url = this->home.origin() + models});
  ASSERT_TRUE(away) << away.error().message;
  EXPECT_EQ(away->body, R"({"from":"elsewhere"})");
  const auto there = this->elsewhere.received();
  ASSERT_EQ(there.size(), 1U);
  EXPECT_EQ(there[0].headers.count("x-api-key"), 0U);
  EXPECT_EQ(there[0].headers.count("authorization"), 0U);
}

}  // namespace
}  // namespace keyward::testing

#endif  // KEYWARD_TEST_HTTPLIB
