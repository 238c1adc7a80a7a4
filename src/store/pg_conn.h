#pragma once
// A thin layer over libpq for the PostgreSQL store: a connection that
// closes itself, results that free themselves, failures as
// std::runtime_error (UniqueViolation and Deadlock for the two failures the
// store acts on), a transaction that rolls back unless committed, and COPY
// FROM STDIN for bulk loads (text, or binary rows built with CopyRows).
// Parameters travel as text, formatted with <charconv> (doubles round-trip
// exactly). Results are text, or binary on request (Format::binary) for the
// history reads that return many rows: formatting and parsing doubles as
// text cost ~2 us a row.
//
// Not thread safe: a connection belongs to one thread at a time.
#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tagstream::pg {

/// A statement failed because a row's key is taken (SQLSTATE 23505).
class UniqueViolation : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The server broke a deadlock by failing this transaction (SQLSTATE
/// 40P01): trying it again may succeed.
class Deadlock : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A query's parameters as text; nullopt is SQL NULL.
using Params = std::vector<std::optional<std::string>>;

enum class Format { text = 0, binary = 1 };

std::string text(std::int64_t v);
std::string text(double v);  // shortest text that reads back as the same double

class Result {
 public:
  explicit Result(PGresult* r) : r_(r, &PQclear) {}
  int rows() const { return PQntuples(r_.get()); }
  bool null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string_view str(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col), static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
  }
  /// A column as a number: text, or binary bigint/integer/smallint and
  /// double precision.
  std::int64_t i64(int row, int col) const;
  double f64(int row, int col) const;
  /// Rows an INSERT, UPDATE or DELETE affected.
  std::int64_t affected() const;

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> r_;
};

class Connection {
 public:
  /// Connects with a libpq connection string (URI or key=value). Throws
  /// std::runtime_error, with libpq's message, when it cannot.
  explicit Connection(const std::string& conninfo);
  ~Connection() { PQfinish(conn_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Whether the connection to the server is lost (a new one is needed).
  bool broken() const { return PQstatus(conn_) == CONNECTION_BAD; }

  /// Runs SQL (one or more statements, no parameters).
  void exec(const std::string& sql);
  /// Runs one statement with parameters; returns its rows.
  Result query(const std::string& sql, const Params& params = {});
  /// Prepares a statement under `name` on this connection, once.
  void prepare(const std::string& name, const std::string& sql, int params);
  Result run(const std::string& name, const Params& params = {}, Format format = Format::text);
  /// run() in two halves: send() starts the statement and returns at once,
  /// collect() waits for its rows. Several connections can so work on one
  /// request at the same time.
  void send(const std::string& name, const Params& params, Format format = Format::text);
  Result collect(const std::string& name);
  /// COPY ... FROM STDIN with `data` in the format copy_sql names.
  void copy_in(const std::string& copy_sql, std::string_view data);

 private:
  PGconn* conn_ = nullptr;
};

/// Rows in COPY's binary format (COPY ... FROM STDIN (FORMAT binary)):
/// no number is formatted as text and parsed back.
class CopyRows {
 public:
  CopyRows();
  void reserve(std::size_t rows, std::size_t fields) {
    data_.reserve(data_.size() + rows * (2 + fields * 12));
  }
  /// Starts a row of `fields` fields; the fields follow, in the COPY's column order.
  void row(int fields);
  void i64(std::int64_t v);
  void i16(std::int16_t v);
  void f64(double v);
  std::size_t rows() const { return rows_; }
  /// The data, with the trailer: COPY's input.
  std::string_view finish();

 private:
  void put(std::uint64_t v, int bytes);
  std::string data_;
  std::size_t rows_ = 0;
};

/// BEGIN on construction; ROLLBACK on destruction unless commit() ran.
class Transaction {
 public:
  explicit Transaction(Connection& c) : c_(c) { c_.exec("BEGIN"); }
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    c_.exec("COMMIT");
    done_ = true;
  }

 private:
  Connection& c_;
  bool done_ = false;
};

}  // namespace tagstream::pg
