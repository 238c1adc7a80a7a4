#include "store/sqlite_store.h"

#include <sqlite3.h>

#include <atomic>
#include <map>
#include <stdexcept>
#include <unordered_map>

namespace tagstream {

namespace {

constexpr int kSchemaVersion = 1;

/// Rollup table of each aggregated interval, finest first.
constexpr std::array<const char*, 4> kRollupTables = {"rollup_second", "rollup_minute", "rollup_hour", "rollup_day"};

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  throw std::runtime_error("sqlite: " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(std::string("sqlite: ") + msg + " in: " + sql);
  }
}

/// A prepared statement, reset after each use.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK)
      fail(db, "prepare " + sql);
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
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
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

sqlite3* open_db(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  const int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + path + ": " + msg);
  }
  // Readers and the writer share the file: wait for a lock instead of
  // failing (checkpoints take one briefly).
  sqlite3_busy_timeout(db, 5000);
  return db;
}

std::string rollup_columns() {
  return "tag, start, sum, min, max, first, last, first_ts, last_ts, count, quality, seq";
}

Aggregate read_rollup_row(const Statement& s, int first_col) {
  Aggregate a;
  a.start = s.i64(first_col);
  a.sum = s.f64(first_col + 1);
  a.min = s.f64(first_col + 2);
  a.max = s.f64(first_col + 3);
  a.first = s.f64(first_col + 4);
  a.last = s.f64(first_col + 5);
  a.first_ts = s.i64(first_col + 6);
  a.last_ts = s.i64(first_col + 7);
  a.count = static_cast<std::uint64_t>(s.i64(first_col + 8));
  a.quality = static_cast<Quality>(s.i64(first_col + 9));
  return a;
}

Statement& bind_rollup_row(Statement& s, TagId tag, const Aggregate& a, Seq seq) {
  return s.bind(1, static_cast<std::int64_t>(tag))
      .bind(2, a.start)
      .bind(3, a.sum)
      .bind(4, a.min)
      .bind(5, a.max)
      .bind(6, a.first)
      .bind(7, a.last)
      .bind(8, a.first_ts)
      .bind(9, a.last_ts)
      .bind(10, static_cast<std::int64_t>(a.count))
      .bind(11, static_cast<std::int64_t>(a.quality))
      .bind(12, static_cast<std::int64_t>(seq));
}

std::uint64_t next_store_id() {
  static std::atomic<std::uint64_t> id{0};
  return ++id;
}

}  // namespace

