#include "store/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <condition_variable>
#include <thread>
#include <atomic>
#include <limits>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "core/log.h"
#include "core/thread_name.h"

namespace tagstream {

namespace {


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
    return p ? std::string_view(static_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string_view();
  }
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

std::uint64_t next_store_id() {
  static std::atomic<std::uint64_t> id{0};
  return ++id;
}



constexpr int kSchemaVersion = 2;

/// Block table of each tier, indexed like Interval: raw first.
constexpr std::array<const char*, kIntervalCount> kBlockTables = {"blocks_raw", "blocks_second", "blocks_minute",
                                                                  "blocks_hour", "blocks_day"};
constexpr std::size_t kRawTable = 0;

/// Items per block, per tier. A flush rewrites each tag's newest block, so
/// the tiers whose newest bucket changes on every flush (minutes, hours,
/// days) get small blocks: with 256 everywhere, rewriting them was half of
/// all bytes written at 1M samples/s. Raw points and seconds fill their
/// blocks quickly, and reading a long range wants few blocks.
constexpr std::array<std::size_t, kIntervalCount> kBlockItems = {256, 256, 64, 32, 16};

struct BlockRow {
  std::int64_t id = 0;
  TimeNs start = 0;  // key of the first item
  TimeNs end = 0;    // key of the last item
  std::int64_t count = 0;
};

/// The statements of one connection on one block table.
struct BlockStatements {
  BlockStatements(sqlite3* db, const std::string& t, bool writer)
      // Callers stop at the first block starting after their range: a
      // condition on start_ts here would scan every later block of the tag.
      : range(db, "SELECT id, start_ts, end_ts, count, data FROM " + t + " WHERE tag = ?1 AND end_ts >= ?2 ORDER BY end_ts") {
    if (!writer) return;
    tail = std::make_unique<Statement>(
        db, "SELECT id, start_ts, end_ts, count FROM " + t + " WHERE tag = ?1 ORDER BY end_ts DESC LIMIT 1");
    data = std::make_unique<Statement>(db, "SELECT data FROM " + t + " WHERE id = ?1");
    insert = std::make_unique<Statement>(
        db, "INSERT INTO " + t + "(tag, start_ts, end_ts, count, min_seq, max_seq, data) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    remove = std::make_unique<Statement>(db, "DELETE FROM " + t + " WHERE id = ?1");
    at_or_after = std::make_unique<Statement>(
        db, "SELECT start_ts, end_ts, data FROM " + t + " WHERE tag = ?1 AND end_ts >= ?2 ORDER BY end_ts LIMIT 1");
    end_before = std::make_unique<Statement>(
        db, "SELECT end_ts FROM " + t + " WHERE tag = ?1 AND end_ts < ?2 ORDER BY end_ts DESC LIMIT 1");
    expiring = std::make_unique<Statement>(
        db, "SELECT id, start_ts, end_ts, count, max_seq, data FROM " + t + " WHERE tag = ?1 ORDER BY end_ts");
  }
  Statement range;
  std::unique_ptr<Statement> tail, data, insert, remove, expiring, at_or_after, end_before;
};

/// Every item the blocks of one table hold for a tag between two times,
/// read once: late samples come in runs that fall in the same stretch.
template <class Item>
struct StoredSpan {
  TimeNs from = 1;
  TimeNs to = 0;  // from > to: nothing known
  std::vector<Item> items;
};

/// Merges two runs sorted by key; on equal keys `newer` wins.
template <class Item>
std::vector<Item> merge_runs(const std::vector<Item>& older, const std::vector<Item>& newer) {
  std::vector<Item> out;
  out.reserve(older.size() + newer.size());
  std::size_t i = 0, j = 0;
  while (i < older.size() || j < newer.size()) {
    if (j == newer.size() || (i < older.size() && key_of(older[i]) < key_of(newer[j]))) {
      out.push_back(older[i++]);
    } else {
      if (i < older.size() && key_of(older[i]) == key_of(newer[j])) ++i;
      out.push_back(newer[j++]);
    }
  }
  return out;
}

/// Items with key in [from, to] of one tag: blocks merged with the
/// unflushed overlay (copied first: a flush between the copy and the block
/// read then shows the same items twice, never none), at most `limit`.
template <class Item>
std::vector<Item> read_merged(Statement& range, TagId tag, TimeNs from, TimeNs to, std::vector<Item> overlay,
                              std::size_t limit) {
  std::vector<Item> stored, block;
  {
    ResetOnExit guard{range};
    range.bind(1, static_cast<std::int64_t>(tag)).bind(2, from);
    // Blocks of a tag never overlap, so they come in time order.
    while (stored.size() < limit && range.step()) {
      if (range.i64(1) > to) break;
      block.clear();
      decode_block(range.blob(4), block);
      for (const Item& it : block)
        if (key_of(it) >= from && key_of(it) <= to) stored.push_back(it);
    }
  }
  std::vector<Item> out = merge_runs(stored, overlay);
  if (out.size() > limit) out.resize(limit);
  return out;
}

Seq min_seq_of(const std::vector<RawPoint>& items) {
  Seq m = 0;
  for (const RawPoint& p : items)
    if (p.seq > 0 && (m == 0 || p.seq < m)) m = p.seq;
  return m;
}
Seq max_seq_of(const std::vector<RawPoint>& items) {
  Seq m = 0;
  for (const RawPoint& p : items) m = std::max(m, p.seq);
  return m;
}
Seq min_seq_of(const std::vector<Aggregate>&) { return 0; }
Seq max_seq_of(const std::vector<Aggregate>&) { return 0; }

}  // namespace

/// 64 MiB of WAL between checkpoints (SQLite's default is 4): pages
/// rewritten in the meantime (reused journal pages, newest blocks) are
/// copied back once.
constexpr int kCheckpointPages = 16384;

/// Copies the WAL back into the database on a thread of its own, with its
/// own connection, when the writer asks. PASSIVE: it never blocks the
/// writer or the readers.
class SqliteStore::Checkpointer {
 public:
  explicit Checkpointer(const std::string& path) : db_(open_db(path, false)) {
    exec(db_, "PRAGMA journal_mode=WAL");  // reads the header: a fresh connection does not know it is in WAL mode
    thread_ = std::thread([this] { run(); });
  }
  ~Checkpointer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
    sqlite3_close_v2(db_);  // the last connection: SQLite checkpoints and removes the WAL
  }
  void request() {
    {
      std::lock_guard lock(mutex_);
      wanted_ = true;
    }
    wake_.notify_one();
  }

