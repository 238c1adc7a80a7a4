#include "store/pg_store.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

#include "core/log.h"
#include "store/pg_conn.h"

namespace tagstream {

namespace {

constexpr std::int64_t kSchemaVersion = 1;

// Advisory locks: pg_advisory_xact_lock(bigint) on a tag's database id
// guards its samples and buckets; these two-key ones (a key space apart
// from the one-key locks) guard schema creation and tag upserts.
constexpr const char* kSchemaLock = "SELECT pg_advisory_xact_lock(1952539508, 1)";
constexpr const char* kTagUpsertLock = "SELECT pg_advisory_xact_lock(1952539508, 2)";
// Tags' samples and buckets are guarded by striped two-key locks (this
// class, the tag's database id modulo kStripes): at most kStripes locks a
// transaction, however many tags it writes (PostgreSQL's lock table is
// small: 64 locks a connection by default).
constexpr int kStripeLockClass = 1952539509;
constexpr std::int64_t kStripes = 256;

/// Table per history level: raw samples, then the tiers (kAggregatedIntervals).
constexpr std::array<const char*, kIntervalCount> kTables = {"samples", "rollups_second", "rollups_minute",
                                                             "rollups_hour", "rollups_day"};
/// Column of `horizons` per source table (raw, second, minute, hour): rows
/// of that table keyed before it may have been removed by retention.
constexpr std::array<const char*, kTierCount> kHorizons = {"raw_from", "second_from", "minute_from",
                                                           "hour_from"};
constexpr const char* kRollupColumns = "count, sum, min, max, first, first_ts, last, last_ts, quality";

std::string width_of(std::size_t tier) {
  return std::to_string(interval_width(kAggregatedIntervals[tier]));
}

/// SQL for the start of the bucket of `tier` holding time `x` (a floor,
/// also for times before 1970).
std::string floor_sql(const std::string& x, std::size_t tier) {
  const std::string w = width_of(tier);
  return "(" + x + " - ((" + x + " % " + w + ") + " + w + ") % " + w + ")";
}

std::string schema_sql() {
  const std::string min = std::to_string(std::numeric_limits<std::int64_t>::min());
  std::string sql =
      "CREATE TABLE IF NOT EXISTS tags (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, "
      "unit text NOT NULL DEFAULT '', description text NOT NULL DEFAULT '', type smallint NOT NULL DEFAULT "
      "0);"
      "CREATE TABLE IF NOT EXISTS samples (tag bigint NOT NULL, ts bigint NOT NULL, "
      "value double precision NOT NULL, quality smallint NOT NULL, seq bigint NOT NULL, PRIMARY KEY (tag, "
      "ts));"
      // Resuming a stream reads live samples by event id.
      "CREATE INDEX IF NOT EXISTS samples_by_seq ON samples (seq) WHERE seq > 0;";
  for (std::size_t t = 1; t < kIntervalCount; ++t)
    sql +=
        std::string("CREATE TABLE IF NOT EXISTS ") + kTables[t] +
        " (tag bigint NOT NULL, start bigint NOT NULL, count bigint NOT NULL, sum double precision NOT NULL, "
        "min double precision NOT NULL, max double precision NOT NULL, first double precision NOT NULL, "
        "first_ts bigint NOT NULL, last double precision NOT NULL, last_ts bigint NOT NULL, "
        "quality smallint NOT NULL, PRIMARY KEY (tag, start));";
  sql += "CREATE TABLE IF NOT EXISTS horizons (tag bigint PRIMARY KEY";
  for (const char* h : kHorizons) sql += std::string(", ") + h + " bigint NOT NULL DEFAULT " + min;
  sql += ");";
  return sql;
}

/// Recomputes every bucket of `tier` that the staged batch touches from
/// the table below, except buckets starting before that table's horizon.
std::string recompute_sql(std::size_t tier) {
  const std::string w = width_of(tier);
  std::string aggregates, source;
  if (tier == 0) {
    aggregates =
        "count(*), sum(s.value), min(s.value), max(s.value), (array_agg(s.value ORDER BY s.ts))[1], "
        "min(s.ts), "
        "(array_agg(s.value ORDER BY s.ts DESC))[1], max(s.ts), max(s.quality)";
    source = "JOIN samples s ON s.tag = b.tag AND s.ts >= b.start AND s.ts < b.start + " + w;
  } else {
    aggregates =
        "sum(s.count), sum(s.sum), min(s.min), max(s.max), (array_agg(s.first ORDER BY s.first_ts))[1], "
        "min(s.first_ts), (array_agg(s.last ORDER BY s.last_ts DESC))[1], max(s.last_ts), max(s.quality)";
    source = std::string("JOIN ") + kTables[tier] +
             " s ON s.tag = b.tag AND s.start >= b.start AND s.start < b.start + " + w;
  }
  return std::string("INSERT INTO ") + kTables[tier + 1] + " (tag, start, " + kRollupColumns +
         ") SELECT b.tag, b.start, " + aggregates + " FROM (SELECT DISTINCT tag, " + floor_sql("ts", tier) +
         " AS start FROM staging) b LEFT JOIN horizons h ON h.tag = b.tag " + source +
         " WHERE h.tag IS NULL OR b.start >= h." + kHorizons[tier] +
         " GROUP BY b.tag, b.start ON CONFLICT (tag, start) DO UPDATE SET count = excluded.count, "
         "sum = excluded.sum, min = excluded.min, max = excluded.max, first = excluded.first, "
         "first_ts = excluded.first_ts, last = excluded.last, last_ts = excluded.last_ts, "
         "quality = excluded.quality";
}

/// Merges the staged batch into the buckets of `tier` that start before
/// the horizon of the table below (whose rows may be gone). Runs before
/// the samples are upserted: it compares with the samples they replace.
std::string merge_sql(std::size_t tier) {
  const std::string table = kTables[tier + 1];
  const std::string start = floor_sql("st.ts", tier);
  return "WITH d AS (SELECT st.tag, " + start +
         " AS start, count(*) AS all_count, count(*) FILTER (WHERE o.ts IS NULL) AS new_count, "
         "sum(st.value) AS all_sum, sum(st.value - coalesce(o.value, 0)) AS sum_delta, "
         "min(st.value) AS min, max(st.value) AS max, (array_agg(st.value ORDER BY st.ts))[1] AS first, "
         "min(st.ts) AS first_ts, (array_agg(st.value ORDER BY st.ts DESC))[1] AS last, max(st.ts) AS "
         "last_ts, "
         "max(st.quality) AS quality FROM staging st JOIN horizons h ON h.tag = st.tag "
         "LEFT JOIN samples o ON o.tag = st.tag AND o.ts = st.ts WHERE " +
         start + " < h." + kHorizons[tier] + " GROUP BY 1, 2), u AS (UPDATE " + table +
         " r SET count = r.count + d.new_count, sum = r.sum + d.sum_delta, min = least(r.min, d.min), "
         "max = greatest(r.max, d.max), first = CASE WHEN d.first_ts <= r.first_ts THEN d.first ELSE r.first "
         "END, "
         "first_ts = least(r.first_ts, d.first_ts), "
         "last = CASE WHEN d.last_ts >= r.last_ts THEN d.last ELSE r.last END, "
         "last_ts = greatest(r.last_ts, d.last_ts), quality = greatest(r.quality, d.quality) "
         "FROM d WHERE r.tag = d.tag AND r.start = d.start RETURNING r.tag, r.start) INSERT INTO " +
         table + " (tag, start, " + kRollupColumns +
         ") SELECT d.tag, d.start, d.all_count, d.all_sum, d.min, d.max, d.first, d.first_ts, d.last, "
         "d.last_ts, d.quality FROM d WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.tag = d.tag AND u.start = "
         "d.start)";
}

/// Adds the batch's bucket aggregates of `tier` (computed in memory from
/// samples that are all new) to the stored buckets: counts and sums add up,
/// min/max/first/last/quality combine, in the upsert itself, so that nodes
/// adding to one bucket at once each add their own share. Rows go in key
/// order: two transactions lock shared buckets in the same order.
std::string merge_deltas_sql(std::size_t tier) {
  return std::string("INSERT INTO ") + kTables[tier + 1] + " AS r (tag, start, " + kRollupColumns +
         ") SELECT tag, start, " + kRollupColumns +
         " FROM staging_rollups WHERE tier = " + std::to_string(tier) +
         " ORDER BY tag, start ON CONFLICT (tag, start) DO UPDATE SET count = r.count + excluded.count, "
         "sum = r.sum + excluded.sum, min = least(r.min, excluded.min), max = greatest(r.max, excluded.max), "
         "first = CASE WHEN excluded.first_ts < r.first_ts THEN excluded.first ELSE r.first END, "
         "first_ts = least(r.first_ts, excluded.first_ts), "
         "last = CASE WHEN excluded.last_ts >= r.last_ts THEN excluded.last ELSE r.last END, "
         "last_ts = greatest(r.last_ts, excluded.last_ts), quality = greatest(r.quality, excluded.quality)";
}

/// History of many tags ($1, a bigint[] of database ids) merged into
/// groups: keys in [$2, $3], group width $4 counted from $5. Per tag, in
/// order: the group's index, then the rollup columns. A group's first and
/// last are those of its earliest and latest row: min/max over
/// ARRAY[key - $5, value] (plain aggregates; no sort per group). The key
/// offset is a double, exact below 2^53 ns (104 days) and, beyond that,
/// still apart for keys a second apart (every tier's); read_groups sends raw
/// ranges longer than that elsewhere.
std::string groups_sql(std::size_t table) {
  const bool raw = table == 0;
  const std::string key = raw ? "ts" : "start";
  const std::string columns =
      raw ? "count(*), sum(value), min(value), max(value), (min(ARRAY[x::float8, value]))[2], min(ts), "
            "(max(ARRAY[x::float8, value]))[2], max(ts), max(quality)"
          : "sum(count)::bigint, sum(sum), min(min), max(max), (min(ARRAY[x::float8, first]))[2], "
            "min(first_ts), (max(ARRAY[x::float8, last]))[2], max(last_ts), max(quality)";
  return "SELECT k.i, g.* FROM unnest($1::bigint[]) WITH ORDINALITY AS k(id, i) CROSS JOIN LATERAL "
         "(SELECT (x - ((x % $4) + $4) % $4) / $4 AS g, " +
         columns + " FROM (SELECT " + key + " - $5 AS x, * FROM " + kTables[table] +
         " WHERE tag = k.id AND " + key + " >= $2 AND " + key + " <= $3) s GROUP BY 1) g ORDER BY k.i, g.g";
}

/// A tag's newest sample and the bucket of each tier at its timestamp;
/// $1 a tag's database id, or NULL for every tag.
std::string newest_sql() {
  std::string sql = "SELECT t.id, s.ts, s.value, s.quality";
  for (std::size_t i = 0; i < kTierCount; ++i) {
    const std::string r = "r" + std::to_string(i);
    sql += ", " + r + ".start, " + r + ".count, " + r + ".sum, " + r + ".min, " + r + ".max, " + r +
           ".first, " + r + ".first_ts, " + r + ".last, " + r + ".last_ts, " + r + ".quality";
  }
  sql +=
      " FROM tags t CROSS JOIN LATERAL (SELECT ts, value, quality FROM samples WHERE tag = t.id "
      "ORDER BY ts DESC LIMIT 1) s";
  for (std::size_t i = 0; i < kTierCount; ++i) {
    const std::string r = "r" + std::to_string(i);
    sql += std::string(" LEFT JOIN ") + kTables[i + 1] + " " + r + " ON " + r + ".tag = t.id AND " + r +
           ".start = " + floor_sql("s.ts", i);
  }
  return sql + " WHERE $1::bigint IS NULL OR t.id = $1 ORDER BY t.id";
}

std::string rollup_range_sql(std::size_t table) {
  return std::string("SELECT start, ") + kRollupColumns + " FROM " + kTables[table] +
         " WHERE tag = $1 AND start >= $2 AND start <= $3 ORDER BY start LIMIT $4";
}

Quality quality_of(std::int64_t q) {
  return q >= 0 && q <= 2 ? static_cast<Quality>(q) : Quality::bad;
}

/// The rollup columns from `col` on: start, count, sum, min, max, first,
/// first_ts, last, last_ts, quality.
Aggregate aggregate_at(const pg::Result& r, int row, int col) {
  Aggregate a;
  a.start = r.i64(row, col);
  a.count = static_cast<std::uint64_t>(r.i64(row, col + 1));
  a.sum = r.f64(row, col + 2);
  a.min = r.f64(row, col + 3);
  a.max = r.f64(row, col + 4);
  a.first = r.f64(row, col + 5);
  a.first_ts = r.i64(row, col + 6);
  a.last = r.f64(row, col + 7);
  a.last_ts = r.i64(row, col + 8);
  a.quality = quality_of(r.i64(row, col + 9));
  return a;
}

/// A row of newest_sql(): the tag's newest sample and its buckets.
HeldValue held_at(const pg::Result& r, int row) {
  HeldValue held;
  held.latest = Sample{r.i64(row, 1), r.f64(row, 2), quality_of(r.i64(row, 3))};
  for (std::size_t i = 0; i < kTierCount; ++i) {
    const int col = 4 + static_cast<int>(i) * 10;
    held.buckets[i] =
        r.null(row, col) ? aggregate_of(held.latest, kAggregatedIntervals[i]) : aggregate_at(r, row, col);
  }
  return held;
}

/// Buckets as COPY rows: (tier,) tag, start, then kRollupColumns.
pg::CopyRows bucket_rows(const std::vector<PgStore::TagBucket>& buckets, std::optional<std::size_t> tier) {
  pg::CopyRows out;
  out.reserve(buckets.size(), 12);
  for (const PgStore::TagBucket& b : buckets) {
    const Aggregate& a = b.a;
    out.row(tier ? 12 : 11);
    if (tier) out.i16(static_cast<std::int16_t>(*tier));
    out.i64(b.tag);
    out.i64(a.start);
    out.i64(static_cast<std::int64_t>(a.count));
    out.f64(a.sum);
    out.f64(a.min);
    out.f64(a.max);
    out.f64(a.first);
    out.i64(a.first_ts);
    out.f64(a.last);
    out.i64(a.last_ts);
    out.i16(static_cast<std::int16_t>(a.quality));
  }
  return out;
}

std::string limit_text(std::size_t limit) {
  return pg::text(static_cast<std::int64_t>(
      std::min<std::size_t>(limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()))));
}

std::uint64_t next_store_id() {
  static std::atomic<std::uint64_t> id{0};
  return ++id;
}

}  // namespace

