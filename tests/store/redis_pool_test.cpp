// Pools whose profiles are kept in Redis (store::Redis, which SharesCooldowns) share their
// cooldown windows as single credentials do (detail/driver.hpp): the pool told to wait shares
// the window, and another pool of the same logins waits it out without sending. A real
// redis-server on 127.0.0.1; the provider is an in-process fake on the fake clock.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "keyward/pool.hpp"
#include "keyward/store/redis.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_transport.hpp"
#include "support/processes.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;

struct RedisPoolPolicies : DefaultPolicies {
  using Store = store::Redis;
  using Clock = testing::FakeClock;
  using Sleeper = testing::RecordingSleeper;
};
using Pool = CredentialPool<testing::FakeTransport, RedisPoolPolicies>;

const std::string kUrl = "https://api.example.test/v1";
const std::string kKeyA = "sk-ant-api03-POOL-A-kkkkkkkkkkkkkkkk";
const std::string kKeyB = "sk-ant-api03-POOL-B-kkkkkkkkkkkkkkkk";

TEST(RedisPool, AnotherPoolWaitsOutAProfilesSharedRateLimitWithoutSendingWithIt) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.start()) << "redis-server did not start (Debian: apt-get install redis-server)";
  const auto store = [&](const std::string& profile) {
    return store::Redis{
        {.port = redis.port(), .profile = "anthropic:" + profile, .lease_ttl = 15s, .poll = 50ms}};
  };
  const testing::FakeClock clock;
  clock.advance(SystemClock{}.now() - clock.now());  // Redis expires the window on its own clock
  ASSERT_TRUE(store("a").compare_and_swap(0, Credential::api_key(kKeyA)));
  ASSERT_TRUE(store("b").compare_and_swap(0, Credential::api_key(kKeyB)));
  const auto pool = [&](const testing::FakeTransport& transport) {
    std::vector<Pool::StoredProfile> profiles;
    profiles.push_back({"a", *store("a").load(), 1, store("a")});
    profiles.push_back({"b", *store("b").load(), 1, store("b")});
    PoolOptions options;
    options.provider = "anthropic";
    return std::make_unique<Pool>(transport, std::move(profiles), options,
                                  Pool::Components{.store = store("unused"), .clock = clock});
  };
  // The first process's provider limits key A; the second's would serve either.
  testing::FakeTransport limited;
  limited.on(kUrl, [](const Request& r) {
    Headers wait;
    wait.set("retry-after", "30");
    const bool a = r.headers.get("authorization") == "Bearer " + kKeyA;
    return a ? testing::response(429, "{}", wait) : testing::response(200);
  });
  testing::FakeTransport fine;
  std::vector<std::string> keys;
  fine.on(kUrl, [&](const Request& r) {
    keys.emplace_back(r.headers.get("authorization").value_or(""));
    return testing::response(200);
  });
  auto first = pool(limited);
  auto second = pool(fine);
  const Request request{.method = "GET", .url = kUrl};

  auto told = first->send(Request{request});
  ASSERT_TRUE(told) << told.error().message;  // failed over to b
  EXPECT_EQ(first->status().profiles[0].credential.state, CredentialState::cooling);
  clock.advance(2s);
  for (int i = 0; i < 3; ++i) {
    auto served = second->send(Request{request});
    ASSERT_TRUE(served) << served.error().message;
  }
  EXPECT_EQ(keys, std::vector<std::string>(3, "Bearer " + kKeyB));  // a never sent
  const auto a = second->status().profiles[0];
  EXPECT_EQ(a.credential.state, CredentialState::cooling);
  ASSERT_TRUE(a.credential.until);

  clock.advance(29s);
  keys.clear();
  ASSERT_TRUE(second->send(Request{request}));
  EXPECT_EQ(keys, std::vector<std::string>{"Bearer " + kKeyA});  // the window over: a again
  EXPECT_EQ(second->status().profiles[0].credential.state, CredentialState::ready);
}

}  // namespace
}  // namespace keyward
