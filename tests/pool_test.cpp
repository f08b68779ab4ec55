// CredentialPool's rules (docs/pool.md) on the fake clock: selection, failover, cooldown scopes,
// the window rule, generations, the panic rule and the all-out error. No test sleeps or reads
// the real clock.
#include "keyward/pool.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "support/fake_clock.hpp"
#include "support/fake_transport.hpp"
#include "support/recording_observer.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeTransport;
using testing::json_response;
using testing::RecordingObserver;
using testing::RecordingSleeper;

// HttpStatus, plus 402 as quota_exhausted (a credential-scoped verdict HttpStatus does not give).
struct QuotaAwareClassifier {
  classify::HttpStatus inner;
  Verdict classify(const Response& response, const ClassifyContext& context) const {
    Verdict verdict = inner.classify(response, context);
    if (response.status == 402) {
      verdict.kind = VerdictKind::quota_exhausted;
      verdict.scope = Scope::credential;
    }
    return verdict;
  }
  Verdict classify(const TransportFailure& failure) const { return inner.classify(failure); }
};

struct PoolPolicies : DefaultPolicies {
  using Classifier = QuotaAwareClassifier;
  using Clock = FakeClock;
  using Sleeper = RecordingSleeper;
  using Observer = RecordingObserver;
};
using Pool = CredentialPool<FakeTransport, PoolPolicies>;

const std::string kUrl = "https://api.example.test/v1/messages";

std::string key_of(const std::string& name) { return "sk-pool-" + name + "-0123456789abcdefXYZ"; }

// A provider scripted per key: each key answers with the status its script says (200 when
// none), and the test can change the script between requests.
struct Provider {
  FakeTransport transport;
  struct State {
    std::mutex mutex;
    std::map<std::string, int> status;         // by key
    std::map<std::string, std::string> wait;   // retry-after, by key
    std::vector<std::string> keys;             // the key of every request, in order
    std::map<std::string, std::string> extra;  // remaining-quota header value, by key
  };
  std::shared_ptr<State> state = std::make_shared<State>();

  Provider() {
    transport.on(kUrl, [s = state](const Request& request) {
      const std::string key{request.headers.get("authorization").value_or("")};
      const std::string bare = key.starts_with("Bearer ") ? key.substr(7) : key;
      const std::scoped_lock lock(s->mutex);
      s->keys.push_back(bare);
      Headers headers;
      if (auto w = s->wait.find(bare); w != s->wait.end()) headers.set("retry-after", w->second);
      if (auto e = s->extra.find(bare); e != s->extra.end()) {
        headers.set("x-ratelimit-remaining-requests", e->second);
        headers.set("x-ratelimit-limit-requests", "1000");
      }
      const auto it = s->status.find(bare);
      return json_response(it == s->status.end() ? 200 : it->second, "{}", std::move(headers));
    });
  }
  void answer(const std::string& name, int status, const std::string& wait = {}) const {
    const std::scoped_lock lock(state->mutex);
    state->status[key_of(name)] = status;
    if (wait.empty()) {
      state->wait.erase(key_of(name));
    } else {
      state->wait[key_of(name)] = wait;
    }
  }
  std::vector<std::string> keys() const {
    const std::scoped_lock lock(state->mutex);
    return state->keys;
  }
  std::string last() const { return keys().empty() ? std::string{} : keys().back(); }
  std::size_t count() const { return keys().size(); }
};

struct PoolSetup {
  Provider provider;
  FakeClock clock;
  RecordingSleeper sleeper{clock};
  RecordingObserver observer;
  std::unique_ptr<Pool> pool;

  explicit PoolSetup(std::vector<std::string> names, PoolOptions options = {},
                     std::vector<std::uint32_t> weights = {}) {
    options.provider = "example";
    options.credential.jitter_seed = 7;
    std::vector<Pool::Profile> profiles;
    for (std::size_t i = 0; i < names.size(); ++i) {
      profiles.push_back(
          {names[i], Credential::api_key(key_of(names[i])), weights.empty() ? 1U : weights[i], {}});
    }
    pool = std::make_unique<Pool>(
        provider.transport, std::move(profiles), options,
        Pool::Components{.clock = clock, .sleeper = sleeper, .observer = observer});
  }
  Result<Response> send(RequestScope scope = {}) const {
    return pool->send(Request{.method = "POST", .url = kUrl, .headers = {}, .body = "{}"}, scope);
  }
  const ProfileStatus& profile(const PoolStatus& s, const std::string& name) {
    for (const auto& p : s.profiles) {
      if (p.credential.profile == name) return p;
    }
    throw std::runtime_error("no profile " + name);
  }
};

