// The scenarios of examples/scenarios/ run through `keyward simulate`'s engine (the real pool on
// virtual time), with assertions on their events and request outcomes (docs/simulate.md).
#include "cli/simulate.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
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
                                "token_calls": 2,
                                "final": {"work": "cooling"},
                                "requests": {"first": {"status": 401}, "9": {"status": 200}}})");
  const std::vector<std::string> want{
      "expect.events.refresh_succeeded: expected 2, got 1",
      "expect.events.verdict.work: expected 1, got 3",
      "expect.token_calls: expected 2, got 1",
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
        "gateway_20_keys.json", "anthropic_oauth.json", "sticky_sessions.json",
        "transport_faults.json", "google.json", "rfc6750.json", "oauth_token_endpoint.json",
        "overlapping_expiry.json"}) {
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

// ---- Faults, methods and headers, answer counts, every provider (docs/simulate.md) ----

const Value* named(const Simulation& run, std::string_view name) {
  for (const Value& v : run.lines) {
    if (v.find("request") != nullptr && v.string_or("name") == name) return &v;
  }
  return nullptr;
}

TEST(SimulateTest, ATimedOutPostIsResentOnlyWithAnIdempotencyKey) {
  const Simulation run("transport_faults.json");
  const Value* post = named(run, "post");
  ASSERT_NE(post, nullptr);
  EXPECT_EQ(post->string_or("code"), "transport_failed");
  // The transport's own failure, and the 30 s it took, are in the request's outcome.
  EXPECT_NE(post->string_or("message").find("timeout"), std::string::npos)
      << post->string_or("message");
  EXPECT_EQ(post->string_or("at"), "2026-01-01T00:00:30Z");
  for (const char* resent : {"post_with_key", "refused", "tls", "get"}) {
    const Value* v = named(run, resent);
    ASSERT_NE(v, nullptr) << resent;
    EXPECT_EQ(v->string_or("outcome"), "response") << resent;
    EXPECT_EQ(*v->find("status")->as_number(), 200) << resent;
  }
  EXPECT_EQ(run.events("retry").size(), 4U);
  EXPECT_TRUE(run.events("cooldown_entered").empty());
}

TEST(SimulateTest, ARuleWithTimesAnswersThatManyRequests) {
  std::ostringstream out;
  const auto failed =
      cli::sim::run(R"({"profiles": [{"name": "a", "token": "sim-key-a-0123456789"}],
    "api": [{"status": 400, "times": 2}],
    "requests": [{"at_s": 0, "count": 4, "every_s": 1}],
    "expect": {"requests": {"1": {"status": 400}, "2": {"status": 400},
                            "3": {"status": 200}, "4": {"status": 200}}}})",
                    out);
  EXPECT_EQ(failed, std::vector<std::string>{}) << out.str();
}

TEST(SimulateTest, AGoogleLoginRefreshesAndFailsOverToAnApiKey) {
  const Simulation run("google.json");
  EXPECT_EQ(run.events("refresh_succeeded").size(), 1U);
  EXPECT_EQ(named(run, "refreshed")->string_or("profile"), "login");
  EXPECT_EQ(named(run, "failed_over")->string_or("profile"), "key");
  EXPECT_EQ(named(run, "back")->string_or("profile"), "login");
}

TEST(SimulateTest, AnRfc6750ApiRefreshesOnInvalidTokenButNotOnInsufficientScope) {
  const Simulation run("rfc6750.json");
  EXPECT_EQ(run.events("refresh_succeeded").size(), 1U);
  EXPECT_EQ(*named(run, "scope")->find("status")->as_number(), 403);
  EXPECT_EQ(*named(run, "after")->find("status")->as_number(), 200);
}

TEST(SimulateTest, ASlowFailingTokenEndpointAndAnOAuthReplacement) {
  const Simulation run("oauth_token_endpoint.json");
  // Each token call takes 2 s of virtual time (a timeout 10 s): the recovered request is
  // answered 2 s after it was made.
  EXPECT_EQ(named(run, "recovered")->string_or("at"), "2026-01-01T01:01:42Z");
  EXPECT_EQ(named(run, "timed_out")->string_or("at"), "2026-01-01T01:00:20Z");
  EXPECT_EQ(named(run, "endpoint_down")->string_or("outcome"), "error");
  EXPECT_EQ(named(run, "timed_out")->string_or("outcome"), "error");
  EXPECT_EQ(run.events("needs_reauth").size(), 1U);
  EXPECT_EQ(named(run, "replaced")->string_or("outcome"), "response");
  EXPECT_EQ(named(run, "refreshed_again")->string_or("outcome"), "response");
  EXPECT_TRUE(run.events("cooldown_entered").empty());
}

std::string simulated(std::string_view scenario) {
  std::ostringstream out;
  EXPECT_EQ(cli::sim::run(scenario, out), std::vector<std::string>{});
  return out.str();
}

