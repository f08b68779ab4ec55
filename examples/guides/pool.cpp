// docs/guides/pool.md: a CredentialPool of three API keys of one provider.
//
// The program scripts what the provider answers each key and shows: priority selection, a rate
// limit failing over within the same send(), a rate limit of one model cooling only that model,
// a sticky session, a rejected key waiting for a person, the one error that says why each
// profile is out when none can serve, set_credential() bringing a profile back at once, and the
// end of a window bringing the preferred profile back.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "keyward/keyward.hpp"

// The provider, in process: answers each key (read from `Authorization: Bearer <key>`) with the
// status scripted for it, and a 429 for a model listed as limited; remembers the last key used.
struct ScriptedProvider {
  struct Script {
    std::mutex mutex;
    std::map<std::string, int> status;           // by key; 200 when not listed
    std::map<std::string, std::string> limited;  // key -> a model that gets 429
    std::string last_key;
  };
  std::shared_ptr<Script> script = std::make_shared<Script>();

  keyward::TransportResult send(const keyward::Request& request) const {
    const std::string key{request.headers.get("authorization").value_or("Bearer ?").substr(7)};
    const std::scoped_lock lock{script->mutex};
    script->last_key = key;
    int status = script->status.contains(key) ? script->status[key] : 200;
    const auto limited = script->limited.find(key);
    if (limited != script->limited.end() && request.url.ends_with("/" + limited->second)) {
      status = 429;
    }
    if (status == 429) {
      return keyward::Response{.status = 429, .headers = {{"retry-after", "30"}}, .body = {}};
    }
    return keyward::Response{.status = status, .headers = {}, .body = {}};
  }
  void answer(const std::string& key, int status) const {
    const std::scoped_lock lock{script->mutex};
    script->status[key] = status;
  }
  void limit_model(const std::string& key, const std::string& model) const {
    const std::scoped_lock lock{script->mutex};
    script->limited[key] = model;
  }
  [[nodiscard]] std::string last() const {
    const std::scoped_lock lock{script->mutex};
    return script->last_key;
  }
};

// Time as the example says it is, so that a window can pass at once.
struct ManualClock {
  std::shared_ptr<std::atomic<std::int64_t>> ms =
      std::make_shared<std::atomic<std::int64_t>>(1'770'206'400'000);  // 2026-02-04T12:00:00Z
  [[nodiscard]] keyward::TimePoint now() const {
    return keyward::TimePoint{std::chrono::milliseconds{ms->load()}};
  }
  void advance(std::chrono::milliseconds by) const { *ms += by.count(); }
};

struct PoolPolicies : keyward::DefaultPolicies {
  using Clock = ManualClock;
};

using Pool = keyward::CredentialPool<ScriptedProvider, PoolPolicies>;

namespace {

const std::string kWork = "kw-example-key-0123456789abcdef-WORK";
const std::string kTeam = "kw-example-key-0123456789abcdef-TEAM";
const std::string kSpare = "kw-example-key-0123456789abcdef-SPRE";
const std::string kSpareNew = "kw-example-key-0123456789abcdef-NEW1";

int failures = 0;

void expect(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

keyward::Request call(const std::string& model) {
  return {.method = "POST", .url = "https://api.example.com/v1/generate/" + model};
}

}  // namespace

int run() {
  using namespace std::chrono_literals;
  const ScriptedProvider provider;
  const ManualClock clock;

  // The profiles, in priority order: "work" serves while it can, then "team", then "spare".
  std::vector<Pool::Profile> profiles;
  profiles.push_back({.name = "work", .credential = keyward::Credential::api_key(kWork)});
  profiles.push_back({.name = "team", .credential = keyward::Credential::api_key(kTeam)});
  profiles.push_back({.name = "spare", .credential = keyward::Credential::api_key(kSpare)});
  Pool pool{provider, std::move(profiles), {.provider = "example"}, {.clock = clock}};

  auto first = pool.send(call("small"));
  expect(first && first->status == 200 && provider.last() == kWork,
         "priority: the first profile, work, serves");

  // A rate limit is the credential's: the same send() goes on with the next profile.
  provider.answer(kWork, 429);
  auto failed_over = pool.send(call("small"));
  expect(failed_over && failed_over->status == 200 && provider.last() == kTeam,
         "work answers 429: the same send() is served by team");
  expect(pool.status().profiles[0].credential.state == keyward::CredentialState::cooling,
         "work cools down, for the server's 30 s");

  // A rate limit of a request that names a model cools only that model on that profile.
  provider.limit_model(kTeam, "big");
  auto big = pool.send(call("big"), {.model = "big"});
  expect(big && provider.last() == kSpare, "team is limited on model big: spare serves it");
  auto small = pool.send(call("small"), {.model = "small"});
  expect(small && provider.last() == kTeam, "team still serves model small");

  // A session stays on the profile that first served it.
  auto pinned = pool.send(call("big"), {.model = "big", .session = "conversation-42"});
  auto again = pool.send(call("big"), {.model = "big", .session = "conversation-42"});
  expect(pinned && again && provider.last() == kSpare, "a session keeps its profile: spare");

  // A rejected API key waits for a person; the pool says so and never calls it a rate limit.
  provider.answer(kSpare, 401);
  provider.answer(kTeam, 429);
  auto none = pool.send(call("small"));
  expect(!none && none.error().code == keyward::Errc::no_usable_credential,
         "no profile can serve: Errc::no_usable_credential");
  if (!none) {
    for (const keyward::ProfileOutage& out : none.error().profiles) {
      std::printf("  %s: %s (%s); fix: %s\n", out.profile.c_str(), out.state.c_str(),
                  out.reason ? std::string{keyward::to_string(*out.reason)}.c_str() : "-",
                  out.fix.c_str());
    }
    const auto& out = none.error().profiles;
    expect(out.size() == 3 && out[2].state == "needs_reauth" &&
               out[2].reason == keyward::VerdictKind::unauthenticated,
           "spare needs a person (unauthenticated), the others are cooling");
  }

  // A new key for spare: ready at once, no restart.
  provider.answer(kSpareNew, 200);
  expect(pool.set_credential("spare", keyward::Credential::api_key(kSpareNew)).has_value(),
         "set_credential(\"spare\", new key)");
  auto replaced = pool.send(call("small"));
  expect(replaced && provider.last() == kSpareNew, "spare serves again with its new key");

  // When work's window ends, one request probes it; a success brings priority back to it.
  provider.answer(kWork, 200);
  clock.advance(31s);
  auto back = pool.send(call("small"));
  expect(back && provider.last() == kWork, "after its window, work serves again");
  for (const keyward::ProfileStatus& p : pool.status().profiles) {
    std::printf("  %s: %s, %s\n", p.credential.profile.c_str(),
                std::string{keyward::to_string(p.credential.state)}.c_str(),
                p.credential.fingerprint.c_str());
  }
  return failures == 0 ? 0 : 1;
}

int main() {
  try {
    return run();
  } catch (const std::exception& error) {  // e.g. an unusable profile given to the constructor
    std::fprintf(stderr, "error: %s\n", error.what());
  }
  return 1;
}
