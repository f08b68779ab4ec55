// store::File: the credentials file format, compare-and-swap, the refresh lease across opens and
// processes, the refresh marker, and fleets of processes refreshing one login.
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "keyward/detail/json.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/store/file.hpp"
#include "store/credentials_file_fixture.hpp"
#include "store/fleet_server.hpp"
#include "support/fake_transport.hpp"

extern char** environ;  // NOLINT: posix_spawn's environment

namespace keyward {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr std::string_view kAccess = testing::kFileAccess;
constexpr std::string_view kRefresh = testing::kFileRefresh;

// A fresh folder per test, removed afterwards.
class FileStore : public testing::CredentialsFileTest {
 protected:
  [[nodiscard]] detail::json::Value document() const {
    auto parsed = detail::json::parse(text());
    EXPECT_TRUE(parsed.has_value()) << text();
    return parsed.value_or(detail::json::Value{});
  }
  [[nodiscard]] const detail::json::Value* profile(const detail::json::Value& doc,
                                                   std::string_view id) const {
    const auto* profiles = doc.find("profiles");
    return profiles != nullptr ? profiles->find(id) : nullptr;
  }
};

// An OpenClaw auth-profiles.json, with members keyward does not own.
constexpr std::string_view kOpenClawFile = R"({
  "version": 1,
  "profiles": {
    "anthropic:work": {
      "type": "oauth", "provider": "anthropic", "email": "dev@example.com",
      "access": "sk-ant-oat01-ACCESSaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1111",
      "refresh": "sk-ant-ort01-REFRESHrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr2222",
      "expires": 1767225600000
    },
    "openai:ci": {"type": "api_key", "provider": "openai", "key": "sk-proj-KEYkkkkkkkkkkkkkkkkkkkkkkkk"},
    "x:static": {"type": "token", "provider": "x", "token": "static-token-tttttttttttttttttt"}
  },
  "order": {"anthropic": ["anthropic:work"]},
  "usageStats": {"anthropic:work": {"lastUsed": 1767225000000, "errorCount": 0}}
})";

TEST_F(FileStore, AMissingFileOrProfileIsGenerationZero) {
  auto stored = store::File{path_, "anthropic:work"}.load();
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->generation, 0U);
  write(kOpenClawFile);
  stored = store::File{path_, "nobody"}.load();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->generation, 0U);
}

TEST_F(FileStore, ReadsOpenClawProfilesOfEveryType) {
  write(kOpenClawFile);
  auto oauth = store::File{path_, "anthropic:work"}.load();
  ASSERT_TRUE(oauth) << oauth.error().message;
  EXPECT_EQ(oauth->generation, 1U);  // a record keyward did not write counts as one change
  EXPECT_EQ(oauth->credential.kind, CredentialKind::oauth);
  EXPECT_EQ(oauth->credential.token.reveal(), kAccess);
  EXPECT_EQ(oauth->credential.refresh_token.reveal(), kRefresh);
  ASSERT_TRUE(oauth->credential.expires_at);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(
                oauth->credential.expires_at->time_since_epoch())
                .count(),
            1767225600000);
  auto key = store::File{path_, "openai:ci"}.load();
  ASSERT_TRUE(key);
  EXPECT_EQ(key->credential.kind, CredentialKind::api_key);
  EXPECT_EQ(key->credential.token.reveal(), "sk-proj-KEYkkkkkkkkkkkkkkkkkkkkkkkk");
  auto token = store::File{path_, "x:static"}.load();
  ASSERT_TRUE(token);
  EXPECT_EQ(token->credential.kind, CredentialKind::bearer_token);
  EXPECT_FALSE(token->credential.expires_at);
}

TEST_F(FileStore, TheFirstWriteCreatesTheFileWithMode0600) {
  store::File store{path_, "anthropic:work", {.provider = "anthropic"}};
  auto written =
      store.compare_and_swap(0, Credential::oauth(std::string{kAccess}, std::string{kRefresh}, {}));
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*written, 1U);
  struct stat info {};
  ASSERT_EQ(::stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600U);
  const auto doc = document();
  EXPECT_EQ(doc.find("version")->as_number(), 1.0);
  const auto* record = profile(doc, "anthropic:work");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->string_or("type"), "oauth");
  EXPECT_EQ(record->string_or("provider"), "anthropic");
  EXPECT_EQ(record->string_or("access"), kAccess);
  auto stored = store.load();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->generation, 1U);
  EXPECT_EQ(stored->credential.refresh_token.reveal(), kRefresh);
  // No temporary file is left behind.
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    files += entry.path().filename().string().find(".tmp-") == std::string::npos ? 1U : 100U;
  }
  EXPECT_LE(files, 2U);  // the file and its lock file
}

