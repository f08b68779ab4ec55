// Crash trials for the stores' fleet tests: a process refreshing one login is killed (SIGKILL) at
// a random moment of its lease, marker, token call, persist and release; then later processes
// use the same login. Every trial checks what a crash may cost:
//
// - killed before the server rotated, or after the new tokens were stored: nothing. The later
//   processes all get through, with at most one more token call, and the grant is never revoked
//   (a revocation here would be a silent reuse of a spent refresh token);
// - killed after the server rotated and before the new tokens were stored (the window no client
//   can close): the spent refresh token is presented at most once more by all later processes
//   together, and each of them is refused honestly.
//
// KEYWARD_CRASH_TRIALS sets the number of trials (default 10), KEYWARD_CRASH_SEED the seed.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "keyward/credential.hpp"
#include "store/fleet_server.hpp"
#include "support/processes.hpp"

namespace keyward::testing {

/// How the trials ended, by where the kill fell.
struct CrashTally {
  int finished = 0;  // the process had finished before the kill
  int before_rotation = 0;
  int in_window = 0;      // the server rotated; the store still held the spent token
  int after_persist = 0;  // the new tokens were stored
  int later_presentations_in_window = 0;  // spent-token presentations by later processes
  int silent_reuse = 0;                   // a revoked grant outside the window
};

inline int trial_count() {
  const char* count = std::getenv("KEYWARD_CRASH_TRIALS");
  return count != nullptr ? std::max(1, std::atoi(count)) : 10;
}

/// Runs the trials. `where` is the store argument of keyward_store_child; `reset()` empties the
/// store and the server file; `load()` returns the store's credential (a Result<Stored>).
template <class Reset, class Load, class Seed>
CrashTally run_crash_trials(const std::string& where, const std::string& server_file, Reset reset,
                            Load load, Seed seed_store) {
  const std::string child = KEYWARD_STORE_CHILD;
  const std::string profile = "anthropic:work";
  ::setenv("KEYWARD_FLEET_TOKEN_MS", "20", 1);  // a token call long enough to be killed in
  ::setenv("KEYWARD_CHILD_LEASE_MS", "300", 1);

  const auto fresh = [&] {
    reset();
    const auto tokens = FleetServer{server_file}.login();
    seed_store(Credential::oauth(tokens.access, tokens.refresh,
                                 std::chrono::system_clock::now() - std::chrono::hours{1}));
  };
  const auto start = [&] { return spawn({child, where, profile, server_file}, true); };

  // One undisturbed run tells how long a refreshing process lives here.
  fresh();
  const auto began = std::chrono::steady_clock::now();
  EXPECT_EQ(wait_exit(start()), 0);
  const auto lifetime = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - began);

  const char* seed_text = std::getenv("KEYWARD_CRASH_SEED");
  const unsigned seed = seed_text != nullptr
                            ? static_cast<unsigned>(std::strtoul(seed_text, nullptr, 10))
                            : std::random_device{}();
  std::mt19937 random{seed};
  std::uniform_int_distribution<long> delay{0, lifetime.count() * 6 / 5};

  CrashTally tally;
  const int trials = trial_count();
  for (int trial = 0; trial < trials; ++trial) {
    fresh();
    const pid_t victim = start();
    std::this_thread::sleep_for(std::chrono::microseconds{delay(random)});
    ::kill(victim, SIGKILL);
    const int code = wait_exit(victim);
    const FleetState at_kill = FleetServer{server_file}.state();
    auto stored = load();
    if (!stored) {
      ADD_FAILURE() << "the store cannot be read after a kill: " << stored.error().message;
      continue;
    }
    const bool window = code != 0 && at_kill.issued > 1 &&
                        stored->credential.refresh_token.reveal() != at_kill.refresh;
    if (code == 0) {
      ++tally.finished;
    } else if (at_kill.issued == 1) {
      ++tally.before_rotation;
    } else if (window) {
      ++tally.in_window;
    } else {
      ++tally.after_persist;
    }

    // Later processes: three at once, then one more.
    std::vector<pid_t> later{start(), start(), start()};
    std::vector<int> codes;
    for (const pid_t pid : later) codes.push_back(wait_exit(pid));
    codes.push_back(wait_exit(start()));
    const FleetState after = FleetServer{server_file}.state();
    const int presentations = after.refresh_calls - at_kill.refresh_calls;
    const std::string where_killed = "trial " + std::to_string(trial) + " (seed " +
                                     std::to_string(seed) + "), killed " +
                                     (code == 0 ? "after finishing"
                                      : window  ? "in the window"
                                                : "outside the window");
    if (window) {
      tally.later_presentations_in_window += presentations;
      EXPECT_LE(presentations, 1) << where_killed << ": the spent token was presented again";
      EXPECT_EQ(codes, std::vector<int>(4, 1)) << where_killed;
    } else {
      if (after.revoked) ++tally.silent_reuse;
      EXPECT_FALSE(after.revoked) << where_killed << ": a spent refresh token was reused";
      EXPECT_EQ(codes, std::vector<int>(4, 0)) << where_killed;
      EXPECT_LE(presentations, 1) << where_killed;
    }
  }
  std::cout << "crash trials (" << where.substr(0, 8) << "…, seed " << seed << ", " << trials
            << " trials, lifetime " << lifetime.count() << " us): finished " << tally.finished
            << ", before rotation " << tally.before_rotation << ", in the window "
            << tally.in_window << ", after persist " << tally.after_persist
            << "; later presentations of a spent token " << tally.later_presentations_in_window
            << "; silent reuse " << tally.silent_reuse << "\n";
  return tally;
}

}  // namespace keyward::testing
