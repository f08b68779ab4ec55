// A pool's events through observe::JsonLines: one JSON line per event, every kind the run
// causes, and no secret of the run anywhere in the output.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "keyward/detail/json.hpp"
#include "keyward/observe/json_lines.hpp"
#include "keyward/pool.hpp"
#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_oauth_server.hpp"
#include "support/fake_transport.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeOAuthServer;
using testing::FakeTransport;
using testing::json_response;
using testing::RecordingSleeper;

struct JsonPolicies : DefaultPolicies {
  using Refresh = refresh::OAuth2RefreshToken;
  using Clock = FakeClock;
  using Sleeper = RecordingSleeper;
  using Observer = observe::JsonLines;
};
using Pool = CredentialPool<FakeTransport, JsonPolicies>;

const std::string kUrl{testing::kApiUrl};
const std::string kKey = "sk-pool-events-key-0123456789abcdefXYZ";
const std::string kKey2 = "sk-pool-events-key2-0123456789abcdefXYZ";

TEST(PoolEventsTest, EveryEventIsOneJsonLineAndNoSecretIsEverWritten) {
  FakeTransport transport;
  FakeOAuthServer server{transport};
  FakeClock clock;
  RecordingSleeper sleeper{clock};
  std::ostringstream out;
  const auto [access, refresh_token] = server.login();
  std::map<std::string, int> script;  // the API key profile's answers
  std::mutex mutex;
  transport.on(kUrl, [&](const Request& request) -> TransportResult {
    const std::string auth{request.headers.get("authorization").value_or("")};
    const std::scoped_lock lock(mutex);
    if (auth == "Bearer " + kKey || auth == "Bearer " + kKey2) {
      const int status = script[auth.substr(7)];
      // A provider that echoes the key back: the pool must scrub it.
      return json_response(status == 0 ? 200 : status,
                           R"({"error":{"message":"bad key )" + auth.substr(7) + R"("}})",
                           {{"retry-after", "30"}});
    }
    return server.handle_api(request);
  });
  std::vector<Pool::Profile> profiles;
  profiles.push_back({"oauth", Credential::oauth(access, refresh_token, clock.now() + 1h), 1, {}});
  profiles.push_back({"key", Credential::api_key(kKey), 1, {}});
  PoolOptions options;
  options.provider = "example";
  options.credential.jitter_seed = 3;
  auto pool = std::make_unique<Pool>(
      transport, std::move(profiles), options,
      Pool::Components{
          .refresh = refresh::OAuth2RefreshToken{{.token_url = std::string{testing::kTokenUrl},
                                                  .client_id = "keyward-tests"}},
          .clock = clock,
          .sleeper = sleeper,
          .observer = observe::JsonLines{out, [clock] { return clock.now(); }}});
  const auto send = [&] {
    return pool->send(Request{.method = "POST", .url = kUrl, .headers = {}, .body = "{}"});
  };

  server.expire_access_tokens();
  ASSERT_TRUE(send());  // 401, refresh, replay
  server.fail_next_api_request(529, 0);
  ASSERT_TRUE(send());  // overloaded: retried on the same profile
  server.revoke_grant();
  server.expire_access_tokens();
  ASSERT_TRUE(send());  // the OAuth profile needs a person: fails over to the key
  {
    const std::scoped_lock lock(mutex);
    script[kKey] = 429;
  }
  ASSERT_FALSE(send());  // all out
  clock.advance(31s);
  {
    const std::scoped_lock lock(mutex);
    script[kKey] = 200;
  }
  ASSERT_TRUE(send());  // the key's window is over: probed
  ASSERT_TRUE(pool->set_credential("key", Credential::api_key(kKey2)));

  std::set<std::string> kinds;
  std::istringstream lines(out.str());
  std::size_t count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    const auto parsed = detail::json::parse(line);
    ASSERT_TRUE(parsed) << line;
    const auto* object = parsed->as_object();
    ASSERT_NE(object, nullptr);
    const auto* kind = parsed->find("event");
    ASSERT_NE(kind, nullptr) << line;
    ASSERT_NE(kind->as_string(), nullptr);
    kinds.insert(*kind->as_string());
    EXPECT_NE(parsed->find("at"), nullptr);
  }
  EXPECT_GT(count, 10U);
  for (const char* expected :
       {"attempt", "verdict", "retry", "refresh_started", "refresh_succeeded", "cooldown_entered",
        "cooldown_left", "needs_reauth", "credential_replaced", "probe", "rotation_not_persisted",
        "failover", "all_out"}) {
    EXPECT_EQ(kinds.count(expected), 1U) << expected << " missing in\n" << out.str();
  }
  // Every secret of the run: the keys, and every token the server issued.
  std::vector<std::string> secrets{kKey, kKey2, access, refresh_token};
  for (int serial = 1; serial <= 4; ++serial) {
    secrets.push_back("sk-test-access-" + std::string(24, 'a') + "-" + std::to_string(serial));
    secrets.push_back("sk-test-refresh-" + std::string(24, 'r') + "-" + std::to_string(serial));
  }
  for (const auto& secret : secrets) {
    EXPECT_EQ(out.str().find(secret), std::string::npos) << "a secret was written";
  }
}

}  // namespace
}  // namespace keyward
