// store::OpenClaw over OpenClaw's SQLite databases, made with OpenClaw's own schema: what it
// reads, what it writes (and keeps), its compare inside the transaction, its generation outside
// OpenClaw's rows, and the versions it refuses.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

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
    R"("idToken":"id-token-x","accountId":"acct_1","managedBy":{"kind":"cli"}},)"
    R"("openai:ci":{"type":"api_key","provider":"openai","key":"sk-proj-KEY","label":"ci"},)"
    R"("gateway:static":{"type":"token","provider":"gateway","token":"gw-TOKEN","expires":1767225600000}},)"
    R"("order":{"anthropic":["anthropic:default"]},"futureMember":[1,2,{"x":null}]})";

class OpenClawStoreTest : public OpenClawStateTest {};

TEST_F(OpenClawStoreTest, ReadsEveryProfileTypeFromTheSharedStore) {
  put_shared(kStore);
  auto oauth = store::OpenClaw{shared_, "anthropic:default"}.load();
  ASSERT_TRUE(oauth) << oauth.error().message;
  EXPECT_EQ(oauth->credential.kind, CredentialKind::oauth);
  EXPECT_EQ(oauth->credential.token.reveal(), "sk-ant-oat01-ACCESS");
  EXPECT_EQ(oauth->credential.refresh_token.reveal(), "sk-ant-ort01-REFRESH");
  EXPECT_EQ(oauth->credential.expires_at, at_ms(1767225600000));
  EXPECT_EQ(oauth->generation, 1U);
  auto key = store::OpenClaw{shared_, "openai:ci"}.load();
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->credential.kind, CredentialKind::api_key);
  EXPECT_EQ(key->credential.token.reveal(), "sk-proj-KEY");
  auto token = store::OpenClaw{shared_, "gateway:static"}.load();
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(token->credential.kind, CredentialKind::bearer_token);
  EXPECT_EQ(token->credential.token.reveal(), "gw-TOKEN");
  EXPECT_EQ(token->credential.expires_at, at_ms(1767225600000));
  auto missing = store::OpenClaw{shared_, "nobody"}.load();
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->generation, 0U);
}

TEST_F(OpenClawStoreTest, ReadsAndWritesTheAgentStoreChosenByItsPath) {
  put_agent(kStore);
  put_shared(R"({"version":1,"profiles":{}})");
  store::OpenClaw store{agent_, "anthropic:default"};
  auto loaded = store.load();
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->credential.token.reveal(), "sk-ant-oat01-ACCESS");
  auto written = store.compare_and_swap(
      loaded->generation, Credential::oauth("sk-ant-oat01-NEW", "sk-ant-ort01-NEW", at_ms(5)));
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_NE(agent_json().find(R"("access":"sk-ant-oat01-NEW")"), std::string::npos);
  EXPECT_EQ(shared_json(), R"({"version":1,"profiles":{}})");  // the other database untouched
}

