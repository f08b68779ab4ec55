// CredentialPool under 8 threads (run under TSan in CI): failovers, rate limits, dead keys
// replaced while requests run, all-out phases with panic probes. Asserts that no request was
// admitted with a credential that was out at the time (except a probe), and that every profile
// comes back at the end. The controller (fake time, replacements, the provider's phase) and the
// senders take turns, so every build type, fast or slow, runs the same rounds and sees
// replacements, all-out phases and panic probes.
//
// How "out at the time" is decided without racing the pool: a global sequence stamps, for each
// credential, every change as an interval that surely contains its publish: an out-state from
// the failing request's verdict event (before the publish) to its cooldown_entered /
// needs_reauth event (after it); a probe's success from its verdict event to the end of its
// send() (which returns after the publish). A request starts (stamped before the pool reads any
// state for it) and is admitted (the attacher runs inside admit(); stamped after the read). It
// was admitted while out when an out-state surely published before it started and after every
// success that may have published before its admission, and the window of those out-states
// still ran at its admission: a violation, unless the panic rule probed it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
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

struct Monitor {
  FakeClock clock;
  std::atomic<std::uint64_t> seq{1};
  std::mutex mutex;
  struct Change {
    std::uint64_t begin = 0;
    std::uint64_t end = UINT64_MAX;  // still running
    TimePoint until{};               // for an out-state: the window's end
  };
  struct History {
    std::vector<Change> outs;
    std::vector<Change> backs;
  };
  std::map<std::pair<std::string, std::uint64_t>, History> history;  // by (profile, generation)
  std::atomic<std::size_t> violations{0};
  std::atomic<std::size_t> panics{0};
  std::atomic<std::size_t> failovers{0};
  std::atomic<std::size_t> all_out{0};
};
Monitor* monitor = nullptr;                 // the running test's
thread_local bool probing = false;          // this thread's request probes (a probe event)
thread_local bool panicking = false;        // the panic rule chose it (a panic event)
thread_local std::uint64_t started_at = 0;  // when this thread's request started
thread_local std::uint64_t admitted_at = 0;
thread_local TimePoint admitted_now{};
thread_local std::uint64_t verdict_at = 0;  // this thread's last verdict event
thread_local unsigned sender = 0;           // this sender's index: its answers' random seed
// A probe success of this thread whose send() has not returned yet.
thread_local std::optional<std::pair<std::string, std::uint64_t>> back_pending;

struct CheckingAttacher {
  void attach(Request& request, const Credential& credential) const {
    admitted_at = monitor->seq.fetch_add(1);
    admitted_now = monitor->clock.now();
    request.headers.set("authorization", "Bearer " + std::string{credential.token.reveal()});
  }
};

struct CheckingObserver {
  void on_event(const Event& e) const {
    Monitor& m = *monitor;
    const auto key = std::make_pair(std::string{e.profile}, e.generation);
    switch (e.kind) {
      case EventKind::cooldown_entered:
      case EventKind::needs_reauth: {
        const std::uint64_t at = m.seq.fetch_add(1);
        const std::scoped_lock lock(m.mutex);
        m.history[key].outs.push_back({verdict_at, at, e.until.value_or(TimePoint::max())});
        break;
      }
      case EventKind::probe:
        probing = true;
        break;
      case EventKind::panic:
        panicking = true;
        ++m.panics;
        break;
      case EventKind::failover:
        ++m.failovers;
        break;
      case EventKind::all_out:
        ++m.all_out;
        break;
      case EventKind::verdict:
        verdict_at = m.seq.fetch_add(1);
        if (probing && e.verdict != nullptr && e.verdict->kind == VerdictKind::ok) {
          const std::scoped_lock lock(m.mutex);
          m.history[key].backs.push_back({verdict_at, UINT64_MAX, {}});
          back_pending = key;
        }
        probing = false;
        // A panic probe that meets a provider-scoped failure is retried, still by the panic rule.
        if (e.verdict == nullptr || e.verdict->scope != Scope::provider) panicking = false;
        break;
      default:
        break;
    }
  }
};

