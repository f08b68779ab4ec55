// store::File's rewrites keep the file's own text: every member keyward does not change is written
// back with its source bytes, in the file's own indentation style, and a rewrite that its own
// reader would refuse (over FileOptions::max_size) is not written at all.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "keyward/resilient_credential.hpp"
#include "keyward/store/file.hpp"
#include "store/credentials_file_fixture.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_transport.hpp"

namespace keyward {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kAccess = testing::kFileAccess;
constexpr std::string_view kRefresh = testing::kFileRefresh;

class FileStoreText : public testing::CredentialsFileTest {
 protected:
  // Rewrites profile `id` (whose record is `record` in the file written as `before`) and checks
  // that every byte outside that record is what it was; returns the record as written.
  [[nodiscard]] std::string rewrite_and_check(const std::string& before, std::string_view id,
                                              std::string_view record) const {
    const std::size_t start = before.find(record);
    EXPECT_NE(start, std::string::npos);
    const std::string prefix = before.substr(0, start);
    const std::string suffix = before.substr(start + record.size());
    write(before);
    store::File store{path_, std::string{id}};
    auto loaded = store.load();
    EXPECT_TRUE(loaded) << loaded.error().message;
    auto written = store.compare_and_swap(loaded->generation,
                                          Credential::oauth("sk-ant-oat01-NEW", "sk-ant-ort01-NEW",
                                                            TimePoint{std::chrono::hours{1}}));
    EXPECT_TRUE(written) << written.error().message;
    const std::string after = text();
    EXPECT_TRUE(after.starts_with(prefix)) << after;
    EXPECT_TRUE(after.ends_with(suffix)) << after;
    EXPECT_GE(after.size(), prefix.size() + suffix.size());
    auto again = store.load();
    EXPECT_TRUE(again) << again.error().message;
    EXPECT_EQ(again->credential.refresh_token.reveal(), "sk-ant-ort01-NEW");
    if (after.size() < prefix.size() + suffix.size()) return {};
    return after.substr(prefix.size(), after.size() - prefix.size() - suffix.size());
  }
};

// One compact profile record (JSON.stringify without indentation) of about 200 bytes.
std::string compact_record(int i) {
  return R"({"type":"oauth","provider":"anthropic","email":"user)" + std::to_string(i) +
         R"(@example.com","access":"sk-ant-oat01-)" + std::string(60, 'a') +
         R"(","refresh":"sk-ant-ort01-)" + std::string(60, 'r') + std::to_string(i) +
         R"(","expires":1767225600000})";
}

