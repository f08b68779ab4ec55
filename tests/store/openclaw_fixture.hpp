// An OpenClaw state directory per test, with its databases created from the exact schema
// OpenClaw 2026.9.6 uses (the CREATE TABLE text of its dist), removed afterwards.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/classifier.hpp"

namespace keyward::testing {

/// OpenClaw's shared store table (dist/openclaw-state-db-read-connection-*.mjs).
inline constexpr const char* kConfigMachineStateSql =
    "CREATE TABLE IF NOT EXISTS config_machine_state (\n"
    "  state_key TEXT NOT NULL PRIMARY KEY,\n"
    "  value_json TEXT NOT NULL,\n"
    "  updated_at_ms INTEGER NOT NULL\n"
    ") STRICT;";
/// OpenClaw's per-agent tables (dist/openclaw-agent-board-schema-*.mjs).
inline constexpr const char* kAgentAuthSql =
    "CREATE TABLE IF NOT EXISTS auth_profile_store (\n"
    "  store_key TEXT NOT NULL PRIMARY KEY,\n"
    "  store_json TEXT NOT NULL,\n"
    "  updated_at INTEGER NOT NULL\n"
    ") STRICT;\n"
    "CREATE TABLE IF NOT EXISTS auth_profile_state (\n"
    "  state_key TEXT NOT NULL PRIMARY KEY,\n"
    "  state_json TEXT NOT NULL,\n"
    "  updated_at INTEGER NOT NULL\n"
    ") STRICT;";

/// The time `ms` milliseconds after 1970, as OpenClaw's `expires` and windows count it.
inline TimePoint at_ms(std::int64_t ms) { return TimePoint{std::chrono::milliseconds{ms}}; }

/// A raw connection for the test's own reads and writes (OpenClaw's side).
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(::sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    ::sqlite3_busy_timeout(db_, 5000);
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  ~RawDb() { ::sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* error = nullptr;
    EXPECT_EQ(::sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error != nullptr ? error : "") << " in " << sql;
    ::sqlite3_free(error);
  }
  /// The first column of the first row, or nothing.
  std::optional<std::string> text(const std::string& sql, std::string_view bind = {}) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(::sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    if (!bind.empty()) {
      ::sqlite3_bind_text(stmt, 1, bind.data(), static_cast<int>(bind.size()), SQLITE_TRANSIENT);
    }
    std::optional<std::string> out;
    if (::sqlite3_step(stmt) == SQLITE_ROW && ::sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(::sqlite3_column_text(stmt, 0));
    }
    ::sqlite3_finalize(stmt);
    return out;
  }
  /// Runs `sql` with `value` bound to ?1.
  void run(const std::string& sql, std::string_view value) {
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(::sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    ::sqlite3_bind_text(stmt, 1, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    EXPECT_EQ(::sqlite3_step(stmt), SQLITE_DONE) << ::sqlite3_errmsg(db_);
    ::sqlite3_finalize(stmt);
  }

 private:
  sqlite3* db_ = nullptr;
};

/// `state_` is an OpenClaw state directory with `state/openclaw.sqlite` (shared store) and
/// `agents/main/agent/openclaw-agent.sqlite` (the main agent's), both with OpenClaw's tables.
class OpenClawStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "keyward-openclaw-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    state_ = pattern;
    std::filesystem::create_directories(state_ / "state");
    std::filesystem::create_directories(state_ / "agents/main/agent");
    shared_ = (state_ / "state/openclaw.sqlite").string();
    agent_ = (state_ / "agents/main/agent/openclaw-agent.sqlite").string();
    RawDb{shared_}.exec(kConfigMachineStateSql);
    // What OpenClaw 2026.9.6 writes in a state directory it creates: the shared profiles are here.
    RawDb{shared_}.exec(
        "INSERT INTO config_machine_state VALUES ('auth.sharedStore', "
        "'{\"location\":\"state-db\"}', 1)");
    RawDb{agent_}.exec(kAgentAuthSql);
  }
  void TearDown() override { std::filesystem::remove_all(state_); }

  /// Writes the shared store's `authProfiles.store` as OpenClaw does.
  void put_shared(std::string_view json) {
    RawDb{shared_}.run(
        "INSERT INTO config_machine_state (state_key, value_json, updated_at_ms) VALUES "
        "('authProfiles.store', ?1, 1) ON CONFLICT(state_key) DO UPDATE SET value_json = "
        "excluded.value_json, updated_at_ms = 2",
        json);
  }
  /// The shared store's `authProfiles.store` as stored.
  std::string shared_json() {
    return RawDb{shared_}
        .text("SELECT value_json FROM config_machine_state WHERE state_key = 'authProfiles.store'")
        .value_or("");
  }
  /// Writes the shared database's runtime state (`authProfiles.state`) as OpenClaw does.
  void put_state(std::string_view json) {
    RawDb{shared_}.run(
        "INSERT INTO config_machine_state (state_key, value_json, updated_at_ms) VALUES "
        "('authProfiles.state', ?1, 1) ON CONFLICT(state_key) DO UPDATE SET value_json = "
        "excluded.value_json, updated_at_ms = 2",
        json);
  }
  /// The shared database's runtime state as stored, or `<no row>`.
  std::string state_json() {
    return RawDb{shared_}
        .text("SELECT value_json FROM config_machine_state WHERE state_key = 'authProfiles.state'")
        .value_or("<no row>");
  }
  /// Writes the agent store's primary row as OpenClaw does.
  void put_agent(std::string_view json) {
    RawDb{agent_}.run(
        "INSERT INTO auth_profile_store (store_key, store_json, updated_at) VALUES ('primary', "
        "?1, 1) ON CONFLICT(store_key) DO UPDATE SET store_json = excluded.store_json, "
        "updated_at = 2",
        json);
  }
  std::string agent_json() {
    return RawDb{agent_}
        .text("SELECT store_json FROM auth_profile_store WHERE store_key = 'primary'")
        .value_or("");
  }

  std::filesystem::path state_;
  std::string shared_;
  std::string agent_;
};

}  // namespace keyward::testing