TEST_F(OpenClawStoreTest, WritesOnlyTheCredentialMembersAndKeepsEverythingElseByteForByte) {
  put_shared(kStore);
  put_state(R"({"usageStats":{"anthropic:default":{"errorCount":2}}})");
  store::OpenClaw store{shared_, "anthropic:default"};
  auto loaded = store.load();
  ASSERT_TRUE(loaded);
  auto written = store.compare_and_swap(
      loaded->generation,
      Credential::oauth("sk-ant-oat01-NEW", "sk-ant-ort01-NEW", at_ms(1767229200000)));
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*written, loaded->generation + 1);
  const std::string json = shared_json();
  // The profile: its tokens and expiry replaced where they were, the stale idToken dropped,
  // every other member kept.
  EXPECT_NE(json.find(R"("anthropic:default":{"type":"oauth","provider":"anthropic",)"
                      R"("access":"sk-ant-oat01-NEW","refresh":"sk-ant-ort01-NEW",)"
                      R"("expires":1767229200000,"email":"dev@example.com",)"
                      R"("accountId":"acct_1","managedBy":{"kind":"cli"}})"),
            std::string::npos)
      << json;
  // Every other profile and member as it was, and no member of keyward's in OpenClaw's JSON.
  EXPECT_NE(
      json.find(
          R"("openai:ci":{"type":"api_key","provider":"openai","key":"sk-proj-KEY","label":"ci"},)"
          R"("gateway:static":{"type":"token","provider":"gateway","token":"gw-TOKEN","expires":1767225600000}},)"
          R"("order":{"anthropic":["anthropic:default"]},"futureMember":[1,2,{"x":null}]})"),
      std::string::npos)
      << json;
  EXPECT_EQ(json.find("generation"), std::string::npos);
  EXPECT_EQ(state_json(), R"({"usageStats":{"anthropic:default":{"errorCount":2}}})");
  // keyward's generation is in its own table.
  EXPECT_EQ(RawDb{shared_}.text(
                "SELECT generation FROM keyward_generation WHERE profile_id = 'anthropic:default'"),
            std::to_string(*written));
  auto again = store.load();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->generation, *written);
  EXPECT_EQ(again->credential.refresh_token.reveal(), "sk-ant-ort01-NEW");
}

TEST_F(OpenClawStoreTest, NeverWritesOverARefreshTokenOpenClawRotatedMeanwhile) {
  put_shared(kStore);
  store::OpenClaw store{shared_, "anthropic:default"};
  auto loaded = store.load();
  ASSERT_TRUE(loaded);
  // OpenClaw rotates the tokens (its own write: the whole JSON, field by field).
  std::string rotated{kStore};
  rotated.replace(rotated.find("sk-ant-ort01-REFRESH"), 20, "sk-ant-ort01-OPENCLAW");
  put_shared(rotated);
  auto written = store.compare_and_swap(loaded->generation,
                                        Credential::oauth("sk-ant-oat01-K", "sk-ant-ort01-K", {}));
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, Errc::store_conflict);
  EXPECT_EQ(shared_json(), rotated);
}

TEST_F(OpenClawStoreTest, TwoChangesByOpenClawBetweenLooksNeverShareAGeneration) {
  put_shared(kStore);
  store::OpenClaw store{shared_, "anthropic:default"};
  std::string text{kStore};
  text.replace(text.find("sk-ant-ort01-REFRESH"), 20, "sk-ant-ort01-SECOND");
  put_shared(text);
  auto second = store.load();
  ASSERT_TRUE(second);
  text.replace(text.find("sk-ant-ort01-SECOND"), 19, "sk-ant-ort01-THIRD");
  put_shared(text);
  auto written = store.compare_and_swap(second->generation,
                                        Credential::oauth("sk-ant-oat01-K", "sk-ant-ort01-K", {}));
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, Errc::store_conflict);
  auto third = store.load();
  ASSERT_TRUE(third);
  EXPECT_GT(third->generation, second->generation);
  EXPECT_EQ(third->credential.refresh_token.reveal(), "sk-ant-ort01-THIRD");
}

TEST_F(OpenClawStoreTest, RefusesAStoreVersionItDoesNotKnowAndNeverWritesIt) {
  const std::string v2 =
      R"({"version":2,"profiles":{"anthropic:default":{"type":"oauth","provider":"anthropic","access":"a","refresh":"r"}}})";
  put_shared(v2);
  store::OpenClaw store{shared_, "anthropic:default"};
  auto loaded = store.load();
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, Errc::store_unavailable);
  EXPECT_NE(loaded.error().message.find("version 2"), std::string::npos) << loaded.error().message;
  EXPECT_NE(loaded.error().message.find("version 1 only"), std::string::npos);
  auto written = store.compare_and_swap(1, Credential::oauth("a2", "r2", {}));
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("version 2"), std::string::npos);
  EXPECT_EQ(shared_json(), v2);
}

