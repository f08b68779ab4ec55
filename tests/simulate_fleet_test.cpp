// `keyward simulate` fleets (docs/simulate.md, "Fleets"): the simulated store keeps
// store::Redis's semantics on virtual time, the token endpoint rotates and revokes on reuse, and
// a fleet of real ResilientCredentials over them refreshes once per expiry.
#include "cli/simulate_fleet.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/simulate.hpp"

namespace keyward {
namespace {

using cli::sim::fleet::kStart;
using cli::sim::fleet::Ms;
using cli::sim::fleet::Scheduler;
using cli::sim::fleet::SimStore;
using cli::sim::fleet::StoreState;
using Script = std::function<void(SimStore&, Scheduler&, std::size_t)>;

// Runs one script per instance over one simulated store, each starting at its time.
struct Harness {
  Scheduler sched;
  std::shared_ptr<StoreState> store = std::make_shared<StoreState>();

  explicit Harness(std::size_t n) : sched(n) {
    store->scheduler = &sched;
    store->calls.assign(n, 0);
    store->credential = login("0001");
    store->generation = 1;
  }
  static Credential login(const std::string& serial) {
    return Credential::oauth("sim-access-test-0123456789-" + serial,
                             "sim-refresh-test-0123456789-" + serial,
                             kStart + std::chrono::hours{1});
  }
  void run(const std::vector<std::pair<Ms, Script>>& scripts, Ms end = Ms{3600000}) {
    std::vector<TimePoint> start;
    for (const auto& s : scripts) start.push_back(kStart + s.first);
    sched.run(
        start, kStart + end,
        [&](std::size_t id) {
          SimStore handle{store, id};
          scripts[id].second(handle, sched, id);
        },
        [](TimePoint) {});
  }
  [[nodiscard]] Ms now() const { return std::chrono::duration_cast<Ms>(sched.now() - kStart); }
};

TEST(SimFleetStoreTest, ALeaseOfADeadHolderIsTakenByTheNextWhenItsTtlRunsOut) {
  Harness h(2);
  std::uint64_t fence0 = 0, fence1 = 0;
  Ms got_at{0};
  h.sched.slot(0).crash_at = kStart + Ms{500};
  h.run({{Ms{0},
          [&](SimStore& s, Scheduler& sched, std::size_t id) {
            auto lease = s.lease(Ms{30000});
            fence0 = lease->fence();
            for (;;) sched.sleep_until(id, sched.now() + Ms{100});  // dies holding it
          }},
         {Ms{1000}, [&](SimStore& s, Scheduler&, std::size_t) {
            auto lease = s.lease(Ms{30000});
            ASSERT_TRUE(lease && lease->held());
            fence1 = lease->fence();
            got_at = h.now();
          }}});
  EXPECT_EQ(fence0, 1U);
  EXPECT_EQ(fence1, 2U);  // fencing tokens only grow
  // Taken once the ttl (15 s) ran out from the last renewal before the crash, not before.
  EXPECT_GE(got_at, Ms{15000});
  EXPECT_LT(got_at, Ms{15400});
  EXPECT_EQ(h.sched.crashes, 1U);
}

TEST(SimFleetStoreTest, ALiveHoldersLeaseIsRenewedAndAWaiterGivesUpAtItsDeadline) {
  Harness h(2);
  bool held = false, valid = false;
  Ms gave_up{0};
  h.run({{Ms{0},
          [&](SimStore& s, Scheduler& sched, std::size_t id) {
            auto lease = s.lease(Ms{30000});
            sched.sleep_until(id, sched.now() + Ms{60000});  // a slow token call, alive
            valid = lease->valid();
          }},
         {Ms{1000}, [&](SimStore& s, Scheduler&, std::size_t) {
            auto lease = s.lease(Ms{30000});
            held = lease && lease->held();
            gave_up = h.now();
          }}});
  EXPECT_FALSE(held);
  EXPECT_GE(gave_up, Ms{31000});
  EXPECT_LT(gave_up, Ms{31400});
  EXPECT_TRUE(valid);
}

TEST(SimFleetStoreTest, AHolderCutOffLosesItsLeaseAndItsWriteIsFenced) {
  Harness h(2);
  h.store->options.partitions.push_back({kStart + Ms{1000}, kStart + Ms{40000}, {0}, true, Ms{0}});
  bool valid = true;
  std::optional<Errc> write;
  std::uint64_t fence1 = 0;
  h.run({{Ms{0},
          [&](SimStore& s, Scheduler& sched, std::size_t id) {
            auto lease = s.lease(Ms{30000});
            sched.sleep_until(id, sched.now() + Ms{41000});
            valid = lease->valid();
            auto cas = s.compare_and_swap(1, Harness::login("0002"));
            if (!cas) write = static_cast<Errc>(cas.error().code.value());
          }},
         {Ms{2000}, [&](SimStore& s, Scheduler& sched, std::size_t id) {
            auto lease = s.lease(Ms{30000});
            ASSERT_TRUE(lease && lease->held());
            fence1 = lease->fence();
            sched.sleep_until(id, sched.now() + Ms{60000});
          }}});
  EXPECT_FALSE(valid);  // the renewal at 5 s failed
  EXPECT_EQ(fence1, 2U);
  EXPECT_EQ(write, Errc::store_unavailable);
  EXPECT_EQ(h.store->generation, 1U);  // nothing written
  EXPECT_EQ(h.store->fenced_writes, 1U);
}

TEST(SimFleetStoreTest, ACompareAndSwapPublishesAndWakesAWaiterAtOnce) {
  Harness h(2);
  h.store->options.poll = Ms{10000};  // only the notification can wake it early
  bool held = true;
  Ms returned{0};
  std::optional<Errc> stale;
  h.run({{Ms{0},
          [&](SimStore& s, Scheduler& sched, std::size_t id) {
            auto lease = s.lease(Ms{30000});
            sched.sleep_until(id, sched.now() + Ms{3000});
            ASSERT_TRUE(s.compare_and_swap(1, Harness::login("0002")));
            auto again = s.compare_and_swap(1, Harness::login("0003"));
            if (!again) stale = static_cast<Errc>(again.error().code.value());
            sched.sleep_until(id, sched.now() + Ms{5000});  // still holding the lease
          }},
         {Ms{1000}, [&](SimStore& s, Scheduler&, std::size_t) {
            auto lease = s.lease(Ms{30000});
            held = lease && lease->held();
            returned = h.now();
          }}});
  EXPECT_FALSE(held);  // a new generation: the caller adopts it
  EXPECT_LT(returned, Ms{3100});
  EXPECT_EQ(stale, Errc::store_conflict);
  EXPECT_EQ(h.store->generation, 2U);
}

TEST(SimFleetStoreTest, ARestartLosesTheCredentialAndALeaseAndRefusesMarksForATtl) {
  Harness h(1);
  std::uint64_t generation_after = 99, written = 0, fence = 0;
  std::optional<Errc> fenced_mark, fenced_write, early;
  bool late_ok = false;
  const auto code = [](const Error& e) { return static_cast<Errc>(e.code.value()); };
  h.run({{Ms{0}, [&](SimStore& s, Scheduler& sched, std::size_t id) {
            auto lease = s.lease(Ms{30000});
            h.store->restart();
            generation_after = s.load()->generation;
            // The restart forgot the lease: writes under it are fenced.
            if (auto mark = s.mark_refreshing(1, sched.now()); !mark)
              fenced_mark = code(mark.error());
            if (auto cas = s.compare_and_swap(1, Harness::login("0002")); !cas) {
              fenced_write = code(cas.error());
            }
            lease = SimStore::Lease{};
            auto again = s.lease(Ms{30000});
            fence = again->fence();
            // A token call begun before the restart may still run: no mark for a lease ttl.
            if (auto mark = s.mark_refreshing(1, sched.now()); !mark) early = code(mark.error());
            sched.sleep_until(id, sched.now() + Ms{16000});
            late_ok = static_cast<bool>(s.mark_refreshing(1, sched.now()));
            auto cas = s.compare_and_swap(1, Harness::login("0002"));
            written = cas ? *cas : 0;
          }}});
  EXPECT_EQ(generation_after, 0U);
  EXPECT_EQ(fenced_mark, Errc::store_unavailable);
  EXPECT_EQ(fenced_write, Errc::store_unavailable);
  EXPECT_EQ(fence, 1U);  // the fence counter was lost with the rest
  EXPECT_EQ(early, Errc::refresh_failed);
  EXPECT_TRUE(late_ok);
  EXPECT_EQ(written, 2U);  // generations continue from what the writer knew
}

std::string scenario(const std::string& extra) {
  return R"({"instances": 40, "seed": 5, "hours": 6, "requests": {"every_s": 120})" + extra + "}";
}

cli::sim::fleet::FleetReport run_text(const std::string& text) {
  const auto doc = detail::json::parse(text);
  EXPECT_TRUE(doc);
  return cli::sim::fleet::run_fleet(cli::sim::fleet::read_fleet(*doc, text));
}

TEST(SimFleetTest, AFleetRefreshesOncePerExpiryThroughCrashesAndARestart) {
  const auto report =
      run_text(scenario(R"(, "crashes": {"per_hour": 0.05}, "store": {"restarts_s": [9000]})"));
  const auto& f = report.figures;
  EXPECT_EQ(f.at("expiries"), 6);
  EXPECT_EQ(f.at("token_calls"), f.at("expiries")) << report.line;
  EXPECT_EQ(f.at("spent_presented"), 0) << report.line;
  EXPECT_EQ(f.at("grants_revoked"), 0) << report.line;
  EXPECT_EQ(f.at("crashes"), 12) << report.line;
  EXPECT_EQ(f.at("store_restarts"), 1) << report.line;
  EXPECT_EQ(f.at("errors"), 0) << report.line;
  EXPECT_LT(f.at("longest_wait_ms"), f.at("wait_bound_ms")) << report.line;
  EXPECT_GT(f.at("event_credential_adopted"), 30) << report.line;  // the others adopt
}

TEST(SimFleetTest, ARunIsDeterministicForASeed) {
  const std::string text =
      scenario(R"(, "crashes": {"per_hour": 0.05, "in_refresh": 2}, "clock_skew_ms": 5000)");
  EXPECT_EQ(run_text(text).line, run_text(text).line);
  EXPECT_NE(
      run_text(text).line,
      run_text(scenario(R"(, "seed": 6, "crashes": {"per_hour": 0.05, "in_refresh": 2})")).line);
}

TEST(SimFleetTest, AHolderKilledWhileItsLeaseIsHeldDelaysOnlyUpToTheTtl) {
  // Killed after the re-read, before the token call: its lease is left to expire, and the next
  // instance refreshes once the ttl has run out.
  const auto report = run_text(scenario(R"(, "crashes": {"in_refresh": 1, "point": 2})"));
  const auto& f = report.figures;
  EXPECT_EQ(f.at("crashes"), 1);
  EXPECT_EQ(f.at("crashes_in_window"), 0);
  EXPECT_EQ(f.at("token_calls"), f.at("expiries")) << report.line;
  EXPECT_EQ(f.at("grants_revoked"), 0);
  EXPECT_GE(f.at("longest_wait_ms"), 10000) << report.line;  // a request waited for the lease
  EXPECT_LT(f.at("longest_wait_ms"), f.at("wait_bound_ms")) << report.line;
}

TEST(SimFleetTest, AKillInsideTheWindowCostsTheLoginOnceAndIsCounted) {
  // Killed after the token endpoint rotated and before the store held the result
  // (docs/fleets.md, "What a crash can cost"): the next instance presents the spent refresh
  // token once, the grant is revoked, and the simulation says so.
  const auto report = run_text(scenario(R"(, "crashes": {"in_refresh": 1, "point": 6})"));
  const auto& f = report.figures;
  EXPECT_EQ(f.at("crashes_in_window"), 1) << report.line;
  EXPECT_EQ(f.at("spent_presented"), 1) << report.line;
  EXPECT_EQ(f.at("grants_revoked"), 1) << report.line;
  EXPECT_GT(f.at("needs_reauth_at_end"), 0) << report.line;
}

TEST(SimFleetTest, ACutOffStoreNeverLetsTwoInstancesRedeemOneToken) {
  // Every instance's store calls dropped for two minutes across the first refresh, and half of
  // them delayed by 3 s for the next hour.
  const auto report = run_text(
      scenario(R"(, "store": {"partitions": [{"from_s": 3240, "to_s": 3360, "drop": true},)"
               R"( {"from_s": 3360, "to_s": 7200, "share": 0.5, "delay_ms": 3000}]})"));
  const auto& f = report.figures;
  EXPECT_EQ(f.at("spent_presented"), 0) << report.line;
  EXPECT_EQ(f.at("grants_revoked"), 0) << report.line;
  EXPECT_EQ(f.at("token_calls"), f.at("expiries")) << report.line;
}

TEST(SimFleetTest, AScenarioWithInstancesRunsThroughSimulateAndAssertsItsFigures) {
  std::ostringstream out;
  const auto failed =
      cli::sim::run(scenario(R"(, "expect": {"grants_revoked": 0, "extra_token_calls": 0,)"
                             R"( "longest_wait_ms_at_most": 30000, "token_calls": 99})"),
                    out);
  EXPECT_EQ(failed, std::vector<std::string>{"expect.token_calls: expected 99, got 6"});
  std::istringstream lines(out.str());
  std::string report, status;
  std::getline(lines, report);
  std::getline(lines, status);
  EXPECT_TRUE(report.starts_with("{\"fleet\":{")) << report;
  EXPECT_TRUE(status.starts_with("{\"status\":{")) << status;
  EXPECT_EQ(out.str().find("sim-refresh-fleet"), std::string::npos);  // no secret
}

TEST(SimFleetTest, AnUnknownKeyOrABadValueIsRefusedWithItsLineAndPath) {
  std::ostringstream out;
  try {
    cli::sim::run("{\"instances\": 3,\n \"crashes\": {\"per_hr\": 0.01}}", out);
    ADD_FAILURE() << "accepted";
  } catch (const cli::sim::ScenarioError& e) {
    EXPECT_NE(std::string{e.what()}.find("line 2: crashes.per_hr: unknown key"), std::string::npos)
        << e.what();
  }
  try {
    cli::sim::run(R"({"instances": 3, "expect": {"grant_revoked": 0}})", out);
    ADD_FAILURE() << "accepted";
  } catch (const cli::sim::ScenarioError& e) {
    EXPECT_NE(std::string{e.what()}.find("expect.grant_revoked: unknown key"), std::string::npos)
        << e.what();
  }
  try {
    cli::sim::run(R"({"instances": 0})", out);
    ADD_FAILURE() << "accepted";
  } catch (const cli::sim::ScenarioError& e) {
    EXPECT_NE(std::string{e.what()}.find("instances: must be at least 1"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(out.str(), "");
}

TEST(SimFleetTest, TheShippedFleetScenarioAssertsAndHolds) {
  std::ifstream file(std::string{KEYWARD_FIXTURE_DIR} + "/../../examples/scenarios/fleet.json");
  std::ostringstream text;
  text << file.rdbuf();
  ASSERT_FALSE(text.str().empty());
  const auto doc = detail::json::parse(text.str());
  ASSERT_TRUE(doc && doc->find("expect"));
  std::ostringstream out;
  EXPECT_EQ(cli::sim::run(text.str(), out), std::vector<std::string>{}) << out.str();
}

}  // namespace
}  // namespace keyward
