// store::File's lock and path: keyward's own lock file (its name, O_NOFOLLOW, owner and mode
// checks), symlinks resolved once at open, the seed system's `<file>.lock` respected and never
// removed, and no writes inside an OpenClaw state directory whose credentials moved to SQLite.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "keyward/detail/file_io.hpp"
#include "keyward/detail/text.hpp"
#include "keyward/store/file.hpp"
#include "support/processes.hpp"

namespace keyward {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr std::string_view kFile = R"({
  "version": 1,
  "profiles": {
    "anthropic:work": {
      "type": "oauth", "provider": "anthropic",
      "access": "sk-ant-oat01-ACCESSaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1111",
      "refresh": "sk-ant-ort01-REFRESHrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr2222",
      "expires": 1767225600000
    }
  }
})";

Credential next_credential() {
  return Credential::oauth("sk-ant-oat01-NEWACCESSnnnnnnnnnnnnnnnnnnnnnnnnnnnnn3333",
                           "sk-ant-ort01-NEWREFRESHnnnnnnnnnnnnnnnnnnnnnnnnnnnn4444", {});
}

std::string read_text(const fs::path& path) {
  std::ifstream in{path};
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

class FileLock : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "keyward-file-lock-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "auth-profiles.json").string();
    lock_ = (dir_ / ".auth-profiles.json.keyward-lock").string();
    std::ofstream{path_} << kFile;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A write and a lease must both be refused with store_unavailable and a message naming the
  // lock file and `problem`; the credentials file stays byte for byte as it was.
  void expect_refused(std::string_view problem) const {
    store::File store{path_, "anthropic:work"};
    auto written = store.compare_and_swap(1, next_credential());
    ASSERT_FALSE(written);
    EXPECT_EQ(written.error().code, Errc::store_unavailable);
    EXPECT_NE(written.error().message.find(lock_), std::string::npos) << written.error().message;
    EXPECT_NE(written.error().message.find(problem), std::string::npos) << written.error().message;
    auto lease = store.lease(100ms);
    ASSERT_FALSE(lease);
    EXPECT_EQ(lease.error().code, Errc::store_unavailable);
    EXPECT_NE(lease.error().message.find(lock_), std::string::npos) << lease.error().message;
    EXPECT_EQ(read_text(path_), kFile);
    EXPECT_TRUE(store.load());  // reading needs no lock
  }

  fs::path dir_;
  std::string path_;
  std::string lock_;
};

// --- 1. keyward's own lock file ------------------------------------------------------------------

TEST_F(FileLock, TheLockFileHasKeywardsOwnNameMode0600AndNoDotLockIsEverCreated) {
  store::File store{path_, "anthropic:work"};
  ASSERT_TRUE(store.compare_and_swap(1, next_credential()));
  auto lease = store.lease(100ms);
  ASSERT_TRUE(lease);
  EXPECT_TRUE(lease->held());
  EXPECT_FALSE(fs::exists(fs::symlink_status(path_ + ".lock")));
  struct stat info {};
  ASSERT_EQ(::lstat(lock_.c_str(), &info), 0);
  EXPECT_TRUE(S_ISREG(info.st_mode));
  EXPECT_EQ(info.st_mode & 07777, 0600U);
  EXPECT_EQ(info.st_uid, ::geteuid());
}

