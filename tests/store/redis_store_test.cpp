// store::Redis against a real redis-server on 127.0.0.1, started by the tests: the credential and
// its generation, compare-and-swap, the lease (exclusive, renewed, expiring when its holder
// dies, woken by a new generation), the refresh marker, a fleet of processes on one login, and
// fencing: a lease Redis forgot (a restart mid-refresh) neither redeems nor writes.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/store/redis.hpp"
#ifdef KEYWARD_TEST_HTTPLIB
#include <httplib.h>

#include "keyward/transport/httplib.hpp"
#endif
#include "store/fleet_server.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_transport.hpp"
#include "support/processes.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

using testing::free_port;
using testing::spawn;
using testing::wait_exit;

// A redis-server on 127.0.0.1:`port` without persistence (a restart comes back empty), once it
// listens; -1 when it did not start within 3 s.
pid_t start_redis(int port) {
  const pid_t pid = spawn({"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1",
                           "--save", "", "--appendonly", "no", "--loglevel", "warning"});
  if (pid <= 0) return -1;
  for (int i = 0; i < 300; ++i) {
    redisContext* c = redisConnect("127.0.0.1", port);
    const bool up = c != nullptr && c->err == 0;
    if (c != nullptr) redisFree(c);
    if (up) return pid;
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid, SIGKILL);
  wait_exit(pid);
  return -1;
}

// Runs one command on 127.0.0.1:`port` as another client would (a flush, a DEL).
void redis_command(int port, const std::vector<std::string>& args) {
  redisContext* c = redisConnect("127.0.0.1", port);
  ASSERT_TRUE(c != nullptr && c->err == 0);
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& arg : args) {
    argv.push_back(arg.c_str());
    lengths.push_back(arg.size());
  }
  freeReplyObject(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  redisFree(c);
}

// One redis-server for the suite, emptied before each test.
class RedisStore : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    port_ = free_port();
    server_ = start_redis(port_);
    ASSERT_GT(server_, 0) << "redis-server did not start on port " << port_
                          << " (Debian: apt-get install redis-server)";
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
  // A holder that dies without releasing: the lease expires after its ttl. The holder is another
  // program (tests/store/store_child.cpp), not a fork of this process: ThreadSanitizer cannot
  // start the lease's renewal thread in the child of a multi-threaded fork, and asio's
  // system_context threads (started by any asio::use_future completion) live until exit.
  const pid_t child = spawn({KEYWARD_STORE_CHILD, "redis://127.0.0.1:" + std::to_string(port_),
                             "anthropic:work", "--take-lease", "300"});
  ASSERT_GT(child, 0);
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

// Fencing (docs/redis-store.md, "Fencing"). A lease Redis forgot (here its key is deleted, as a
// restart or a flush does) and another holder took: the first holder's compare-and-swap and
// refresh marker are refused by the scripts, and the credential is left as it was.
TEST_F(RedisStore, AWriteUnderALeaseNoLongerCurrentIsFenced) {
  auto a = make();
  auto b = make();
  ASSERT_TRUE(a.compare_and_swap(0, oauth(1)));
  auto first = a.lease(0ms);
  ASSERT_TRUE(first && first->held());
  redis_command(port_, {"DEL", "keyward:{anthropic:work}:lease"});
  auto second = b.lease(0ms);
  ASSERT_TRUE(second && second->held());
  EXPECT_GT(second->fence(), first->fence());

  auto written = a.compare_and_swap(1, oauth(2));
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, Errc::store_unavailable) << written.error().message;
  EXPECT_NE(written.error().message.find("was lost"), std::string::npos);
  EXPECT_EQ(written.error().message.find("REFRESH"), std::string::npos);
  auto marked = a.mark_refreshing(1, SystemClock{}.now());
  ASSERT_FALSE(marked);
  EXPECT_EQ(marked.error().code, Errc::store_unavailable);
  EXPECT_NE(marked.error().message.find("lease of profile anthropic:work in Redis was lost"),
            std::string::npos)
      << marked.error().message;
  auto stored = a.load();
  EXPECT_EQ(stored->credential.refresh_token, oauth(1).refresh_token);
  EXPECT_EQ(stored->generation, 1U);
  EXPECT_FALSE(stored->refresh_pending);

  auto current = b.compare_and_swap(1, oauth(3));  // the current lease writes
  ASSERT_TRUE(current) << current.error().message;
  EXPECT_EQ(*current, 2U);
  // A lease value that was never the current one is refused by the script itself.
  *second = store::Redis::Lease{};
  *first = store::Redis::Lease{};
  redis_command(port_, {"SET", "keyward:{anthropic:work}:lease", "9 current"});
  redisContext* c = redisConnect("127.0.0.1", port_);
  ASSERT_TRUE(c != nullptr && c->err == 0);
  const std::string script{store::redis_internal::kCompareAndSwap};
  auto* reply = static_cast<redisReply*>(redisCommand(
      c,
      "EVAL %s 2 keyward:{anthropic:work}:credential keyward:{anthropic:work}:lease 2 oauth "
      "t r 1 ch %s",
      script.c_str(), "8 stale"));
  ASSERT_TRUE(reply != nullptr && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2);
  EXPECT_EQ(reply->element[0]->integer, -1);
  freeReplyObject(reply);
  redisFree(c);
  EXPECT_EQ(b.load()->credential.refresh_token, oauth(3).refresh_token);
}