TEST_F(FileStoreText, ACompact200KbFileStaysCompactAndUntouchedProfilesKeepTheirBytes) {
  std::string before = R"({"version":1,"profiles":{)";
  std::string ours;
  for (int i = 0; i < 1000; ++i) {
    if (i != 0) before += ',';
    const std::string record = compact_record(i);
    before += "\"p" + std::to_string(i) + "\":" + record;
    if (i == 500) ours = record;
  }
  before += R"(},"order":{"anthropic":["p0","p500"]},"usageStats":{"p0":{"lastUsed":1.50}}})";
  ASSERT_GT(before.size(), 200'000U);
  const std::string record = rewrite_and_check(before, "p500", ours);
  EXPECT_EQ(record.find('\n'), std::string::npos) << record;  // compact stays compact
  EXPECT_NE(record.find(R"("email":"user500@example.com")"), std::string::npos) << record;
  EXPECT_NE(record.find(R"("generation":)"), std::string::npos) << record;
  EXPECT_LT(text().size(), before.size() + 200);
}

TEST_F(FileStoreText, TwoSpaceIndentationIsKept) {
  const std::string ours = "{\n      \"type\": \"oauth\",\n      \"access\": \"" +
                           std::string{kAccess} + "\",\n      \"refresh\": \"" +
                           std::string{kRefresh} + "\"\n    }";
  const std::string before =
      "{\n  \"version\": 1,\n  \"profiles\": {\n    \"a\": {\"odd\" :  [1,2 "
      ",3]},\n    \"work\": " +
      ours + "\n  },\n  \"order\": {\"x\":[ ]}\n}\n";
  const std::string record = rewrite_and_check(before, "work", ours);
  EXPECT_TRUE(record.starts_with("{\n      \"type\": \"oauth\",\n")) << record;
  EXPECT_TRUE(record.ends_with("\n    }")) << record;
}

TEST_F(FileStoreText, FourSpaceIndentationIsKept) {
  const std::string ours =
      "{\n            \"type\": \"oauth\",\n            \"access\": \"a\"\n  "
      "      }";
  const std::string before =
      "{\n    \"profiles\": {\n        \"work\": " + ours + "\n    },\n    \"version\": 1\n}";
  const std::string record = rewrite_and_check(before, "work", ours);
  EXPECT_TRUE(record.starts_with("{\n            \"type\": \"oauth\",\n")) << record;
  EXPECT_TRUE(record.ends_with("\n        }")) << record;
}

TEST_F(FileStoreText, TabIndentationIsKept) {
  const std::string ours = "{\n\t\t\t\"type\": \"oauth\",\n\t\t\t\"access\": \"a\"\n\t\t}";
  const std::string before =
      "{\n\t\"version\": 1,\n\t\"profiles\": {\n\t\t\"work\": " + ours + "\n\t}\n}\n";
  const std::string record = rewrite_and_check(before, "work", ours);
  EXPECT_TRUE(record.starts_with("{\n\t\t\t\"type\": \"oauth\",\n")) << record;
  EXPECT_TRUE(record.ends_with("\n\t\t}")) << record;
}

TEST_F(FileStoreText, OneLineWithSpacesAfterSeparatorsIsKept) {
  // Python's json.dumps() default: one line, ", " and ": ".
  const std::string ours = R"({"type": "oauth", "access": "a"})";
  const std::string before =
      R"({"profiles": {"work": )" + ours + R"(, "b": {"k": 1}}, "version": 1})";
  const std::string record = rewrite_and_check(before, "work", ours);
  EXPECT_TRUE(record.starts_with(R"({"type": "oauth", "access": )")) << record;
}

TEST_F(FileStoreText, MembersOfTheRewrittenProfileKeepTheirSourceText) {
  const std::string ours =
      R"({"type":"oauth","email":"dev\u0040example.com","meta":{"n":1E+2, "s":[ ]},"access":"a"})";
  const std::string before = R"({"version":1,"profiles":{"work":)" + ours + "}}";
  const std::string record = rewrite_and_check(before, "work", ours);
  EXPECT_NE(record.find(R"("email":"dev\u0040example.com")"), std::string::npos) << record;
  EXPECT_NE(record.find(R"("meta":{"n":1E+2, "s":[ ]})"), std::string::npos) << record;
}

TEST_F(FileStoreText, ANewProfileFollowsTheFilesStyle) {
  const std::string before = R"({"version":1,"profiles":{"a":{"type":"api_key","key":"k"}}})";
  write(before);
  store::File store{path_, "work"};
  ASSERT_TRUE(store.compare_and_swap(0, Credential::api_key("sk-proj-KEY")));
  const std::string after = text();
  EXPECT_TRUE(after.starts_with(R"({"version":1,"profiles":{"a":{"type":"api_key","key":"k"},)"))
      << after;
  EXPECT_EQ(after.find('\n'), std::string::npos) << after;
  EXPECT_TRUE(store.load());
}

TEST_F(FileStoreText, AWriteOverTheReadersLimitIsRefusedAndLeavesTheFile) {
  // A file just under the limit: the reader takes it, and a longer token would push it over.
  const std::string padding(1'000, 'x');
  std::string before = R"({"profiles":{"work":{"type":"oauth","access":"a","refresh":"r"})";
  for (int i = 0; before.size() < (std::size_t{1} << 20) - 2'000; ++i) {
    before += ",\"pad" + std::to_string(i) + R"(":{"type":"api_key","key":")" + padding + "\"}";
  }
  before += "}}";
  write(before);
  store::File store{path_, "work"};
  auto loaded = store.load();
  ASSERT_TRUE(loaded) << loaded.error().message;
  const std::string big_token(4'000, 'T');
  auto written = store.compare_and_swap(loaded->generation, Credential::oauth(big_token, "r2", {}));
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, Errc::store_unavailable);
  EXPECT_NE(written.error().message.find(path_), std::string::npos) << written.error().message;
  EXPECT_NE(written.error().message.find("1048576"), std::string::npos) << written.error().message;
  EXPECT_EQ(written.error().message.find(big_token.substr(0, 16)), std::string::npos);
  EXPECT_EQ(text(), before);  // the old file untouched
  auto again = store.load();
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->credential.refresh_token.reveal(), "r");
  // A credential that fits is written.
  EXPECT_TRUE(store.compare_and_swap(again->generation, Credential::oauth("a2", "r2", {})));
  EXPECT_TRUE(store.load());
}

TEST_F(FileStoreText, ANewFileIsIndentedTwoSpaces) {
  store::File store{path_, "work"};
  ASSERT_TRUE(store.compare_and_swap(0, Credential::api_key("sk-proj-KEY")));
  EXPECT_TRUE(
      text().starts_with("{\n  \"version\": 1,\n  \"profiles\": {\n    \"work\": {\n      "
                         "\"type\": \"api_key\",\n"))
      << text();
}

}  // namespace
}  // namespace keyward