/// One reading connection with its prepared statements. Not thread safe:
/// it belongs to one reading thread.
class PgStore::Reader {
 public:
  explicit Reader(const std::string& conninfo) : db(conninfo), side(conninfo) {
    // History queries are short: JIT compiling them costs more (~10 ms)
    // than it saves, and grouping sorts or hashes in memory.
    for (pg::Connection* c : {&db, &side}) c->exec("SET jit = off; SET work_mem = '32MB'");
    for (std::size_t t = 0; t < kIntervalCount; ++t)
      side.prepare("groups" + std::to_string(t), groups_sql(t), 5);
    // Prepared statements belong to the session: set up on each connection.
    db.prepare("raw",
               "SELECT ts, value, quality FROM samples WHERE tag = $1 AND ts >= $2 AND ts <= $3 "
               "ORDER BY ts LIMIT $4",
               4);
    for (std::size_t t = 1; t < kIntervalCount; ++t)
      db.prepare("tier" + std::to_string(t), rollup_range_sql(t), 4);
    db.prepare("changes",
               "SELECT tag, ts, value, quality, seq FROM samples WHERE seq > 0 AND seq > $1 AND seq <= $2 "
               "ORDER BY seq LIMIT $3",
               3);
    db.prepare("newest", newest_sql(), 1);
    for (std::size_t t = 0; t < kIntervalCount; ++t)
      db.prepare("groups" + std::to_string(t), groups_sql(t), 5);
  }
  bool broken() const { return db.broken() || side.broken(); }
  pg::Connection db;
  // A second session: grouped history of several tags is read half on
  // each, so the database works on both halves at once.
  pg::Connection side;
};

