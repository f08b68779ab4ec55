// Loads the provider response fixtures of tests/fixtures/ into Responses and expected verdicts,
// with the reader `keyward classify` uses.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/response_file.hpp"
#include "keyward/classifier.hpp"
#include "keyward/transport.hpp"

namespace keyward::testing {

/// One fixture: a response, its context, and the verdict it must get.
struct Fixture {
  std::string name;  // e.g. "generic/401-invalid-token-challenge.json"
  std::string provider;
  Endpoint endpoint = Endpoint::api;
  std::optional<CredentialKind> credential;  // the kind the request carried
  std::optional<TimePoint> now;
  Response response;
  std::string kind;
  std::string scope;
  bool retryable = false;
  std::optional<std::int64_t> retry_after_ms;
  std::optional<std::string> provider_code;
};

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Parses one fixture file; throws std::runtime_error naming the file when it is malformed.
inline Fixture load_fixture(const std::filesystem::path& path, const std::string& name) {
  auto file = cli::parse_response_file(read_text(path));
  if (!file) throw std::runtime_error("fixture " + name + ": " + file.error());
  if (!file->expect) throw std::runtime_error("fixture " + name + ": missing \"expect\"");
  Fixture f;
  f.name = name;
  f.provider = file->provider;
  f.endpoint = file->endpoint;
  f.credential = file->credential;
  f.now = file->now;
  f.response = std::move(file->response);
  f.kind = file->expect->kind;
  f.scope = file->expect->scope;
  f.retryable = file->expect->retryable;
  f.retry_after_ms = file->expect->retry_after_ms;
  f.provider_code = file->expect->provider_code;
  return f;
}

/// The context production traffic would classify the fixture's response in.
inline ClassifyContext context_of(const Fixture& f) {
  return {.endpoint = f.endpoint,
          .now = f.now.value_or(
              TimePoint{std::chrono::sys_days{std::chrono::year{2026} / std::chrono::February / 4} +
                        std::chrono::hours{12}}),
          .credential = f.credential};
}

/// Every fixture under KEYWARD_FIXTURE_DIR/<folder>, sorted by name.
inline std::vector<Fixture> load_fixtures(const std::string& folder) {
  const std::filesystem::path root{KEYWARD_FIXTURE_DIR};
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(root / folder)) {
    if (entry.path().extension() == ".json") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<Fixture> fixtures;
  for (const auto& path : paths) {
    fixtures.push_back(load_fixture(path, folder + "/" + path.filename().string()));
  }
  return fixtures;
}

/// Every fixture under each of `folders`, folder by folder.
inline std::vector<Fixture> load_fixtures(std::initializer_list<std::string> folders) {
  std::vector<Fixture> all;
  for (const auto& folder : folders) {
    for (auto& f : load_fixtures(folder)) all.push_back(std::move(f));
  }
  return all;
}

}  // namespace keyward::testing