TEST_F(FileStore, AWriteKeepsEveryMemberKeywardDoesNotOwn) {
  write(kOpenClawFile);
  store::File store{path_, "anthropic:work"};
  auto written = store.compare_and_swap(
      1, Credential::oauth("sk-ant-oat01-NEWACCESSnnnnnnnnnnnnnnnnnnnnnnnnnnnnn3333",
                           "sk-ant-ort01-NEWREFRESHnnnnnnnnnnnnnnnnnnnnnnnnnnnn4444", {}));
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*written, 2U);
  const auto doc = document();
  EXPECT_EQ(doc.find("order")->find("anthropic")->as_array()->size(), 1U);
  EXPECT_EQ(doc.find("usageStats")->find("anthropic:work")->find("lastUsed")->as_number(),
            1767225000000.0);
  const auto* record = profile(doc, "anthropic:work");
  EXPECT_EQ(record->string_or("email"), "dev@example.com");
  EXPECT_EQ(record->string_or("provider"), "anthropic");
  EXPECT_EQ(record->find("expires"), nullptr);  // the new credential has no expiry
  EXPECT_EQ(profile(doc, "openai:ci")->string_or("key"), "sk-proj-KEYkkkkkkkkkkkkkkkkkkkkkkkk");
  EXPECT_EQ(profile(doc, "x:static")->string_or("token"), "static-token-tttttttttttttttttt");
  EXPECT_EQ(store.load()->generation, 2U);
}

TEST_F(FileStore, ACompareAndSwapFromAnOldGenerationWritesNothing) {
  write(kOpenClawFile);
  const std::string before = text();
  store::File store{path_, "anthropic:work"};
  auto written =
      store.compare_and_swap(7, Credential::api_key("sk-ant-api03-whatever-long-enough"));
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, Errc::store_conflict);
  EXPECT_EQ(text(), before);
}

TEST_F(FileStore, AnotherToolsRewriteCountsAsANewGeneration) {
  store::File store{path_, "p"};
  ASSERT_TRUE(store.compare_and_swap(
      0, Credential::oauth(std::string{kAccess}, std::string{kRefresh}, {})));
  ASSERT_TRUE(store.compare_and_swap(
      1, Credential::oauth(std::string{kAccess}, std::string{kRefresh}, {})));
  ASSERT_EQ(store.load()->generation, 2U);
  // A login tool replaces the tokens and keeps the members it does not know.
  std::string edited = text();
  edited.replace(edited.find("ACCESS"), 6, "RELOGD");
  write(edited);
  auto stored = store.load();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->generation, 3U);
  EXPECT_NE(stored->credential.token.reveal(), kAccess);
}

TEST_F(FileStore, BadFilesGetAClearErrorWithoutSecretsAndAreNotOverwritten) {
  for (
      const std::string_view bad :
      {std::string_view{
           R"({"profiles": {"p": {"type": "oauth", "access": "sk-ant-oat01-SECRETsecretsecretsecret9999",)"},
       std::string_view{R"({"profiles": []})"},
       std::string_view{
           R"({"profiles": {"p": {"type": "password", "access": "sk-ant-oat01-SECRETsecretsecretsecret9999"}}})"},
       std::string_view{
           R"({"profiles": {"p": {"type": "oauth", "refresh": "sk-ant-ort01-SECRETsecretsecretsecret9999"}}})"},
       std::string_view{
           R"({"profiles": {"p": {"type": "oauth", "access": "sk-ant-oat01-SECRETsecretsecretsecret9999", "expires": "soon"}}})"}}) {
    write(bad);
    store::File store{path_, "p"};
    auto stored = store.load();
    ASSERT_FALSE(stored) << bad;
    EXPECT_EQ(stored.error().code, Errc::store_unavailable);
    EXPECT_NE(stored.error().message.find(path_), std::string::npos) << stored.error().message;
    EXPECT_NE(stored.error().message.find("docs/credentials-file.md"), std::string::npos);
    EXPECT_EQ(stored.error().message.find("SECRET"), std::string::npos) << stored.error().message;
    auto written = store.compare_and_swap(0, Credential::api_key("sk-ant-api03-replacement-key"));
    ASSERT_FALSE(written);
    EXPECT_EQ(text(), bad);
  }
}

