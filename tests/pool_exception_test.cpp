// A pool whose observer throws on each kind of event it emits: the exception reaches the caller,
// no profile is left probing, and once the windows have passed every profile serves again.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "keyward/pool.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_transport.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeTransport;
using testing::json_response;
using testing::RecordingSleeper;

struct Fault : std::runtime_error {
  Fault() : std::runtime_error("observer fault") {}
};

struct Arm {
  std::atomic<bool> armed{false};
  EventKind kind = EventKind::attempt;
};

struct ThrowingObserver {
  std::shared_ptr<Arm> arm = std::make_shared<Arm>();
  void on_event(const Event& event) const {
    if (event.kind == arm->kind && arm->armed.exchange(false)) throw Fault{};
  }
};

struct Policies : DefaultPolicies {
  using Clock = FakeClock;
  using Sleeper = RecordingSleeper;
  using Observer = ThrowingObserver;
};
using Pool = CredentialPool<FakeTransport, Policies>;

const std::string kUrl = "https://api.example.test/v1/messages";

std::string key(const std::string& name) { return "sk-pool-fault-" + name + "-0123456789abcdef"; }

struct Rig {
  FakeTransport transport;
  FakeClock clock;
  ThrowingObserver observer;
  std::mutex mutex;
  std::map<std::string, std::pair<int, std::string>> script;  // by key: status, retry-after
  std::unique_ptr<Pool> pool;

  Rig() {
    transport.on(kUrl, [this](const Request& request) {
      const std::string auth{request.headers.get("authorization").value_or("")};
      const std::scoped_lock lock(mutex);
      const auto it = script.find(auth.substr(7));
      if (it == script.end()) return json_response(200, "{}");
      Headers headers;
      if (!it->second.second.empty()) headers.set("retry-after", it->second.second);
      const int status = it->second.first;
      if (status == 529) script.erase(it);  // one overload, then well again
      return json_response(status, "{}", std::move(headers));
    });
    std::vector<Pool::Profile> profiles;
    profiles.push_back({"a", Credential::api_key(key("a")), 1, {}});
    profiles.push_back({"b", Credential::api_key(key("b")), 1, {}});
    PoolOptions options;
    options.credential.jitter_seed = 5;
    pool = std::make_unique<Pool>(
        transport, std::move(profiles), options,
        Pool::Components{.clock = clock, .sleeper = RecordingSleeper{clock}, .observer = observer});
  }
  void answer(const std::string& name, int status, std::string wait = {}) {
    const std::scoped_lock lock(mutex);
    script[key(name)] = {status, std::move(wait)};
  }
  void heal() {
    const std::scoped_lock lock(mutex);
    script.clear();
  }
  Result<Response> send() const { return pool->send(Request{.method = "POST", .url = kUrl}); }
};

struct Case {
  std::string name;
  EventKind kind;
  std::function<void(Rig&)> arrange;
  std::function<void(Rig&)> act = [](Rig& rig) { static_cast<void>(rig.send()); };
};

std::vector<Case> cases() {
  const auto nothing = [](Rig&) {};
  const auto a_limited = [](Rig& rig) { rig.answer("a", 429, "30"); };
  const auto a_cooled_then_over = [](Rig& rig) {
    rig.answer("a", 429, "10");
    static_cast<void>(rig.send());
    rig.heal();
    rig.clock.advance(11s);
  };
  // The panic rule probes only a window keyward estimated: b's names no wait.
  const auto both_limited = [](Rig& rig) {
    rig.answer("a", 429, "60");
    rig.answer("b", 429);
    static_cast<void>(rig.send());
  };
  return {
      {"attempt", EventKind::attempt, nothing},
      {"verdict", EventKind::verdict, nothing},
      {"retry", EventKind::retry, [](Rig& rig) { rig.answer("a", 529); }},
      {"cooldown_entered", EventKind::cooldown_entered, a_limited},
      {"failover", EventKind::failover, a_limited},
      {"needs_reauth", EventKind::needs_reauth, [](Rig& rig) { rig.answer("a", 401); }},
      {"probe", EventKind::probe, a_cooled_then_over},
      {"cooldown_left", EventKind::cooldown_left, a_cooled_then_over},
      {"all_out", EventKind::all_out,
       [](Rig& rig) {
         rig.answer("a", 429, "30");
         rig.answer("b", 429, "30");
       }},
      {"panic", EventKind::panic, both_limited},
      {"credential_replaced", EventKind::credential_replaced, nothing,
       [](Rig& rig) {
         static_cast<void>(rig.pool->set_credential("a", Credential::api_key(key("a2"))));
       }},
  };
}

class PoolExceptionTest : public ::testing::TestWithParam<Case> {};

TEST_P(PoolExceptionTest, TheExceptionReachesTheCallerAndEveryProfileComesBack) {
  const Case& c = GetParam();
  Rig rig;
  c.arrange(rig);
  rig.observer.arm->kind = c.kind;
  rig.observer.arm->armed = true;

  EXPECT_THROW(c.act(rig), Fault);
  EXPECT_FALSE(rig.observer.arm->armed.load()) << "the fault never fired";
  for (const ProfileStatus& p : rig.pool->status().profiles) {
    EXPECT_NE(p.credential.state, CredentialState::probing) << p.credential.profile;
  }

  // Recovery: the provider is well, every window passes, a person replaces a rejected key.
  rig.heal();
  rig.clock.advance(2h);
  for (const ProfileStatus& p : rig.pool->status().profiles) {
    if (p.credential.state == CredentialState::needs_reauth) {
      ASSERT_TRUE(rig.pool->set_credential(p.credential.profile,
                                           Credential::api_key(key(p.credential.profile + "3"))));
    }
  }
  for (int i = 0; i < 3; ++i) {
    auto next = rig.send();
    ASSERT_TRUE(next) << next.error().message;
    EXPECT_EQ(next->status, 200);
  }
  EXPECT_EQ(rig.pool->status().usable, 2U) << to_json(rig.pool->status());
}

INSTANTIATE_TEST_SUITE_P(EveryPoolEvent, PoolExceptionTest, ::testing::ValuesIn(cases()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace keyward