PgStore::PgStore(PgOptions options) : options_(std::move(options)), id_(next_store_id()) {
  writer_ = open_writer();
  const pg::Result r = writer_->query("SELECT value FROM meta WHERE key = 'retained_after'");
  if (r.rows() == 1) retained_after_ = static_cast<Seq>(r.i64(0, 0));
}

/// A writing connection: the schema made sure of, the session's staging
/// table and prepared statements.
std::unique_ptr<pg::Connection> PgStore::open_writer() const {
  auto conn = std::make_unique<pg::Connection>(options_.conninfo);
  pg::Connection& db = *conn;
  {
    // Nodes starting together create the schema one at a time.
    pg::Transaction tx(db);
    db.exec(kSchemaLock);
    db.exec("CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value bigint NOT NULL)");
    const pg::Result v = db.query("SELECT value FROM meta WHERE key = 'schema_version'");
    if (v.rows() == 1 && v.i64(0, 0) != kSchemaVersion)
      throw std::runtime_error("the database was written by another tagstream (schema " +
                               std::string(v.str(0, 0)) + ", this one reads " +
                               std::to_string(kSchemaVersion) + ")");
    db.exec(schema_sql());
    db.exec("INSERT INTO meta (key, value) VALUES ('schema_version', " + std::to_string(kSchemaVersion) +
            ") ON CONFLICT (key) DO NOTHING");
    tx.commit();
  }
  db.exec(
      "CREATE TEMP TABLE staging (tag bigint NOT NULL, ts bigint NOT NULL, value double precision NOT NULL, "
      "quality smallint NOT NULL, seq bigint NOT NULL) ON COMMIT DELETE ROWS");
  db.exec(
      "CREATE TEMP TABLE staging_rollups (tier smallint NOT NULL, tag bigint NOT NULL, start bigint NOT "
      "NULL, "
      "count bigint NOT NULL, sum double precision NOT NULL, min double precision NOT NULL, "
      "max double precision NOT NULL, first double precision NOT NULL, first_ts bigint NOT NULL, "
      "last double precision NOT NULL, last_ts bigint NOT NULL, quality smallint NOT NULL) "
      "ON COMMIT DELETE ROWS");
  db.prepare("upsert_tag",
             "INSERT INTO tags (name, unit, description, type) VALUES ($1, $2, $3, $4) ON CONFLICT (name) "
             "DO UPDATE SET unit = excluded.unit, description = excluded.description, type = excluded.type "
             "RETURNING id",
             4);
  // $1: the stripes, sorted (every transaction locks in the same order).
  db.prepare("lock_shared",
             "SELECT count(pg_advisory_xact_lock_shared(" + std::to_string(kStripeLockClass) +
                 ", k)) FROM unnest($1::int[]) AS k",
             1);
  db.prepare("lock_exclusive",
             "SELECT count(pg_advisory_xact_lock(" + std::to_string(kStripeLockClass) +
                 ", k)) FROM unnest($1::int[]) AS k",
             1);
  db.prepare("raise_meta",
             "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) "
             "DO UPDATE SET value = greatest(meta.value, excluded.value)",
             2);
  db.prepare("keep_replaced_seq",
             "INSERT INTO meta (key, value) SELECT 'last_seq', max(s.seq) FROM staging st JOIN samples s "
             "ON s.tag = st.tag AND s.ts = st.ts HAVING max(s.seq) > 0 ON CONFLICT (key) "
             "DO UPDATE SET value = greatest(meta.value, excluded.value)",
             0);
  db.prepare("upsert_samples",
             "INSERT INTO samples (tag, ts, value, quality, seq) SELECT tag, ts, value, quality, seq "
             "FROM staging ORDER BY tag, ts ON CONFLICT (tag, ts) DO UPDATE SET value = excluded.value, "
             "quality = excluded.quality, seq = excluded.seq",
             0);

  for (std::size_t i = 0; i < kTierCount; ++i) {
    db.prepare("recompute" + std::to_string(i), recompute_sql(i), 0);
    db.prepare("merge" + std::to_string(i), merge_sql(i), 0);
    db.prepare("merge_deltas" + std::to_string(i), merge_deltas_sql(i), 0);
  }
  db.prepare("newest", newest_sql(), 1);
  return conn;
}