TEST(PoolTest, PriorityFailsOverInOrderAndReturnsToThePreferredProfile) {
  PoolSetup s({"a", "b", "c"});
  s.provider.answer("a", 429, "20");
  auto first = s.send();
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(s.provider.keys(), (std::vector<std::string>{key_of("a"), key_of("b")}));
  EXPECT_EQ(s.observer.count(EventKind::failover), 1U);

  ASSERT_TRUE(s.send());  // a cools: b serves, a is not asked
  EXPECT_EQ(s.provider.last(), key_of("b"));
  EXPECT_EQ(s.provider.count(), 3U);

  s.provider.answer("a", 200);
  s.clock.advance(20s);
  ASSERT_TRUE(s.send());  // a's window is over: the next request probes it
  EXPECT_EQ(s.provider.last(), key_of("a"));
  EXPECT_EQ(s.observer.count(EventKind::probe), 1U);
  EXPECT_EQ(s.observer.count(EventKind::cooldown_left), 1U);
  ASSERT_TRUE(s.send());
  EXPECT_EQ(s.provider.last(), key_of("a"));
}

TEST(PoolTest, EachProfileIsTriedAtMostOncePerCall) {
  PoolSetup s({"a", "b", "c"});
  for (const char* name : {"a", "b", "c"}) s.provider.answer(name, 401);
  auto result = s.send();
  ASSERT_FALSE(result);
  EXPECT_EQ(s.provider.count(), 3U);
  EXPECT_EQ(result.error().code, Errc::no_usable_credential);
}

TEST(PoolTest, ProviderScopedVerdictsNeitherRotateNorCoolACredential) {
  PoolOptions options;
  options.credential.retry.max_attempts = 3;
  PoolSetup s({"a", "b"}, options);
  s.provider.answer("a", 529);
  auto result = s.send();
  ASSERT_TRUE(result);  // the last 529 is returned once the retries are spent
  EXPECT_EQ(result->status, 529);
  EXPECT_EQ(s.provider.keys(), std::vector<std::string>(3, key_of("a")));
  const PoolStatus status = s.pool->status();
  EXPECT_EQ(s.profile(status, "a").credential.state, CredentialState::ready);
  EXPECT_EQ(s.observer.count(EventKind::failover), 0U);
  EXPECT_EQ(s.observer.count(EventKind::cooldown_entered), 0U);
}

TEST(PoolTest, ARateLimitForANamedModelCoolsOnlyThatModelOnThatProfile) {
  PoolSetup s({"a", "b"});
  s.provider.answer("a", 429, "30");
  ASSERT_TRUE(s.send({.model = "big"}));
  EXPECT_EQ(s.provider.last(), key_of("b"));
  s.provider.answer("a", 200);
  ASSERT_TRUE(s.send({.model = "small"}));  // a still serves its other models
  EXPECT_EQ(s.provider.last(), key_of("a"));
  ASSERT_TRUE(s.send({.model = "big"}));  // but not the one that is cooling
  EXPECT_EQ(s.provider.last(), key_of("b"));

  const PoolStatus status = s.pool->status();
  const ProfileStatus& a = s.profile(status, "a");
  EXPECT_EQ(a.credential.state, CredentialState::ready);
  ASSERT_EQ(a.models.size(), 1U);
  EXPECT_EQ(a.models[0].model, "big");
  EXPECT_EQ(a.models[0].until, testing::kFixtureNow + 30s);

  s.clock.advance(30s);
  ASSERT_TRUE(s.send({.model = "big"}));
  EXPECT_EQ(s.provider.last(), key_of("a"));
  EXPECT_TRUE(s.profile(s.pool->status(), "a").models.empty());
}

TEST(PoolTest, ARateLimitWithoutAModelCoolsTheProfile) {
  PoolSetup s({"a", "b"});
  s.provider.answer("a", 429, "30");
  ASSERT_TRUE(s.send());
  s.provider.answer("a", 200);
  ASSERT_TRUE(s.send({.model = "small"}));
  EXPECT_EQ(s.provider.last(), key_of("b"));
  EXPECT_EQ(s.profile(s.pool->status(), "a").credential.state, CredentialState::cooling);
}

TEST(PoolTest, QuotaAndAuthenticationCoolTheWholeProfileEvenWithAModel) {
  PoolSetup s({"a", "b", "c"});
  s.provider.answer("a", 402);
  s.provider.answer("b", 401);
  ASSERT_TRUE(s.send({.model = "big"}));
  EXPECT_EQ(s.provider.last(), key_of("c"));
  s.provider.answer("a", 200);
  s.provider.answer("b", 200);
  ASSERT_TRUE(s.send({.model = "small"}));
  EXPECT_EQ(s.provider.last(), key_of("c"));
  const PoolStatus status = s.pool->status();
  EXPECT_EQ(s.profile(status, "a").credential.state, CredentialState::cooling);
  EXPECT_EQ(s.profile(status, "a").credential.reason, VerdictKind::quota_exhausted);
  EXPECT_EQ(s.profile(status, "b").credential.state, CredentialState::needs_reauth);
}