 private:
  void run() {
    name_this_thread("ts-checkpoint");
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [this] { return stopping_ || wanted_; });
      if (stopping_) return;
      wanted_ = false;
      lock.unlock();
      const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) log(LogLevel::warn, "store: checkpoint failed: {}", sqlite3_errmsg(db_));
      lock.lock();
    }
  }

  sqlite3* db_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

/// The single writing connection: commits batches to the journal, folds the
/// journal into blocks when enough has gathered, enforces retention.
class SqliteStore::Writer {
 public:
  Writer(const SqliteOptions& options, MemTable& mem) : options_(options), mem_(mem), db_(open_db(options.path, false)) {
    exec(db_, "PRAGMA journal_mode=WAL");
    // Commits do not fsync: with synchronous_full, SqliteStore::sync() does,
    // on a thread of its own (see Store::defers_sync). The WAL keeps
    // commits in order, so a sync makes every commit before it durable.
    exec(db_, "PRAGMA synchronous=NORMAL");
    exec(db_, "PRAGMA temp_store=MEMORY");
    exec(db_, "PRAGMA cache_size=-65536");  // 64 MiB
    create_schema();
    for (std::size_t t = 0; t < kIntervalCount; ++t)
      tables_[t] = std::make_unique<BlockStatements>(db_, kBlockTables[t], true);
    insert_journal_ = std::make_unique<Statement>(db_, "INSERT INTO journal(data) VALUES(?1)");
    delete_journal_ = std::make_unique<Statement>(db_, "DELETE FROM journal WHERE id <= ?1");
    upsert_tag_ = std::make_unique<Statement>(
        db_, "INSERT INTO tags(id, name, unit, description, type) VALUES(?1, ?2, ?3, ?4, ?5) "
             "ON CONFLICT(id) DO UPDATE SET name = excluded.name, unit = excluded.unit, "
             "description = excluded.description, type = excluded.type");
    set_meta_ = std::make_unique<Statement>(
        db_, "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = "
             "max(value, excluded.value)");
  }

  ~Writer() {
    for (auto& t : tables_) t.reset();
    insert_journal_.reset();
    delete_journal_.reset();
    upsert_tag_.reset();
    set_meta_.reset();
    sqlite3_close_v2(db_);
  }

  sqlite3* db() { return db_; }

  /// Checkpoints move to their own thread (and core): the writer only
  /// asks for one once the WAL holds kCheckpointPages, and runs one itself
  /// only if the WAL keeps growing far past that.
  void checkpoint_with(Checkpointer* checkpointer) {
    checkpointer_ = checkpointer;
    sqlite3_wal_hook(db_, &Writer::on_commit, this);
  }