// After send() returns: a probe success of this thread has surely been published.
void sent(Monitor& m) {
  if (!back_pending) return;
  const std::uint64_t at = m.seq.fetch_add(1);
  const std::scoped_lock lock(m.mutex);
  for (auto& back : m.history[*back_pending].backs) {
    if (back.end == UINT64_MAX) back.end = at;
  }
  back_pending.reset();
}

struct StressPolicies : DefaultPolicies {
  using Clock = FakeClock;
  using Sleeper = testing::RecordingSleeper;
  using Attach = CheckingAttacher;
  using Observer = CheckingObserver;
};
using Pool = CredentialPool<FakeTransport, StressPolicies>;

const std::string kUrl = "https://api.example.test/v1/messages";
constexpr int kProfiles = 4;

// Each profile's key for generation g is "sk-stress-p<n>-g<g>-...".
std::string profile_of(const std::string& key) { return key.substr(10, 2); }
std::uint64_t generation_of(const std::string& key) {
  return std::stoull(key.substr(14, key.find('-', 14) - 14));
}

// Counts (and reports) a request for `key` admitted while its credential was out.
void check_admission(Monitor& m, const std::string& key) {
  // Only the panic rule probes a profile whose window still runs.
  if (probing && panicking) return;
  const std::scoped_lock lock(m.mutex);
  const auto it = m.history.find({profile_of(key), generation_of(key)});
  if (it == m.history.end()) return;
  // The last moment a success may have made it usable before this admission.
  std::uint64_t back = 0;
  for (const auto& b : it->second.backs) {
    if (b.begin < admitted_at) back = std::max(back, b.end);
  }
  std::optional<TimePoint> until;  // of the out-states surely after it and before the start
  for (const auto& o : it->second.outs) {
    if (o.begin > back && o.end < started_at) until = std::max(until.value_or(o.until), o.until);
  }
  if (until && admitted_now < *until) {
    ++m.violations;
    ADD_FAILURE() << key.substr(0, 16) << " was sent while out: request started at " << started_at
                  << ", admitted at " << admitted_at << ", " << (*until - admitted_now).count()
                  << " ns before the window ends";
  }
}

// The provider: random rate limits, dead keys and overloads, or phases where everything is
// rate limited or everything is well.
struct StressProvider {
  std::atomic<int> phase{0};  // 0: mixed failures, 1: everything rate limited, 2: all well
  std::mutex mutex;
  std::set<std::string> dead;  // keys the provider rejects

  TransportResult answer(const std::string& key) {
    thread_local std::minstd_rand rng{sender + 1U};
    {
      const std::scoped_lock lock(mutex);
      if (dead.contains(key)) return json_response(401, "{}");
    }
    if (phase == 2) return json_response(200, "{}");
    if (phase == 1) return json_response(429, "{}");  // keyward estimates: the panic rule probes
    const auto roll = rng() % 100;
    if (roll < 8) return json_response(429, "{}", {{"retry-after", std::to_string(1 + roll % 3)}});
    if (roll < 15) return json_response(429, "{}");
    if (roll < 18) {
      const std::scoped_lock lock(mutex);
      dead.insert(key);
      return json_response(401, "{}");
    }
    if (roll < 21) return json_response(529, "{}");
    return json_response(200, "{}");
  }
};