// Two threads sharing one store handle: a lease fences the writes of the thread that took it,
// so a thread whose lease was lost is refused even while another thread holds the current one.
TEST_F(RedisStore, ALeaseFencesTheWritesOfTheThreadThatTookIt) {
  auto store = make();
  ASSERT_TRUE(store.compare_and_swap(0, oauth(1)));
  std::promise<void> taken;
  std::promise<void> replaced;
  auto lost = std::async(std::launch::async, [&] {
    auto lease = store.lease(0ms);
    taken.set_value();
    replaced.get_future().wait();
    auto written = store.compare_and_swap(1, oauth(2));
    return lease && lease->held() && !written &&
           written.error().message.find("was lost") != std::string::npos;
  });
  taken.get_future().wait();
  redis_command(port_, {"DEL", "keyward:{anthropic:work}:lease"});
  auto current = store.lease(0ms);
  ASSERT_TRUE(current && current->held());
  replaced.set_value();
  EXPECT_TRUE(lost.get());
  EXPECT_EQ(store.load()->credential.refresh_token, oauth(1).refresh_token);
  ASSERT_TRUE(store.compare_and_swap(1, oauth(3)));  // this thread's lease is current
}

// The fencing token grows with every lease, and stays above the fence of the lease that wrote
// the stored credential when the counter itself is lost.
TEST_F(RedisStore, TheFencingTokenOnlyGrowsEvenWhenItsCounterIsLost) {
  auto store = make();
  ASSERT_TRUE(store.compare_and_swap(0, oauth(1)));
  std::uint64_t last = 0;
  for (int i = 0; i < 3; ++i) {
    auto lease = store.lease(0ms);
    ASSERT_TRUE(lease && lease->held());
    EXPECT_GT(lease->fence(), last);
    last = lease->fence();
    ASSERT_TRUE(store.compare_and_swap(static_cast<std::uint64_t>(i) + 1, oauth(i + 2)));
  }
  redis_command(port_, {"DEL", "keyward:{anthropic:work}:fence"});
  auto lease = store.lease(0ms);
  ASSERT_TRUE(lease && lease->held());
  EXPECT_GT(lease->fence(), last);
}

// A lease whose renewal fails (its key is gone) is lost: valid() turns false, held() stays.
TEST_F(RedisStore, ALeaseWhoseRenewalFailsIsNoLongerValid) {
  auto store = make("anthropic:work", 300ms);
  auto lease = store.lease(0ms);
  ASSERT_TRUE(lease && lease->held());
  EXPECT_TRUE(lease->valid());
  std::this_thread::sleep_for(250ms);  // renewed twice
  EXPECT_TRUE(lease->valid());
  redis_command(port_, {"DEL", "keyward:{anthropic:work}:lease"});
  std::this_thread::sleep_for(250ms);  // the next renewal finds it gone
  EXPECT_TRUE(lease->held());
  EXPECT_FALSE(lease->valid());
}