/// The single writing connection and its statements.
class SqliteStore::Writer {
 public:
  explicit Writer(const SqliteOptions& options) : db_(open_db(options.path, false)) {
    exec(db_, "PRAGMA journal_mode=WAL");
    exec(db_, options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec(db_, "PRAGMA temp_store=MEMORY");
    exec(db_, "PRAGMA cache_size=-65536");  // 64 MiB
    create_schema();
    insert_sample_ = std::make_unique<Statement>(
        db_, "INSERT INTO samples(tag, ts, value, quality, seq) VALUES(?1, ?2, ?3, ?4, ?5) "
             "ON CONFLICT(tag, ts) DO NOTHING");
    replace_sample_ = std::make_unique<Statement>(
        db_, "UPDATE samples SET value = ?3, quality = ?4, seq = ?5 WHERE tag = ?1 AND ts = ?2");
    samples_in_range_ = std::make_unique<Statement>(
        db_, "SELECT ts, value, quality FROM samples WHERE tag = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts");
    upsert_tag_ = std::make_unique<Statement>(
        db_, "INSERT INTO tags(id, name, unit, description, type) VALUES(?1, ?2, ?3, ?4, ?5) "
             "ON CONFLICT(id) DO UPDATE SET name = excluded.name, unit = excluded.unit, "
             "description = excluded.description, type = excluded.type");
    set_meta_ = std::make_unique<Statement>(
        db_, "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = "
             "max(value, excluded.value)");
    for (std::size_t i = 0; i < kRollupTables.size(); ++i) {
      const std::string t = kRollupTables[i];
      merge_rollup_[i] = std::make_unique<Statement>(
          db_, "INSERT INTO " + t + "(" + rollup_columns() +
                   ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
                   "ON CONFLICT(tag, start) DO UPDATE SET sum = sum + excluded.sum, "
                   "min = min(min, excluded.min), max = max(max, excluded.max), "
                   "first = CASE WHEN excluded.first_ts < first_ts THEN excluded.first ELSE first END, "
                   "first_ts = min(first_ts, excluded.first_ts), "
                   "last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last ELSE last END, "
                   "last_ts = max(last_ts, excluded.last_ts), count = count + excluded.count, "
                   "quality = max(quality, excluded.quality), seq = max(seq, excluded.seq)");
      replace_rollup_[i] = std::make_unique<Statement>(
          db_, "INSERT OR REPLACE INTO " + t + "(" + rollup_columns() +
                   ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
      rollup_range_[i] = std::make_unique<Statement>(
          db_, "SELECT start, sum, min, max, first, last, first_ts, last_ts, count, quality, seq FROM " + t +
                   " WHERE tag = ?1 AND start >= ?2 AND start < ?3 ORDER BY start");
      rollup_at_[i] = std::make_unique<Statement>(
          db_, "SELECT start, sum, min, max, first, last, first_ts, last_ts, count, quality FROM " + t +
                   " WHERE tag = ?1 AND start = ?2");
    }
  }

  ~Writer() { sqlite3_close_v2(db_); }

  sqlite3* db() { return db_; }

  void create_schema() {
    exec(db_, "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID");
    exec(db_,
         "CREATE TABLE IF NOT EXISTS tags(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
         "unit TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '', type INTEGER NOT NULL DEFAULT 0)");
    exec(db_,
         "CREATE TABLE IF NOT EXISTS samples(tag INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, "
         "quality INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(tag, ts)) WITHOUT ROWID");
    for (const char* t : kRollupTables) {
      exec(db_, (std::string("CREATE TABLE IF NOT EXISTS ") + t +
                 "(tag INTEGER NOT NULL, start INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, "
                 "max REAL NOT NULL, first REAL NOT NULL, last REAL NOT NULL, first_ts INTEGER NOT NULL, "
                 "last_ts INTEGER NOT NULL, count INTEGER NOT NULL, quality INTEGER NOT NULL, "
                 "seq INTEGER NOT NULL, PRIMARY KEY(tag, start)) WITHOUT ROWID")
                    .c_str());
    }
    // Resuming a stream across a restart reads samples by event id.
    exec(db_, "CREATE INDEX IF NOT EXISTS samples_by_seq ON samples(seq) WHERE seq > 0");
    exec(db_, ("INSERT INTO meta(key, value) VALUES('schema_version', " + std::to_string(kSchemaVersion) +
               ") ON CONFLICT(key) DO NOTHING")
                  .c_str());
  }

  struct Delta {
    Aggregate agg;
    Seq seq = 0;
    bool recompute = false;
  };
  using Level = std::map<std::pair<TagId, TimeNs>, Delta>;

  void write(const WriteBatch& batch) {
    exec(db_, "BEGIN IMMEDIATE");
    try {
      for (const TagRecord& t : batch.tags) {
        upsert_tag_->bind(1, static_cast<std::int64_t>(t.id))
            .bind(2, t.info.name)
            .bind(3, t.info.unit)
            .bind(4, t.info.description)
            .bind(5, static_cast<std::int64_t>(t.info.type))
            .run();
      }
      Level level;
      for (const StoredSample& s : batch.samples) {
        const auto seq = static_cast<std::int64_t>(s.seq);
        const auto bind = [&](Statement& st) -> Statement& {
          return st.bind(1, static_cast<std::int64_t>(s.tag))
              .bind(2, s.sample.ts)
              .bind(3, s.sample.value)
              .bind(4, static_cast<std::int64_t>(s.sample.quality))
              .bind(5, seq);
        };
        Delta& d = level[{s.tag, bucket_start(s.sample.ts, Interval::second)}];
        if (bind(*insert_sample_).run() == 1) {
          if (d.agg.count == 0) d.agg.start = bucket_start(s.sample.ts, Interval::second);
          d.agg.add(s.sample);
        } else {
          // Same tag and timestamp as a stored sample: it replaces it, so
          // the bucket is recomputed rather than added to.
          bind(*replace_sample_).run();
          d.recompute = true;
        }
        d.seq = std::max(d.seq, s.seq);
      }
      for (std::size_t i = 0; i < kRollupTables.size(); ++i) {
        Level parent;
        const bool has_parent = i + 1 < kRollupTables.size();
        const Interval parent_interval = has_parent ? kAggregatedIntervals[i + 1] : Interval::day;
        for (auto& [key, d] : level) {
          const auto [tag, start] = key;
          Aggregate row = d.agg;
          if (d.recompute) {
            row = recompute(i, tag, start);
            bind_rollup_row(*replace_rollup_[i], tag, row, d.seq).run();
          } else {
            bind_rollup_row(*merge_rollup_[i], tag, row, d.seq).run();
          }
          if (!has_parent) continue;
          const TimeNs parent_start = bucket_start(start, parent_interval);
          Delta& p = parent[{tag, parent_start}];
          p.seq = std::max(p.seq, d.seq);
          if (d.recompute) {
            p.recompute = true;
          } else {
            if (p.agg.count == 0) p.agg.start = parent_start;
            p.agg.merge(d.agg);
          }
        }
        level.swap(parent);
      }
      if (batch.last_seq > 0)
        set_meta_->bind(1, std::string("last_seq")).bind(2, static_cast<std::int64_t>(batch.last_seq)).run();
      exec(db_, "COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  /// The aggregate of bucket `start` of tier `tier`, from the tier below.
  Aggregate recompute(std::size_t tier, TagId tag, TimeNs start) {
    const Interval interval = kAggregatedIntervals[tier];
    Aggregate a;
    a.start = start;
    const TimeNs end = start + interval_width(interval);
    if (tier == 0) {
      Statement& s = *samples_in_range_;
      ResetOnExit guard{s};
      s.bind(1, static_cast<std::int64_t>(tag)).bind(2, start).bind(3, end);
      while (s.step()) a.add(Sample{s.i64(0), s.f64(1), static_cast<Quality>(s.i64(2))});
    } else {
      Statement& s = *rollup_range_[tier - 1];
      ResetOnExit guard{s};
      s.bind(1, static_cast<std::int64_t>(tag)).bind(2, start).bind(3, end);
      while (s.step()) a.merge(read_rollup_row(s, 0));
    }
    a.start = start;
    return a;
  }

  std::optional<Aggregate> rollup_at(std::size_t tier, TagId tag, TimeNs start) {
    Statement& s = *rollup_at_[tier];
    ResetOnExit guard{s};
    s.bind(1, static_cast<std::int64_t>(tag)).bind(2, start);
    if (!s.step()) return std::nullopt;
    return read_rollup_row(s, 0);
  }

 private:
  sqlite3* db_;
  std::unique_ptr<Statement> insert_sample_, replace_sample_, samples_in_range_, upsert_tag_, set_meta_;
  std::array<std::unique_ptr<Statement>, 4> merge_rollup_, replace_rollup_, rollup_range_, rollup_at_;
};

/// A read-only connection for one reading thread.
class SqliteStore::Reader {
 public:
  explicit Reader(const std::string& path) : db_(open_db(path, true)) {
    raw_ = std::make_unique<Statement>(
        db_, "SELECT ts, value, quality FROM samples WHERE tag = ?1 AND ts >= ?2 AND ts < ?3 AND ts > ?4 "
             "ORDER BY ts LIMIT ?5");
    changes_ = std::make_unique<Statement>(
        db_, "SELECT tag, ts, value, quality, seq FROM samples WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3");
    for (std::size_t i = 0; i < kRollupTables.size(); ++i)
      bucket_[i] = std::make_unique<Statement>(
          db_, std::string("SELECT start, sum, min, max, first, last, first_ts, last_ts, count, quality FROM ") +
                   kRollupTables[i] + " WHERE tag = ?1 AND start = ?2");
    for (std::size_t i = 0; i < kRollupTables.size(); ++i)
      rollup_[i] = std::make_unique<Statement>(
          db_, std::string("SELECT start, sum, min, max, first, last, first_ts, last_ts, count, quality FROM ") +
                   kRollupTables[i] + " WHERE tag = ?1 AND start >= ?2 AND start < ?3 AND start > ?4 "
                                      "ORDER BY start LIMIT ?5");
  }
  ~Reader() {
    raw_.reset();
    changes_.reset();
    for (auto& s : rollup_) s.reset();
    for (auto& s : bucket_) s.reset();
    sqlite3_close_v2(db_);
  }

  HistoryPage read(const HistoryRequest& r) {
    HistoryPage page;
    const bool raw = r.interval == Interval::raw;
    Statement& s = raw ? *raw_ : *rollup_[aggregated_index(r.interval)];
    ResetOnExit guard{s};
    const TimeNs from = raw ? r.from : bucket_start(r.from, r.interval);
    s.bind(1, static_cast<std::int64_t>(r.tag))
        .bind(2, from)
        .bind(3, r.to)
        .bind(4, r.after ? *r.after : std::numeric_limits<std::int64_t>::min())
        .bind(5, static_cast<std::int64_t>(r.limit));
    while (s.step()) {
      if (raw) {
        Aggregate a;
        a.start = s.i64(0);
        a.add(Sample{s.i64(0), s.f64(1), static_cast<Quality>(s.i64(2))});
        page.push_back(a);
      } else {
        page.push_back(read_rollup_row(s, 0));
      }
    }
    return page;
  }

 private:
  sqlite3* db_;
  std::unique_ptr<Statement> raw_, changes_;
  std::array<std::unique_ptr<Statement>, 4> rollup_, bucket_;

 public:
  std::vector<StoredSample> changes(Seq after, Seq upto, std::size_t limit) {
    std::vector<StoredSample> out;
    Statement& s = *changes_;
    ResetOnExit guard{s};
    s.bind(1, static_cast<std::int64_t>(after))
        .bind(2, static_cast<std::int64_t>(upto))
        .bind(3, static_cast<std::int64_t>(limit));
    while (s.step())
      out.push_back(StoredSample{static_cast<TagId>(s.i64(0)),
                                 Sample{s.i64(1), s.f64(2), static_cast<Quality>(s.i64(3))},
                                 static_cast<Seq>(s.i64(4))});
    return out;
  }

  std::optional<Aggregate> bucket(TagId tag, Interval interval, TimeNs start) {
    Statement& s = *bucket_[aggregated_index(interval)];
    ResetOnExit guard{s};
    s.bind(1, static_cast<std::int64_t>(tag)).bind(2, start);
    if (!s.step()) return std::nullopt;
    return read_rollup_row(s, 0);
  }
};

SqliteStore::SqliteStore(SqliteOptions options) : options_(std::move(options)), id_(next_store_id()) {
  writer_ = std::make_unique<Writer>(options_);
}

SqliteStore::~SqliteStore() {
  std::lock_guard lock(readers_mutex_);
  readers_.clear();
  writer_.reset();
}

SqliteStore::Reader& SqliteStore::reader() {
  // One connection per (thread, store): connections are created on first
  // use and live as long as the store.
  thread_local std::unordered_map<std::uint64_t, Reader*> mine;
  auto it = mine.find(id_);
  if (it != mine.end()) return *it->second;
  auto reader = std::make_unique<Reader>(options_.path);
  Reader* raw = reader.get();
  {
    std::lock_guard lock(readers_mutex_);
    readers_.push_back(std::move(reader));
  }
  mine.emplace(id_, raw);
  return *raw;
}

HistoryPage SqliteStore::read_history(const HistoryRequest& request) { return reader().read(request); }

std::vector<StoredSample> SqliteStore::read_changes(Seq after, Seq upto, std::size_t limit) {
  return reader().changes(after, upto, limit);
}

std::optional<Aggregate> SqliteStore::read_bucket(TagId tag, Interval interval, TimeNs start) {
  return reader().bucket(tag, interval, start);
}

Seq SqliteStore::retained_after() { return retained_after_.load(); }

void SqliteStore::write(const WriteBatch& batch) { writer_->write(batch); }

RestoredState SqliteStore::restore() {
  sqlite3* db = writer_->db();
  RestoredState state;
  {
    Statement s(db, "SELECT value FROM meta WHERE key = 'last_seq'");
    if (s.step()) state.last_seq = static_cast<Seq>(s.i64(0));
  }
  {
    Statement s(db, "SELECT value FROM meta WHERE key = 'retained_after'");
    if (s.step()) state.retained_after = static_cast<Seq>(s.i64(0));
    retained_after_ = state.retained_after;
  }
  {
    Statement s(db, "SELECT id, name, unit, description, type FROM tags ORDER BY id");
    while (s.step()) {
      TagRecord t;
      t.id = static_cast<TagId>(s.i64(0));
      t.info.name = s.text(1);
      t.info.unit = s.text(2);
      t.info.description = s.text(3);
      t.info.type = static_cast<DataType>(s.i64(4));
      state.tags.push_back(std::move(t));
    }
  }
  Statement latest(db, "SELECT ts, value, quality FROM samples WHERE tag = ?1 ORDER BY ts DESC LIMIT 1");
  for (const TagRecord& t : state.tags) {
    ResetOnExit guard{latest};
    latest.bind(1, static_cast<std::int64_t>(t.id));
    if (!latest.step()) continue;
    RestoredState::Live live;
    live.tag = t.id;
    live.latest = Sample{latest.i64(0), latest.f64(1), static_cast<Quality>(latest.i64(2))};
    for (std::size_t i = 0; i < kAggregatedIntervals.size(); ++i) {
      const TimeNs start = bucket_start(live.latest.ts, kAggregatedIntervals[i]);
      live.buckets[i] = writer_->rollup_at(i, t.id, start).value_or(aggregate_of(live.latest, kAggregatedIntervals[i]));
    }
    state.live.push_back(live);
  }
  return state;
}

std::size_t SqliteStore::enforce_retention(const Retention& retention, TimeNs now, std::size_t max_rows) {
  sqlite3* db = writer_->db();
  std::vector<TagId> tags;
  {
    Statement s(db, "SELECT id FROM tags");
    while (s.step()) tags.push_back(static_cast<TagId>(s.i64(0)));
  }
  std::size_t deleted = 0;
  for (std::size_t iv = 0; iv < kIntervalCount && deleted < max_rows; ++iv) {
    const std::int64_t keep = retention.seconds[iv];
    if (keep <= 0) continue;
    const TimeNs cutoff = now - keep * kNanosPerSecond;
    const std::string table = iv == 0 ? "samples" : kRollupTables[iv - 1];
    const std::string col = iv == 0 ? "ts" : "start";
    Statement del(db, "DELETE FROM " + table + " WHERE tag = ?1 AND " + col + " < ?2 AND " + col + " IN (SELECT " +
                          col + " FROM " + table + " WHERE tag = ?1 AND " + col + " < ?2 ORDER BY " + col +
                          " LIMIT ?3)");
    Statement newest_doomed(db, "SELECT max(seq) FROM (SELECT seq FROM samples WHERE tag = ?1 AND ts < ?2 ORDER BY ts LIMIT ?3)");
    Statement note(db, "INSERT INTO meta(key, value) VALUES('retained_after', ?1) ON CONFLICT(key) DO UPDATE SET "
                       "value = max(value, excluded.value)");
    for (TagId tag : tags) {
      if (deleted >= max_rows) break;
      exec(db, "BEGIN IMMEDIATE");
      try {
        if (iv == 0) {
          // Streams resuming from an id at or below the newest deleted
          // sample's are told their history was lost.
          Seq doomed = 0;
          {
            ResetOnExit guard{newest_doomed};
            newest_doomed.bind(1, static_cast<std::int64_t>(tag))
                .bind(2, cutoff)
                .bind(3, static_cast<std::int64_t>(max_rows - deleted));
            if (newest_doomed.step()) doomed = static_cast<Seq>(newest_doomed.i64(0));
          }
          if (doomed > 0) {
            note.bind(1, static_cast<std::int64_t>(doomed)).run();
            if (doomed > retained_after_.load()) retained_after_ = doomed;
          }
        }
        deleted += static_cast<std::size_t>(del.bind(1, static_cast<std::int64_t>(tag))
                                                .bind(2, cutoff)
                                                .bind(3, static_cast<std::int64_t>(max_rows - deleted))
                                                .run());
        exec(db, "COMMIT");
      } catch (...) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    }
  }
  return deleted;
}

}  // namespace tagstream