TEST(PoolTest, ModelWindowsNeverShrinkAndOnlyALaterServerWaitExtendsThem) {
  detail::ModelWindows windows;
  const TimePoint t0 = testing::kFixtureNow;
  const auto fixed = [](std::uint32_t) { return std::chrono::milliseconds{10'000}; };
  Verdict limited{.kind = VerdictKind::rate_limited};
  ASSERT_EQ(windows.record("m", 1, limited, t0, fixed), t0 + 10s);
  // A failure during the window, without a server wait: nothing moves, nothing is counted.
  EXPECT_FALSE(windows.record("m", 1, limited, t0 + 1s, fixed));
  // A server wait that ends sooner does not shrink it.
  limited.retry_after = 2s;
  EXPECT_FALSE(windows.record("m", 1, limited, t0 + 1s, fixed));
  EXPECT_EQ(windows.out_until("m", 1, t0 + 5s), t0 + 10s);
  // One that ends later extends it to the server's time.
  limited.retry_after = 30s;
  EXPECT_EQ(windows.record("m", 1, limited, t0 + 1s, fixed), t0 + 31s);
  EXPECT_EQ(windows.out_until("m", 1, t0 + 20s), t0 + 31s);
  EXPECT_EQ(windows.running(1, t0 + 20s).at(0).failures, 1U);
  // A newer generation ignores the old one's windows.
  EXPECT_FALSE(windows.out_until("m", 2, t0 + 20s));
}

// A request in flight when its profile is taken out answers later: its failure counts nothing
// new; its server-stated wait moves the window only when it ends later.
void late_answer_during_window(const std::string& late_wait, std::chrono::seconds expected) {
  PoolSetup s({"a", "b"});
  int calls = 0;
  s.provider.transport.on(kUrl, [&](const Request& request) {
    const std::string key{request.headers.get("authorization").value_or("")};
    if (key != "Bearer " + key_of("a")) return json_response(200, "{}");
    if (++calls == 1) {
      // While this request is in flight, another one takes a out for 20 s.
      EXPECT_TRUE(s.send());
      return json_response(429, "{}", {{"retry-after", late_wait}});
    }
    return json_response(429, "{}", {{"retry-after", "20"}});
  });
  ASSERT_TRUE(s.send());
  const Status a = s.profile(s.pool->status(), "a").credential;
  EXPECT_EQ(a.until, testing::kFixtureNow + expected);
  EXPECT_EQ(a.consecutive_failures, 1U);
}

TEST(PoolTest, ALateFailureDuringAWindowNeitherShrinksNorExtendsIt) {
  late_answer_during_window("5", 20s);
}

TEST(PoolTest, ALaterServerStatedWaitExtendsTheWindowToTheServersTime) {
  late_answer_during_window("60", 60s);
}

// A late failure for a replaced credential, without a model: DriverFacesTest (tests/driver/).
TEST(PoolTest, ALateModelRateLimitForAReplacedCredentialChangesNothing) {
  PoolSetup s({"a", "b"});
  s.provider.transport.on(kUrl, [&](const Request& request) {
    const std::string key{request.headers.get("authorization").value_or("")};
    if (key == "Bearer " + key_of("a")) {
      EXPECT_TRUE(s.pool->set_credential("a", Credential::api_key(key_of("a2"))));
      return json_response(429, "{}", {{"retry-after", "60"}});
    }
    return json_response(200, "{}");
  });
  ASSERT_TRUE(s.send({.model = "big"}));
  EXPECT_TRUE(s.profile(s.pool->status(), "a").models.empty());
}

TEST(PoolTest, ReplacingACredentialClearsItsCooldownAndItsModelWindows) {
  PoolSetup s({"a", "b"});
  s.provider.answer("a", 401);
  ASSERT_TRUE(s.send());
  s.provider.answer("b", 429, "30");
  s.provider.answer("a", 200);
  ASSERT_FALSE(s.send({.model = "big"}));  // a waits for a person; b cools for "big"
  ASSERT_TRUE(s.pool->set_credential("a", Credential::api_key(key_of("a-new"))));
  ASSERT_TRUE(s.pool->set_credential("b", Credential::api_key(key_of("b-new"))));
  const PoolStatus status = s.pool->status();
  EXPECT_EQ(s.profile(status, "a").credential.state, CredentialState::ready);
  EXPECT_TRUE(s.profile(status, "b").models.empty());
  EXPECT_EQ(status.usable, 2U);
  ASSERT_TRUE(s.send());
  EXPECT_EQ(s.provider.last(), key_of("a-new"));
}

// The panic rule probes only windows keyward estimated: quota windows (5 h, no jitter) here.
TEST(PoolTest, WhenEveryProfileIsOutTheOneWhoseEstimatedWindowEndsFirstIsProbed) {
  PoolSetup s({"a", "b", "c"});
  const Request health{.method = "GET", .url = kUrl};
  s.provider.answer("b", 402);
  ASSERT_FALSE(s.pool->probe("b", health));  // b's window ends first: 5 h from now
  s.clock.advance(1min);
  s.provider.answer("a", 402);
  s.provider.answer("c", 402);
  s.provider.answer("b", 200);
  auto sent = s.send();  // a and c fail; the panic rule probes b, whose window ends first
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_EQ(s.provider.keys(),
            (std::vector<std::string>{key_of("b"), key_of("a"), key_of("c"), key_of("b")}));
  EXPECT_EQ(s.observer.count(EventKind::panic), 1U);
  EXPECT_EQ(s.profile(s.pool->status(), "b").credential.state, CredentialState::ready);
}

TEST(PoolTest, ThePanicProbeComesAtMostOncePerInterval) {
  PoolSetup s({"a", "b"});
  s.provider.answer("a", 402);
  s.provider.answer("b", 402);
  ASSERT_FALSE(s.send());
  s.clock.advance(2s);
  ASSERT_FALSE(s.send());  // the panic probe of a: another 402
  EXPECT_EQ(s.provider.count(), 3U);
  EXPECT_EQ(s.observer.count(EventKind::panic), 1U);
  auto refused = s.send();  // within the interval: refused without sending
  ASSERT_FALSE(refused);
  EXPECT_EQ(s.provider.count(), 3U);
  EXPECT_EQ(refused.error().code, Errc::no_usable_credential);
}

TEST(PoolTest, ThePanicRuleNeverProbesBeforeAServerStatedWaitEnds) {
  PoolSetup s({"only"});
  s.provider.answer("only", 429, "60");
  ASSERT_FALSE(s.send());
  EXPECT_EQ(s.provider.count(), 1U);
  auto elapsed = 0s;
  for (const auto at : {2s, 11s, 30s, 59s}) {
    s.clock.advance(at - elapsed);
    elapsed = at;
    auto refused = s.send();
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::no_usable_credential);
    EXPECT_EQ(refused.error().until, testing::kFixtureNow + 60s);
  }
  EXPECT_EQ(s.provider.count(), 1U);  // no request before the server's 60 s
  EXPECT_EQ(s.observer.count(EventKind::panic), 0U);
  s.provider.answer("only", 200);
  s.clock.advance(60s - elapsed);
  ASSERT_TRUE(s.send());  // the window is over: the next request probes it
  EXPECT_EQ(s.provider.count(), 2U);
}

TEST(PoolTest, ThePanicRuleProbesAnEstimatedWindowNotAServerStatedOne) {
  PoolSetup s({"stated", "estimated"});
  s.provider.answer("stated", 429, "10");  // ends first, but the server said so
  s.provider.answer("estimated", 429);     // keyward's own estimate
  ASSERT_FALSE(s.send());
  EXPECT_EQ(s.provider.count(), 2U);
  s.provider.answer("estimated", 200);
  s.clock.advance(2s);
  auto probed = s.send();
  ASSERT_TRUE(probed) << probed.error().message;
  EXPECT_EQ(s.provider.last(), key_of("estimated"));
  EXPECT_EQ(s.observer.count(EventKind::panic), 1U);
}

TEST(PoolTest, ThePanicRuleWaitsForAServerStatedModelWindow) {
  PoolSetup s({"only"});
  s.provider.answer("only", 429, "60");
  ASSERT_FALSE(s.send({.model = "big"}));
  s.clock.advance(2s);
  ASSERT_FALSE(s.send({.model = "big"}));
  EXPECT_EQ(s.provider.count(), 1U);
  EXPECT_EQ(s.observer.count(EventKind::panic), 0U);
}

TEST(PoolTest, NoPanicWhenAProfileWaitsForAPerson) {
  PoolSetup s({"a", "b"});
  s.provider.answer("a", 401);
  s.provider.answer("b", 429, "30");
  ASSERT_FALSE(s.send());
  s.clock.advance(2s);
  auto refused = s.send();
  ASSERT_FALSE(refused);
  EXPECT_EQ(s.provider.count(), 2U);
  EXPECT_EQ(s.observer.count(EventKind::panic), 0U);
}

TEST(PoolTest, TheAllOutErrorSaysPerProfileWhyUntilWhenAndTheFix) {
  PoolSetup s({"work", "spare"});
  s.provider.answer("work", 401);
  s.provider.answer("spare", 429, "30");
  auto result = s.send();
  ASSERT_FALSE(result);
  const Error& error = result.error();
  EXPECT_EQ(error.code, Errc::no_usable_credential);
  EXPECT_EQ(error.until, testing::kFixtureNow + 30s);
  ASSERT_EQ(error.profiles.size(), 2U);
  EXPECT_EQ(error.profiles[0].profile, "work");
  EXPECT_EQ(error.profiles[0].state, "needs_reauth");
  EXPECT_EQ(error.profiles[0].reason, VerdictKind::unauthenticated);
  EXPECT_NE(error.profiles[0].fix.find("set_credential(\"work\""), std::string::npos);
  EXPECT_EQ(error.profiles[1].state, "cooling");
  EXPECT_EQ(error.profiles[1].reason, VerdictKind::rate_limited);
  EXPECT_EQ(error.profiles[1].until, testing::kFixtureNow + 30s);
  EXPECT_NE(error.message.find("'work' needs a person (unauthenticated: an authentication "
                               "failure, not a rate limit)"),
            std::string::npos);
  EXPECT_NE(error.message.find("'spare' is cooling down (rate_limited) until"), std::string::npos);
  EXPECT_NE(error.message.find("The soonest a profile can serve again"), std::string::npos);
  for (const char* name : {"work", "spare"}) {
    EXPECT_EQ(error.message.find(key_of(name)), std::string::npos);
  }
  EXPECT_EQ(s.observer.count(EventKind::all_out), 1U);
}

TEST(PoolTest, AnAuthenticationOutageIsNeverCalledARateLimit) {
  PoolSetup s({"a"});
  s.provider.answer("a", 401);
  auto result = s.send();
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().code, Errc::cooling_down);
  EXPECT_EQ(result.error().message.find("is rate limited"), std::string::npos);
  EXPECT_EQ(result.error().message.find("(rate_limited)"), std::string::npos);
  EXPECT_NE(result.error().message.find("not a rate limit"), std::string::npos);
  ASSERT_EQ(result.error().profiles.size(), 1U);
  EXPECT_EQ(result.error().profiles[0].reason, VerdictKind::unauthenticated);
}