namespace keyward {
namespace {

TEST_F(FileStoreText, AGenerationPastTheReadersBoundIsNeverWritten) {
  // Not written by keyward (no generation_of), so it loads as one more, 2^64 - 2; a write of
  // 2^64 - 1 would be a file the reader refuses.
  const std::string before = R"({"version":1,"profiles":{"work":{"type":"token","token":"x",)"
                             R"("generation":18446744073709551613}}})";
  write(before);
  store::File store{path_, "work"};
  auto loaded = store.load();
  ASSERT_TRUE(loaded) << loaded.error().message;
  auto written = store.compare_and_swap(loaded->generation, Credential::api_key("sk-proj-KEY"));
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, Errc::store_unavailable);
  EXPECT_NE(written.error().message.find("\"work\""), std::string::npos);
  EXPECT_FALSE(store.mark_refreshing(loaded->generation, TimePoint{}));
  EXPECT_EQ(text(), before);
  EXPECT_TRUE(store.load());
}

TEST_F(FileStoreText, ASiblingsGenerationPastTheReadersBoundRefusesTheRotation) {
  const std::string before = R"({"version":1,"profiles":{)"
                             R"("work":{"type":"oauth","access":"a","refresh":"shared"},)"
                             R"("alias":{"type":"oauth","access":"a","refresh":"shared",)"
                             R"("generation":18446744073709551612}}})";
  write(before);
  auto written =
      store::File{path_, "work"}.compare_and_swap(1, Credential::oauth("a2", "rotated", {}));
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("\"alias\""), std::string::npos);
  EXPECT_EQ(text(), before);
  EXPECT_TRUE(store::File(path_, "alias").load());
}

TEST_F(FileStoreText, TheRefusalMarkIsSpacedLikeTheFile) {
  for (const bool compact : {true, false}) {
    write(compact
              ? R"({"version":1,"profiles":{"work":{"type":"oauth","access":"a","refresh":"r"}}})"
              : "{\n  \"version\": 1,\n  \"profiles\": {\n    \"work\": {\"type\": \"oauth\", "
                "\"access\": \"a\", \"refresh\": \"r\"}\n  }\n}\n");
    store::File store{path_, "work"};
    const RefreshRefusal refusal{TimePoint{std::chrono::seconds{5}}, "invalid_grant"};
    ASSERT_TRUE(store.mark_refused(1, refusal));
    const std::string expected =
        compact ? R"("refresh_refused":{"at":5000,"reason":"invalid_grant"})"
                : R"("refresh_refused": {"at": 5000, "reason": "invalid_grant"})";
    EXPECT_NE(text().find(expected), std::string::npos) << text();
    auto loaded = store.load();
    ASSERT_TRUE(loaded);
    ASSERT_TRUE(loaded->refresh_refused);
    EXPECT_EQ(loaded->refresh_refused->reason, "invalid_grant");
  }
}

