// store::Redis against a real redis-server on 127.0.0.1, started by the tests: the credential and
// its generation, compare-and-swap, the lease (exclusive, renewed, expiring when its holder
// dies, woken by a new generation), the refresh marker, and a fleet of processes on one login.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "keyward/resilient_credential.hpp"
#include "keyward/store/redis.hpp"
#include "store/fleet_server.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_transport.hpp"

extern char** environ;  // NOLINT: posix_spawn's environment

namespace keyward {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A port nothing listens on now (bound to port 0, then closed).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 ||          // NOLINT: POSIX API
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {  // NOLINT
    std::abort();
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

pid_t spawn(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// One redis-server for the suite, emptied before each test.
class RedisStore : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    port_ = free_port();
    server_ = spawn({"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--loglevel", "warning"});
    ASSERT_GT(server_, 0) << "redis-server not found (Debian: apt-get install redis-server)";
    for (int i = 0; i < 300; ++i) {  // up to 3 s for it to listen
      redisContext* c = redisConnect("127.0.0.1", port_);
      const bool up = c != nullptr && c->err == 0;
      if (c != nullptr) redisFree(c);
      if (up) return;
      std::this_thread::sleep_for(10ms);
    }
    FAIL() << "redis-server did not start on port " << port_;
  }
  static void TearDownTestSuite() {
    if (server_ > 0) {
      ::kill(server_, SIGTERM);
      wait_exit(server_);
    }
  }
  void SetUp() override {
    redisContext* c = redisConnect("127.0.0.1", port_);
    ASSERT_TRUE(c != nullptr && c->err == 0);
    freeReplyObject(redisCommand(c, "FLUSHALL"));
    redisFree(c);
  }

  static store::Redis make(std::string profile = "anthropic:work",
                           std::chrono::milliseconds ttl = 15s) {
    return store::Redis{
        {.port = port_, .profile = std::move(profile), .lease_ttl = ttl, .poll = 50ms}};
  }
  static Credential oauth(int n) {
    return Credential::oauth("sk-ant-oat01-ACCESS-" + std::to_string(n) + "-aaaaaaaaaaaaaaaaaaaa",
                             "sk-ant-ort01-REFRESH-" + std::to_string(n) + "-rrrrrrrrrrrrrrrrrrr",
                             TimePoint{std::chrono::milliseconds{1767225600000}});
  }

  static inline int port_ = 0;
  static inline pid_t server_ = -1;
};

TEST_F(RedisStore, StoresTheCredentialWithItsGeneration) {
  auto store = make();
  auto empty = store.load();
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_EQ(empty->generation, 0U);
  auto written = store.compare_and_swap(0, oauth(1));
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*written, 1U);
  auto stored = make().load();  // another handle, another connection
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->generation, 1U);
  EXPECT_EQ(stored->credential.kind, CredentialKind::oauth);
  EXPECT_EQ(stored->credential.refresh_token, oauth(1).refresh_token);
  EXPECT_EQ(stored->credential.expires_at, oauth(1).expires_at);
  ASSERT_TRUE(store.compare_and_swap(1, Credential::api_key("sk-ant-api03-KEYkkkkkkkkkkkkkkkkk")));
  stored = store.load();
  EXPECT_EQ(stored->credential.kind, CredentialKind::api_key);
  EXPECT_TRUE(stored->credential.refresh_token.empty());  // nothing left of the oauth record
  EXPECT_FALSE(stored->credential.expires_at);
  EXPECT_EQ(store.key(), "keyward:{anthropic:work}:credential");  // a Cluster hash tag
}

TEST_F(RedisStore, ACompareAndSwapFromAnOldGenerationWritesNothing) {
  auto store = make();
  ASSERT_TRUE(store.compare_and_swap(0, oauth(1)));
  auto written = store.compare_and_swap(0, oauth(2));
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, Errc::store_conflict);
  EXPECT_EQ(written.error().message.find("REFRESH"), std::string::npos);
  EXPECT_EQ(store.load()->credential.refresh_token, oauth(1).refresh_token);
}