TEST(PoolTest, RoundRobinStartsOneProfileFurtherEachRequest) {
  PoolOptions options;
  options.selection = Selection::round_robin;
  PoolSetup s({"a", "b", "c"}, options);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(s.send());
  EXPECT_EQ(s.provider.keys(), (std::vector<std::string>{key_of("a"), key_of("b"), key_of("c"),
                                                         key_of("a"), key_of("b"), key_of("c")}));
}

TEST(PoolTest, LeastRecentlyUsedPicksTheProfileThatServedLongestAgo) {
  PoolOptions options;
  options.selection = Selection::least_recently_used;
  PoolSetup s({"a", "b", "c"}, options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s.send());
  s.provider.answer("a", 429, "5");
  ASSERT_TRUE(s.send());  // a fails over to b (a's window runs)
  ASSERT_TRUE(s.send());  // c has served least recently
  EXPECT_EQ(s.provider.last(), key_of("c"));
}

TEST(PoolTest, LeastRecentlyUsedCountsStickySessionRequests) {
  PoolOptions options;
  options.selection = Selection::least_recently_used;
  PoolSetup s({"a", "b", "c"}, options);
  ASSERT_TRUE(s.send({.session = "conversation"}));  // pinned to a
  EXPECT_EQ(s.provider.last(), key_of("a"));
  ASSERT_TRUE(s.send());
  EXPECT_EQ(s.provider.last(), key_of("b"));
  ASSERT_TRUE(s.send());
  EXPECT_EQ(s.provider.last(), key_of("c"));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(s.send({.session = "conversation"}));
    EXPECT_EQ(s.provider.last(), key_of("a"));
  }
  ASSERT_TRUE(s.send());  // a served last: b has served least recently
  EXPECT_EQ(s.provider.last(), key_of("b"));
  ASSERT_TRUE(s.send());
  EXPECT_EQ(s.provider.last(), key_of("c"));
}

