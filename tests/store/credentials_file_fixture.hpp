// A fresh folder per test holding one credentials file, removed afterwards: the set-up the file
// store's tests share.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace keyward::testing {

/// The access and refresh tokens the file store's tests write.
inline constexpr std::string_view kFileAccess =
    "sk-ant-oat01-ACCESSaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1111";
inline constexpr std::string_view kFileRefresh =
    "sk-ant-ort01-REFRESHrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr2222";

/// `path_` is `auth-profiles.json` in a folder of its own (`dir_`), created for each test.
class CredentialsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "keyward-file-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "auth-profiles.json").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  /// Replaces the file with `text`.
  void write(std::string_view text) const { std::ofstream{path_} << text; }
  /// The file's bytes.
  [[nodiscard]] std::string text() const {
    std::ifstream in{path_};
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
  }

  std::filesystem::path dir_;
  std::string path_;
};

}  // namespace keyward::testing
