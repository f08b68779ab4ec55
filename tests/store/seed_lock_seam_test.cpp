// The seam with the seed system's lock, against the real other side: node runs npm
// proper-lockfile 4.1.2 (OpenClaw's lock before 2026-02-13) on a credentials file and updates the
// file under it, round after round, while keyward processes refresh the same expired profile
// against one token endpoint with reuse detection. keyward must wait while the lock directory
// exists, never remove it, make one token call and keep what node wrote.
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
    server_ = (dir_ / "server").string();
    const auto tokens = testing::FleetServer{server_}.login();
    ASSERT_TRUE(store::File(path_, "anthropic:work")
                    .compare_and_swap(0, Credential::oauth(tokens.access, tokens.refresh,
                                                           std::chrono::system_clock::now() -
                                                               std::chrono::hours{1})));
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  fs::path dir_;
  std::string path_;
  std::string server_;
};

TEST_F(SeedLockSeam, KeywardProcessesWaitForProperLockfileRefreshOnceAndKeepItsWrites) {
  constexpr int kRounds = 3;
  const std::string ready = (dir_ / "node-ready").string();
  const pid_t node = testing::spawn(
      {"node",
       (fs::path{KEYWARD_FIXTURE_DIR} / ".." / "store" / "proper_lockfile_holder.js").string(),
       npm_modules().string(), path_, std::to_string(kRounds), "400", "150", ready});
  ASSERT_GT(node, 0);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  int status = 0;
  while (!fs::exists(ready) && std::chrono::steady_clock::now() < deadline) {
    ASSERT_EQ(::waitpid(node, &status, WNOHANG), 0)
        << "node ended before it took proper-lockfile's lock (its message is above)";
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(fs::exists(ready)) << "node did not take proper-lockfile's lock within 10 s";
  EXPECT_TRUE(fs::is_directory(path_ + ".lock"));

  // Four keyward processes on the expired profile while node holds its lock: two now, two in
  // the middle of node's rounds.
  std::vector<pid_t> children;
  const auto start_child = [&] {
    children.push_back(testing::spawn({KEYWARD_STORE_CHILD, path_, "anthropic:work", server_}));
    ASSERT_GT(children.back(), 0);
  };
  start_child();
  start_child();
  std::this_thread::sleep_for(500ms);
  start_child();
  start_child();
  for (const pid_t child : children) EXPECT_EQ(testing::wait_exit(child), 0);
  EXPECT_EQ(testing::wait_exit(node), 0) << "node's side of the seam failed (its message is above)";

  const auto server = testing::FleetServer{server_}.state();
  EXPECT_EQ(server.refresh_calls, 1);
  EXPECT_FALSE(server.revoked);
  auto stored = store::File{path_, "anthropic:work"}.load();
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->credential.refresh_token.reveal(), server.refresh);
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

}  // namespace
}  // namespace keyward