pg::Connection& PgStore::writer() {
  if (writer_ && !writer_->broken()) return *writer_;
  writer_.reset();
  const auto now = std::chrono::steady_clock::now();
  if (now < reconnect_after_) throw std::runtime_error("postgres: connection lost, reconnecting");
  reconnect_after_ = now + std::chrono::seconds(1);
  writer_ = open_writer();
  log(LogLevel::info, "postgres: store connection opened again");
  return *writer_;
}

PgStore::~PgStore() = default;

PgStore::Reader& PgStore::reader() {
  thread_local std::unordered_map<std::uint64_t, Reader*> mine;
  Reader*& slot = mine[id_];
  if (slot && !slot->broken()) return *slot;
  auto reader = std::make_unique<Reader>(options_.conninfo);
  Reader* const fresh = reader.get();
  {
    std::lock_guard lock(readers_mutex_);
    // A lost connection's reader is replaced by the new one.
    const auto old = std::find_if(readers_.begin(), readers_.end(),
                                  [&](const std::unique_ptr<Reader>& r) { return r.get() == slot; });
    if (slot && old != readers_.end())
      *old = std::move(reader);
    else
      readers_.push_back(std::move(reader));
  }
  slot = fresh;
  return *fresh;
}

template <class Read>
auto PgStore::with_reader(Read&& read) {
  Reader* first = &reader();
  try {
    return read(*first);
  } catch (const std::runtime_error&) {
    if (!first->broken()) throw;
  }
  return read(reader());
}

std::int64_t PgStore::db_id(TagId tag) const {
  std::shared_lock lock(map_mutex_);
  return tag < db_of_local_.size() ? db_of_local_[tag] : 0;
}

std::optional<TagId> PgStore::local_id(std::int64_t db) const {
  std::shared_lock lock(map_mutex_);
  const auto it = local_of_db_.find(db);
  if (it == local_of_db_.end()) return std::nullopt;
  return it->second;
}

RestoredState PgStore::restore() {
  pg::Connection& db = writer();
  RestoredState state;
  {
    const pg::Result r = db.query("SELECT key, value FROM meta WHERE key IN ('last_seq', 'retained_after')");
    for (int i = 0; i < r.rows(); ++i) {
      const Seq v = static_cast<Seq>(r.i64(i, 1));
      (r.str(i, 0) == "last_seq" ? state.last_seq : state.retained_after) = v;
    }
    retained_after_ = state.retained_after;
    // Commits do not write last_seq (one row every node's commits would
    // update): it is the newest stored event id (an index probe), or the
    // newest that retention deleted.
    const pg::Result m = db.query("SELECT coalesce(max(seq), 0) FROM samples WHERE seq > 0");
    state.last_seq = std::max({state.last_seq, state.retained_after, static_cast<Seq>(m.i64(0, 0))});
  }
  std::vector<std::int64_t> db_of_local;
  std::unordered_map<std::int64_t, TagId> local_of_db;
  {
    const pg::Result r = db.query("SELECT id, name, unit, description, type FROM tags ORDER BY id");
    for (int i = 0; i < r.rows(); ++i) {
      TagRecord t;
      t.id = static_cast<TagId>(i);
      t.info.name = r.str(i, 1);
      t.info.unit = r.str(i, 2);
      t.info.description = r.str(i, 3);
      const std::int64_t type = r.i64(i, 4);
      t.info.type = type >= 0 && type <= 2 ? static_cast<DataType>(type) : DataType::number;
      db_of_local.push_back(r.i64(i, 0));
      local_of_db.emplace(r.i64(i, 0), t.id);
      state.tags.push_back(std::move(t));
    }
  }
  {
    const pg::Result r = db.run("newest", {std::nullopt});
    for (int i = 0; i < r.rows(); ++i) {
      const auto it = local_of_db.find(r.i64(i, 0));
      if (it == local_of_db.end()) continue;  // a tag another node created since
      const HeldValue held = held_at(r, i);
      state.live.push_back(RestoredState::Live{it->second, held.latest, held.buckets});
    }
  }
  records_.clear();  // keyed by the local ids restore() has just reassigned
  std::unique_lock lock(map_mutex_);
  db_of_local_ = std::move(db_of_local);
  local_of_db_ = std::move(local_of_db);
  return state;
}

