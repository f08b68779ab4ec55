// OpenClaw's refresh protocol as store::OpenClaw follows it: the per-profile lock file (path,
// digest, O_EXCL, payload, who may reclaim it), the fence written in place of the tokens before
// the token call, the compare on the way back, and a fence another process wrote (waited for,
// never used, never refreshed over; a failed one is needs_reauth).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "keyward/detail/json.hpp"
#include "keyward/detail/sha256.hpp"
#include "keyward/store/openclaw.hpp"
#include "store/openclaw_fixture.hpp"

namespace keyward::testing {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kStore =
    R"({"version":1,"profiles":{)"
    R"("anthropic:default":{"type":"oauth","provider":"anthropic","access":"sk-ant-oat01-ACCESS",)"
    R"("refresh":"sk-ant-ort01-REFRESH","expires":1767225600000,"email":"dev@example.com",)"
    R"("idToken":"id-x","copyToAgents":true}}})";

// What OpenClaw's createOAuthRefreshFence writes for kStore's profile, claim `claim`.
std::string openclaw_fence(std::string_view claim, bool failed) {
  const std::string state = failed ? "failed:" : "";
  const std::string access =
      "openclaw-oauth-refresh-fence:v1:" + std::string{claim} + ":" + state + "access:" +
      detail::sha256_hex(R"(["openclaw.oauth-refresh-generation",1,"anthropic:default",)"
                         R"("anthropic","access","sk-ant-oat01-ACCESS"])");
  const std::string refresh =
      "openclaw-oauth-refresh-fence:v1:" + std::string{claim} + ":" + state +
      "refresh:" + "ddf3fbf5e2d7b21900ba7508d03d9fcd046175828ada4fc3151676ae6fedf098";
  return R"({"version":1,"profiles":{"anthropic:default":{"type":"oauth","provider":"anthropic",)"
         R"("email":"dev@example.com","access":")" +
         access + R"(","refresh":")" + refresh + R"(","expires":1}}})";
}