  void create_schema() {
    exec(db_, "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID");
    {
      Statement s(db_, "SELECT value FROM meta WHERE key = 'schema_version'");
      if (s.step() && s.i64(0) != kSchemaVersion)
        throw std::runtime_error("the database " + options_.path + " was written by an earlier tagstream (schema " +
                                 std::to_string(s.i64(0)) + ", this one reads " + std::to_string(kSchemaVersion) +
                                 "); move it away or point --data-dir elsewhere");
    }
    exec(db_,
         "CREATE TABLE IF NOT EXISTS tags(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
         "unit TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '', type INTEGER NOT NULL DEFAULT 0)");
    // Each committed batch, until a flush folds it into the blocks.
    exec(db_, "CREATE TABLE IF NOT EXISTS journal(id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
    for (const char* t : kBlockTables) {
      exec(db_, (std::string("CREATE TABLE IF NOT EXISTS ") + t +
                 "(id INTEGER PRIMARY KEY, tag INTEGER NOT NULL, start_ts INTEGER NOT NULL, end_ts INTEGER NOT NULL, "
                 "count INTEGER NOT NULL, min_seq INTEGER NOT NULL, max_seq INTEGER NOT NULL, data BLOB NOT NULL)")
                    .c_str());
      exec(db_, (std::string("CREATE INDEX IF NOT EXISTS ") + t + "_by_tag ON " + t + "(tag, end_ts)").c_str());
    }
    // Resuming a stream across a restart reads samples by event id.
    exec(db_, "CREATE INDEX IF NOT EXISTS blocks_raw_by_seq ON blocks_raw(max_seq) WHERE max_seq > 0");
    exec(db_, ("INSERT INTO meta(key, value) VALUES('schema_version', " + std::to_string(kSchemaVersion) +
               ") ON CONFLICT(key) DO NOTHING")
                  .c_str());
  }

  void write(const WriteBatch& batch) {
    // Aggregates of a NaN or an infinity are meaningless; the ingest paths
    // refuse them, and the store refuses the whole batch as a last line.
    for (const StoredSample& s : batch.samples)
      if (!std::isfinite(s.sample.value))
        throw std::runtime_error("store: tag " + std::to_string(s.tag) + " at " + std::to_string(s.sample.ts) +
                                 ": value is not a finite number");
    // Flushes keep failing (a full disk, say): refuse new batches rather
    // than let the overlay grow without bound.
    if (mem_.unflushed_samples() >= 4 * options_.flush_samples) flush();
    exec(db_, "BEGIN IMMEDIATE");
    std::string record;
    try {
      for (const TagRecord& t : batch.tags) {
        upsert_tag_->bind(1, static_cast<std::int64_t>(t.id))
            .bind(2, t.info.name)
            .bind(3, t.info.unit)
            .bind(4, t.info.description)
            .bind(5, static_cast<std::int64_t>(t.info.type))
            .run();
      }
      if (!batch.samples.empty()) {
        record = encode_journal(batch.samples);
        insert_journal_->bind_blob(1, record).run();
        last_journal_id_ = sqlite3_last_insert_rowid(db_);
      }
      if (batch.last_seq > 0)
        set_meta_->bind(1, std::string("last_seq")).bind(2, static_cast<std::int64_t>(batch.last_seq)).run();
      exec(db_, "COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    apply(batch.samples);
  }

  /// One flush step when a flush is due or under way. Runs after the
  /// commit's writers have been answered, so no acknowledgement waits for
  /// block merges. A failing flush fails no batch: the overlay and the
  /// journal keep everything, and the next flush tries again.
  void maintain() {
    const auto now = std::chrono::steady_clock::now();
    const bool due = progress_.active || mem_.unflushed_samples() >= options_.flush_samples ||
                     (mem_.dirty() && now - last_flush_ >= options_.flush_every);
    if (due && now >= retry_flush_at_) {
      try {
        if (!progress_.active) start_flush();
        flush_step(options_.flush_tags_per_step);
      } catch (const std::exception& e) {
        retry_flush_at_ = now + options_.flush_every;
        log(LogLevel::error, "store: flush failed, retrying in {} ms: {}", options_.flush_every.count(), e.what());
      }
    }
  }

  /// What was committed, into the overlay. In-order samples go straight
  /// in; of the others, one at a new timestamp is added to its bucket in
  /// each tier as it stands (so a bucket whose raw samples have expired
  /// keeps what it had), and one replacing a sample has its buckets rebuilt
  /// from the tier below.
  void apply(std::span<const StoredSample> samples) {
    const std::vector<StoredSample> late = mem_.apply_in_order(samples);
    if (late.empty()) return;
    std::set<std::pair<TagId, TimeNs>> level;  // buckets of the tier being rebuilt
    for (const StoredSample& s : late) {
      const RawPoint point{s.sample.ts, s.sample.value, s.sample.quality, s.seq};
      if (raw_exists(s.tag, s.sample.ts)) {
        mem_.put_raw(s.tag, point);
        level.insert({s.tag, bucket_start(s.sample.ts, Interval::second)});
        continue;
      }
      // The buckets as they stand are read before the point is put: once
      // in the overlay, a sample alone in its second reads as its bucket.
      TierBuckets buckets;
      for (std::size_t i = 0; i < kTierCount; ++i) {
        buckets[i] = current_bucket(i, s.tag, bucket_start(s.sample.ts, kAggregatedIntervals[i]));
        buckets[i].add(s.sample);
      }
      mem_.put_raw(s.tag, point);
      for (std::size_t i = 0; i < kTierCount; ++i) mem_.put_bucket(i, s.tag, buckets[i]);
    }
    for (std::size_t i = 0; i < kTierCount && !level.empty(); ++i) {
      const Interval interval = kAggregatedIntervals[i];
      std::set<std::pair<TagId, TimeNs>> parent;
      for (const auto& [tag, start] : level) {
        const TimeNs last = start + interval_width(interval) - 1;
        Aggregate a;
        if (i == 0) {
          for (const RawPoint& p : read(kRawTable, tag, start, last, mem_.raw_between(tag, start, last))) a.add(p.sample());
        } else {
          for (const Aggregate& b : read(i, tag, start, last, mem_.buckets_between(i - 1, tag, start, last))) a.merge(b);
        }
        a.start = start;
        if (a.count > 0) mem_.put_bucket(i, tag, a);
        if (i + 1 < kTierCount) parent.insert({tag, bucket_start(start, kAggregatedIntervals[i + 1])});
      }
      level.swap(parent);
    }
  }

  bool raw_exists(TagId tag, TimeNs ts) {
    if (!mem_.raw_between(tag, ts, ts, 1).empty()) return true;
    const MemTable::TagState* state = mem_.state(tag);
    if (state && ts > state->flushed_max_ts) return false;
    return stored_at(kRawTable, tag, ts, raw_spans_[tag]) != nullptr;
  }

  /// A bucket as it stands: unflushed, else the newest one, else stored.
  Aggregate current_bucket(std::size_t tier, TagId tag, TimeNs start) {
    if (auto m = mem_.buckets_between(tier, tag, start, start, 1); !m.empty()) return m.front();
    const MemTable::TagState* state = mem_.state(tag);
    if (state && state->open[tier].count > 0 && state->open[tier].start == start) return state->open[tier];
    if (const Aggregate* stored = stored_at(tier + 1, tag, start, bucket_spans_[tier][tag])) return *stored;
    Aggregate a;
    a.start = start;
    return a;
  }

  /// The stored item at `key`, if any, through the span cache (valid until
  /// the blocks change: flushes and retention clear it).
  template <class Item>
  const Item* stored_at(std::size_t table, TagId tag, TimeNs key, StoredSpan<Item>& span) {
    if (key < span.from || key > span.to) {
      // The block holding `key` or the first after it, and where the block
      // before it ends: nothing else is stored in between.
      BlockStatements& st = *tables_[table];
      span = StoredSpan<Item>{};
      span.from = std::numeric_limits<TimeNs>::min();
      span.to = std::numeric_limits<TimeNs>::max();
      {
        ResetOnExit guard{*st.end_before};
        st.end_before->bind(1, static_cast<std::int64_t>(tag)).bind(2, key);
        if (st.end_before->step()) span.from = st.end_before->i64(0) + 1;
      }
      ResetOnExit guard{*st.at_or_after};
      st.at_or_after->bind(1, static_cast<std::int64_t>(tag)).bind(2, key);
      if (st.at_or_after->step()) {
        span.to = st.at_or_after->i64(1);
        decode_block(st.at_or_after->blob(2), span.items);
      }
    }
    const auto it = std::lower_bound(span.items.begin(), span.items.end(), key,
                                     [](const Item& i, TimeNs k) { return key_of(i) < k; });
    return it != span.items.end() && key_of(*it) == key ? &*it : nullptr;
  }

  void forget_spans() {
    raw_spans_.clear();
    for (auto& m : bucket_spans_) m.clear();
  }

  template <class Item>
  std::vector<Item> read(std::size_t table, TagId tag, TimeNs from, TimeNs to, std::vector<Item> overlay) {
    return read_merged(tables_[table]->range, tag, from, to, std::move(overlay), std::numeric_limits<std::size_t>::max());
  }

  /// Folds everything unflushed into the blocks and empties the journal.
  void flush() {
    if (!progress_.active) {
      if (!mem_.dirty()) return;
      start_flush();
    }
    while (progress_.active) flush_step(std::numeric_limits<std::size_t>::max());
  }

  /// A flush runs in steps of a few tags, one after each commit (see
  /// maintain()), so commits do not wait for a whole flush (a flush of 500k
  /// samples over 1,000 tags takes a few hundred ms). The journal records that were applied when it
  /// started are deleted with its last step. If the process dies between
  /// steps, replaying them again is harmless: a replayed sample replaces
  /// itself.
  void start_flush() {
    progress_ = FlushProgress{true, 0, last_journal_id_};
  }

  void flush_step(std::size_t max_tags) {
    forget_spans();
    const TagId first = progress_.next_tag;
    const std::size_t count = mem_.tag_count();
    const TagId end = static_cast<TagId>(std::min<std::size_t>(count, first + std::min(max_tags, count)));
    const bool last = end >= count;
    // A step needs no sync of its own: everything it writes is also in the
    // journal until the last step deletes those records, so the next sync
    // makes it durable, and a step lost to a power cut is replayed from the
    // journal.
    exec(db_, "BEGIN IMMEDIATE");
    try {
      for (TagId tag = first; tag < end; ++tag) {
        const MemTable::TagState& t = *mem_.state(tag);
        if (!t.raw.empty()) merge_into_blocks(kRawTable, tag, t.raw);
        for (std::size_t i = 0; i < kTierCount; ++i)
          merge_into_blocks(i + 1, tag, mem_.dirty_buckets(i, tag));
      }
      if (last) delete_journal_->bind(1, progress_.journal_upto).run();
      exec(db_, "COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      for (auto& cache : tails_) cache.clear();  // may describe rolled-back rows
      throw;
    }
    mem_.mark_flushed(first, end);
    progress_.next_tag = end;
    if (last) {
      progress_.active = false;
      last_flush_ = std::chrono::steady_clock::now();
    }
  }

  /// Start-up: the newest item of each tier of a tag.
  template <class Item>
  std::optional<Item> newest(std::size_t table, TagId tag) {
    const std::optional<BlockRow> tail = tail_of(table, tag);
    if (!tail) return std::nullopt;
    std::vector<Item> items;
    decode_block(block_data(table, tail->id), items);
    if (items.empty()) return std::nullopt;
    return items.back();
  }

  std::vector<std::string> journal() {
    std::vector<std::string> out;
    Statement s(db_, "SELECT id, data FROM journal ORDER BY id");
    while (s.step()) {
      last_journal_id_ = s.i64(0);
      out.emplace_back(s.blob(1));
    }
    return out;
  }

  std::size_t enforce_retention(const Retention& retention, TimeNs now, std::size_t max_rows,
                                std::atomic<Seq>& retained_after) {
    flush();
    forget_spans();
    std::vector<TagId> tags;
    {
      Statement s(db_, "SELECT id FROM tags");
      while (s.step()) tags.push_back(static_cast<TagId>(s.i64(0)));
    }
    std::size_t deleted = 0;
    for (std::size_t table = 0; table < kIntervalCount && deleted < max_rows; ++table) {
      const std::int64_t keep = retention.seconds[table];
      if (keep <= 0) continue;
      const TimeNs cutoff = now - keep * kNanosPerSecond;
      for (TagId tag : tags) {
        if (deleted >= max_rows) break;
        exec(db_, "BEGIN IMMEDIATE");
        try {
          Seq doomed = 0;
          deleted += table == kRawTable ? expire<RawPoint>(table, tag, cutoff, max_rows - deleted, doomed)
                                        : expire<Aggregate>(table, tag, cutoff, max_rows - deleted, doomed);
          // Streams resuming from an id at or below the newest deleted
          // sample's are told their history was lost.
          if (doomed > 0)
            set_meta_->bind(1, std::string("retained_after")).bind(2, static_cast<std::int64_t>(doomed)).run();
          exec(db_, "COMMIT");
          if (doomed > retained_after.load()) retained_after = doomed;
        } catch (...) {
          sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
          tails_[table].clear();
          throw;
        }
      }
    }
    return deleted;
  }

 private:
  std::string block_data(std::size_t table, std::int64_t id) {
    Statement& s = *tables_[table]->data;
    ResetOnExit guard{s};
    s.bind(1, id);
    if (!s.step()) throw std::runtime_error("store: block " + std::to_string(id) + " vanished");
    return std::string(s.blob(0));
  }

  /// The newest block of a tag in a table, cached: every flush appends there.
  std::optional<BlockRow> tail_of(std::size_t table, TagId tag) {
    auto& cache = tails_[table];
    if (auto it = cache.find(tag); it != cache.end()) return it->second;
    Statement& s = *tables_[table]->tail;
    ResetOnExit guard{s};
    s.bind(1, static_cast<std::int64_t>(tag));
    std::optional<BlockRow> row;
    if (s.step()) row = BlockRow{s.i64(0), s.i64(1), s.i64(2), s.i64(3)};
    cache[tag] = row;
    return row;
  }

  /// Writes `dirty` (sorted, unique keys) into the blocks of a tag: the
  /// blocks it overlaps (and the newest block, when it has room) are read,
  /// merged with it (dirty items win) and rewritten in blocks of at most
  /// kBlockItems[table], so a tag's blocks never overlap.
  template <class Item>
  void merge_into_blocks(std::size_t table, TagId tag, const std::vector<Item>& dirty) {
    if (dirty.empty()) return;
    BlockStatements& st = *tables_[table];
    const TimeNs lo = key_of(dirty.front());
    const TimeNs hi = key_of(dirty.back());
    const std::optional<BlockRow> tail = tail_of(table, tag);
    std::vector<std::int64_t> doomed;
    std::vector<Item> stored;
    if (tail && lo >= tail->start) {
      // In order (the common case): only the newest block can be involved.
      if (lo <= tail->end || static_cast<std::size_t>(tail->count) < kBlockItems[table]) {
        doomed.push_back(tail->id);
        decode_block(block_data(table, tail->id), stored);
      }
    } else if (tail) {
      ResetOnExit guard{st.range};
      st.range.bind(1, static_cast<std::int64_t>(tag)).bind(2, lo);
      while (st.range.step() && st.range.i64(1) <= hi) {
        doomed.push_back(st.range.i64(0));
        decode_block(st.range.blob(4), stored);
      }
    }
    const std::vector<Item> merged = merge_runs(stored, dirty);
    for (std::int64_t id : doomed) st.remove->bind(1, id).run();
    const bool tail_survives = tail && std::find(doomed.begin(), doomed.end(), tail->id) == doomed.end();
    std::optional<BlockRow> new_tail = tail_survives ? tail : std::nullopt;
    const std::size_t cap = kBlockItems[table];
    for (std::size_t i = 0; i < merged.size(); i += cap) {
      const std::vector<Item> chunk(merged.begin() + static_cast<std::ptrdiff_t>(i),
                                    merged.begin() + static_cast<std::ptrdiff_t>(std::min(merged.size(), i + cap)));
      const BlockRow row = insert_block(st, tag, chunk);
      if (!new_tail || row.end > new_tail->end) new_tail = row;
    }
    tails_[table][tag] = new_tail;
  }

  template <class Item>
  BlockRow insert_block(BlockStatements& st, TagId tag, const std::vector<Item>& items) {
    const std::string blob = encode_block(std::span<const Item>(items));
    BlockRow row{0, key_of(items.front()), key_of(items.back()), static_cast<std::int64_t>(items.size())};
    st.insert->bind(1, static_cast<std::int64_t>(tag))
        .bind(2, row.start)
        .bind(3, row.end)
        .bind(4, row.count)
        .bind(5, static_cast<std::int64_t>(min_seq_of(items)))
        .bind(6, static_cast<std::int64_t>(max_seq_of(items)))
        .bind_blob(7, blob)
        .run();
    row.id = sqlite3_last_insert_rowid(db_);
    return row;
  }

  /// Deletes at most `budget` items of a tag with key before `cutoff`,
  /// oldest first; `doomed` gets the newest event id deleted.
  template <class Item>
  std::size_t expire(std::size_t table, TagId tag, TimeNs cutoff, std::size_t budget, Seq& doomed) {
    BlockStatements& st = *tables_[table];
    struct Expiring {
      BlockRow row;
      Seq max_seq;
      std::string data;
    };
    std::vector<Expiring> rows;
    {
      ResetOnExit guard{*st.expiring};
      st.expiring->bind(1, static_cast<std::int64_t>(tag));
      std::size_t seen = 0;
      while (seen < budget && st.expiring->step() && st.expiring->i64(1) < cutoff) {
        rows.push_back(Expiring{BlockRow{st.expiring->i64(0), st.expiring->i64(1), st.expiring->i64(2), st.expiring->i64(3)},
                                static_cast<Seq>(st.expiring->i64(4)), std::string(st.expiring->blob(5))});
        seen += static_cast<std::size_t>(rows.back().row.count);
      }
    }
    if (rows.empty()) return 0;
    tails_[table].erase(tag);
    std::size_t deleted = 0;
    for (const Expiring& e : rows) {
      const std::size_t left = budget - deleted;
      if (left == 0) break;
      if (e.row.end < cutoff && static_cast<std::size_t>(e.row.count) <= left) {
        st.remove->bind(1, e.row.id).run();
        deleted += static_cast<std::size_t>(e.row.count);
        doomed = std::max(doomed, e.max_seq);
        continue;
      }
      std::vector<Item> items;
      decode_block(e.data, items);
      std::size_t n = 0;
      while (n < items.size() && n < left && key_of(items[n]) < cutoff) ++n;
      if (n == 0) continue;
      const std::vector<Item> gone(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(n));
      doomed = std::max(doomed, max_seq_of(gone));
      items.erase(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(n));
      st.remove->bind(1, e.row.id).run();
      if (!items.empty()) insert_block(st, tag, items);
      deleted += n;
    }
    return deleted;
  }

  static int on_commit(void* self, sqlite3* db, const char*, int wal_pages) {
    auto* writer = static_cast<Writer*>(self);
    if (wal_pages >= 4 * kCheckpointPages) {
      sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (wal_pages >= kCheckpointPages && writer->checkpointer_) {
      writer->checkpointer_->request();
    }
    return SQLITE_OK;
  }

  const SqliteOptions& options_;
  MemTable& mem_;
  sqlite3* db_;
  Checkpointer* checkpointer_ = nullptr;
  std::array<std::unique_ptr<BlockStatements>, kIntervalCount> tables_;
  std::array<std::unordered_map<TagId, std::optional<BlockRow>>, kIntervalCount> tails_;
  std::unordered_map<TagId, StoredSpan<RawPoint>> raw_spans_;
  std::array<std::unordered_map<TagId, StoredSpan<Aggregate>>, kTierCount> bucket_spans_;
  std::unique_ptr<Statement> insert_journal_, delete_journal_, upsert_tag_, set_meta_;
  struct FlushProgress {
    bool active = false;
    TagId next_tag = 0;
    std::int64_t journal_upto = 0;
  };
  FlushProgress progress_;
  std::int64_t last_journal_id_ = 0;
  std::chrono::steady_clock::time_point last_flush_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point retry_flush_at_{};
};

/// A read-only connection for one reading thread.
class SqliteStore::Reader {
 public:
  Reader(const std::string& path, const MemTable& mem) : mem_(mem), db_(open_db(path, true)) {
    for (std::size_t t = 0; t < kIntervalCount; ++t)
      tables_[t] = std::make_unique<BlockStatements>(db_, kBlockTables[t], false);
    changes_ = std::make_unique<Statement>(
        db_, "SELECT min_seq, tag, data FROM blocks_raw WHERE max_seq > ?1 AND min_seq <= ?2 ORDER BY min_seq");
  }
  ~Reader() {
    for (auto& t : tables_) t.reset();
    changes_.reset();
    sqlite3_close_v2(db_);
  }

  HistoryPage read(const HistoryRequest& r) {
    if (r.to <= std::numeric_limits<TimeNs>::min() + 1 || r.limit == 0) return {};
    const bool raw = r.interval == Interval::raw;
    TimeNs from = raw ? r.from : bucket_start(r.from, r.interval);
    if (r.after) from = std::max(from, *r.after + 1);
    const TimeNs to = r.to - 1;
    if (from > to) return {};
    if (!raw) {
      const std::size_t tier = aggregated_index(r.interval);
      return read_merged(tables_[tier + 1]->range, r.tag, from, to,
                         mem_.buckets_between(tier, r.tag, from, to, r.limit), r.limit);
    }
    const std::vector<RawPoint> points =
        read_merged(tables_[kRawTable]->range, r.tag, from, to, mem_.raw_between(r.tag, from, to, r.limit), r.limit);
    HistoryPage page;
    page.reserve(points.size());
    for (const RawPoint& p : points) {
      Aggregate a;
      a.start = p.ts;
      a.add(p.sample());
      page.push_back(a);
    }
    return page;
  }

  std::vector<StoredSample> changes(Seq after, Seq upto, std::size_t limit) {
    if (limit == 0) return {};
    const std::vector<StoredSample> overlay = mem_.changes_between(after, upto);  // copied first, see read_merged
    const auto by_seq = [](const StoredSample& a, const StoredSample& b) { return a.seq < b.seq; };
    std::vector<StoredSample> out;
    {
      Statement& s = *changes_;
      ResetOnExit guard{s};
      s.bind(1, static_cast<std::int64_t>(after)).bind(2, static_cast<std::int64_t>(upto));
      // Blocks come by their lowest id; once `limit` ids are held, a block
      // whose lowest id is above the highest of them cannot contribute.
      Seq bound = std::numeric_limits<Seq>::max();
      std::vector<RawPoint> block;
      while (s.step()) {
        if (static_cast<Seq>(s.i64(0)) > bound) break;
        const auto tag = static_cast<TagId>(s.i64(1));
        block.clear();
        decode_block(s.blob(2), block);
        for (const RawPoint& p : block)
          if (p.seq > after && p.seq <= upto) out.push_back(StoredSample{tag, p.sample(), p.seq});
        if (out.size() >= limit) {
          std::nth_element(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(limit - 1), out.end(), by_seq);
          out.resize(limit);
          bound = out[limit - 1].seq;
        }
      }
    }
    mem_.drop_replaced(out);
    out.insert(out.end(), overlay.begin(), overlay.end());
    std::sort(out.begin(), out.end(), by_seq);
    out.erase(std::unique(out.begin(), out.end(),
                          [](const StoredSample& a, const StoredSample& b) {
                            return a.seq == b.seq && a.tag == b.tag && a.sample.ts == b.sample.ts;
                          }),
              out.end());
    if (out.size() > limit) out.resize(limit);
    return out;
  }

  std::optional<Aggregate> bucket(TagId tag, Interval interval, TimeNs start) {
    const std::size_t tier = aggregated_index(interval);
    auto items = read_merged(tables_[tier + 1]->range, tag, start, start, mem_.buckets_between(tier, tag, start, start), 1);
    if (items.empty()) return std::nullopt;
    return items.front();
  }

 private:
  const MemTable& mem_;
  sqlite3* db_;
  std::array<std::unique_ptr<BlockStatements>, kIntervalCount> tables_;
  std::unique_ptr<Statement> changes_;
};

SqliteStore::SqliteStore(SqliteOptions options) : options_(std::move(options)), id_(next_store_id()) {
  writer_ = std::make_unique<Writer>(options_, mem_);
  checkpointer_ = std::make_unique<Checkpointer>(options_.path);
  writer_->checkpoint_with(checkpointer_.get());
}

bool SqliteStore::defers_sync() const { return options_.synchronous_full; }

void SqliteStore::sync() {
  // fsync applies to the file, whichever descriptor asks: this one is ours,
  // so syncing never touches the writer connection's state.
  if (wal_fd_ < 0) {
    wal_fd_ = ::open((options_.path + "-wal").c_str(), O_RDWR | O_CLOEXEC);
    if (wal_fd_ < 0) throw std::runtime_error("store: cannot open the WAL to sync it: " + std::string(std::strerror(errno)));
  }
  if (::fdatasync(wal_fd_) != 0) throw std::runtime_error("store: fsync of the WAL failed: " + std::string(std::strerror(errno)));
}

SqliteStore::~SqliteStore() {
  // Folding the journal now makes the next start-up quick; what is left
  // unflushed is still in the journal.
  try {
    if (options_.flush_on_close) writer_->flush();
  } catch (const std::exception& e) {
    log(LogLevel::warn, "store: final flush failed (the journal keeps the data): {}", e.what());
  }
  std::lock_guard lock(readers_mutex_);
  readers_.clear();
  writer_.reset();
  checkpointer_.reset();
  if (wal_fd_ >= 0) ::close(wal_fd_);
}

SqliteStore::Reader& SqliteStore::reader() {
  // One connection per (thread, store): connections are created on first
  // use and live as long as the store.
  thread_local std::unordered_map<std::uint64_t, Reader*> mine;
  auto it = mine.find(id_);
  if (it != mine.end()) return *it->second;
  auto reader = std::make_unique<Reader>(options_.path, mem_);
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

void SqliteStore::flush() { writer_->flush(); }

void SqliteStore::maintain() { writer_->maintain(); }

RestoredState SqliteStore::restore() {
  // Restoring a store already in use starts over from what is on disk.
  writer_->flush();
  mem_.clear();
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
  for (const TagRecord& t : state.tags) {
    TierBuckets newest{};
    for (std::size_t i = 0; i < kTierCount; ++i)
      newest[i] = writer_->newest<Aggregate>(i + 1, t.id).value_or(Aggregate{});
    mem_.init_tag(t.id, writer_->newest<RawPoint>(0, t.id), newest);
  }
  // Batches committed since the last flush.
  std::vector<StoredSample> journaled;
  for (const std::string& record : writer_->journal()) {
    journaled.clear();
    decode_journal(record, journaled);
    writer_->apply(journaled);
  }
  for (const TagRecord& t : state.tags) {
    const MemTable::TagState* m = mem_.state(t.id);
    if (!m || !m->latest) continue;
    RestoredState::Live live;
    live.tag = t.id;
    live.latest = m->latest->sample();
    for (std::size_t i = 0; i < kTierCount; ++i) {
      const Aggregate& open = m->open[i];
      const bool holds_latest = open.count > 0 && open.start == bucket_start(live.latest.ts, kAggregatedIntervals[i]);
      live.buckets[i] = holds_latest ? open : aggregate_of(live.latest, kAggregatedIntervals[i]);
    }
    state.live.push_back(live);
  }
  return state;
}

std::size_t SqliteStore::enforce_retention(const Retention& retention, TimeNs now, std::size_t max_rows) {
  return writer_->enforce_retention(retention, now, max_rows, retained_after_);
}

}  // namespace tagstream