void PgStore::write(const WriteBatch& batch) {
  for (const StoredSample& s : batch.samples)
    if (!std::isfinite(s.sample.value))
      throw std::runtime_error("store: tag " + std::to_string(s.tag) + " at " + std::to_string(s.sample.ts) +
                               ": value is not a finite number");
  for (const TagRecord& t : batch.tags) records_[t.id] = t.info;
  // Most batches hold only new samples: the first try adds the batch's
  // bucket aggregates to the stored buckets. When a sample turns out to
  // replace a stored one, that try is rolled back and the batch written
  // again on the replacing path.
  // Nodes adding to the same buckets lock rows in the same order, but a
  // bucket one node COPYs as new while another adds to it can still meet
  // in a deadlock, which the server breaks by failing one transaction:
  // that one is tried again.
  for (int attempt = 1;; ++attempt) {
    try {
      if (!write_batch(batch, false)) write_batch(batch, true);
      return;
    } catch (const pg::Deadlock& e) {
      if (attempt == 3) throw;
      log(LogLevel::warn, "postgres: {}; trying the batch again", e.what());
    }
  }
}

bool PgStore::write_batch(const WriteBatch& batch, bool replacing) {
  pg::Connection& db = writer();
  pg::Transaction tx(db);

  // Tags, in the order given (a node's creation order, which restore()
  // keeps). Nodes upsert tags one at a time (a transaction-scoped advisory
  // lock): two nodes upserting the same names in different orders would
  // otherwise deadlock on the rows. Tags change rarely; samples do not wait
  // for this lock.
  std::vector<TagRecord> records = batch.tags;
  // Tags of the batch's samples that have no database id yet: their record
  // came in a batch that failed.
  {
    std::vector<TagId> missing;
    for (const StoredSample& s : batch.samples)
      if (db_id(s.tag) == 0) missing.push_back(s.tag);
    std::sort(missing.begin(), missing.end());
    missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
    for (TagId tag : missing) {
      const bool in_batch =
          std::any_of(records.begin(), records.end(), [&](const TagRecord& r) { return r.id == tag; });
      const auto known = records_.find(tag);
      if (!in_batch && known != records_.end()) records.push_back(TagRecord{tag, known->second});
    }
  }
  if (!records.empty()) db.exec(kTagUpsertLock);
  std::map<TagId, std::int64_t> new_db_of;  // applied once committed
  std::unordered_map<std::int64_t, TagId> new_local_of;
  const auto db_of = [&](TagId tag) -> std::int64_t {
    if (auto it = new_db_of.find(tag); it != new_db_of.end()) return it->second;
    return db_id(tag);
  };
  for (const TagRecord& record : records) {
    const TagRecord* t = &record;
    const pg::Result r = db.run("upsert_tag", {t->info.name, t->info.unit, t->info.description,
                                               pg::text(static_cast<std::int64_t>(t->info.type))});
    const std::int64_t id = r.i64(0, 0);
    std::optional<TagId> holder = local_id(id);
    if (auto it = new_local_of.find(id); it != new_local_of.end()) holder = it->second;
    if (holder && *holder != t->id)
      throw std::runtime_error("store: tag name " + t->info.name + " is already stored under tag id " +
                               std::to_string(*holder) + ", not " + std::to_string(t->id));
    new_db_of[t->id] = id;
    new_local_of[id] = t->id;
  }

  // The newest event id the batch stores with its samples.
  Seq max_seq = 0;
  // The buckets the batch writes: newest_bucket_ once it commits.
  std::vector<std::tuple<std::int64_t, std::size_t, TimeNs>> newest_after_commit;
  if (!batch.samples.empty()) {
    // In (database tag, timestamp) order: every transaction takes its row
    // locks in that order, so two nodes writing the same tags cannot
    // deadlock. The last of several samples at one tag and timestamp wins:
    // one row each, since one INSERT may not touch a row twice.
    struct Row {
      std::int64_t tag;
      const StoredSample* s;
    };
    std::vector<Row> rows;
    rows.reserve(batch.samples.size());
    for (const StoredSample& s : batch.samples) {
      const std::int64_t id = db_of(s.tag);
      if (id == 0)
        throw std::runtime_error("store: a sample of tag id " + std::to_string(s.tag) +
                                 ", which has no tag record");
      rows.push_back(Row{id, &s});
    }
    std::stable_sort(rows.begin(), rows.end(), [](const Row& x, const Row& y) {
      return x.tag != y.tag ? x.tag < y.tag : x.s->sample.ts < y.s->sample.ts;
    });
    std::size_t kept = 0;
    for (std::size_t k = 0; k < rows.size(); ++k) {
      if (k + 1 < rows.size() && rows[k + 1].tag == rows[k].tag &&
          rows[k + 1].s->sample.ts == rows[k].s->sample.ts)
        continue;
      rows[kept++] = rows[k];
    }
    rows.resize(kept);

    pg::CopyRows copy;
    copy.reserve(rows.size(), 5);
    std::vector<std::int64_t> stripes;
    TimeNs min_ts = std::numeric_limits<TimeNs>::max();
    for (const Row& row : rows) {
      const StoredSample& s = *row.s;
      max_seq = std::max(max_seq, s.seq);
      if (stripes.empty() || stripes.back() != row.tag % kStripes) stripes.push_back(row.tag % kStripes);
      min_ts = std::min(min_ts, s.sample.ts);
      copy.row(5);
      copy.i64(row.tag);
      copy.i64(s.sample.ts);
      copy.f64(s.sample.value);
      copy.i16(static_cast<std::int16_t>(s.sample.quality));
      copy.i64(static_cast<std::int64_t>(s.seq));
    }
    const std::string_view copy_data = copy.finish();
    std::sort(stripes.begin(), stripes.end());
    stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
    std::string keys = "{";
    for (std::int64_t k : stripes) keys += (keys.size() > 1 ? "," : "") + pg::text(k);
    // Adding to buckets: shared (nodes add at once). Rebuilding them from
    // the tier below: exclusive (no node may add to a bucket while it is
    // rebuilt from rows that do not yet hold the addition).
    db.run(replacing ? "lock_exclusive" : "lock_shared", {keys + "}"});

    if (!replacing) {
      // Straight into `samples`, in key order: a sample whose tag and
      // timestamp is stored already (a client's retry, a correction) fails
      // the COPY, and the batch takes the replacing path.
      try {
        db.copy_in("COPY samples (tag, ts, value, quality, seq) FROM STDIN (FORMAT binary)", copy_data);
      } catch (const pg::UniqueViolation&) {
        return false;
      }
      // The batch's own buckets, per tier: rows are in (tag, ts) order, so
      // each bucket's samples are consecutive. A bucket newer than the
      // newest this store has written for its tag is most likely new: it
      // is COPYed straight into its table (a plain insert). The others are
      // added to the stored ones by an upsert.
      std::array<std::vector<TagBucket>, kTierCount> adds, fresh;
      for (std::size_t tier = 0; tier < kTierCount; ++tier) {
        const Interval interval = kAggregatedIntervals[tier];
        TagBucket bucket{0, Aggregate{}};
        const auto emit = [&] {
          const auto known = newest_bucket_.find(bucket.tag);
          const bool is_new = known != newest_bucket_.end() && bucket.a.start > known->second[tier];
          (is_new ? fresh : adds)[tier].push_back(bucket);
        };
        for (const Row& row : rows) {
          const TimeNs start = bucket_start(row.s->sample.ts, interval);
          if (bucket.a.count > 0 && (row.tag != bucket.tag || start != bucket.a.start)) {
            emit();
            bucket.a = Aggregate{};
          }
          if (bucket.a.count == 0) {
            bucket.a.start = start;
            bucket.tag = row.tag;
          }
          bucket.a.add(row.s->sample);
        }
        if (bucket.a.count > 0) emit();
      }
      // Tier by tier, in key order within each statement: nodes writing
      // the same tags lock the same rows in nearly the same order.
      for (std::size_t tier = 0; tier < kTierCount; ++tier) {
        add_buckets(db, tier, adds[tier]);
        if (fresh[tier].empty()) continue;
        // Another node may have made one of them meanwhile: then they are
        // added like the others.
        db.exec("SAVEPOINT fresh");
        try {
          pg::CopyRows tier_rows = bucket_rows(fresh[tier], std::nullopt);
          db.copy_in(std::string("COPY ") + kTables[tier + 1] + " (tag, start, " + kRollupColumns +
                         ") FROM STDIN (FORMAT binary)",
                     tier_rows.finish());
          db.exec("RELEASE SAVEPOINT fresh");
        } catch (const pg::UniqueViolation&) {
          db.exec("ROLLBACK TO SAVEPOINT fresh");
          add_buckets(db, tier, fresh[tier]);
        }
      }
      for (std::size_t tier = 0; tier < kTierCount; ++tier)
        for (const auto* list : {&adds[tier], &fresh[tier]})
          for (const TagBucket& b : *list) newest_after_commit.emplace_back(b.tag, tier, b.a.start);
    } else {
      db.copy_in("COPY staging (tag, ts, value, quality, seq) FROM STDIN (FORMAT binary)", copy_data);
      // Merges are needed only for buckets older than some horizon; most
      // batches are newer than every horizon and skip them.
      const pg::Result h = db.query("SELECT value FROM meta WHERE key = 'horizon_max'");
      if (h.rows() == 1) {
        const TimeNs horizon = h.i64(0, 0);
        for (std::size_t i = 0; i < kTierCount; ++i)
          if (bucket_start(min_ts, kAggregatedIntervals[i]) < horizon) db.run("merge" + std::to_string(i));
      }
      // A replaced sample's event id may be the newest stored: kept.
      db.run("keep_replaced_seq");
      db.run("upsert_samples");
      for (std::size_t i = 0; i < kTierCount; ++i) db.run("recompute" + std::to_string(i));
    }
  }
  // Restarts carry on after the newest event id in `samples` or in meta's
  // last_seq. Samples hold it (no shared row for every commit to update)
  // unless the batch was given a newer one than it stores.
  if (batch.last_seq > max_seq)
    db.run("raise_meta", {std::string("last_seq"), pg::text(static_cast<std::int64_t>(batch.last_seq))});
  tx.commit();
  for (const auto& [tag, tier, start] : newest_after_commit) {
    auto [it, added] = newest_bucket_.try_emplace(tag);
    if (added) it->second.fill(std::numeric_limits<TimeNs>::min());
    it->second[tier] = std::max(it->second[tier], start);
  }

  if (new_db_of.empty()) return true;
  std::unique_lock lock(map_mutex_);
  for (const auto& [local, id] : new_db_of) {
    if (local >= db_of_local_.size()) db_of_local_.resize(local + 1, 0);
    if (db_of_local_[local] != 0 && db_of_local_[local] != id) local_of_db_.erase(db_of_local_[local]);
    db_of_local_[local] = id;
    local_of_db_[id] = local;
  }
  return true;
}