TEST(PoolTest, WeightedSelectionFollowsTheWeights) {
  PoolOptions options;
  options.selection = Selection::weighted;
  PoolSetup s({"a", "b"}, options, {3, 1});
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(s.send());
  std::size_t a = 0;
  for (const auto& key : s.provider.keys()) a += key == key_of("a") ? 1U : 0U;
  EXPECT_EQ(a, 30U);
}

TEST(PoolTest, ACoolingProfilesShareIsSpreadOverTheOthersByWeight) {
  PoolOptions options;
  options.selection = Selection::weighted;
  PoolSetup s({"heavy", "light", "mid"}, options, {6, 1, 3});
  s.provider.answer("heavy", 429, "600");
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(s.send());  // heavy is tried once, then cools
  const std::size_t before = s.provider.count();
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(s.send());
  std::map<std::string, int> served;
  const auto keys = s.provider.keys();
  for (std::size_t k = before; k < keys.size(); ++k) ++served[keys[k]];
  EXPECT_EQ(served[key_of("heavy")], 0);
  EXPECT_EQ(served[key_of("light")], 10);  // 1 : 3, not all of heavy's share on light
  EXPECT_EQ(served[key_of("mid")], 30);
}

TEST(PoolTest, ASessionKeepsItsProfileUntilItFailsThenRepins) {
  PoolOptions options;
  options.selection = Selection::round_robin;
  options.sticky_for = 10min;
  PoolSetup s({"a", "b", "c"}, options);
  ASSERT_TRUE(s.send({.session = "conversation-1"}));
  const std::string pinned = s.provider.last();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(s.send({.session = "conversation-1"}));
    EXPECT_EQ(s.provider.last(), pinned);
    ASSERT_TRUE(s.send());  // other traffic rotates meanwhile
  }
  // The pinned profile fails: the session moves, and stays on its new profile.
  {
    const std::scoped_lock lock(s.provider.state->mutex);
    s.provider.state->status[pinned] = 429;
  }
  ASSERT_TRUE(s.send({.session = "conversation-1"}));
  const std::string repinned = s.provider.last();
  EXPECT_NE(repinned, pinned);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.send({.session = "conversation-1"}));
    EXPECT_EQ(s.provider.last(), repinned);
  }
}

