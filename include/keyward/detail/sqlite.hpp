// A small RAII layer over SQLite's C API for store::OpenClaw: a connection opened the way OpenClaw
// opens its databases (WAL, busy_timeout), prepared statements, and a BEGIN IMMEDIATE transaction
// that rolls back unless committed. Failures come back as Errors naming the database and SQLite's
// reason; no statement text with a value in it is ever put in a message.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/error.hpp"
#include "keyward/result.hpp"

namespace keyward::detail::sqlite {

/// An open connection to one database file, closed when destroyed.
class Database {
 public:
  /// Opens `path` for reading and writing (never creating it), in WAL mode with `busy` as the
  /// busy timeout (OpenClaw's own: 5000 ms).
  [[nodiscard]] static Result<Database> open(const std::string& path,
                                             std::chrono::milliseconds busy) {
    sqlite3* raw = nullptr;
    const int rc = ::sqlite3_open_v2(path.c_str(), &raw,
                                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr);
    Database db{raw, path};
    if (rc != SQLITE_OK) {
      return unexpected(
          make_error(Errc::store_unavailable,
                     "cannot open the OpenClaw database " + path + ": " +
                         (raw != nullptr ? ::sqlite3_errmsg(raw) : ::sqlite3_errstr(rc))));
    }
    ::sqlite3_busy_timeout(raw, static_cast<int>(busy.count()));
    if (auto wal = db.exec("PRAGMA journal_mode=WAL"); !wal) return unexpected(wal.error());
    return db;
  }

  /// Runs SQL without results.
  [[nodiscard]] Result<void> exec(const char* sql) {
    if (::sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return unexpected(failure("cannot run a statement on"));
    }
    return {};
  }

  /// An Error naming the database, what was being done and SQLite's last message.
  [[nodiscard]] Error failure(std::string_view what) const {
    const int code = ::sqlite3_errcode(db_.get());
    const bool busy = code == SQLITE_BUSY || code == SQLITE_LOCKED;
    return make_error(Errc::store_unavailable,
                      std::string{what} + " the OpenClaw database " + path_ + ": " +
                          ::sqlite3_errmsg(db_.get()) +
                          (busy ? " (another process held it past the busy timeout)" : ""));
  }

  /// The connection.
  [[nodiscard]] sqlite3* get() const noexcept { return db_.get(); }
  /// The file's path.
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  struct Close {
    void operator()(sqlite3* db) const noexcept { ::sqlite3_close_v2(db); }
  };
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  std::unique_ptr<sqlite3, Close> db_;
  std::string path_;
};

/// A prepared statement, finalized when destroyed.
class Statement {
 public:
  /// Prepares `sql` on `db`.
  [[nodiscard]] static Result<Statement> prepare(const Database& db, const char* sql) {
    sqlite3_stmt* raw = nullptr;
    if (::sqlite3_prepare_v2(db.get(), sql, -1, &raw, nullptr) != SQLITE_OK) {
      ::sqlite3_finalize(raw);
      return unexpected(db.failure("cannot prepare a statement on"));
    }
    return Statement{raw};
  }
  /// Binds text to parameter `index` (from 1); SQLite copies it.
  void bind(int index, std::string_view text) {
    // An empty view may have no data; SQLite would bind NULL for it.
    ::sqlite3_bind_text(stmt_.get(), index, text.empty() ? "" : text.data(),
                        static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  /// Binds an integer to parameter `index` (from 1).
  void bind(int index, std::int64_t value) { ::sqlite3_bind_int64(stmt_.get(), index, value); }
  /// Steps once: true for a row, false when done; an Error for anything else.
  [[nodiscard]] Result<bool> step(const Database& db) {
    const int rc = ::sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return unexpected(db.failure("cannot read or write"));
  }
  /// Column `index` (from 0) of the current row as text; nothing for NULL.
  [[nodiscard]] std::optional<std::string> text(int index) const {
    const unsigned char* p = ::sqlite3_column_text(stmt_.get(), index);
    if (p == nullptr) return std::nullopt;
    return std::string{reinterpret_cast<const char*>(p),
                       static_cast<std::size_t>(::sqlite3_column_bytes(stmt_.get(), index))};
  }
  /// Column `index` (from 0) of the current row as an integer.
  [[nodiscard]] std::int64_t integer(int index) const {
    return ::sqlite3_column_int64(stmt_.get(), index);
  }

 private:
  struct Finalize {
    void operator()(sqlite3_stmt* stmt) const noexcept { ::sqlite3_finalize(stmt); }
  };
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  std::unique_ptr<sqlite3_stmt, Finalize> stmt_;
};

/// BEGIN IMMEDIATE (the write lock taken at once, waiting up to the busy timeout), rolled back
/// when destroyed unless commit() succeeded.
class Transaction {
 public:
  /// Begins on `db`, which must outlive the transaction.
  [[nodiscard]] static Result<Transaction> begin(Database& db) {
    if (auto begun = db.exec("BEGIN IMMEDIATE"); !begun) return unexpected(begun.error());
    return Transaction{db};
  }
  Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (db_ != nullptr) static_cast<void>(db_->exec("ROLLBACK"));
  }
  /// Commits.
  [[nodiscard]] Result<void> commit() {
    auto done = db_->exec("COMMIT");
    if (done) db_ = nullptr;
    return done;
  }

 private:
  explicit Transaction(Database& db) : db_(&db) {}
  Database* db_;
};

}  // namespace keyward::detail::sqlite
