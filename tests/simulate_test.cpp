// The scenarios of examples/scenarios/ run through `keyward simulate`'s engine (the real pool on
// virtual time), with assertions on their events and request outcomes (docs/simulate.md).
#include "cli/simulate.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace keyward {
namespace {

using detail::json::Value;

struct Simulation {
  std::vector<Value> lines;

  explicit Simulation(const std::string& name) {
    std::ifstream file(std::string{KEYWARD_FIXTURE_DIR} + "/../../examples/scenarios/" + name);
    std::ostringstream text;
    text << file.rdbuf();
    EXPECT_FALSE(text.str().empty()) << name;
    std::ostringstream out;
    cli::sim::run(text.str(), out);
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) {
      auto parsed = detail::json::parse(line);
      EXPECT_TRUE(parsed) << line;
      if (parsed) lines.push_back(std::move(*parsed));
    }
  }
  [[nodiscard]] std::vector<const Value*> events(std::string_view kind) const {
    std::vector<const Value*> out;
    for (const Value& v : lines) {
      if (v.string_or("event") == kind) out.push_back(&v);
    }
    return out;
  }
  [[nodiscard]] const Value& request(int n) const {
    for (const Value& v : lines) {
      const Value* number = v.find("request");
      if (number != nullptr && number->as_number() == n) return v;
    }
    throw std::runtime_error("no request " + std::to_string(n));
  }
  [[nodiscard]] std::size_t requests() const {
    std::size_t n = 0;
    for (const Value& v : lines) n += v.find("request") != nullptr ? 1U : 0U;
    return n;
  }
};

TEST(SimulateTest, SeedRefreshesOnceAndSucceeds) {
  const Simulation run("seed.json");
  EXPECT_EQ(run.events("refresh_succeeded").size(), 1U);
  EXPECT_TRUE(run.events("needs_reauth").empty());
  EXPECT_TRUE(run.events("cooldown_entered").empty());
  EXPECT_EQ(run.request(1).string_or("outcome"), "response");
  EXPECT_EQ(*run.request(1).find("status")->as_number(), 200);
  EXPECT_EQ(*run.request(2).find("status")->as_number(), 200);
}

TEST(SimulateTest, SeedWithADeadTokenNeedsAPersonIsNeverARateLimitAndRecovers) {
  const Simulation run("seed_dead_token.json");
  EXPECT_EQ(run.events("needs_reauth").size(), 1U);
  EXPECT_TRUE(run.events("cooldown_entered").empty());
  for (int n : {1, 2}) {
    const Value& r = run.request(n);
    EXPECT_EQ(r.string_or("outcome"), "error");
    EXPECT_EQ(r.string_or("code"), "no_usable_credential");
    const std::string message{r.string_or("message")};
    EXPECT_NE(message.find("authentication failure, not a rate limit"), std::string::npos);
    EXPECT_NE(message.find("fix: log in again"), std::string::npos);
    EXPECT_EQ(message.find("(rate_limited)"), std::string::npos);
    EXPECT_EQ(message.find("is rate limited"), std::string::npos);
  }
  EXPECT_EQ(run.events("credential_replaced").size(), 1U);
  EXPECT_EQ(run.request(3).string_or("outcome"), "response");
  const Value* status = run.lines.back().find("status");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(*status->find("usable")->as_number(), 1);
}

TEST(SimulateTest, EveryProfileRateLimitedProbesTheSoonest) {
  const Simulation run("all_rate_limited.json");
  EXPECT_EQ(run.request(1).string_or("outcome"), "error");
  EXPECT_EQ(run.request(1).string_or("until"), "2026-01-01T00:00:18Z");
  ASSERT_EQ(run.events("all_out").size(), 1U);
  ASSERT_EQ(run.events("panic").size(), 1U);
  EXPECT_EQ(run.events("panic")[0]->string_or("profile"), "b");
  EXPECT_EQ(run.request(2).string_or("profile"), "b");
  EXPECT_EQ(*run.request(2).find("status")->as_number(), 200);
  EXPECT_EQ(run.request(3).string_or("profile"), "b");
}

TEST(SimulateTest, AnOverloadedProviderTripsTheBreakerAndNeverCoolsACredentialDown) {
  const Simulation run("overloaded.json");
  EXPECT_TRUE(run.events("cooldown_entered").empty());
  EXPECT_TRUE(run.events("failover").empty());
  EXPECT_FALSE(run.events("retry").empty());
  EXPECT_EQ(run.events("breaker_opened").size(), 1U);
  EXPECT_EQ(run.events("breaker_closed").size(), 1U);
  EXPECT_EQ(*run.request(1).find("status")->as_number(), 529);
  for (int n = 3; n <= 6; ++n) {
    EXPECT_EQ(run.request(n).string_or("outcome"), "error");
    EXPECT_EQ(run.request(n).string_or("code"), "provider_unavailable");
  }
  EXPECT_EQ(run.request(7).string_or("outcome"), "response");
  EXPECT_EQ(run.request(7).string_or("profile"), "a");
}