TEST(PoolTest, ASessionIsRepinnedWhenItsTimeLimitPasses) {
  PoolOptions options;
  options.selection = Selection::round_robin;
  options.sticky_for = 10min;
  PoolSetup s({"a", "b"}, options);
  ASSERT_TRUE(s.send({.session = "s"}));
  EXPECT_EQ(s.provider.last(), key_of("a"));
  ASSERT_TRUE(s.send({.session = "s"}));
  EXPECT_EQ(s.provider.last(), key_of("a"));
  s.clock.advance(10min);
  ASSERT_TRUE(s.send({.session = "s"}));  // the pin has expired: round robin's next
  EXPECT_EQ(s.provider.last(), key_of("b"));
}

TEST(PoolTest, RemainingQuotaHeadersSteerAwayBeforeA429) {
  PoolSetup s({"a", "b"});
  {
    const std::scoped_lock lock(s.provider.state->mutex);
    s.provider.state->extra[key_of("a")] = "10";  // 10 of 1000 left: nearly spent
    s.provider.state->extra[key_of("b")] = "900";
  }
  ASSERT_TRUE(s.send());
  EXPECT_EQ(s.provider.last(), key_of("a"));
  ASSERT_TRUE(s.send());  // a said it is nearly spent: b, although a comes first
  EXPECT_EQ(s.provider.last(), key_of("b"));
  EXPECT_EQ(s.profile(s.pool->status(), "a").remaining_permille, 10U);
  s.clock.advance(61s);  // the reading is no longer believed
  ASSERT_TRUE(s.send());
  EXPECT_EQ(s.provider.last(), key_of("a"));
}

TEST(PoolTest, NearlySpentProfilesStillServeWhenAllAre) {
  PoolSetup s({"a", "b"});
  {
    const std::scoped_lock lock(s.provider.state->mutex);
    s.provider.state->extra[key_of("a")] = "10";
    s.provider.state->extra[key_of("b")] = "10";
  }
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(s.send());
  EXPECT_EQ(s.provider.last(), key_of("a"));
}

TEST(PoolTest, RemainingFractionReadsBothProvidersHeaders) {
  Headers anthropic{{"anthropic-ratelimit-requests-remaining", "5"},
                    {"anthropic-ratelimit-requests-limit", "50"},
                    {"anthropic-ratelimit-tokens-remaining", "900"},
                    {"anthropic-ratelimit-tokens-limit", "1000"}};
  EXPECT_DOUBLE_EQ(*detail::remaining_fraction(anthropic), 0.1);
  Headers openai{{"x-ratelimit-remaining-tokens", "1"}, {"x-ratelimit-limit-tokens", "4"}};
  EXPECT_DOUBLE_EQ(*detail::remaining_fraction(openai), 0.25);
  EXPECT_FALSE(detail::remaining_fraction(Headers{{"x-ratelimit-remaining-tokens", "x"}}));
}

TEST(PoolTest, StatusDescribesEveryProfileAsStructAndJson) {
  PoolSetup s({"a", "b"});
  s.provider.answer("a", 429, "30");
  ASSERT_TRUE(s.send());
  const PoolStatus status = s.pool->status();
  EXPECT_EQ(status.provider, "example");
  EXPECT_EQ(status.usable, 1U);
  ASSERT_EQ(status.profiles.size(), 2U);
  const std::string json = to_json(status);
  EXPECT_NE(json.find("\"provider\":\"example\""), std::string::npos);
  EXPECT_NE(json.find("\"profile\":\"a\""), std::string::npos);
  EXPECT_NE(json.find("\"profile\":\"b\""), std::string::npos);
  EXPECT_NE(json.find("\"state\":\"cooling\""), std::string::npos);
  EXPECT_EQ(json.find(key_of("a")), std::string::npos);
}

TEST(PoolTest, AProbeBringsAFixedProfileBackAtOnce) {
  PoolSetup s({"a", "b"});
  s.provider.answer("a", 401);
  ASSERT_TRUE(s.send());
  s.provider.answer("a", 200);
  auto probed =
      s.pool->probe("a", Request{.method = "GET", .url = kUrl, .headers = {}, .body = {}});
  ASSERT_TRUE(probed);
  EXPECT_EQ(s.profile(s.pool->status(), "a").credential.state, CredentialState::ready);
  EXPECT_FALSE(s.pool->probe("nobody", Request{.method = "GET", .url = kUrl}));
}

