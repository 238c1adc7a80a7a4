#include "store/pg_conn.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdint>
#include <exception>
#include <stdexcept>

#include "core/log.h"

namespace tagstream::pg {

namespace {

/// libpq's message for the last failure, without its trailing newline.
std::string last_error(PGconn* c) {
  std::string m = PQerrorMessage(c);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

Result checked(PGconn* c, PGresult* r, const std::string& what) {
  Result result(r);
  const ExecStatusType status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::string m = r ? PQresultErrorMessage(r) : "";
    if (m.empty()) m = last_error(c);
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    if (state && std::string_view(state) == "23505") throw UniqueViolation("postgres: " + what + ": " + m);
    if (state && std::string_view(state) == "40P01") throw Deadlock("postgres: " + what + ": " + m);
    throw std::runtime_error("postgres: " + what + ": " + m);
  }
  return result;
}

struct ParamArrays {
  explicit ParamArrays(const Params& params) {
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  }
  std::vector<const char*> values;
};

/// The first words of a statement, to say which one failed.
std::string head(const std::string& sql) {
  return sql.size() <= 60 ? sql : sql.substr(0, 60) + "...";
}

}  // namespace

std::string text(std::int64_t v) {
  return std::to_string(v);
}

std::string text(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

namespace {

/// A big-endian integer of `n` bytes (network order, as PostgreSQL sends).
std::uint64_t big_endian(std::string_view s) {
  std::uint64_t v = 0;
  for (unsigned char c : s) v = (v << 8) | c;
  return v;
}

}  // namespace

std::int64_t Result::i64(int row, int col) const {
  const std::string_view s = str(row, col);
  if (PQfformat(r_.get(), col) == 1) {
    switch (s.size()) {
      case 2: return static_cast<std::int16_t>(big_endian(s));
      case 4: return static_cast<std::int32_t>(big_endian(s));
      case 8: return static_cast<std::int64_t>(big_endian(s));
      default: throw std::runtime_error("postgres: not a binary integer");
    }
  }
  std::int64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size())
    throw std::runtime_error("postgres: not an integer: " + std::string(s));
  return v;
}

double Result::f64(int row, int col) const {
  const std::string_view s = str(row, col);
  if (PQfformat(r_.get(), col) == 1) {
    if (s.size() != 8) throw std::runtime_error("postgres: not a binary double");
    return std::bit_cast<double>(big_endian(s));
  }
  double v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size())
    throw std::runtime_error("postgres: not a number: " + std::string(s));
  return v;
}

std::int64_t Result::affected() const {
  const std::string_view s = PQcmdTuples(r_.get());
  std::int64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc{} ? v : 0;
}

Connection::Connection(const std::string& conninfo) {
  conn_ = PQconnectdb(conninfo.c_str());
  if (!conn_) throw std::runtime_error("postgres: out of memory connecting");
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string m = last_error(conn_);
    PQfinish(conn_);
    conn_ = nullptr;
    throw std::runtime_error("postgres: cannot connect: " + m);
  }
  // Notices (e.g. "relation already exists, skipping") are not errors.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
}

void Connection::exec(const std::string& sql) {
  checked(conn_, PQexec(conn_, sql.c_str()), head(sql));
}

Result Connection::query(const std::string& sql, const Params& params) {
  const ParamArrays a(params);
  return checked(conn_,
                 PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr, a.values.data(),
                              nullptr, nullptr, 0),
                 head(sql));
}

void Connection::prepare(const std::string& name, const std::string& sql, int params) {
  checked(conn_, PQprepare(conn_, name.c_str(), sql.c_str(), params, nullptr), "prepare " + name);
}

Result Connection::run(const std::string& name, const Params& params, Format format) {
  const ParamArrays a(params);
  return checked(conn_,
                 PQexecPrepared(conn_, name.c_str(), static_cast<int>(params.size()), a.values.data(),
                                nullptr, nullptr, static_cast<int>(format)),
                 name);
}

void Connection::send(const std::string& name, const Params& params, Format format) {
  const ParamArrays a(params);
  if (PQsendQueryPrepared(conn_, name.c_str(), static_cast<int>(params.size()), a.values.data(), nullptr,
                          nullptr, static_cast<int>(format)) != 1)
    throw std::runtime_error("postgres: " + name + ": " + last_error(conn_));
}

Result Connection::collect(const std::string& name) {
  // The statement's result, then the null that ends it (read too, so the
  // connection is ready for the next command).
  PGresult* first = PQgetResult(conn_);
  while (PGresult* more = PQgetResult(conn_)) PQclear(more);
  return checked(conn_, first, name);
}

void Connection::copy_in(const std::string& copy_sql, std::string_view data) {
  PGresult* start = PQexec(conn_, copy_sql.c_str());
  if (!start || PQresultStatus(start) != PGRES_COPY_IN) {
    checked(conn_, start, head(copy_sql));
    throw std::runtime_error("postgres: " + head(copy_sql) + ": not a COPY FROM STDIN");
  }
  PQclear(start);
  // Sent in pieces so libpq's output buffer stays small.
  constexpr std::size_t kChunk = 1 << 20;
  bool sent = true;
  for (std::size_t at = 0; at < data.size() && sent; at += kChunk) {
    const std::size_t n = std::min(kChunk, data.size() - at);
    sent = PQputCopyData(conn_, data.data() + at, static_cast<int>(n)) == 1;
  }
  const std::string send_error = sent ? "" : last_error(conn_);
  PQputCopyEnd(conn_, sent ? nullptr : "send failed");
  // Every result is read, so the connection is ready for the next command.
  std::exception_ptr error;
  while (PGresult* r = PQgetResult(conn_)) {
    try {
      checked(conn_, r, head(copy_sql));
    } catch (const std::runtime_error&) {
      if (!error) error = std::current_exception();
    }
  }
  if (!sent) throw std::runtime_error("postgres: COPY: " + send_error);
  if (error) std::rethrow_exception(error);
}

CopyRows::CopyRows() {
  // Signature, flags (no OIDs), header extension length.
  static constexpr char kHeader[] = "PGCOPY\n\377\r\n";
  data_.assign(kHeader, sizeof kHeader);  // with its final \0
  put(0, 4);
  put(0, 4);
}

void CopyRows::put(std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) data_ += static_cast<char>((v >> (8 * i)) & 0xff);
}

void CopyRows::row(int fields) {
  put(static_cast<std::uint16_t>(fields), 2);
  ++rows_;
}

void CopyRows::i64(std::int64_t v) {
  put(8, 4);
  put(static_cast<std::uint64_t>(v), 8);
}

void CopyRows::i16(std::int16_t v) {
  put(2, 4);
  put(static_cast<std::uint16_t>(v), 2);
}

void CopyRows::f64(double v) {
  put(8, 4);
  put(std::bit_cast<std::uint64_t>(v), 8);
}

std::string_view CopyRows::finish() {
  put(0xffff, 2);  // -1: no more rows
  return data_;
}

Transaction::~Transaction() {
  if (done_) return;
  try {
    c_.exec("ROLLBACK");
  } catch (const std::exception& e) {
    log(LogLevel::warn, "postgres: rollback failed: {}", e.what());
  }
}

}  // namespace tagstream::pg