TEST(SimulateTest, AGatewaySteersByRemainingQuotaBeforeA429) {
  const Simulation run("gateway_20_keys.json");
  EXPECT_EQ(run.requests(), 30U);
  for (const Value* v : run.events("verdict")) {
    EXPECT_NE(v->find("verdict")->string_or("kind"), "rate_limited");
  }
  for (int n = 11; n <= 30; ++n) EXPECT_EQ(run.request(n).string_or("profile"), "k10");
}

TEST(SimulateTest, AStickySessionSurvivesAFailoverAndRepins) {
  const Simulation run("sticky_sessions.json");
  for (int n : {1, 3, 5, 7, 9}) EXPECT_EQ(run.request(n).string_or("profile"), "a");
  // Other traffic rotates meanwhile.
  EXPECT_NE(run.request(2).string_or("profile"), run.request(4).string_or("profile"));
  ASSERT_EQ(run.events("failover").size(), 1U);
  const std::string moved{run.request(11).string_or("profile")};
  EXPECT_NE(moved, "a");
  for (int n : {13, 14, 15}) EXPECT_EQ(run.request(n).string_or("profile"), moved);
}

TEST(SimulateTest, AnAnthropicLoginIsRefreshedAndTheKeyBehindItIsNotNeeded) {
  const Simulation run("anthropic_oauth.json");
  EXPECT_EQ(run.events("refresh_succeeded").size(), 1U);
  EXPECT_TRUE(run.events("failover").empty());
  EXPECT_EQ(run.request(1).string_or("profile"), "login");
  EXPECT_EQ(run.request(2).string_or("profile"), "login");
  EXPECT_EQ(*run.request(2).find("status")->as_number(), 200);
}

TEST(SimulateTest, RefusesAScenarioItCannotRun) {
  std::ostringstream out;
  EXPECT_THROW(cli::sim::run("{}", out), cli::sim::ScenarioError);
  EXPECT_THROW(cli::sim::run(R"({"provider":"nobody","profiles":[]})", out),
               cli::sim::ScenarioError);
  EXPECT_THROW(cli::sim::run("not json", out), cli::sim::ScenarioError);
}

std::string refusal(std::string_view scenario) {
  std::ostringstream out;
  try {
    (void)cli::sim::run(scenario, out);
  } catch (const cli::sim::ScenarioError& e) {
    return e.what();
  }
  return "(accepted)";
}

constexpr std::string_view kSeedHead = R"({
  "profiles": [{"name": "work", "kind": "oauth", "token": "sim-access-work-0123456789-0000"}],
  "api": [{"token": "sim-access-work-0123456789-0000", "status": 401}],
  "requests": [{"at_s": 0, "name": "first"}, {"at_s": 10}])";

std::vector<std::string> failures(std::string_view expect) {
  std::ostringstream out;
  return cli::sim::run(std::string{kSeedHead} + ",\n  \"expect\": " + std::string{expect} + "}",
                       out);
}

TEST(SimulateTest, RefusesAnUnknownKeyNamingItsPathAndLine) {
  const std::string typo = refusal(R"({
  "profiles": [{"name": "a", "token": "key-a"}],
  "requests": [{"att": 5}]
})");
  EXPECT_NE(typo.find("requests[0].att"), std::string::npos) << typo;
  EXPECT_NE(typo.find("line 3"), std::string::npos) << typo;
  EXPECT_NE(typo.find("at_s"), std::string::npos) << typo;  // what it could have meant
  const std::string header = refusal(R"({"profiles": [{"name": "a", "token": "key-a"}],
    "api": [{"status": 429, "header": {"retry-after": "5"}}]})");
  EXPECT_NE(header.find("api[0].header"), std::string::npos) << header;
  EXPECT_NE(header.find("line 2"), std::string::npos) << header;
  EXPECT_NE(refusal(R"({"profiles": [{"name": "a", "token": "k"}], "expect": {"evnts": {}}})")
                .find("expect.evnts"),
            std::string::npos);
}

TEST(SimulateTest, RefusesABadValueNamingItsPath) {
  const std::string status = refusal(R"({"profiles": [{"name": "a", "token": "key-a"}],
    "api": [{"status": "429"}]})");
  EXPECT_NE(status.find("api[0].status"), std::string::npos) << status;
  EXPECT_NE(status.find("number"), std::string::npos) << status;
  EXPECT_NE(refusal(R"({"profiles": {"name": "a"}})").find("profiles"), std::string::npos);
  EXPECT_NE(refusal(R"({"profiles": [{"name": "a", "token": "k"}], "requests": [{"count": -1}]})")
                .find("requests[0].count"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"profiles": [{"name": "a", "token": "k"}],
    "expect": {"requests": {"first": {"code": "no_such_code"}}}})")
                .find("expect.requests.first.code"),
            std::string::npos);
}