TEST(PoolTest, RefusesUnusableProfilesAndOptions) {
  FakeTransport transport;
  EXPECT_THROW(Pool(transport, {}), std::invalid_argument);
  std::vector<Pool::Profile> twins;
  twins.push_back({"a", Credential::api_key(key_of("a")), 1, {}});
  twins.push_back({"a", Credential::api_key(key_of("b")), 1, {}});
  EXPECT_THROW(Pool(transport, std::move(twins)), std::invalid_argument);
  std::vector<Pool::Profile> empty;
  empty.push_back({"a", Credential::api_key(""), 1, {}});
  try {
    Pool pool(transport, std::move(empty));
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string{e.what()}.find("'a'"), std::string::npos);
  }
}

}  // namespace
}  // namespace keyward

namespace keyward {
namespace {

// Whatever throws, the pool is left where the next request proceeds.
struct ThrowingTransport {
  std::shared_ptr<std::atomic<int>> throws = std::make_shared<std::atomic<int>>(0);
  TransportResult send(const Request& /*request*/) const {
    if (throws->load() > 0) {
      --*throws;
      throw std::runtime_error("transport failed");
    }
    return testing::response(200);
  }
};

struct ThrowingPolicies : DefaultPolicies {
  using Clock = FakeClock;
  using Sleeper = RecordingSleeper;
};

TEST(PoolTest, AThrowingTransportLeavesEveryProfileUsable) {
  ThrowingTransport transport;
  FakeClock clock;
  std::vector<CredentialPool<ThrowingTransport, ThrowingPolicies>::Profile> profiles;
  profiles.push_back({"a", Credential::api_key(key_of("a")), 1, {}});
  CredentialPool<ThrowingTransport, ThrowingPolicies> pool(
      transport, std::move(profiles), {}, {.clock = clock, .sleeper = RecordingSleeper{clock}});
  const Request request{.method = "GET", .url = kUrl};
  *transport.throws = 1;
  EXPECT_THROW(static_cast<void>(pool.send(Request{request})), std::runtime_error);
  EXPECT_TRUE(pool.send(Request{request}));
  // A probe that throws hands its claim back: the next request probes.
  *transport.throws = 1;
  EXPECT_THROW(static_cast<void>(pool.probe("a", Request{request})), std::runtime_error);
  EXPECT_EQ(pool.status().profiles[0].credential.state, CredentialState::ready);
  EXPECT_TRUE(pool.send(Request{request}));
}

// An overloaded provider: the pool's attempts pass the provider's breaker, which opens; then
// nothing is sent, no profile is blamed or rotated, and the breaker closes once it recovers.
TEST(PoolTest, AnOverloadedProviderTripsTheBreakerAndNeverCoolsOrRotatesAProfile) {
  PoolSetup s({"a", "b"});
  s.provider.answer("a", 529);
  std::optional<Error> refused;
  for (int i = 0; i < 10 && !refused; ++i) {
    auto result = s.send();
    if (!result) refused = result.error();
  }
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, Errc::provider_unavailable);
  ASSERT_TRUE(refused->until);
  EXPECT_EQ(s.observer.count(EventKind::breaker_opened), 1U);
  EXPECT_EQ(s.observer.count(EventKind::failover), 0U);
  EXPECT_EQ(s.observer.count(EventKind::cooldown_entered), 0U);
  for (const auto& key : s.provider.keys()) EXPECT_EQ(key, key_of("a"));
  const std::size_t sent = s.provider.count();
  EXPECT_FALSE(s.send());  // still open: nothing is sent
  EXPECT_EQ(s.provider.count(), sent);
  EXPECT_EQ(s.pool->status().usable, 2U);

  s.provider.answer("a", 200);
  s.clock.advance(*refused->until - s.clock.now());
  ASSERT_TRUE(s.send());  // the half-open probe
  EXPECT_EQ(s.observer.count(EventKind::breaker_half_open), 1U);
  EXPECT_EQ(s.observer.count(EventKind::breaker_closed), 1U);
}

TEST(PoolTest, PoolsAndCredentialsOfOneProviderShareItsBreaker) {
  auto shared = std::make_shared<ProviderGuard>();
  Provider provider;
  FakeClock clock;
  const auto make = [&](const std::string& name) {
    std::vector<Pool::Profile> profiles;
    profiles.push_back({name, Credential::api_key(key_of(name)), 1, {}});
    return std::make_unique<Pool>(
        provider.transport, std::move(profiles), PoolOptions{},
        Pool::Components{.clock = clock, .sleeper = RecordingSleeper{clock}, .provider = shared});
  };
  auto first = make("a");
  auto second = make("b");
  provider.answer("a", 529);
  for (int i = 0; i < 10; ++i) {
    static_cast<void>(first->send(Request{.method = "GET", .url = kUrl}));
  }
  EXPECT_EQ(shared->breaker().state(), BreakerState::open);
  auto refused = second->send(Request{.method = "GET", .url = kUrl});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::provider_unavailable);
  EXPECT_EQ(&first->provider(), shared.get());
}

}  // namespace
}  // namespace keyward