#ifdef KEYWARD_TEST_HTTPLIB
// A token endpoint and API on 127.0.0.1: the token endpoint rotates refresh tokens, answers
// after `delay`, and records every refresh token presented; a spent one presented again is a
// reuse (invalid_grant). The API accepts the newest access token.
class SlowTokenServer {
 public:
  explicit SlowTokenServer(std::chrono::milliseconds delay) : delay_(delay) {
    server_.Post("/token", [this](const httplib::Request& request, httplib::Response& response) {
      const std::string refresh = request.get_param_value("refresh_token");
      bool reused = false;
      std::string body;
      {
        const std::scoped_lock lock(mutex_);
        presented_.push_back(refresh);
        reused = !spent_.insert(refresh).second || refresh != refresh_;
        if (reused) {
          ++reuses_;
        } else {
          ++issued_;
          access_ = "sk-ant-oat01-FENCE-" + std::to_string(issued_) + "-aaaaaaaaaaaaaaaa";
          refresh_ = "sk-ant-ort01-FENCE-" + std::to_string(issued_) + "-rrrrrrrrrrrrrrrr";
          body = R"({"access_token":")" + access_ + R"(","refresh_token":")" + refresh_ +
                 R"(","expires_in":3600,"token_type":"Bearer"})";
        }
      }
      std::this_thread::sleep_for(delay_);
      if (reused) {
        response.status = 400;
        response.set_content(R"({"error":"invalid_grant"})", "application/json");
      } else {
        response.set_content(body, "application/json");
      }
    });
    server_.Get("/v1", [this](const httplib::Request& request, httplib::Response& response) {
      const std::scoped_lock lock(mutex_);
      response.status =
          request.get_header_value("Authorization") == "Bearer " + access_ ? 200 : 401;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  SlowTokenServer(const SlowTokenServer&) = delete;
  SlowTokenServer& operator=(const SlowTokenServer&) = delete;
  ~SlowTokenServer() {
    server_.stop();
    thread_.join();
  }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The first grant's tokens, as a login gives them.
  std::pair<std::string, std::string> login() {
    const std::scoped_lock lock(mutex_);
    access_ = "sk-ant-oat01-FENCE-0-aaaaaaaaaaaaaaaa";
    refresh_ = "sk-ant-ort01-FENCE-0-rrrrrrrrrrrrrrrr";
    return {access_, refresh_};
  }
  std::vector<std::string> presented() const {
    const std::scoped_lock lock(mutex_);
    return presented_;
  }
  int reuses() const {
    const std::scoped_lock lock(mutex_);
    return reuses_;
  }
  std::string refresh() const {
    const std::scoped_lock lock(mutex_);
    return refresh_;
  }

 private:
  std::chrono::milliseconds delay_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::vector<std::string> presented_;
  std::set<std::string> spent_;
  std::string access_, refresh_;
  int issued_ = 0;
  int reuses_ = 0;
};

// Redis restarts empty while one instance's token call runs (600 ms); a second instance of the
// login then finds the lease free. It makes no token call (the store lost the credential it
// knows, less than a lease ttl ago); the first instance's write under its forgotten lease is
// fenced, its redeemed credential kept, and written under its next lease; the second adopts it.
// One token call, no refresh token presented twice, and both instances get through.
TEST(RedisFencing, ARestartDuringASlowTokenCallMakesOneTokenCallForTwoInstances) {
  struct Policies : DefaultPolicies {
    using Refresh = refresh::OAuth2RefreshToken;
    using Store = store::Redis;
  };
  using Api = ResilientCredential<transport::Httplib, Policies>;
  SlowTokenServer server{600ms};
  const int port = free_port();
  pid_t redis = start_redis(port);
  ASSERT_GT(redis, 0);
  const auto make_store = [port] {
    return store::Redis{{.port = port, .profile = "anthropic:work", .lease_ttl = 3s, .poll = 50ms}};
  };
  const auto [access, refresh_token] = server.login();
  ASSERT_TRUE(make_store().compare_and_swap(
      0, Credential::oauth(access, refresh_token, SystemClock{}.now() - 1h)));
  const auto loaded = *make_store().load();
  const CredentialOptions options{
      .profile = "anthropic:work",
      .refresh = {.failure_backoff_first = 50ms, .failure_backoff_max = 100ms}};
  const auto components = [&] {
    return Components<Policies>{
        .refresh = refresh::OAuth2RefreshToken{{.token_url = server.origin() + "/token",
                                                .client_id = "c"}},
        .store = make_store()};
  };
  Api a{transport::Httplib{}, loaded, options, components()};
  Api b{transport::Httplib{}, loaded, options, components()};
  const Request request{.method = "GET", .url = server.origin() + "/v1"};

  auto first = std::async(std::launch::async, [&] { return a.send(request); });
  for (int i = 0; i < 200 && server.presented().empty(); ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(server.presented().size(), 1U);  // a's token call is running
  ::kill(redis, SIGKILL);                    // Redis restarts without its data
  wait_exit(redis);
  redis = start_redis(port);
  ASSERT_GT(redis, 0);

  auto during = b.send(request);  // the lease is free on the restarted server
  ASSERT_FALSE(during);
  EXPECT_NE(during.error().message.find("lost its data"), std::string::npos)
      << during.error().message;
  EXPECT_EQ(server.presented().size(), 1U);  // and b made no token call
  auto a_first = first.get();                // a's write under the forgotten lease was fenced
  if (!a_first) {
    EXPECT_EQ(a_first.error().code, Errc::persist_failed) << a_first.error().message;
  }

  bool a_ok = a_first.has_value();
  bool b_ok = false;
  for (int i = 0; i < 100 && !(a_ok && b_ok); ++i) {
    std::this_thread::sleep_for(60ms);  // past the backoff
    if (!a_ok) a_ok = a.send(request).has_value();
    if (a_ok && !b_ok) b_ok = b.send(request).has_value();
  }
  EXPECT_TRUE(a_ok);
  EXPECT_TRUE(b_ok);
  EXPECT_EQ(server.presented().size(), 1U);
  EXPECT_EQ(server.reuses(), 0);
  auto stored = make_store().load();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->credential.refresh_token.reveal(), server.refresh());
  EXPECT_EQ(stored->generation, 2U);  // continued from the generation the holders knew
  ::kill(redis, SIGTERM);
  wait_exit(redis);
}
#endif  // KEYWARD_TEST_HTTPLIB

}  // namespace
}  // namespace keyward
