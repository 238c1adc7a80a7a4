#pragma once
// A thin layer over the SQLite C API for the SQLite store: a connection and
// prepared statements that release themselves, failures as
// std::runtime_error, and a transaction that rolls back unless committed.
//
// Not thread safe: connections are opened SQLITE_OPEN_NOMUTEX, so a
// connection and its statements belong to one thread at a time.
#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tagstream::sqlite {

/// Throws std::runtime_error with the connection's last error.
[[noreturn]] void fail(sqlite3* db, const std::string& what);

class Connection {
 public:
  /// Opens the database file (creating it unless read_only). Throws
  /// std::runtime_error.
  Connection(const std::string& path, bool read_only);
  // close_v2: a statement still open keeps the connection until it is
  // finalized instead of failing the close.
  ~Connection() { sqlite3_close_v2(db_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* handle() const { return db_; }
  /// Runs SQL that returns no rows.
  void exec(const char* sql);
  std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

 private:
  sqlite3* db_ = nullptr;
};

/// A prepared statement, reset after each use.
class Statement {
 public:
  Statement(Connection& db, const std::string& sql) : db_(db.handle()) {
    if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK)
      fail(db_, "prepare " + sql);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  /// Binds bytes that stay alive until the statement is reset.
  Statement& bind_blob(int i, std::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  /// Steps once: true while a row is available.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    // Reset before throwing: a statement left halted refuses new bindings
    // (SQLITE_MISUSE, unchecked) and its next step would silently re-run
    // the failed values, failing or corrupting every later write.
    const std::string msg = sqlite3_errmsg(db_);
    reset();
    throw std::runtime_error("sqlite: step: " + msg);
  }
  /// Runs a statement that returns no rows; returns the rows it changed.
  int run() {
    step();
    const int n = sqlite3_changes(db_);
    reset();
    return n;
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
  double f64(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string_view blob(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    return p ? std::string_view(static_cast<const char*>(p),
                                static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string_view();
  }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

/// Resets a statement when a scope that stepped through rows ends.
struct ResetOnExit {
  Statement& s;
  ~ResetOnExit() { s.reset(); }
};

/// BEGIN IMMEDIATE: the write lock is taken at the start, so a transaction
/// never fails half-way for want of it. Rolls back if it ends uncommitted
/// (an exception on its way out).
class Transaction {
 public:
  explicit Transaction(Connection& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!committed_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit() {
    db_.exec("COMMIT");
    committed_ = true;
  }

 private:
  Connection& db_;
  bool committed_ = false;
};

}  // namespace tagstream::sqlite