TEST_F(FileStore, TheLeaseExcludesOtherOpensAndIsReleasedWhenDestroyed) {
  write(kOpenClawFile);
  store::File a{path_, "anthropic:work"};
  store::File b{path_, "anthropic:work"};
  auto first = a.lease(0ms);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->held());
  auto second = b.lease(30ms);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->held());
  // Another login in the same file has its own lease.
  auto other = store::File{path_, "openai:ci"}.lease(0ms);
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->held());
  *first = store::File::Lease{};
  auto third = b.lease(0ms);
  ASSERT_TRUE(third);
  EXPECT_TRUE(third->held());
}

TEST_F(FileStore, TheLeaseOfAProcessThatDiesIsReleased) {
  write(kOpenClawFile);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lease = store::File{path_, "anthropic:work"}.lease(0ms);
    ::_exit(lease && lease->held() ? 0 : 1);  // dies holding it
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto lease = store::File{path_, "anthropic:work"}.lease(0ms);
  ASSERT_TRUE(lease);
  EXPECT_TRUE(lease->held());
}

TEST_F(FileStore, ARotationReachesEveryProfileOfTheSameLogin) {
  write(R"({"profiles": {
    "anthropic:work": {"type": "oauth", "access": "sk-ant-oat01-ACCESSaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1111",
                       "refresh": "sk-ant-ort01-REFRESHrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr2222"},
    "anthropic:alias": {"type": "oauth", "access": "sk-ant-oat01-ACCESSaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1111",
                        "refresh": "sk-ant-ort01-REFRESHrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr2222"},
    "anthropic:other": {"type": "oauth", "access": "sk-ant-oat01-OTHERooooooooooooooooooooooooooooooooo5555",
                        "refresh": "sk-ant-ort01-OTHERooooooooooooooooooooooooooooooooo6666"}}})");
  const auto rotated =
      Credential::oauth("sk-ant-oat01-NEWACCESSnnnnnnnnnnnnnnnnnnnnnnnnnnnnn3333",
                        "sk-ant-ort01-NEWREFRESHnnnnnnnnnnnnnnnnnnnnnnnnnnnn4444", {});
  const auto alias_before = store::File{path_, "anthropic:alias"}.load()->generation;
  ASSERT_TRUE(store::File(path_, "anthropic:work").compare_and_swap(1, rotated));
  auto alias = store::File{path_, "anthropic:alias"}.load();
  ASSERT_TRUE(alias);
  EXPECT_EQ(alias->credential.refresh_token, rotated.refresh_token);
  EXPECT_NE(alias->generation, alias_before);
  auto other = store::File{path_, "anthropic:other"}.load();
  EXPECT_EQ(other->credential.refresh_token.reveal(),
            "sk-ant-ort01-OTHERooooooooooooooooooooooooooooooooo6666");
}

TEST_F(FileStore, TheRefreshMarkerIsWrittenAndTheNextWriteRemovesIt) {
  write(kOpenClawFile);
  store::File store{path_, "anthropic:work"};
  const TimePoint at = TimePoint{} + std::chrono::milliseconds{1767225000123};
  ASSERT_TRUE(store.mark_refreshing(1, at));
  auto stored = store.load();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->generation, 1U);  // a mark is not a new credential
  ASSERT_TRUE(stored->refresh_pending);
  EXPECT_EQ(*stored->refresh_pending, at);
  auto stale = store.mark_refreshing(9, at);  // another generation: nothing written, and said
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, Errc::store_conflict);
  ASSERT_TRUE(store.compare_and_swap(1, stored->credential));
  EXPECT_FALSE(store.load()->refresh_pending);
}

