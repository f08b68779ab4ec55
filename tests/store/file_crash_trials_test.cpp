// Crash trials on a credentials file (see store/crash_trials.hpp).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "keyward/store/file.hpp"
#include "store/crash_trials.hpp"

namespace keyward {
namespace {

namespace fs = std::filesystem;

TEST(FileCrashTrials, AKillAnywhereCostsAtMostOneRefusalAndNeverASilentReuse) {
  std::string pattern = (fs::temp_directory_path() / "keyward-crash-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const fs::path dir = pattern;
  const std::string path = (dir / "auth-profiles.json").string();
  const std::string server = (dir / "server").string();
  const auto tally = testing::run_crash_trials(
      path, server,
      [&] {
        fs::remove(path);
        fs::remove(server);
      },
      [&] {
        return store::File{path, "anthropic:work"}.load();
      },
      [&](const Credential& credential) {
        ASSERT_TRUE(store::File(path, "anthropic:work").compare_and_swap(0, credential));
      });
  EXPECT_EQ(tally.silent_reuse, 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace keyward