TEST_F(FileStoreText, AMarkForAProfileTheFileDoesNotHoldWritesNothing) {
  // An in-memory credential refreshed with a file that does not hold it yet: a marker alone
  // would be a profile without its secret, which the reader refuses.
  const std::string before = R"({"version":1,"profiles":{"other":{"type":"api_key","key":"k"}}})";
  write(before);
  store::File store{path_, "work"};
  ASSERT_TRUE(store.mark_refreshing(0, TimePoint{std::chrono::seconds{5}}));
  ASSERT_TRUE(store.mark_refused(0, RefreshRefusal{TimePoint{}, "invalid_grant"}));
  EXPECT_EQ(text(), before);
  ASSERT_TRUE(store.compare_and_swap(0, Credential::oauth("a", "r", {})));
  auto loaded = store.load();
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->generation, 1U);
}

// Redeems every refresh token for an access token too long for a nearly full credentials file.
struct LongTokenRefresh {
  std::shared_ptr<int> calls = std::make_shared<int>(0);
  [[nodiscard]] bool refreshable(const Credential& credential) const {
    return !credential.refresh_token.empty();
  }
  template <class T>
  Result<RefreshOutcome> refresh(const Credential& /*credential*/, T& /*transport*/,
                                 TimePoint now) {
    ++*calls;
    return RefreshOutcome{
        .credential = Credential::oauth(std::string(3'000, 'A'), "sk-ant-ort01-ROTATED",
                                        now + std::chrono::hours{1}),
        .rotated = true};
  }
};

TEST_F(FileStoreText, ARefreshTooLargeToStoreIsKeptInMemoryAndStoredOnceTheFileHasRoom) {
  const testing::FakeClock clock;
  const auto expired = std::chrono::duration_cast<std::chrono::milliseconds>(
                           (clock.now() - std::chrono::hours{1}).time_since_epoch())
                           .count();
  std::string before = R"({"version":1,"profiles":{"work":{"type":"oauth","access":")" +
                       std::string{kAccess} +
                       R"(",)"
                       R"("refresh":")" +
                       std::string{kRefresh} + R"(","expires":)" + std::to_string(expired) + "}";
  for (int i = 0; before.size() < (std::size_t{1} << 20) - 1'500; ++i) {
    before += ",\"pad" + std::to_string(i) + R"(":{"type":"api_key","key":")" +
              std::string(50, 'x') + "\"}";
  }
  before += "}}";
  write(before);
  struct Policies : DefaultPolicies {
    using Refresh = LongTokenRefresh;
    using Store = store::File;
    using Clock = testing::FakeClock;
    using Sleeper = testing::RecordingSleeper;
  };
  testing::FakeTransport transport;
  transport.on("https://api.test/", [](const Request&) { return testing::response(200, "ok"); });
  store::File store{path_, "work"};
  const LongTokenRefresh refresh;
  ResilientCredential<testing::FakeTransport, Policies> api{
      transport,
      *store.load(),
      {.profile = "work"},
      {.refresh = refresh,
       .store = store,
       .clock = clock,
       .sleeper = testing::RecordingSleeper{clock}}};
  const Request request{.method = "GET", .url = "https://api.test/v1"};

  auto first = api.send(request);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, Errc::persist_failed) << first.error().message;
  EXPECT_EQ(*refresh.calls, 1);
  auto stored = store.load();  // the file still loads, with the old credential
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->credential.refresh_token.reveal(), kRefresh);

  // Another tool makes room; the credential kept in memory is stored, with no second token call.
  std::string room = text();
  room.replace(room.find(",\"pad0\""), std::string::npos, "}}");
  write(room);
  bool sent = false;
  for (int i = 0; i < 20 && !sent; ++i) {
    clock.advance(std::chrono::minutes{1});
    sent = api.send(request).has_value();
  }
  EXPECT_TRUE(sent);
  EXPECT_EQ(*refresh.calls, 1);
  stored = store.load();
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->credential.refresh_token.reveal(), "sk-ant-ort01-ROTATED");
  EXPECT_EQ(transport.requests().back().headers.get("Authorization").value_or(""),
            "Bearer " + std::string(3'000, 'A'));
}

}  // namespace
}  // namespace keyward