TEST(SimulateTest, OverlappingRequestsAtAnExpiryMakeOneTokenCallAndAreAllServed) {
  const Simulation run("overlapping_expiry.json");
  EXPECT_EQ(run.events("refresh_started").size(), 2U);
  std::size_t served = 0;
  for (const Value& v : run.lines) {
    served += v.find("request") != nullptr && v.string_or("outcome") == "response" ? 1U : 0U;
  }
  EXPECT_EQ(served, 14U);
  // The 401s came back while the others were in flight: more were rejected than refreshed.
  std::size_t rejected = 0;
  for (const Value* v : run.events("verdict")) {
    rejected += v->find("verdict")->string_or("kind") == "unauthenticated" ? 1U : 0U;
  }
  EXPECT_GT(rejected, 1U);
}

std::string with_seed(int seed) {
  return R"({"seed": )" + std::to_string(seed) + R"(,
    "profiles": [{"name": "a", "token": "sim-key-a-0123456789"},
                 {"name": "b", "token": "sim-key-b-0123456789"}],
    "pool": {"selection": "round_robin"},
    "api": [{"profile": "a", "latency_s": 1}, {"profile": "b", "latency_s": 2}],
    "requests": [{"at_s": 5, "count": 6, "overlap": true}]})";
}

std::vector<std::string> request_lines(const std::string& output) {
  std::vector<std::string> out;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"request\":") != std::string::npos) out.push_back(line);
  }
  return out;
}

TEST(SimulateTest, TheSameSeedGivesTheSameReportAndSeedsInterleaveDifferently) {
  const std::string first = simulated(with_seed(3));
  EXPECT_EQ(simulated(with_seed(3)), first);
  ASSERT_EQ(request_lines(first).size(), 6U);
  std::set<std::string> orders;
  for (int seed = 1; seed <= 8; ++seed) {
    std::string order;
    for (const std::string& line : request_lines(simulated(with_seed(seed)))) {
      order += line.substr(line.find("\"request\":"), 12) + line.substr(line.find("profile"));
    }
    orders.insert(order);
  }
  EXPECT_GT(orders.size(), 1U);
  // Overlapping requests answer when their latency says, not one after the other.
  for (const std::string& line : request_lines(first)) {
    EXPECT_TRUE(line.find("00:00:06Z") != std::string::npos ||
                line.find("00:00:07Z") != std::string::npos)
        << line;
  }
}

TEST(SimulateTest, AtOneInstantTheBatchComesAfterTheOtherSteps) {
  const auto lines =
      request_lines(simulated(R"({"profiles": [{"name": "a", "token": "sim-key-a-0123456789"}],
    "requests": [{"at_s": 5, "count": 2, "overlap": true, "name": "together"},
                 {"at_s": 5, "name": "alone"}],
    "expect": {"requests": {"1": {"status": 200}, "alone": {"status": 200}}}})"));
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_NE(lines[0].find(R"("request":1,"name":"alone")"), std::string::npos) << lines[0];
  for (const std::string& line : {lines[1], lines[2]}) {
    EXPECT_NE(line.find(R"("name":"together")"), std::string::npos) << line;
  }
}

TEST(SimulateTest, RefusesAMisspeltOrBadFaultKeyNamingItsPathAndLine) {
  const std::string head = R"({"profiles": [{"name": "a", "token": "k"}],
)";
  const auto refused = [&](std::string_view rest, std::string_view path, std::string_view what) {
    const std::string got = refusal(head + std::string{rest} + "}");
    EXPECT_NE(got.find(path), std::string::npos) << got;
    EXPECT_NE(got.find(what), std::string::npos) << got;
    EXPECT_NE(got.find("line 2"), std::string::npos) << got;
  };
  refused(R"("api": [{"fail": "timout"}])", "api[0].fail", "must be one of connect, other");
  refused(R"("api": [{"failure": "timeout"}])", "api[0].failure", "fail");
  refused(R"("api": [{"times": 0}])", "api[0].times", "at least 1");
  refused(R"("api": [{"latency_s": -1}])", "api[0].latency_s", "at least 0");
  refused(R"("token_endpoint": {"latency": 2})", "token_endpoint.latency", "latency_s");
  refused(R"("token_endpoint": {"answers": [{"fail": 1}]})", "token_endpoint.answers[0].fail",
          "a string");
  refused(R"("requests": [{"method": "post"}])", "requests[0].method", "must be one of");
  refused(R"("requests": [{"header": {"Idempotency-Key": "x"}}])", "requests[0].header", "headers");
  refused(R"("requests": [{"headers": {"Idempotency-Key": 42}}])",
          "requests[0].headers.Idempotency-Key", "a string");
  refused(R"("requests": [{"overlap": "yes"}])", "requests[0].overlap", "true or false");
  refused(R"("seed": -3)", "seed", "at least 0");
  refused(R"("expect": {"token_calls": -1})", "expect.token_calls", "at least 0");
  refused(R"("expect": {"token_call": 1})", "expect.token_call", "token_calls");
  refused(R"("replace": [{"kind": "oath"}])", "replace[0].kind", "api_key, oauth");
  refused(R"("replace": [{"refresh": "x"}])", "replace[0].refresh", "refresh_token");
  refused(R"("provider": "gogle")", "provider", "google");
}

}  // namespace
}  // namespace keyward