TEST_F(FileStore, AStaleLoadDoesNotOverwriteWhatAnotherProcessStoredMeanwhile) {
  write(kOpenClawFile);
  store::File store{path_, "anthropic:work"};
  auto loaded = store.load();  // the application reads generation 1 ...
  ASSERT_TRUE(loaded);
  const auto rotated =
      Credential::oauth("sk-ant-oat01-NEWACCESSnnnnnnnnnnnnnnnnnnnnnnnnnnnnn3333",
                        "sk-ant-ort01-NEWREFRESHnnnnnnnnnnnnnnnnnnnnnnnnnnnn4444", {});
  ASSERT_TRUE(store::File(path_, "anthropic:work").compare_and_swap(1, rotated));  // ... another
  struct Policies : DefaultPolicies {                                              // refreshes
    using Store = store::File;
  };
  ResilientCredential<testing::FakeTransport, Policies> api{
      testing::FakeTransport{}, *loaded, {.profile = "anthropic:work"}, {.store = store}};
  api.with_current([&](const auto& current) {
    EXPECT_EQ(current.credential.refresh_token, rotated.refresh_token);
  });
  auto stored = store.load();
  EXPECT_EQ(stored->generation, 2U);
  EXPECT_EQ(stored->credential.refresh_token, rotated.refresh_token);
}

// --- Fleets: several processes, one credentials file, one token endpoint -------------------------

class Fleet : public FileStore {
 protected:
  void SetUp() override {
    FileStore::SetUp();
    server_ = (dir_ / "server").string();
    const auto tokens = testing::FleetServer{server_}.login();
    // An expired access token: every process must refresh before its request.
    store::File store{path_, "anthropic:work"};
    ASSERT_TRUE(store.compare_and_swap(
        0, Credential::oauth(tokens.access, tokens.refresh,
                             std::chrono::system_clock::now() - std::chrono::hours{1})));
  }

  // Starts `n` child processes at once; returns their exit codes.
  [[nodiscard]] std::vector<int> run(int n, std::string_view die = {}) const {
    std::vector<pid_t> children;
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> args{KEYWARD_STORE_CHILD, path_, "anthropic:work", server_};
      if (!die.empty()) args.emplace_back(die);
      std::vector<char*> argv;
      for (auto& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      pid_t pid = 0;
      EXPECT_EQ(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
      children.push_back(pid);
    }
    std::vector<int> codes;
    for (const pid_t pid : children) {
      int status = 0;
      EXPECT_EQ(::waitpid(pid, &status, 0), pid);
      codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    return codes;
  }

  std::string server_;
};

TEST_F(Fleet, EightProcessesOnAnExpiredTokenRefreshOnceAndAllGetThrough) {
  const auto codes = run(8);
  EXPECT_EQ(codes, std::vector<int>(8, 0));
  const auto server = testing::FleetServer{server_}.state();
  EXPECT_EQ(server.refresh_calls, 1);
  EXPECT_FALSE(server.revoked);
  auto stored = store::File{path_, "anthropic:work"}.load();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->credential.refresh_token.reveal(), server.refresh);  // the one it accepts
  EXPECT_FALSE(stored->refresh_pending);
}

TEST_F(Fleet, WithoutASharedStoreTheSameFleetLosesTheGrant) {
  // What the fleet test guards against: each process with only its own memory redeems the same
  // refresh token, and the server's reuse detection revokes the grant.
  const testing::FleetServer server{server_};
  const auto tokens = server.state();
  int got_through = 0;
  for (int i = 0; i < 3; ++i) {
    auto outcome = server.redeem(tokens.refresh);
    got_through += outcome ? 1 : 0;
  }
  EXPECT_EQ(got_through, 1);
  EXPECT_TRUE(server.state().revoked);
}

TEST_F(Fleet, AProcessKilledBeforeTheTokenCallLeavesARefreshTokenThatWorks) {
  EXPECT_EQ(run(1, "before"), std::vector<int>{3});
  auto stored = store::File{path_, "anthropic:work"}.load();
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->refresh_pending);
  EXPECT_EQ(run(1), std::vector<int>{0});
  const auto server = testing::FleetServer{server_}.state();
  EXPECT_EQ(server.refresh_calls, 1);
  EXPECT_FALSE(server.revoked);
  EXPECT_FALSE(store::File(path_, "anthropic:work").load()->refresh_pending);
}

