// Loads the provider response fixtures of tests/fixtures/ (copied from shared/fixtures) into
// Responses and expected verdicts, using keyward's own JSON reader.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/detail/json.hpp"
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
  const auto json = detail::json::parse(read_text(path));
  const auto fail = [&](const char* what) {
    return std::runtime_error("fixture " + name + ": " + what);
  };
  if (!json || !json->is_object()) throw fail("not a JSON object");
  Fixture f;
  f.name = name;
  f.provider = std::string{json->string_or("provider")};
  f.endpoint = json->string_or("endpoint") == "token" ? Endpoint::token : Endpoint::api;
  if (json->string_or("credential") == "oauth") f.credential = CredentialKind::oauth;
  if (json->string_or("credential") == "api_key") f.credential = CredentialKind::api_key;
  if (const auto now = json->string_or("now"); !now.empty()) {
    // RFC 3339 in UTC, as the fixtures write it (libstdc++ 12 has no std::chrono::parse).
    int y = 0;
    unsigned mo = 0;
    unsigned d = 0;
    int h = 0;
    int mi = 0;
    int sec = 0;
    if (std::sscanf(std::string{now}.c_str(), "%4d-%2u-%2uT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi,
                    &sec) != 6) {
      throw fail("bad now");
    }
    const auto parsed =
        std::chrono::sys_days{std::chrono::year{y} / std::chrono::month{mo} / std::chrono::day{d}} +
        std::chrono::hours{h} + std::chrono::minutes{mi} + std::chrono::seconds{sec};
    f.now = parsed;
  }
  const auto* response = json->find("response");
  const auto* expect = json->find("expect");
  if (response == nullptr || expect == nullptr) throw fail("missing response or expect");
  const auto status =
      response->find("status") ? response->find("status")->as_number() : std::nullopt;
  if (!status) throw fail("missing status");
  f.response.status = static_cast<int>(*status);
  if (const auto* headers = response->find("headers"); headers && headers->as_object()) {
    for (const auto& [header, value] : *headers->as_object()) {
      if (value.as_string()) f.response.headers.add(header, *value.as_string());
    }
  }
  f.response.body = std::string{response->string_or("body")};
  f.kind = std::string{expect->string_or("kind")};
  f.scope = std::string{expect->string_or("scope")};
  f.retryable = expect->find("retryable") && expect->find("retryable")->as_bool().value_or(false);
  if (const auto* wait = expect->find("retry_after_ms"); wait && wait->as_number()) {
    f.retry_after_ms = static_cast<std::int64_t>(*wait->as_number());
  }
  if (const auto* code = expect->find("provider_code"); code && code->as_string()) {
    f.provider_code = *code->as_string();
  }
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

}  // namespace keyward::testing
