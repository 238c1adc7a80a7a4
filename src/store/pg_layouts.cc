#include "store/pg_layouts.h"

#include <chrono>

#include "core/log.h"
#include "store/pg_conn.h"

namespace tagstream {

namespace {
// Serialises creating the table and counting before an insert, across
// every node on the database.
constexpr const char* kLock = "SELECT pg_advisory_xact_lock(7406251893)";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

PgLayouts::PgLayouts(std::string conninfo) : conninfo_(std::move(conninfo)) {
  std::lock_guard lock(mutex_);
  (void)db();
}

PgLayouts::~PgLayouts() = default;

pg::Connection& PgLayouts::db() const {
  if (db_ && !db_->broken()) return *db_;
  db_.reset();
  auto fresh = std::make_unique<pg::Connection>(conninfo_);
  pg::Transaction tx(*fresh);
  fresh->exec(kLock);
  fresh->exec(
      "CREATE TABLE IF NOT EXISTS layouts (name text PRIMARY KEY, body text NOT NULL, modified_ms bigint NOT "
      "NULL)");
  tx.commit();
  db_ = std::move(fresh);
  return *db_;
}

std::vector<LayoutEntry> PgLayouts::list() const {
  std::vector<LayoutEntry> out;
  std::lock_guard lock(mutex_);
  try {
    const pg::Result r =
        db().query("SELECT name, octet_length(body), modified_ms FROM layouts ORDER BY name COLLATE \"C\"");
    for (int i = 0; i < r.rows(); ++i)
      out.push_back({std::string(r.str(i, 0)), static_cast<std::size_t>(r.i64(i, 1)), r.i64(i, 2)});
  } catch (const std::runtime_error& e) {
    log(LogLevel::error, "layouts: list failed: {}", e.what());
  }
  return out;
}

std::optional<std::string> PgLayouts::load(std::string_view name) const {
  std::lock_guard lock(mutex_);
  try {
    const pg::Result r = db().query("SELECT body FROM layouts WHERE name = $1", {std::string(name)});
    if (r.rows() == 1) return std::string(r.str(0, 0));
  } catch (const std::runtime_error& e) {
    log(LogLevel::error, "layouts: load failed: {}", e.what());
  }
  return std::nullopt;
}

LayoutSaveResult PgLayouts::save(std::string_view name, std::string_view json) {
  std::lock_guard lock(mutex_);
  try {
    pg::Connection& c = db();
    pg::Transaction tx(c);
    c.exec(kLock);
    const bool exists = c.query("SELECT 1 FROM layouts WHERE name = $1", {std::string(name)}).rows() == 1;
    if (!exists &&
        c.query("SELECT count(*) FROM layouts").i64(0, 0) >= static_cast<std::int64_t>(kMaxLayouts))
      return LayoutSaveResult::too_many;
    c.query(
        "INSERT INTO layouts (name, body, modified_ms) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET "
        "body = excluded.body, modified_ms = excluded.modified_ms",
        {std::string(name), std::string(json), pg::text(now_ms())});
    tx.commit();
    return exists ? LayoutSaveResult::replaced : LayoutSaveResult::created;
  } catch (const std::runtime_error& e) {
    log(LogLevel::error, "layouts: save of {} failed: {}", name, e.what());
    return LayoutSaveResult::failed;
  }
}

bool PgLayouts::remove(std::string_view name) {
  std::lock_guard lock(mutex_);
  try {
    return db().query("DELETE FROM layouts WHERE name = $1 RETURNING name", {std::string(name)}).rows() == 1;
  } catch (const std::runtime_error& e) {
    log(LogLevel::error, "layouts: remove of {} failed: {}", name, e.what());
    return false;
  }
}

}  // namespace tagstream