namespace keyward {
namespace {

struct HealthPolicies : PoolPolicies {
  static Request health_request() { return Request{.method = "GET", .url = kUrl}; }
};

TEST(PoolTest, ProbingThePoolSendsTheHealthRequestThroughEveryProfile) {
  Provider provider;
  FakeClock clock;
  std::vector<CredentialPool<FakeTransport, HealthPolicies>::Profile> profiles;
  for (const char* name : {"a", "b"}) {
    profiles.push_back({name, Credential::api_key(key_of(name)), 1, {}});
  }
  CredentialPool<FakeTransport, HealthPolicies> pool(
      provider.transport, std::move(profiles), {},
      {.clock = clock, .sleeper = RecordingSleeper{clock}});
  provider.answer("b", 401);
  ASSERT_TRUE(pool.send(Request{.method = "POST", .url = kUrl}));
  EXPECT_EQ(pool.status().usable, 2U);  // b was not asked yet
  PoolStatus status = pool.probe();
  EXPECT_EQ(provider.count(), 3U);
  EXPECT_EQ(status.usable, 1U);
  EXPECT_EQ(status.profiles[1].credential.state, CredentialState::needs_reauth);
  provider.answer("b", 200);  // a person fixed b's key at the provider
  ASSERT_TRUE(pool.probe("b"));
  EXPECT_EQ(pool.status().usable, 2U);
}

}  // namespace
}  // namespace keyward

namespace keyward {
namespace {

TEST(PoolTest, WhenAModelWindowEndsOneRequestProbesTheModel) {
  detail::ModelWindows windows;
  const TimePoint t0 = testing::kFixtureNow;
  const auto fixed = [](std::uint32_t) { return std::chrono::milliseconds{10'000}; };
  const Verdict limited{.kind = VerdictKind::rate_limited};
  ASSERT_TRUE(windows.record("m", 1, limited, t0, fixed));
  EXPECT_TRUE(windows.claim("m", 1, t0 + 5s).out);          // the window runs
  EXPECT_EQ(windows.claim("other", 1, t0 + 5s).probe, 0U);  // another model is free
  const auto probe = windows.claim("m", 1, t0 + 10s);       // over: this request probes
  ASSERT_FALSE(probe.out);
  ASSERT_NE(probe.probe, 0U);
  EXPECT_TRUE(windows.claim("m", 1, t0 + 10s).out);  // the others wait for its answer
  EXPECT_TRUE(windows.out_until("m", 1, t0 + 11s));
  windows.release("m", probe.probe);  // undecided: the next request probes
  const auto again = windows.claim("m", 1, t0 + 11s);
  ASSERT_NE(again.probe, 0U);
  // A 429 at the probe opens the next window, counted as the second failure.
  EXPECT_EQ(windows.record("m", 1, limited, t0 + 11s, fixed), t0 + 21s);
  EXPECT_EQ(windows.running(1, t0 + 12s).at(0).failures, 2U);
  EXPECT_TRUE(windows.clear("m"));
  EXPECT_FALSE(windows.out_until("m", 1, t0 + 12s));
}

TEST(PoolTest, AModelProbeThatSucceedsClearsTheModelWindowOnThePool) {
  PoolSetup s({"a", "b"});
  s.provider.answer("a", 429, "30");
  ASSERT_TRUE(s.send({.model = "big"}));  // a cools for "big"; b serves
  s.provider.answer("a", 200);
  s.clock.advance(30s);
  ASSERT_TRUE(s.send({.model = "big"}));  // a probes "big"
  EXPECT_EQ(s.provider.last(), key_of("a"));
  EXPECT_EQ(s.observer.count(EventKind::probe), 1U);
  EXPECT_EQ(s.observer.count(EventKind::cooldown_left), 1U);
  EXPECT_TRUE(s.profile(s.pool->status(), "a").models.empty());
}

}  // namespace
}  // namespace keyward

namespace keyward {
namespace {

TEST(PoolTest, ThePanicRuleProbesAModelWhoseEstimatedWindowRuns) {
  PoolSetup s({"a", "b"});
  s.provider.answer("a", 429, "60");  // the server's wait: not probed early
  s.provider.answer("b", 429);        // keyward's estimate (a jittered 30 s): probed
  ASSERT_FALSE(s.send({.model = "big"}));
  ASSERT_FALSE(s.profile(s.pool->status(), "b").models.empty());
  s.provider.answer("b", 200);
  auto probed = s.send({.model = "big"});
  ASSERT_TRUE(probed) << probed.error().message;
  EXPECT_EQ(s.provider.last(), key_of("b"));
  EXPECT_EQ(s.observer.count(EventKind::panic), 1U);
  EXPECT_TRUE(s.profile(s.pool->status(), "b").models.empty());
}

}  // namespace
}  // namespace keyward