std::string read_text(const std::string& path) {
  std::ifstream in{path};
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

class OpenClawRefreshTest : public OpenClawStateTest {
 protected:
  // OpenClaw's lock path for kStore's profile: the digest as OpenClaw's oauthLockPathDigest
  // computes it in node for ["anthropic","anthropic:default"].
  [[nodiscard]] std::string lock_path() const {
    return (state_ / "locks/oauth-refresh/lock-d86ff71f0416cea6738a705bf801262d.lock").string();
  }
  // A process holding OpenClaw's lock as OpenClaw writes it (its own pid), until killed.
  pid_t hold_lock_in_child() {
    std::filesystem::create_directories(state_ / "locks/oauth-refresh");
    int ready[2];
    EXPECT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    if (child == 0) {
      const std::string payload = "{\n  \"pid\": " + std::to_string(::getpid()) +
                                  ",\n  \"createdAt\": \"2020-01-01T00:00:00.000Z\"\n}\n\t\n";
      const int fd = ::open(lock_path().c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
      if (fd < 0 || ::write(fd, payload.data(), payload.size()) < 0) ::_exit(1);
      ::close(fd);
      const char byte = 'x';
      if (::write(ready[1], &byte, 1) != 1) ::_exit(1);
      for (;;) ::pause();
    }
    char byte = 0;
    EXPECT_EQ(::read(ready[0], &byte, 1), 1);
    ::close(ready[0]);
    ::close(ready[1]);
    return child;
  }
  static void end(pid_t child) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  }
};

TEST(OpenClawLock, PathDigestIsOpenClawsForAnyProfileName) {
  // Both computed by OpenClaw's own oauthLockPathDigest(JSON.stringify([provider, id])) in node.
  EXPECT_EQ(detail::openclaw::refresh_lock_path("/s", "anthropic", "anthropic:default"),
            "/s/locks/oauth-refresh/lock-d86ff71f0416cea6738a705bf801262d.lock");
  EXPECT_EQ(detail::openclaw::refresh_lock_path("/s", "openai-codex", "a\"b\\c\x01\xc3\xa9"),
            "/s/locks/oauth-refresh/lock-55f4a28d0556d95fce1eb09b7e9b226b.lock");
}

TEST_F(OpenClawRefreshTest, TheLeaseIsOpenClawsLockFileWithItsPayloadAndMode) {
  put_shared(kStore);
  store::OpenClaw store{shared_, "anthropic:default"};
  auto lease = store.lease(milliseconds{100});
  ASSERT_TRUE(lease) << lease.error().message;
  ASSERT_TRUE(lease->held());
  struct stat info {};
  ASSERT_EQ(::lstat(lock_path().c_str(), &info), 0);
  EXPECT_TRUE(S_ISREG(info.st_mode));
  EXPECT_EQ(info.st_mode & 0777, 0600U);
  const std::string text = read_text(lock_path());
  auto payload = detail::json::parse(text);  // JSON, then OpenClaw's whitespace ownership line
  ASSERT_TRUE(payload && payload->is_object()) << text;
  EXPECT_EQ(payload->find("pid")->as_uint64(), static_cast<std::uint64_t>(::getpid()));
  EXPECT_TRUE(std::regex_match(std::string{payload->string_or("createdAt")},
                               std::regex{R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"}));
  EXPECT_NE(payload->find("starttime"), nullptr);
  EXPECT_TRUE(std::regex_search(text, std::regex{"\n\t{8}[ \t]{128}\n$"}));
  *lease = store::OpenClaw::Lease{};
  EXPECT_FALSE(std::filesystem::exists(lock_path()));
}

TEST_F(OpenClawRefreshTest, ALockWhoseProcessIsAliveIsNeverReclaimedWhateverItsAge) {
  put_shared(kStore);
  const pid_t child = hold_lock_in_child();  // createdAt in 2020: old, but its process lives
  const std::string before = read_text(lock_path());
  store::OpenClaw store{shared_, "anthropic:default", {.lock_wait = milliseconds{150}}};
  auto lease = store.lease(milliseconds{150});
  ASSERT_TRUE(lease) << lease.error().message;
  EXPECT_FALSE(lease->held());
  auto loaded = store.load();
  ASSERT_TRUE(loaded);
  auto written = store.compare_and_swap(loaded->generation,
                                        Credential::oauth("sk-ant-oat01-N", "sk-ant-ort01-N", {}));
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, Errc::store_unavailable);
  EXPECT_NE(written.error().message.find("pid " + std::to_string(child)), std::string::npos)
      << written.error().message;
  EXPECT_EQ(read_text(lock_path()), before);
  EXPECT_EQ(shared_json(), kStore);
  end(child);
  // Its process gone, the lock is OpenClaw's to reclaim, and keyward's too.
  auto after = store.lease(milliseconds{150});
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_TRUE(after->held());
  EXPECT_NE(read_text(lock_path()), before);
}

TEST_F(OpenClawRefreshTest, ALockWithoutAPidIsReclaimedOnlyAfterOpenClawsStaleTime) {
  put_shared(kStore);
  std::filesystem::create_directories(state_ / "locks/oauth-refresh");
  const auto write_lock = [&](std::string_view created) {
    std::filesystem::remove(lock_path());
    std::ofstream{lock_path()} << "{\"createdAt\": \"" << created << "\"}\n";
    std::filesystem::permissions(
        lock_path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  };
  store::OpenClaw store{shared_, "anthropic:default"};
  write_lock(detail::openclaw::iso_time(std::chrono::system_clock::now()));
  auto fresh = store.lease(milliseconds{60});
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->held());
  write_lock(
      detail::openclaw::iso_time(std::chrono::system_clock::now() - std::chrono::minutes{4}));
  auto stale = store.lease(milliseconds{60});
  ASSERT_TRUE(stale);
  EXPECT_TRUE(stale->held());
}

TEST_F(OpenClawRefreshTest, TheFenceReplacesTheTokensBeforeTheTokenCallAndTheLockIsReleased) {
  put_shared(kStore);
  store::OpenClaw store{shared_, "anthropic:default"};
  auto loaded = store.load();
  ASSERT_TRUE(loaded);
  auto lease = store.lease(milliseconds{100});
  ASSERT_TRUE(lease && lease->held());
  ASSERT_TRUE(store.mark_refreshing(loaded->generation, TimePoint{}));
  // Exactly OpenClaw's fence: its members, a claim id, the digests of the replaced tokens,
  // expires 1; idToken and copyToAgents gone; the lock released for the token call.
  const std::string json = shared_json();
  const std::regex fence{
      R"(\{"version":1,"profiles":\{"anthropic:default":\{"type":"oauth","provider":"anthropic",)"
      R"("email":"dev@example.com","access":"openclaw-oauth-refresh-fence:v1:([0-9a-f]{32}):access:)" +
      detail::sha256_hex(R"(["openclaw.oauth-refresh-generation",1,"anthropic:default",)"
                         R"("anthropic","access","sk-ant-oat01-ACCESS"])") +
      R"(","refresh":"openclaw-oauth-refresh-fence:v1:([0-9a-f]{32}):refresh:)"
      R"(ddf3fbf5e2d7b21900ba7508d03d9fcd046175828ada4fc3151676ae6fedf098","expires":1\}\}\})"};
  std::smatch match;
  ASSERT_TRUE(std::regex_match(json, match, fence)) << json;
  EXPECT_EQ(match[1], match[2]);
  EXPECT_FALSE(std::filesystem::exists(lock_path()));
  // The store that fenced it still reads its own credential; the token call's result is written
  // over the fence, with the members the fence had set aside.
  auto own = store.load();
  ASSERT_TRUE(own);
  EXPECT_EQ(own->generation, loaded->generation);
  EXPECT_EQ(own->credential.refresh_token.reveal(), "sk-ant-ort01-REFRESH");
  auto written = store.compare_and_swap(
      loaded->generation,
      Credential::oauth("sk-ant-oat01-NEW", "sk-ant-ort01-NEW", at_ms(1767229200000)));
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(
      shared_json(),
      R"({"version":1,"profiles":{"anthropic:default":{"type":"oauth","provider":"anthropic",)"
      R"("access":"sk-ant-oat01-NEW","refresh":"sk-ant-ort01-NEW","expires":1767229200000,)"
      R"("email":"dev@example.com","copyToAgents":true}}})");
  EXPECT_FALSE(std::filesystem::exists(lock_path()));
}

