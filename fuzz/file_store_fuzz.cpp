// libFuzzer target for keyward::store::File: the input is a credentials file, written to a private
// folder and opened at one of its profiles (or "p" when it has none).
//
// Invariants: loading and writing never crash or hang; a file that does not load is left byte for
// byte by a write; a file that loads takes a compare-and-swap of a new credential (or the refresh
// marker), or refuses it and is left byte for byte; a written file loads again, with the new
// credential one generation on (or the marker), and has the same profile ids (the opened one added
// when it was absent). Every value the JSON reader returns has a source text that is that value.
#include <unistd.h>

#include <chrono>
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

// Every value's source text is itself that value, and a member's starts with its quoted name.
void check_sources(std::string_view text, const json::Value& value) {
  const std::string_view source = value.source(text);
  const std::optional<json::Value> again = json::parse(source);
  require(again.has_value() && again->type() == value.type());
  require(value.member_source(text).ends_with(source));
  if (const auto* elements = value.as_array()) {
    for (const json::Value& element : *elements) {
      require(element.member_source(text) == element.source(text));
      check_sources(text, element);
    }
  }
  if (const auto* members = value.as_object()) {
    for (const auto& [name, member] : *members) {
      require(member.member_source(text).starts_with('"'));
      check_sources(text, member);
    }
  }
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
  if (const std::optional<json::Value> root = json::parse(text)) check_sources(text, *root);
  const std::optional<std::vector<std::string>> ids = profile_ids(text);
  // The input's length picks the profile and, below, the write.
  const std::string profile = ids && !ids->empty() ? (*ids)[text.size() / 3 % ids->size()] : "p";
  keyward::store::File store{path, profile};
  // The write: a rotation (which spreads to profiles sharing the login),
  // an API key replacing the profile, or the refresh marker.
  const std::size_t operation = text.size() % 3;
  const auto next = operation == 1
                        ? keyward::Credential::api_key("sk-proj-FUZZ")
                        : keyward::Credential::oauth("sk-ant-oat01-FUZZ", "sk-ant-ort01-FUZZ", {});
  const keyward::TimePoint now{std::chrono::seconds{1770206400}};

  const auto loaded = store.load();
  if (!loaded) {
    require(!store.compare_and_swap(0, next));
    require(!store.compare_and_swap(1, next));
    require(!store.mark_refreshing(1, now));
    require(read(path) == text);
    return 0;
  }
  std::optional<std::uint64_t> written;
  if (operation == 2) {
    if (store.mark_refreshing(loaded->generation, now)) written = loaded->generation;
  } else if (auto swapped = store.compare_and_swap(loaded->generation, next)) {
    written = *swapped;
  }
  const std::string after = read(path);
  if (!written || (operation == 2 && loaded->generation == 0)) {  // no stored credential to mark
    require(after == text);
    return 0;
  }
  const auto again = store.load();
  require(again.has_value());
  if (operation == 2) {
    require(again->generation == loaded->generation);
    require(again->credential.token == loaded->credential.token);
    require(again->credential.refresh_token == loaded->credential.refresh_token);
    require(again->refresh_pending == now);
  } else {
    require(*written == loaded->generation + 1);
    require(again->generation == *written);
    require(again->credential.token == next.token);
    require(again->credential.refresh_token == next.refresh_token);
    require(!again->refresh_pending);
  }
  // A file that loads is an object; its profile ids are kept, the opened one added if absent.
  require(ids.has_value());
  std::vector<std::string> expected = *ids;
  if (expected.empty()) expected.push_back(profile);
  require(profile_ids(after) == expected);
  return 0;
}
