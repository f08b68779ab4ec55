// libFuzzer target for keyward::store::File: the input is a credentials file, written to a private
// folder and opened at one of its profiles (the first, or "p" when it has none).
//
// Invariants: loading and writing never crash or hang; a file that does not load is left byte for
// byte by a write; a file that loads takes a compare-and-swap of a new credential, or refuses it
// and is left byte for byte; a written file loads again, with the new credential one generation
// on, and has the same profile ids (the opened one added when it was absent).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/store/file.hpp"

namespace {

using keyward::fuzz::require;
namespace json = keyward::detail::json;

// The private folder, made once and removed when the fuzzer exits.
const std::string& folder() {
  static const std::string path = [] {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "keyward-file-fuzz-XXXXXX").string();
    require(::mkdtemp(pattern.data()) != nullptr);
    return pattern;
  }();
  static const bool removed_at_exit =
      std::atexit([] { std::filesystem::remove_all(folder()); }) == 0;
  require(removed_at_exit);
  return path;
}

std::string read(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

// The ids of the file's profiles in order, or nothing when it is not an object of profiles.
std::optional<std::vector<std::string>> profile_ids(std::string_view text) {
  const std::optional<json::Value> root = json::parse(text);
  if (!root || !root->is_object()) return std::nullopt;
  std::vector<std::string> ids;
  const json::Value* profiles = root->find("profiles");
  if (profiles == nullptr || !profiles->is_object()) return ids;
  for (const auto& [id, record] : *profiles->as_object()) ids.push_back(id);
  return ids;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = keyward::fuzz::as_text(data, size);
  const std::string path = folder() + "/auth-profiles.json";
  {
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    require(out.good());
  }
  const std::optional<std::vector<std::string>> ids = profile_ids(text);
  const std::string profile = ids && !ids->empty() ? ids->front() : "p";
  keyward::store::File store{path, profile};
  const auto next = keyward::Credential::oauth("sk-ant-oat01-FUZZ", "sk-ant-ort01-FUZZ", {});

  const auto loaded = store.load();
  if (!loaded) {
    require(!store.compare_and_swap(0, next));
    require(!store.compare_and_swap(1, next));
    require(read(path) == text);
    return 0;
  }
  const auto written = store.compare_and_swap(loaded->generation, next);
  const std::string after = read(path);
  if (!written) {
    require(after == text);
    return 0;
  }
  require(*written == loaded->generation + 1);
  const auto again = store.load();
  require(again.has_value());
  require(again->generation == *written);
  require(again->credential.token.reveal() == "sk-ant-oat01-FUZZ");
  require(again->credential.refresh_token.reveal() == "sk-ant-ort01-FUZZ");
  // A file that loads is an object; its profile ids are kept, the opened one added if absent.
  require(ids.has_value());
  std::vector<std::string> expected = *ids;
  if (expected.empty()) expected.push_back(profile);
  require(profile_ids(after) == expected);
  return 0;
}