TEST_F(RedisStore, AServerThatIsNotThereIsAClearError) {
  store::Redis store{{.port = free_port(), .profile = "p", .connect_timeout = 200ms}};
  auto stored = store.load();
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code, Errc::store_unavailable);
  EXPECT_NE(stored.error().message.find("Redis at 127.0.0.1:"), std::string::npos)
      << stored.error().message;
}

TEST_F(RedisStore, TheLeaseIsExclusiveAndReleasedWhenDestroyed) {
  auto a = make();
  auto b = make();
  ASSERT_TRUE(a.compare_and_swap(0, oauth(1)));
  auto first = a.lease(0ms);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(first->held());
  auto second = b.lease(120ms);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->held());
  auto other = make("openai:ci").lease(0ms);  // another profile, another lease
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->held());
  *first = store::Redis::Lease{};
  auto third = b.lease(0ms);
  ASSERT_TRUE(third);
  EXPECT_TRUE(third->held());
}

TEST_F(RedisStore, AWaiterWakesWhenTheHolderStoresANewGeneration) {
  auto holder = make();
  ASSERT_TRUE(holder.compare_and_swap(0, oauth(1)));
  auto lease = holder.lease(0ms);
  ASSERT_TRUE(lease && lease->held());
  auto waiter = std::async(std::launch::async, [] {
    const auto start = std::chrono::steady_clock::now();
    auto got = make().lease(5s);
    return std::make_pair(got && !got->held(), std::chrono::steady_clock::now() - start);
  });
  std::this_thread::sleep_for(100ms);  // the waiter is subscribed by now
  ASSERT_TRUE(holder.compare_and_swap(1, oauth(2)));
  const auto [adopts, waited] = waiter.get();
  EXPECT_TRUE(adopts);  // returns without the lease: the caller adopts generation 2
  EXPECT_LT(waited, 2s);
}

TEST_F(RedisStore, TheLeaseIsRenewedWhileHeldAndExpiresWhenItsHolderDies) {
  auto store = make("anthropic:work", 300ms);
  ASSERT_TRUE(store.compare_and_swap(0, oauth(1)));
  {
    auto lease = store.lease(0ms);
    ASSERT_TRUE(lease && lease->held());
    std::this_thread::sleep_for(700ms);  // over two lease lifetimes: the renewal keeps it
    auto other = make("anthropic:work", 300ms).lease(0ms);
    ASSERT_TRUE(other);
    EXPECT_FALSE(other->held());
  }
  // A holder that dies without releasing: the lease expires after its ttl.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lease = make("anthropic:work", 300ms).lease(0ms);
    ::_exit(lease && lease->held() ? 0 : 1);  // no destructor runs: nothing is released
  }
  ASSERT_EQ(wait_exit(child), 0);
  auto blocked = store.lease(0ms);
  ASSERT_TRUE(blocked);
  EXPECT_FALSE(blocked->held());
  auto later = store.lease(1s);
  ASSERT_TRUE(later);
  EXPECT_TRUE(later->held());
}

TEST_F(RedisStore, TheRefreshMarkerIsWrittenAndTheNextWriteRemovesIt) {
  auto store = make();
  ASSERT_TRUE(store.compare_and_swap(0, oauth(1)));
  const TimePoint at{std::chrono::milliseconds{1767225000123}};
  ASSERT_TRUE(store.mark_refreshing(1, at));
  auto stored = store.load();
  ASSERT_TRUE(stored);
  ASSERT_TRUE(stored->refresh_pending);
  EXPECT_EQ(*stored->refresh_pending, at);
  EXPECT_EQ(stored->generation, 1U);
  ASSERT_TRUE(store.compare_and_swap(1, oauth(2)));
  EXPECT_FALSE(store.load()->refresh_pending);
}

