// store::File's own writes: numbers read and written exactly, generations as integers (out of
// range refused, never cast), and only a rotation spreading to profiles sharing the login.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "keyward/store/file.hpp"
#include "store/credentials_file_fixture.hpp"

namespace keyward {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kAccess = testing::kFileAccess;
constexpr std::string_view kRefresh = testing::kFileRefresh;

class FileStoreNumbers : public testing::CredentialsFileTest {
 protected:
  // A profile for the tokens above with `generation` written as `generation_text`.
  void write_with_generation(std::string_view generation_text) const {
    write(R"({"profiles": {"anthropic:work": {"type": "oauth", "access": ")" +
          std::string{kAccess} + R"(", "refresh": ")" + std::string{kRefresh} +
          R"(", "generation": )" + std::string{generation_text} + "}}}");
  }
};

TEST_F(FileStoreNumbers, NumbersItDoesNotOwnAreWrittenBackByteForByte) {
  write(std::string{R"({"profiles": {"anthropic:work": {"type": "oauth", "access": ")"} +
        std::string{kAccess} +
        R"("}}, "usageStats": {"big": 12345678901234567891, "f": 1.50, "e": 1E+2}})");
  store::File store{path_, "anthropic:work"};
  ASSERT_TRUE(store.compare_and_swap(1, Credential::api_key("sk-proj-KEYkkkkkkkkkkkkkkkkkkkk")));
  const std::string after = text();
  EXPECT_NE(after.find("12345678901234567891"), std::string::npos) << after;
  EXPECT_NE(after.find("1.50"), std::string::npos) << after;
  EXPECT_NE(after.find("1E+2"), std::string::npos) << after;
}

TEST_F(FileStoreNumbers, AGenerationOf2To64IsRefusedNamingTheProfileAndMember) {
  write_with_generation("18446744073709551616");
  const std::string before = text();
  store::File store{path_, "anthropic:work"};
  auto loaded = store.load();
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, Errc::store_unavailable);
  EXPECT_NE(loaded.error().message.find("anthropic:work"), std::string::npos);
  EXPECT_NE(loaded.error().message.find("\"generation\""), std::string::npos);
  EXPECT_FALSE(store.compare_and_swap(1, Credential::oauth("a", "b", {})));
  EXPECT_EQ(text(), before);  // nothing written
}

TEST_F(FileStoreNumbers, NegativeFractionalAndExponentGenerationsAreRefused) {
  for (const std::string_view bad : {"-1", "1.5", "1e3", "18446744073709551615"}) {
    write_with_generation(bad);
    auto loaded = store::File{path_, "anthropic:work"}.load();
    EXPECT_FALSE(loaded) << bad;
  }
}

TEST_F(FileStoreNumbers, AGenerationAbove2To53StillAdvancesExactly) {
  write_with_generation("9007199254740993");  // 2^53 + 1: not a double
  store::File store{path_, "anthropic:work"};
  auto loaded = store.load();
  ASSERT_TRUE(loaded) << loaded.error().message;
  // keyward did not write it (no generation_of), so it counts as one more.
  ASSERT_EQ(loaded->generation, 9007199254740994U);
  ASSERT_TRUE(store.compare_and_swap(loaded->generation, Credential::oauth("a2", "r2", {})));
  EXPECT_NE(text().find("\"generation\": 9007199254740995"), std::string::npos) << text();
  auto again = store.load();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->generation, 9007199254740995U);
  ASSERT_TRUE(store.compare_and_swap(again->generation, Credential::oauth("a3", "r3", {})));
  EXPECT_EQ(store.load()->generation, 9007199254740996U);
}

TEST_F(FileStoreNumbers, ASiblingsOutOfRangeGenerationRefusesTheRotation) {
  write(R"({"profiles": {
    "anthropic:work": {"type": "oauth", "access": "a", "refresh": "shared"},
    "anthropic:alias": {"type": "oauth", "access": "a", "refresh": "shared", "generation": 99999999999999999999}}})");
  const std::string before = text();
  auto written = store::File{path_, "anthropic:work"}.compare_and_swap(
      1, Credential::oauth("a2", "rotated", {}));
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("anthropic:alias"), std::string::npos);
  EXPECT_EQ(text(), before);
}

TEST_F(FileStoreNumbers, AWriteThatIsNotARotationDoesNotSpread) {
  write(R"({"profiles": {
    "anthropic:work": {"type": "oauth", "access": "a", "refresh": "shared"},
    "anthropic:alias": {"type": "oauth", "access": "a", "refresh": "shared"}}})");
  ASSERT_TRUE(store::File(path_, "anthropic:work")
                  .compare_and_swap(1, Credential::api_key("sk-proj-KEYkkkkkkkkkkkkkkkkkkkk")));
  auto alias = store::File{path_, "anthropic:alias"}.load();
  ASSERT_TRUE(alias);
  EXPECT_EQ(alias->credential.kind, CredentialKind::oauth);
  EXPECT_EQ(alias->credential.refresh_token.reveal(), "shared");
  EXPECT_EQ(alias->generation, 1U);
}

}  // namespace
}  // namespace keyward
