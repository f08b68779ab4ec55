// The seam with the seed system's lock, against the real other side: node runs npm
// proper-lockfile 4.1.2 (OpenClaw's lock before 2026-02-13) on a credentials file and updates the
// file under it, round after round, while keyward processes refresh the same expired profile
// against one token endpoint with reuse detection: the fleet tests' child processes, and the
// `keyward get` tool against a real token endpoint on 127.0.0.1. keyward must wait while the lock
// directory exists, never remove it, make one token call and keep what node wrote.
//
// proper-lockfile comes from `bash tools/test.sh`, which installs it with npm into
// build/npm/node_modules (KEYWARD_NPM_MODULES overrides the place); without it, or without node,
// the test is skipped and says why.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "keyward/detail/json.hpp"
#include "keyward/store/file.hpp"
#include "store/fleet_server.hpp"
#include "support/http_servers.hpp"
#include "support/processes.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

fs::path npm_modules() {
  if (const char* place = std::getenv("KEYWARD_NPM_MODULES")) return place;
  return fs::path{KEYWARD_FIXTURE_DIR} / ".." / ".." / "build" / "npm" / "node_modules";
}

bool node_runs() {
  const pid_t pid = testing::spawn({"node", "-e", ""}, true);
  return pid > 0 && testing::wait_exit(pid) == 0;
}

class SeedLockSeam : public ::testing::Test {
 protected:
  static constexpr int kRounds = 3;

  void SetUp() override {
    if (!fs::exists(npm_modules() / "proper-lockfile" / "package.json")) {
      GTEST_SKIP() << "npm proper-lockfile is not installed in " << npm_modules().string()
                   << " (bash tools/test.sh installs it)";
    }
    if (!node_runs()) GTEST_SKIP() << "node is not on PATH";
    std::string pattern = (fs::temp_directory_path() / "keyward-seed-seam-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "auth-profiles.json").string();
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // An expired OAuth profile holding `refresh`.
  void store_expired(const std::string& access, const std::string& refresh) const {
    ASSERT_TRUE(store::File(path_, "anthropic:work", {.provider = "anthropic"})
                    .compare_and_swap(0, Credential::oauth(access, refresh,
                                                           std::chrono::system_clock::now() -
                                                               std::chrono::hours{1})));
  }

  // Starts node's rounds and returns once it holds its first lock.
  void start_node() {
    const std::string ready = (dir_ / "node-ready").string();
    node_ = testing::spawn(
        {"node",
         (fs::path{KEYWARD_FIXTURE_DIR} / ".." / "store" / "proper_lockfile_holder.js").string(),
         npm_modules().string(), path_, std::to_string(kRounds), "400", "150", ready});
    ASSERT_GT(node_, 0);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    int status = 0;
    while (!fs::exists(ready) && std::chrono::steady_clock::now() < deadline) {
      ASSERT_EQ(::waitpid(node_, &status, WNOHANG), 0)
          << "node ended before it took proper-lockfile's lock (its message is above)";
      std::this_thread::sleep_for(5ms);
    }
    ASSERT_TRUE(fs::exists(ready)) << "node did not take proper-lockfile's lock within 10 s";
    EXPECT_TRUE(fs::is_directory(path_ + ".lock"));
  }

  // Four keyward processes (`args`) on the expired profile while node holds its lock: two now,
  // two in the middle of node's rounds. Each must succeed, and so must node.
  void run_keyward_during_node(const std::vector<std::string>& args) const {
    std::vector<pid_t> children;
    for (int i = 0; i < 4; ++i) {
      if (i == 2) std::this_thread::sleep_for(500ms);
      children.push_back(testing::spawn(args));
      ASSERT_GT(children.back(), 0);
    }
    for (const pid_t child : children) EXPECT_EQ(testing::wait_exit(child), 0);
    EXPECT_EQ(testing::wait_exit(node_), 0)
        << "node's side of the seam failed (its message is above)";
  }

  // The file holds `refresh`, no marker, and every round node wrote; `<file>.lock` is gone.
  void expect_file_after(const std::string& refresh) const {
    auto stored = store::File{path_, "anthropic:work"}.load();
    ASSERT_TRUE(stored) << stored.error().message;
    EXPECT_EQ(stored->credential.refresh_token.reveal(), refresh);
    EXPECT_FALSE(stored->refresh_pending);
    // Every round node wrote is still there: keyward re-read the file after each of them.
    std::ifstream in{path_};
    std::stringstream text;
    text << in.rdbuf();
    const auto document = detail::json::parse(text.str());
    ASSERT_TRUE(document);
    const auto* stats = document->find("usageStats");
    ASSERT_NE(stats, nullptr);
    ASSERT_NE(stats->find("node:rounds"), nullptr);
    EXPECT_EQ(stats->find("node:rounds")->as_number().value_or(0), kRounds);
    // Released by node, never created by keyward.
    EXPECT_FALSE(fs::exists(fs::symlink_status(path_ + ".lock")));
  }

  fs::path dir_;
  std::string path_;
  pid_t node_ = -1;
};

TEST_F(SeedLockSeam, FleetProcessesWaitForProperLockfileRefreshOnceAndKeepItsWrites) {
  const std::string server_file = (dir_ / "server").string();
  const auto tokens = testing::FleetServer{server_file}.login();
  store_expired(tokens.access, tokens.refresh);
  start_node();
  run_keyward_during_node({KEYWARD_STORE_CHILD, path_, "anthropic:work", server_file});
  const auto server = testing::FleetServer{server_file}.state();
  EXPECT_EQ(server.refresh_calls, 1);
  EXPECT_FALSE(server.revoked);
  expect_file_after(server.refresh);
}

// The same with the real parts: `keyward get` (libcurl, the Anthropic bundle's OAuth refresh)
// against a token endpoint on 127.0.0.1 that revokes the grant when a spent refresh token comes
// back.
TEST_F(SeedLockSeam, KeywardGetWaitsForProperLockfileAndMakesOneTokenCall) {
  const fs::path tool =
      fs::path{KEYWARD_STORE_CHILD}.parent_path().parent_path() / "tools" / "cli" / "keyward";
  if (!fs::exists(tool)) GTEST_SKIP() << tool.string() << " is not built";
  testing::ProviderServer server;
  const auto [access, refresh] = server.login();
  store_expired(access, refresh);
  start_node();
  // The API's answers go to /dev/null; errors stay on standard error.
  run_keyward_during_node({"sh", "-c", R"(exec "$0" "$@" >/dev/null)", tool.string(), "get",
                           server.origin() + "/v1/models", "--credentials", path_, "--profile",
                           "anthropic:work", "--client-id", "keyward-seam-test", "--token-url",
                           server.token_url()});
  EXPECT_EQ(server.refreshes(), 1);
  EXPECT_FALSE(server.current_refresh_token().empty());  // never revoked
  expect_file_after(server.current_refresh_token());
}

}  // namespace
}  // namespace keyward