TEST(SimulateTest, AnExpectationThatHoldsPasses) {
  EXPECT_EQ(failures(R"({"events": {"refresh_succeeded": 1, "needs_reauth": 0,
                                    "verdict": {"work": 3}},
                         "final": {"work": "ready"},
                         "requests": {"first": {"outcome": "response", "status": 200,
                                                "profile": "work"},
                                      "2": {"status": 200}},
                         "never": ["attempt_in_cooldown", "secret_in_output"]})"),
            std::vector<std::string>{});
}

TEST(SimulateTest, AFailedExpectationIsADiffOfExpectedAndGot) {
  const auto got = failures(R"({"events": {"refresh_succeeded": 2, "verdict": {"work": 1}},
                                "final": {"work": "cooling"},
                                "requests": {"first": {"status": 401}, "9": {"status": 200}}})");
  const std::vector<std::string> want{
      "expect.events.refresh_succeeded: expected 2, got 1",
      "expect.events.verdict.work: expected 1, got 3",
      "expect.final.work: expected \"cooling\", got \"ready\"",
      "expect.requests.first.status: expected 401, got 200",
      "expect.requests.9: expected a request 9, got 2 requests",
  };
  EXPECT_EQ(got, want);
}

TEST(SimulateTest, TheSecretRuleCatchesATokenInTheOutput) {
  // A profile named after its own token puts the token in every line about it.
  std::ostringstream out;
  const auto got = cli::sim::run(R"({"profiles": [{"name": "key-0123456789-abcdef",
    "token": "key-0123456789-abcdef"}], "requests": [{"at_s": 0}],
    "expect": {"never": ["secret_in_output"]}})",
                                 out);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_NE(got[0].find("expect.never.secret_in_output: expected no secret"), std::string::npos)
      << got[0];
  EXPECT_EQ(got[0].find("key-0123456789-abcdef"), std::string::npos) << got[0];
}

TEST(SimulateTest, TheCooldownRuleCatchesAnAttemptInsideTheWindow) {
  const std::string output =
      R"({"at":"2026-01-01T00:00:00Z","event":"cooldown_entered","profile":"a","until":"2026-01-01T00:00:30Z"})"
      "\n"
      R"({"at":"2026-01-01T00:00:10Z","event":"attempt","profile":"a","until":null})"
      "\n"
      R"({"at":"2026-01-01T00:00:30Z","event":"attempt","profile":"a","until":null})"
      "\n";
  const auto expect = detail::json::parse(R"({"never": ["attempt_in_cooldown"]})");
  ASSERT_TRUE(expect);
  EXPECT_EQ(cli::sim::check(*expect, output, {}),
            std::vector<std::string>{
                "expect.never.attempt_in_cooldown: expected no attempt on a profile inside its "
                "cooldown, got profile 'a' at 2026-01-01T00:00:10Z (cooling until "
                "2026-01-01T00:00:30Z)"});
  // A panic probe is the documented exception.
  const std::string probed =
      R"({"at":"2026-01-01T00:00:00Z","event":"cooldown_entered","profile":"a","until":"2026-01-01T00:00:30Z"})"
      "\n"
      R"({"at":"2026-01-01T00:00:10Z","event":"panic","profile":"a","until":"2026-01-01T00:00:30Z"})"
      "\n"
      R"({"at":"2026-01-01T00:00:10Z","event":"attempt","profile":"a","until":null})"
      "\n";
  EXPECT_EQ(cli::sim::check(*expect, probed, {}), std::vector<std::string>{});
}

TEST(SimulateTest, EveryShippedScenarioAssertsAndHolds) {
  for (const char* name :
       {"seed.json", "seed_dead_token.json", "all_rate_limited.json", "overloaded.json",
        "gateway_20_keys.json", "anthropic_oauth.json", "sticky_sessions.json"}) {
    std::ifstream file(std::string{KEYWARD_FIXTURE_DIR} + "/../../examples/scenarios/" + name);
    std::ostringstream text;
    text << file.rdbuf();
    const auto doc = detail::json::parse(text.str());
    ASSERT_TRUE(doc) << name;
    const Value* expect = doc->find("expect");
    ASSERT_NE(expect, nullptr) << name << " has no expect block";
    EXPECT_NE(expect->find("never"), nullptr) << name;
    std::ostringstream out;
    EXPECT_EQ(cli::sim::run(text.str(), out), std::vector<std::string>{}) << name;
  }
}

}  // namespace
}  // namespace keyward