void PgStore::add_buckets(pg::Connection& db, std::size_t tier, const std::vector<TagBucket>& buckets) {
  if (buckets.empty()) return;
  db.exec("DELETE FROM staging_rollups");
  pg::CopyRows rows = bucket_rows(buckets, tier);
  db.copy_in("COPY staging_rollups (tier, tag, start, " + std::string(kRollupColumns) +
                 ") FROM STDIN (FORMAT binary)",
             rows.finish());
  db.run("merge_deltas" + std::to_string(tier));
}

std::size_t PgStore::enforce_retention(const Retention& retention, TimeNs now, std::size_t max_rows) {
  pg::Connection& db = writer();
  std::size_t deleted = 0;
  for (std::size_t table = 0; table < kIntervalCount && deleted < max_rows; ++table) {
    const std::int64_t keep = retention.seconds[table];
    if (keep <= 0) continue;
    const TimeNs cutoff = now - keep * kNanosPerSecond;
    const std::string key = table == 0 ? "ts" : "start";
    const pg::Result tags =
        db.query(std::string("SELECT t.id FROM tags t WHERE EXISTS (SELECT 1 FROM ") + kTables[table] +
                     " s WHERE s.tag = t.id AND s." + key + " < $1) ORDER BY t.id",
                 {pg::text(cutoff)});
    for (int i = 0; i < tags.rows() && deleted < max_rows; ++i)
      deleted += expire(table, tags.i64(i, 0), cutoff, max_rows - deleted);
  }
  return deleted;
}

