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

}  // namespace
}  // namespace keyward
