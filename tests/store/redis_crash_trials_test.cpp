// Crash trials on a Redis login (see store/crash_trials.hpp), with a redis-server of their own.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "keyward/store/redis.hpp"
#include "store/crash_trials.hpp"

namespace keyward {
namespace {

namespace fs = std::filesystem;

TEST(RedisCrashTrials, AKillAnywhereCostsAtMostOneRefusalAndNeverASilentReuse) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.start()) << "redis-server did not start (Debian: apt-get install redis-server)";
  std::string pattern = (fs::temp_directory_path() / "keyward-crash-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const fs::path dir = pattern;
  const std::string server = (dir / "server").string();
  const auto store = [&] {
    return store::Redis{{.port = redis.port(), .profile = "anthropic:work"}};
  };
  const auto tally = testing::run_crash_trials(
      "redis://127.0.0.1:" + std::to_string(redis.port()), server,
      [&] {
        ASSERT_TRUE(redis.command("FLUSHALL"));
        fs::remove(server);
      },
      [&] { return store().load(); },
      [&](const Credential& credential) { ASSERT_TRUE(store().compare_and_swap(0, credential)); });
  EXPECT_EQ(tally.silent_reuse, 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace keyward