TEST_F(FileLock, ASymlinkAtTheLockPathIsRefusedAndItsTargetIsNotCreated) {
  const fs::path target = dir_ / "planted";
  fs::create_symlink(target, lock_);
  expect_refused("symbolic link");
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(FileLock, ALockFileOpenToGroupOrOthersIsRefused) {
  for (const mode_t mode : {0666U, 0640U, 0602U}) {
    std::ofstream{lock_}.flush();
    ASSERT_EQ(::chmod(lock_.c_str(), mode), 0);
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    SCOPED_TRACE(octal);
    expect_refused(std::string{"mode "} + octal);
    struct stat info {};
    ASSERT_EQ(::stat(lock_.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, mode);  // refused, not repaired behind the owner's back
  }
}

TEST_F(FileLock, ALockFileOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the lock file to another user";
  std::ofstream{lock_}.flush();
  ASSERT_EQ(::chmod(lock_.c_str(), 0600), 0);
  ASSERT_EQ(::chown(lock_.c_str(), 65534, 65534), 0);
  expect_refused("owned by uid 65534");
}

TEST_F(FileLock, ALockPathThatIsADirectoryIsRefused) {
  fs::create_directory(lock_);
  store::File store{path_, "anthropic:work"};
  auto written = store.compare_and_swap(1, next_credential());
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, Errc::store_unavailable);
  EXPECT_NE(written.error().message.find(lock_), std::string::npos) << written.error().message;
  EXPECT_EQ(read_text(path_), kFile);
}

// --- 2. symlinks resolved once at open -----------------------------------------------------------

TEST_F(FileLock, AWriteThroughASymlinkUpdatesItsTargetAndKeepsTheLink) {
  const fs::path real_dir = dir_ / "real";
  fs::create_directory(real_dir);
  const fs::path real = real_dir / "auth-profiles.json";
  fs::rename(path_, real);
  fs::create_symlink(real, path_);
  store::File store{path_, "anthropic:work"};
  EXPECT_EQ(store.path(), real.string());
  ASSERT_TRUE(store.compare_and_swap(1, next_credential()));
  EXPECT_TRUE(fs::is_symlink(path_));
  EXPECT_EQ(fs::read_symlink(path_), real);
  auto through_real = store::File{real.string(), "anthropic:work"}.load();
  ASSERT_TRUE(through_real);
  EXPECT_EQ(through_real->credential.refresh_token, next_credential().refresh_token);
  // The lock is derived from the real path, beside it.
  EXPECT_TRUE(fs::exists(real_dir / ".auth-profiles.json.keyward-lock"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(lock_)));
}

TEST_F(FileLock, ALinkAndItsTargetShareOneLease) {
  const fs::path real = dir_ / "real.json";
  fs::rename(path_, real);
  fs::create_symlink(real, path_);
  store::File through_link{path_, "anthropic:work"};
  store::File through_real{real.string(), "anthropic:work"};
  auto held = through_link.lease(100ms);
  ASSERT_TRUE(held);
  ASSERT_TRUE(held->held());
  auto other = through_real.lease(50ms);
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->held());  // one login, one lease, whichever name it is reached by
}

TEST_F(FileLock, AFolderReachedThroughASymlinkIsResolvedBeforeTheFileExists) {
  const fs::path real_dir = dir_ / "real";
  fs::create_directory(real_dir);
  fs::create_directory_symlink(real_dir, dir_ / "link");
  store::File store{(dir_ / "link" / "new.json").string(), "anthropic:work"};
  EXPECT_EQ(store.path(), (real_dir / "new.json").string());
  ASSERT_TRUE(store.compare_and_swap(0, next_credential()));
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(real_dir / "new.json")));
  EXPECT_TRUE(fs::exists(real_dir / ".new.json.keyward-lock"));
}

// --- 3. the seed system's lock -------------------------------------------------------------------

class SeedLock : public FileLock {
 protected:
  [[nodiscard]] store::File short_wait() const {
    return store::File{path_, "anthropic:work", {.lock_wait = 300ms}};
  }
  void expect_waited_and_refused(std::string_view what) const {
    store::File store = short_wait();
    const auto start = std::chrono::steady_clock::now();
    auto written = store.compare_and_swap(1, next_credential());
    EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
    ASSERT_FALSE(written);
    EXPECT_EQ(written.error().code, Errc::store_unavailable);
    EXPECT_NE(written.error().message.find(path_ + ".lock"), std::string::npos)
        << written.error().message;
    EXPECT_NE(written.error().message.find(what), std::string::npos) << written.error().message;
    auto lease = store.lease(300ms);
    ASSERT_FALSE(lease);
    EXPECT_EQ(lease.error().code, Errc::store_unavailable);
    EXPECT_EQ(read_text(path_), kFile);
    EXPECT_TRUE(fs::exists(fs::symlink_status(path_ + ".lock")));  // never removed
  }
  void write_openclaw_lock(long pid, std::string_view created_at) const {
    std::ofstream{path_ + ".lock"} << R"({"pid": )" << pid << R"(, "createdAt": )" << created_at
                                   << "}";
  }
  static std::string iso(std::chrono::system_clock::time_point at) {
    return '"' + detail::format_rfc3339(at) + '"';
  }
};