TEST_F(OpenClawStoreTest, RefusesToAddAProfileOrChangeItsTypeAndSaysWhy) {
  put_shared(kStore);
  store::OpenClaw absent{shared_, "anthropic:other"};
  auto added = absent.compare_and_swap(0, Credential::oauth("a", "r", {}));
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, Errc::persist_failed);
  EXPECT_NE(added.error().message.find("does not exist"), std::string::npos);
  store::OpenClaw key{shared_, "openai:ci"};
  auto loaded = key.load();
  ASSERT_TRUE(loaded);
  auto retyped = key.compare_and_swap(loaded->generation, Credential::bearer("t"));
  ASSERT_FALSE(retyped);
  EXPECT_EQ(retyped.error().code, Errc::persist_failed);
  EXPECT_NE(retyped.error().message.find("never its type"), std::string::npos);
  EXPECT_EQ(shared_json(), kStore);
  auto rekeyed = key.compare_and_swap(loaded->generation, Credential::api_key("sk-proj-NEW"));
  ASSERT_TRUE(rekeyed) << rekeyed.error().message;
  EXPECT_NE(
      shared_json().find(
          R"("openai:ci":{"type":"api_key","provider":"openai","key":"sk-proj-NEW","label":"ci"})"),
      std::string::npos);
}

TEST_F(OpenClawStoreTest, ReadsTheSharedProfilesWhereOpenClawSaysTheyAre) {
  put_shared(kStore);
  put_agent(kStore);
  EXPECT_EQ(store::OpenClaw::shared_database(state_.string()), shared_);
  RawDb{shared_}.exec(
      "UPDATE config_machine_state SET value_json = '{\"location\":\"legacy-main\"}' WHERE "
      "state_key = 'auth.sharedStore'");
  EXPECT_EQ(store::OpenClaw::shared_database(state_.string()), agent_);
  auto loaded = store::OpenClaw{shared_, "anthropic:default"}.load();
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find("auth.sharedStore"), std::string::npos);
  RawDb{shared_}.exec("DELETE FROM config_machine_state WHERE state_key = 'auth.sharedStore'");
  EXPECT_EQ(store::OpenClaw::shared_database(state_.string()), agent_);
  const store::OpenClaw missing_row{shared_, "anthropic:default"};
  EXPECT_FALSE(missing_row.load());
}

TEST_F(OpenClawStoreTest, NamesAFileThatIsNotAnOpenClawDatabase) {
  auto loaded = store::OpenClaw{(state_ / "auth-profiles.json").string(), "x"}.load();
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find("is not an OpenClaw database"), std::string::npos);
}

TEST_F(OpenClawStoreTest, OpensInWalModeAndWaitsForAnotherWriterWithinTheBusyTimeout) {
  put_shared(kStore);
  store::OpenClaw store{shared_, "anthropic:default"};
  auto loaded = store.load();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(RawDb{shared_}.text("PRAGMA journal_mode"), "wal");
  // OpenClaw holds its write transaction for 300 ms; keyward's write waits for it, then compares.
  RawDb other{shared_};
  other.exec("BEGIN IMMEDIATE");
  std::thread release{[&] {
    std::this_thread::sleep_for(milliseconds{300});
    other.exec("COMMIT");
  }};
  auto written = store.compare_and_swap(loaded->generation,
                                        Credential::oauth("sk-ant-oat01-W", "sk-ant-ort01-W", {}));
  release.join();
  ASSERT_TRUE(written) << written.error().message;
}

TEST(Sha256, MatchesTheStandardVectors) {
  EXPECT_EQ(detail::sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(detail::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(detail::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // Node's crypto over OpenClaw's digest input (buildOAuthRefreshSecretDigest).
  EXPECT_EQ(detail::sha256_hex(R"(["openclaw.oauth-refresh-generation",1,"anthropic:default",)"
                               R"("anthropic","refresh","sk-ant-ort01-REFRESH"])"),
            "ddf3fbf5e2d7b21900ba7508d03d9fcd046175828ada4fc3151676ae6fedf098");
}

}  // namespace
}  // namespace keyward::testing