TEST_F(OpenClawRefreshTest, AFenceOfAnotherProcessIsWaitedForNeverReturnedNeverRefreshedOver) {
  put_shared(openclaw_fence("0123456789abcdef0123456789abcdef", false));
  store::OpenClaw store{shared_, "anthropic:default", {.fence_wait = milliseconds{150}}};
  auto waited = store.load();
  ASSERT_FALSE(waited);
  EXPECT_EQ(waited.error().code, Errc::store_unavailable);
  EXPECT_NE(waited.error().message.find("0123456789abcdef0123456789abcdef"), std::string::npos);
  EXPECT_EQ(waited.error().message.find("openclaw-oauth-refresh-fence"), std::string::npos);
  auto marked = store.mark_refreshing(1, TimePoint{});
  ASSERT_FALSE(marked);
  auto written = store.compare_and_swap(1, Credential::oauth("a", "r", {}));
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, Errc::store_conflict);
  EXPECT_EQ(shared_json(), openclaw_fence("0123456789abcdef0123456789abcdef", false));
  // OpenClaw settles its refresh while keyward waits: keyward reads what it wrote.
  std::thread settle{[&] {
    std::this_thread::sleep_for(milliseconds{60});
    std::string settled{kStore};
    settled.replace(settled.find("sk-ant-ort01-REFRESH"), 20, "sk-ant-ort01-SETTLED");
    put_shared(settled);
  }};
  store::OpenClaw patient{shared_, "anthropic:default", {.fence_wait = milliseconds{2000}}};
  auto after = patient.load();
  settle.join();
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->credential.refresh_token.reveal(), "sk-ant-ort01-SETTLED");
}

TEST_F(OpenClawRefreshTest, AFailedFenceIsNeedsReauthAndIsNeverRefreshed) {
  put_shared(openclaw_fence("fedcba9876543210fedcba9876543210", true));
  store::OpenClaw store{shared_, "anthropic:default"};
  auto loaded = store.load();
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, Errc::needs_reauth);
  EXPECT_NE(loaded.error().message.find("failed fence"), std::string::npos);
  EXPECT_NE(loaded.error().message.find("Log in to this profile again with OpenClaw"),
            std::string::npos);
  auto marked = store.mark_refreshing(1, TimePoint{});
  ASSERT_FALSE(marked);
  EXPECT_EQ(marked.error().code, Errc::needs_reauth);  // no token call, and why
  EXPECT_EQ(shared_json(), openclaw_fence("fedcba9876543210fedcba9876543210", true));
}

TEST_F(OpenClawRefreshTest, ARefusedRefreshLeavesOpenClawsFailedFenceWithKeywardsReason) {
  put_shared(kStore);
  store::OpenClaw store{shared_, "anthropic:default"};
  auto loaded = store.load();
  ASSERT_TRUE(loaded);
  ASSERT_TRUE(store.mark_refreshing(loaded->generation, TimePoint{}));
  auto refused = store.mark_refused(
      loaded->generation,
      RefreshRefusal{TimePoint{}, "the token endpoint answered HTTP 400 invalid_grant"});
  ASSERT_TRUE(refused) << refused.error().message;
  EXPECT_TRUE(std::regex_search(shared_json(),
                                std::regex{"fence:v1:[0-9a-f]{32}:failed:access:[0-9a-f]{64}\","
                                           "\"refresh\":\"openclaw-oauth-refresh-fence:v1:"
                                           "[0-9a-f]{32}:failed:refresh:[0-9a-f]{64}\""}))
      << shared_json();
  auto after = store::OpenClaw{shared_, "anthropic:default"}.load();
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, Errc::needs_reauth);
  EXPECT_NE(after.error().message.find("HTTP 400 invalid_grant"), std::string::npos);
}

TEST_F(OpenClawRefreshTest, AFenceWhoseTokenCallNeverStoredAnAnswerEndsAsOpenClawsFailedFence) {
  put_shared(kStore);
  {
    store::OpenClaw store{shared_, "anthropic:default"};
    auto loaded = store.load();
    ASSERT_TRUE(loaded);
    ASSERT_TRUE(store.mark_refreshing(loaded->generation, TimePoint{}));
    // The token call fails without an answer, and the last handle goes (a `keyward get` exits).
  }
  EXPECT_TRUE(std::regex_search(shared_json(), std::regex{":failed:refresh:[0-9a-f]{64}\""}))
      << shared_json();
  auto after = store::OpenClaw{shared_, "anthropic:default"}.load();
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, Errc::needs_reauth);
  EXPECT_NE(after.error().message.find("never stored an answer"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(lock_path()));
}

}  // namespace
}  // namespace keyward::testing