TEST_F(SeedLock, AProperLockfileDirectoryIsWaitedForAndNeverRemoved) {
  fs::create_directory(path_ + ".lock");
  expect_waited_and_refused("proper-lockfile");
  EXPECT_TRUE(fs::is_directory(path_ + ".lock"));
}

TEST_F(SeedLock, AWriteProceedsOnceTheProperLockfileDirectoryIsGone) {
  fs::create_directory(path_ + ".lock");
  std::thread other_tool{[&] {
    std::this_thread::sleep_for(150ms);
    fs::remove(path_ + ".lock");
  }};
  store::File store{path_, "anthropic:work", {.lock_wait = 3s}};
  const auto start = std::chrono::steady_clock::now();
  auto written = store.compare_and_swap(1, next_credential());
  const auto took = std::chrono::steady_clock::now() - start;
  other_tool.join();
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_GE(took, 150ms);
  EXPECT_EQ(store.load()->credential.refresh_token, next_credential().refresh_token);
}

TEST_F(SeedLock, OpenClawsJsonLockWithALivePidAndAFreshCreatedAtIsWaitedFor) {
  write_openclaw_lock(::getpid(), iso(std::chrono::system_clock::now()));
  expect_waited_and_refused("pid " + std::to_string(::getpid()));
}

TEST_F(SeedLock, OpenClawsJsonLockWithANumericCreatedAtIsWaitedFor) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  write_openclaw_lock(::getpid(), std::to_string(ms));
  expect_waited_and_refused("pid " + std::to_string(::getpid()));
}

TEST_F(SeedLock, OpenClawsJsonLockOfADeadPidOrAnOldCreatedAtIsStaleAndLeftAlone) {
  const pid_t dead = testing::spawn({"true"});
  ASSERT_GT(dead, 0);
  ASSERT_EQ(testing::wait_exit(dead), 0);
  for (const auto& [pid, created] :
       {std::pair<long, std::string>{dead, iso(std::chrono::system_clock::now())},
        std::pair<long, std::string>{
            ::getpid(), iso(std::chrono::system_clock::now() - std::chrono::hours{1})}}) {
    SCOPED_TRACE(created);
    std::ofstream{path_} << kFile;
    write_openclaw_lock(pid, created);
    const std::string lock_text = read_text(path_ + ".lock");
    store::File store = short_wait();
    const auto start = std::chrono::steady_clock::now();
    auto written = store.compare_and_swap(1, next_credential());
    ASSERT_TRUE(written) << written.error().message;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 300ms);
    EXPECT_EQ(read_text(path_ + ".lock"), lock_text);  // left exactly as it was
  }
}

TEST_F(SeedLock, AnEmptyOrUnrelatedDotLockFileIsNotALock) {
  for (const std::string_view text : {"", "12345\n", R"({"owner": "someone else"})", "{\"pid\":"}) {
    SCOPED_TRACE(text);
    std::ofstream{path_} << kFile;
    std::ofstream{path_ + ".lock"} << text;
    store::File store = short_wait();
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(store.compare_and_swap(1, next_credential()));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 300ms);
    auto lease = store.lease(300ms);
    ASSERT_TRUE(lease);
    EXPECT_TRUE(lease->held());
    EXPECT_EQ(read_text(path_ + ".lock"), text);
  }
}