TEST(PoolStressTest, EightThreadsNeverSendAnOutCredentialAndEveryProfileComesBack) {
  Monitor m;
  monitor = &m;
  FakeTransport transport;
  StressProvider provider;
  transport.on(kUrl, [&](const Request& request) -> TransportResult {
    const std::string key{request.headers.get("authorization").value_or("").substr(7)};
    check_admission(m, key);
    return provider.answer(key);
  });
  const auto key_for = [](int p, std::uint64_t generation) {
    return "sk-stress-p" + std::to_string(p) + "-g" + std::to_string(generation) +
           "-0123456789abcdef";
  };
  std::vector<Pool::Profile> profiles;
  profiles.reserve(kProfiles);
  for (int p = 0; p < kProfiles; ++p) {
    profiles.push_back({"p" + std::to_string(p), Credential::api_key(key_for(p, 1)), 1, {}});
  }
  PoolOptions options;
  options.selection = Selection::round_robin;
  options.panic_interval = 100ms;
  options.credential.retry.max_attempts = 2;
  options.credential.jitter_seed = 11;
  Pool pool(transport, std::move(profiles), options,
            Pool::Components{.clock = m.clock, .sleeper = testing::RecordingSleeper{m.clock}});

  // Brings back every profile whose key the provider rejects: a person replaces it.
  int replacements = 0;  // by the controller thread only
  const auto replace_dead = [&] {
    for (const ProfileStatus& p : pool.status().profiles) {
      if (p.credential.state != CredentialState::needs_reauth) continue;
      const int index = p.credential.profile[1] - '0';
      const auto replaced = pool.set_credential(
          p.credential.profile, Credential::api_key(key_for(index, p.credential.generation + 1)));
      replacements += replaced ? 1 : 0;
    }
  };

  // The controller and the senders take turns: in each round the controller moves the fake
  // time, replaces dead keys and sets the provider's phase, then the eight senders send a batch
  // each, concurrently, while the controller waits. Every build type runs the same rounds.
  constexpr int kThreads = 8;
  constexpr int kRounds = 30;
  constexpr int kBatch = 3;
  std::mutex turn_mutex;
  std::condition_variable turn;
  int round_open = -1;  // the round whose batch the senders may send
  int finished = 0;     // senders done with the open round's batch
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      sender = static_cast<unsigned>(t);
      for (int round = 0; round < kRounds; ++round) {
        {
          std::unique_lock lock(turn_mutex);
          turn.wait(lock, [&] { return round_open == round; });
        }
        for (int i = 0; i < kBatch; ++i) {
          started_at = m.seq.fetch_add(1);
          static_cast<void>(
              pool.send(Request{.method = "POST", .url = kUrl, .headers = {}, .body = "{}"}));
          sent(m);
        }
        const std::scoped_lock lock(turn_mutex);
        ++finished;
        turn.notify_all();
      }
    });
  }
  // Rounds 10 to 14: everything is rate limited, with no stated wait.
  for (int round = 0; round < kRounds; ++round) {
    m.clock.advance(500ms);
    replace_dead();
    provider.phase = round >= 10 && round < 15 ? 1 : 0;
    std::unique_lock lock(turn_mutex);
    finished = 0;
    round_open = round;
    turn.notify_all();
    turn.wait(lock, [&] { return finished == kThreads; });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(m.violations.load(), 0U);
  EXPECT_GT(m.failovers.load(), 0U);
  EXPECT_GT(m.panics.load(), 0U);
  EXPECT_GT(m.all_out.load(), 0U);
  EXPECT_GT(replacements, 0);

  // Everyone comes back: the provider is well, the dead keys are replaced, the windows end.
  provider.phase = 2;
  replace_dead();
  m.clock.advance(1h);
  for (int i = 0; i < 4 * kProfiles; ++i) {
    static_cast<void>(
        pool.send(Request{.method = "POST", .url = kUrl, .headers = {}, .body = "{}"}));
  }
  const PoolStatus status = pool.status();
  EXPECT_EQ(status.usable, static_cast<std::size_t>(kProfiles)) << to_json(status);
  for (const ProfileStatus& p : status.profiles) {
    EXPECT_EQ(p.credential.state, CredentialState::ready) << p.credential.profile;
  }
  monitor = nullptr;
}

}  // namespace
}  // namespace keyward