/// Deletes at most `budget` rows of one tag in one table keyed before
/// `cutoff`, oldest first, and raises the tag's horizon for that table.
std::size_t PgStore::expire(std::size_t table, std::int64_t db_tag, TimeNs cutoff, std::size_t budget) {
  pg::Connection& db = *writer_;
  const std::string t = kTables[table];
  const std::string key = table == 0 ? "ts" : "start";
  const std::string seq = table == 0 ? "coalesce(max(seq), 0)" : "0";
  pg::Transaction tx(db);
  db.run("lock_exclusive", {"{" + pg::text(db_tag % kStripes) + "}"});
  const pg::Result r = db.query(
      "WITH d AS (DELETE FROM " + t + " WHERE tag = $1 AND " + key + " IN (SELECT " + key + " FROM " + t +
          " WHERE tag = $1 AND " + key + " < $2 ORDER BY " + key + " LIMIT $3) RETURNING " + key +
          (table == 0 ? ", seq" : "") + ") SELECT count(*), max(" + key + "), " + seq + " FROM d",
      {pg::text(db_tag), pg::text(cutoff), limit_text(budget)});
  const auto count = static_cast<std::size_t>(r.i64(0, 0));
  if (count == 0) return 0;
  Seq doomed = static_cast<Seq>(r.i64(0, 2));
  if (table < kTierCount) {
    // Rows keyed before this may be gone: a bucket built from this table
    // and starting before it is merged into, never rebuilt.
    const TimeNs newest_gone = r.i64(0, 1);
    const TimeNs horizon = newest_gone + (table == 0 ? 1 : interval_width(kAggregatedIntervals[table - 1]));
    const std::string column = kHorizons[table];
    db.query("INSERT INTO horizons (tag, " + column + ") VALUES ($1, $2) ON CONFLICT (tag) DO UPDATE SET " +
                 column + " = greatest(horizons." + column + ", excluded." + column + ")",
             {pg::text(db_tag), pg::text(horizon)});
    db.run("raise_meta", {std::string("horizon_max"), pg::text(horizon)});
  }
  // Streams resuming from an id at or below the newest deleted sample's are
  // told their history was lost.
  if (doomed > 0)
    db.run("raise_meta", {std::string("retained_after"), pg::text(static_cast<std::int64_t>(doomed))});
  tx.commit();
  Seq seen = retained_after_.load();
  while (doomed > seen && !retained_after_.compare_exchange_weak(seen, doomed)) {
  }
  return count;
}

HistoryPage PgStore::read_history(const HistoryRequest& r) {
  if (r.to <= std::numeric_limits<TimeNs>::min() + 1 || r.limit == 0) return {};
  const std::int64_t tag = db_id(r.tag);
  if (tag == 0) return {};
  const bool raw = r.interval == Interval::raw;
  TimeNs from = raw ? r.from : bucket_start(r.from, r.interval);
  if (r.after) from = std::max(from, *r.after + 1);
  const TimeNs to = r.to - 1;
  if (from > to) return {};
  const pg::Params params = {pg::text(tag), pg::text(from), pg::text(to), limit_text(r.limit)};
  const std::string statement = raw ? "raw" : "tier" + std::to_string(static_cast<std::size_t>(r.interval));
  const pg::Result rows =
      with_reader([&](Reader& reader) { return reader.db.run(statement, params, pg::Format::binary); });
  HistoryPage page;
  if (raw) {
    page.reserve(static_cast<std::size_t>(rows.rows()));
    for (int i = 0; i < rows.rows(); ++i) {
      Aggregate a;
      a.start = rows.i64(i, 0);
      a.add(Sample{a.start, rows.f64(i, 1), quality_of(rows.i64(i, 2))});
      page.push_back(a);
    }
    return page;
  }
  page.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) page.push_back(aggregate_at(rows, i, 0));
  return page;
}