TEST_F(Fleet, AProcessKilledAfterTheServerRotatedLeadsToNeedsReauthSayingWhy) {
  EXPECT_EQ(run(1, "after"), std::vector<int>{3});
  auto stored = store::File{path_, "anthropic:work"}.load();
  ASSERT_TRUE(stored);
  ASSERT_TRUE(stored->refresh_pending);

  // The next process presents the spent token once, gets invalid_grant, and says why.
  struct Policies : DefaultPolicies {
    using Refresh = testing::FleetRefresh;
    using Store = store::File;
  };
  const testing::FleetServer server{server_};
  testing::FakeTransport transport;
  transport.on("https://api.fleet.test/", [&](const Request& r) { return server.api(r); });
  ResilientCredential<testing::FakeTransport, Policies> api{
      transport,
      *stored,
      {.profile = "anthropic:work"},
      {.refresh = {.server = server_}, .store = store::File{path_, "anthropic:work"}}};
  auto response = api.send(Request{.method = "GET", .url = "https://api.fleet.test/v1"});
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, Errc::needs_reauth);
  EXPECT_NE(response.error().message.find("never stored its result"), std::string::npos)
      << response.error().message;
  EXPECT_EQ(response.error().message.find("rate limit;"), std::string::npos);
  const int calls = server.state().refresh_calls;
  EXPECT_EQ(calls, 2);  // the crashed process's call and this one
  // Never again: the next requests are refused without a token call.
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(api.send(Request{.method = "GET", .url = "https://api.fleet.test/v1"}));
  }
  EXPECT_EQ(server.state().refresh_calls, calls);
  EXPECT_EQ(api.status().state, CredentialState::needs_reauth);
}

TEST_F(Fleet, ARefusalIsRecordedSoNoLaterProcessPresentsTheSpentTokenAgain) {
  EXPECT_EQ(run(1, "after"), std::vector<int>{3});  // killed after the server rotated
  EXPECT_EQ(run(1), std::vector<int>{1});           // presents the spent token once: refused
  const int calls = testing::FleetServer{server_}.state().refresh_calls;
  EXPECT_EQ(calls, 2);
  auto stored = store::File{path_, "anthropic:work"}.load();
  ASSERT_TRUE(stored);
  ASSERT_TRUE(stored->refresh_refused);
  EXPECT_EQ(stored->refresh_refused->reason, "the token endpoint answered HTTP 400 invalid_grant");
  EXPECT_FALSE(stored->refresh_pending);  // the refusal replaced the marker

  EXPECT_EQ(run(3), std::vector<int>(3, 1));  // every later process: refused without a call
  EXPECT_EQ(testing::FleetServer{server_}.state().refresh_calls, calls);

  // A new login clears the record.
  const auto tokens = testing::FleetServer{server_}.login();
  ASSERT_TRUE(store::File(path_, "anthropic:work")
                  .compare_and_swap(stored->generation,
                                    Credential::oauth(tokens.access, tokens.refresh, {})));
  EXPECT_FALSE((store::File{path_, "anthropic:work"}.load()->refresh_refused));
}

TEST_F(Fleet, ARefusalThisProcessJustReceivedIsNotCalledAnInterruptedRefresh) {
  // The grant was revoked (a person logged out everywhere): a plain invalid_grant.
  static_cast<void>(testing::FleetServer{server_}.redeem("not-the-refresh-token"));
  struct Policies : DefaultPolicies {
    using Refresh = testing::FleetRefresh;
    using Store = store::File;
  };
  const testing::FleetServer server{server_};
  testing::FakeTransport transport;
  transport.on("https://api.fleet.test/", [&](const Request& r) { return server.api(r); });
  store::File store{path_, "anthropic:work"};
  ResilientCredential<testing::FakeTransport, Policies> api{
      transport,
      *store.load(),
      {.profile = "anthropic:work"},
      {.refresh = {.server = server_}, .store = store}};
  auto response = api.send(Request{.method = "GET", .url = "https://api.fleet.test/v1"});
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, Errc::needs_reauth);
  EXPECT_EQ(response.error().message.find("never stored its result"), std::string::npos)
      << response.error().message;
  EXPECT_EQ(api.status().last_error.find("never stored its result"), std::string::npos);
  EXPECT_FALSE(store.load()->refresh_pending);
}

}  // namespace
}  // namespace keyward