// The last look before a write's rename: what lets a write that another tool raced be refused.
TEST_F(FileLock, AReplacementWhoseLastLookRefusesLeavesTheOldFileAndNoTemporary) {
  auto replaced = detail::replace_file(path_, "{}", [] {
    return Result<void>{unexpected(make_error(Errc::store_conflict, "changed meanwhile"))};
  });
  ASSERT_FALSE(replaced);
  EXPECT_EQ(replaced.error().code, Errc::store_conflict);
  EXPECT_EQ(read_text(path_), kFile);
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator{dir_}) ++files;
  EXPECT_EQ(files, 1);  // the temporary file is gone
}

TEST_F(FileLock, AFileStampSeesAnInPlaceRewriteAndAReplacement) {
  const auto before = detail::FileStamp::of(path_);
  EXPECT_TRUE(before.exists);
  EXPECT_TRUE(detail::FileStamp::of(path_).same_as(before));
  std::ofstream{path_, std::ios::app} << "\n";  // in place, as OpenClaw writes
  EXPECT_FALSE(detail::FileStamp::of(path_).same_as(before));
  const auto rewritten = detail::FileStamp::of(path_);
  ASSERT_TRUE(detail::replace_file(path_, "{}"));  // a new file renamed over it
  EXPECT_FALSE(detail::FileStamp::of(path_).same_as(rewritten));
  EXPECT_FALSE(detail::FileStamp::of((dir_ / "none").string()).exists);
}

// --- 4. OpenClaw state directories whose credentials moved to SQLite -----------------------------

class OpenClawState : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "keyward-openclaw-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    state_dir_ = pattern;
    agent_dir_ = state_dir_ / "agents" / "main" / "agent";
    fs::create_directories(agent_dir_);
    fs::create_directories(state_dir_ / "state");
    path_ = (agent_dir_ / "auth-profiles.json").string();
    std::ofstream{path_} << kFile;
  }
  void TearDown() override { fs::remove_all(state_dir_); }

  void expect_write_refused(std::string_view database) const {
    store::File store{path_, "anthropic:work"};
    auto loaded = store.load();
    ASSERT_TRUE(loaded) << loaded.error().message;  // reading stays allowed
    auto written = store.compare_and_swap(loaded->generation, next_credential());
    ASSERT_FALSE(written);
    EXPECT_EQ(written.error().code, Errc::persist_failed);
    EXPECT_NE(written.error().message.find(database), std::string::npos) << written.error().message;
    EXPECT_NE(written.error().message.find("SQLite"), std::string::npos);
    auto marked = store.mark_refreshing(loaded->generation, std::chrono::system_clock::now());
    ASSERT_FALSE(marked);  // so no token call is made either
    EXPECT_EQ(marked.error().code, Errc::persist_failed);
    EXPECT_EQ(read_text(path_), kFile);
  }

  fs::path state_dir_;
  fs::path agent_dir_;
  std::string path_;
};

TEST_F(OpenClawState, AWriteIsRefusedWhenTheStateDirectoryHasOpenClawSqlite) {
  std::ofstream{state_dir_ / "state" / "openclaw.sqlite"} << "SQLite format 3";
  expect_write_refused((state_dir_ / "state" / "openclaw.sqlite").string());
}

TEST_F(OpenClawState, AWriteIsRefusedWhenTheAgentHasItsOwnDatabase) {
  std::ofstream{agent_dir_ / "openclaw-agent.sqlite"} << "SQLite format 3";
  expect_write_refused((agent_dir_ / "openclaw-agent.sqlite").string());
}

TEST_F(OpenClawState, TheOptionAllowsTheWrite) {
  std::ofstream{state_dir_ / "state" / "openclaw.sqlite"} << "SQLite format 3";
  store::File store{path_, "anthropic:work", {.write_where_openclaw_uses_sqlite = true}};
  ASSERT_TRUE(store.compare_and_swap(1, next_credential()));
  EXPECT_EQ(store.load()->credential.refresh_token, next_credential().refresh_token);
}

TEST_F(OpenClawState, AnOlderOpenClawLayoutWithoutSqliteIsWritten) {
  store::File store{path_, "anthropic:work"};
  ASSERT_TRUE(store.compare_and_swap(1, next_credential()));
}

}  // namespace
}  // namespace keyward