std::vector<HistoryPage> PgStore::read_groups(const GroupRequest& r) {
  const TimeNs width = r.group_width;
  if (r.tags.empty() || r.to <= std::numeric_limits<TimeNs>::min() + 1)
    return std::vector<HistoryPage>(r.tags.size());
  const bool raw = r.interval == Interval::raw;
  const TimeNs from = raw ? r.from : bucket_start(r.from, r.interval);
  const TimeNs to = r.to - 1;
  // The database groups in bigint: keys minus `from` and the group index
  // arithmetic must not overflow. Beyond that (ranges over most of the
  // int64 span, groups wider than 2^62 ns) the default reads and merges.
  constexpr __int128 kMax = std::numeric_limits<TimeNs>::max();
  constexpr __int128 kMin = std::numeric_limits<TimeNs>::min();
  const __int128 span_lo = static_cast<__int128>(from) - r.from;
  const __int128 span_hi = static_cast<__int128>(to) - r.from;
  if (width <= 0 || width > (TimeNs{1} << 62) || span_lo < kMin / 2 || span_hi > kMax / 2 ||
      (raw && (span_lo < -(__int128{1} << 53) || span_hi > (__int128{1} << 53))))
    return Store::read_groups(r);
  std::vector<HistoryPage> out(r.tags.size());
  if (from > to) return out;
  const std::string statement = "groups" + std::to_string(static_cast<std::size_t>(r.interval));
  // The first half of the tags on one session, the rest on the other.
  const std::size_t half = (r.tags.size() + 1) / 2;
  const auto params_of = [&](std::size_t begin, std::size_t end) {
    std::string ids = "{";
    for (std::size_t i = begin; i < end; ++i)
      ids += (ids.size() > 1 ? "," : "") + pg::text(db_id(r.tags[i]));  // 0: no rows
    ids += "}";
    return pg::Params{ids, pg::text(from), pg::text(to), pg::text(width), pg::text(r.from)};
  };
  const pg::Params first_params = params_of(0, half);
  const pg::Params second_params = params_of(half, r.tags.size());
  const auto [first, second] = with_reader([&](Reader& reader) {
    // Both results are read whatever fails, so that neither session is
    // left with one pending; then the first failure is thrown.
    const bool split = half < r.tags.size();
    std::exception_ptr error;
    std::optional<pg::Result> a, b;
    bool sent_a = false, sent_b = false;
    try {
      reader.db.send(statement, first_params, pg::Format::binary);
      sent_a = true;
      if (split) reader.side.send(statement, second_params, pg::Format::binary);
      sent_b = split;
    } catch (const std::runtime_error&) {
      error = std::current_exception();
    }
    for (auto [sent, conn, result] :
         {std::tuple{sent_a, &reader.db, &a}, std::tuple{sent_b, &reader.side, &b}}) {
      if (!sent) continue;
      try {
        *result = conn->collect(statement);
      } catch (const std::runtime_error&) {
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    return std::pair<pg::Result, std::optional<pg::Result>>(std::move(*a), std::move(b));
  });
  const auto take = [&](const pg::Result& rows, std::size_t offset) {
    for (int i = 0; i < rows.rows(); ++i) {
      const std::int64_t k =
          rows.i64(i, 0) - 1 + static_cast<std::int64_t>(offset);  // ORDINALITY counts from 1
      if (k < 0 || static_cast<std::size_t>(k) >= out.size()) continue;
      Aggregate a;
      const __int128 start = static_cast<__int128>(r.from) + static_cast<__int128>(rows.i64(i, 1)) * width;
      a.start = static_cast<TimeNs>(std::clamp<__int128>(start, kMin, kMax));
      a.count = static_cast<std::uint64_t>(rows.i64(i, 2));
      a.sum = rows.f64(i, 3);
      a.min = rows.f64(i, 4);
      a.max = rows.f64(i, 5);
      a.first = rows.f64(i, 6);
      a.first_ts = rows.i64(i, 7);
      a.last = rows.f64(i, 8);
      a.last_ts = rows.i64(i, 9);
      a.quality = quality_of(rows.i64(i, 10));
      out[static_cast<std::size_t>(k)].push_back(a);
    }
  };
  take(first, 0);
  if (second) take(*second, half);
  return out;
}

std::vector<StoredSample> PgStore::read_changes(Seq after, Seq upto, std::size_t limit) {
  if (limit == 0 || upto <= after) return {};
  const auto clamp = [](Seq s) {
    return pg::text(static_cast<std::int64_t>(std::min<Seq>(s, std::numeric_limits<std::int64_t>::max())));
  };
  const pg::Params params = {clamp(after), clamp(upto), limit_text(limit)};
  const pg::Result rows =
      with_reader([&](Reader& reader) { return reader.db.run("changes", params, pg::Format::binary); });
  std::vector<StoredSample> out;
  out.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) {
    const std::optional<TagId> tag = local_id(rows.i64(i, 0));
    if (!tag) continue;  // a tag this node has not restored
    out.push_back(StoredSample{*tag, Sample{rows.i64(i, 1), rows.f64(i, 2), quality_of(rows.i64(i, 3))},
                               static_cast<Seq>(rows.i64(i, 4))});
  }
  return out;
}

std::optional<Aggregate> PgStore::read_bucket(TagId tag, Interval interval, TimeNs start) {
  if (interval == Interval::raw) return std::nullopt;
  const std::int64_t id = db_id(tag);
  if (id == 0) return std::nullopt;
  const std::string statement = "tier" + std::to_string(static_cast<std::size_t>(interval));
  const pg::Params params = {pg::text(id), pg::text(start), pg::text(start), "1"};
  const pg::Result rows = with_reader([&](Reader& reader) { return reader.db.run(statement, params); });
  if (rows.rows() == 0) return std::nullopt;
  return aggregate_at(rows, 0, 0);
}

std::optional<HeldValue> PgStore::read_newest(TagId tag) {
  const std::int64_t id = db_id(tag);
  if (id == 0) return std::nullopt;
  const pg::Result rows =
      with_reader([&](Reader& reader) { return reader.db.run("newest", {pg::text(id)}); });
  if (rows.rows() == 0) return std::nullopt;
  return held_at(rows, 0);
}

Seq PgStore::retained_after() {
  return retained_after_.load();
}

}  // namespace tagstream