TEST_F(RedisStore, ASharedCooldownNeverShrinks) {
  auto store = make();
  ASSERT_TRUE(store.compare_and_swap(0, Credential::api_key("sk-ant-api03-KEYkkkkkkkkkkkkkkkkk")));
  const TimePoint later = SystemClock{}.now() + 60s;
  ASSERT_TRUE(store.share_cooldown({1, VerdictKind::quota_exhausted, later}));
  ASSERT_TRUE(store.share_cooldown({1, VerdictKind::rate_limited, later - 30s}));  // shorter
  auto window = make().shared_cooldown();
  ASSERT_TRUE(window && *window);
  EXPECT_EQ((*window)->generation, 1U);
  EXPECT_EQ((*window)->reason, VerdictKind::quota_exhausted);
  EXPECT_EQ(
      (*window)->until,
      TimePoint{std::chrono::duration_cast<std::chrono::milliseconds>(later.time_since_epoch())});
}

// Two instances of one login: the one told to wait shares the window, and the other waits it
// out without sending, until it ends.
TEST_F(RedisStore, AnotherInstanceWaitsOutASharedRateLimitWithoutSending) {
  struct Policies : DefaultPolicies {
    using Store = store::Redis;
    using Clock = testing::FakeClock;
    using Sleeper = testing::RecordingSleeper;
  };
  using Api = ResilientCredential<testing::FakeTransport, Policies>;
  const testing::FakeClock clock;
  clock.advance(SystemClock{}.now() - clock.now());  // Redis expires the window on its own clock
  auto store = make();
  ASSERT_TRUE(store.compare_and_swap(0, Credential::api_key("sk-ant-api03-KEYkkkkkkkkkkkkkkkkk")));
  const auto loaded = *store.load();
  testing::FakeTransport limited;
  Headers wait;
  wait.set("retry-after", "30");
  limited.on("https://api.example.test/",
             [&](const Request&) { return testing::response(429, "{}", wait); });
  testing::FakeTransport fine;
  fine.on("https://api.example.test/", [](const Request&) { return testing::response(200); });
  Api a{limited, loaded, {.profile = "a"}, {.store = make(), .clock = clock}};
  Api b{fine, loaded, {.profile = "b"}, {.store = make(), .clock = clock}};
  const Request request{.method = "GET", .url = "https://api.example.test/v1"};

  auto told = a.send(request);
  ASSERT_FALSE(told);
  EXPECT_EQ(told.error().code, Errc::cooling_down);
  clock.advance(2s);
  auto refused = b.send(request);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::cooling_down);
  EXPECT_NE(refused.error().message.find("another holder of this login"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(fine.count("https://api.example.test/"), 0U);  // never sent
  EXPECT_EQ(b.status().state, CredentialState::cooling);

  clock.advance(29s);
  auto after = b.send(request);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  EXPECT_EQ(b.status().state, CredentialState::ready);
}

TEST_F(RedisStore, EightProcessesOnAnExpiredTokenRefreshOnceAndAllGetThrough) {
  std::string dir = (fs::temp_directory_path() / "keyward-redis-fleet-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string server_file = dir + "/server";
  const auto tokens = testing::FleetServer{server_file}.login();
  ASSERT_TRUE(make().compare_and_swap(
      0, Credential::oauth(tokens.access, tokens.refresh,
                           std::chrono::system_clock::now() - std::chrono::hours{1})));
  std::vector<pid_t> children;
  for (int i = 0; i < 8; ++i) {
    children.push_back(spawn({KEYWARD_STORE_CHILD, "redis://127.0.0.1:" + std::to_string(port_),
                              "anthropic:work", server_file}));
  }
  std::vector<int> codes;
  for (const pid_t pid : children) codes.push_back(wait_exit(pid));
  EXPECT_EQ(codes, std::vector<int>(8, 0));
  const auto server = testing::FleetServer{server_file}.state();
  EXPECT_EQ(server.refresh_calls, 1);
  EXPECT_FALSE(server.revoked);
  EXPECT_EQ(make().load()->credential.refresh_token.reveal(), server.refresh);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace keyward
