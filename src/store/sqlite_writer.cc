#include "store/sqlite_writer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

#include "core/log.h"
#include "store/sqlite_blocks.h"
#include "store/sqlite_checkpointer.h"
#include "store/sqlite_store.h"

namespace tagstream {

namespace {

constexpr int kSchemaVersion = 2;

/// Items per block, per tier. A flush rewrites each tag's newest block, so
/// the tiers whose newest bucket changes on every flush (minutes, hours,
/// days) get small blocks: with 256 everywhere, rewriting them was half of
/// all bytes written at 1M samples/s. Raw points and seconds fill their
/// blocks quickly, and reading a long range wants few blocks.
constexpr std::array<std::size_t, kIntervalCount> kBlockItems = {256, 256, 64, 32, 16};

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
Seq min_seq_of(const std::vector<Aggregate>&) {
  return 0;
}
Seq max_seq_of(const std::vector<Aggregate>&) {
  return 0;
}

}  // namespace

SqliteWriter::BlockStatements::BlockStatements(sqlite::Connection& db, const std::string& t)
    : range(db, block_range_sql(t.c_str())),
      tail(db,
           "SELECT id, start_ts, end_ts, count FROM " + t + " WHERE tag = ?1 ORDER BY end_ts DESC LIMIT 1"),
      data(db, "SELECT data FROM " + t + " WHERE id = ?1"),
      insert(db,
             "INSERT INTO " + t +
                 "(tag, start_ts, end_ts, count, min_seq, max_seq, data) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
      remove(db, "DELETE FROM " + t + " WHERE id = ?1"),
      expiring(db, "SELECT id, start_ts, end_ts, count, max_seq, data FROM " + t +
                       " WHERE tag = ?1 ORDER BY end_ts"),
      at_or_after(db, "SELECT start_ts, end_ts, data FROM " + t +
                          " WHERE tag = ?1 AND end_ts >= ?2 ORDER BY end_ts LIMIT 1"),
      end_before(
          db, "SELECT end_ts FROM " + t + " WHERE tag = ?1 AND end_ts < ?2 ORDER BY end_ts DESC LIMIT 1") {}

SqliteWriter::SqliteWriter(const SqliteOptions& options, MemTable& mem)
    : options_(options), mem_(mem), db_(options.path, false) {
  db_.exec("PRAGMA journal_mode=WAL");
  // Commits do not fsync: with synchronous_full, SqliteStore::sync() does,
  // on a thread of its own (see Store::defers_sync). The WAL keeps
  // commits in order, so a sync makes every commit before it durable.
  db_.exec("PRAGMA synchronous=NORMAL");
  db_.exec("PRAGMA temp_store=MEMORY");
  db_.exec("PRAGMA cache_size=-65536");  // 64 MiB
  create_schema();
  for (std::size_t t = 0; t < kIntervalCount; ++t)
    tables_[t] = std::make_unique<BlockStatements>(db_, kBlockTables[t]);
  insert_journal_ = std::make_unique<sqlite::Statement>(db_, "INSERT INTO journal(data) VALUES(?1)");
  delete_journal_ = std::make_unique<sqlite::Statement>(db_, "DELETE FROM journal WHERE id <= ?1");
  upsert_tag_ = std::make_unique<sqlite::Statement>(
      db_,
      "INSERT INTO tags(id, name, unit, description, type) VALUES(?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT(id) DO UPDATE SET name = excluded.name, unit = excluded.unit, "
      "description = excluded.description, type = excluded.type");
  set_meta_ = std::make_unique<sqlite::Statement>(
      db_,
      "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = "
      "max(value, excluded.value)");
}

/// Checkpoints move to their own thread (and core): the writer only
/// asks for one once the WAL holds kCheckpointPages, and runs one itself
/// only if the WAL keeps growing far past that.
void SqliteWriter::checkpoint_with(SqliteCheckpointer* checkpointer) {
  checkpointer_ = checkpointer;
  sqlite3_wal_hook(db_.handle(), &SqliteWriter::on_commit, this);
}

int SqliteWriter::on_commit(void* self, sqlite3* db, const char*, int wal_pages) {
  auto* writer = static_cast<SqliteWriter*>(self);
  if (wal_pages >= 4 * kCheckpointPages) {
    sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (wal_pages >= kCheckpointPages && writer->checkpointer_) {
    writer->checkpointer_->request();
  }
  return SQLITE_OK;
}

void SqliteWriter::create_schema() {
  db_.exec("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID");
  {
    sqlite::Statement s(db_, "SELECT value FROM meta WHERE key = 'schema_version'");
    if (s.step() && s.i64(0) != kSchemaVersion)
      throw std::runtime_error("the database " + options_.path +
                               " was written by an earlier tagstream (schema " + std::to_string(s.i64(0)) +
                               ", this one reads " + std::to_string(kSchemaVersion) +
                               "); move it away or point --data-dir elsewhere");
  }
  db_.exec(
      "CREATE TABLE IF NOT EXISTS tags(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
      "unit TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '', type INTEGER NOT NULL DEFAULT "
      "0)");
  // Each committed batch, until a flush folds it into the blocks.
  db_.exec("CREATE TABLE IF NOT EXISTS journal(id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
  for (const char* t : kBlockTables) {
    db_.exec(
        (std::string("CREATE TABLE IF NOT EXISTS ") + t +
         "(id INTEGER PRIMARY KEY, tag INTEGER NOT NULL, start_ts INTEGER NOT NULL, end_ts INTEGER NOT NULL, "
         "count INTEGER NOT NULL, min_seq INTEGER NOT NULL, max_seq INTEGER NOT NULL, data BLOB NOT NULL)")
            .c_str());
    db_.exec((std::string("CREATE INDEX IF NOT EXISTS ") + t + "_by_tag ON " + t + "(tag, end_ts)").c_str());
  }
  // Resuming a stream across a restart reads samples by event id.
  db_.exec("CREATE INDEX IF NOT EXISTS blocks_raw_by_seq ON blocks_raw(max_seq) WHERE max_seq > 0");
  db_.exec(("INSERT INTO meta(key, value) VALUES('schema_version', " + std::to_string(kSchemaVersion) +
            ") ON CONFLICT(key) DO NOTHING")
               .c_str());
}

void SqliteWriter::write(const WriteBatch& batch) {
  // Aggregates of a NaN or an infinity are meaningless; the ingest paths
  // refuse them, and the store refuses the whole batch as a last line.
  for (const StoredSample& s : batch.samples)
    if (!std::isfinite(s.sample.value))
      throw std::runtime_error("store: tag " + std::to_string(s.tag) + " at " + std::to_string(s.sample.ts) +
                               ": value is not a finite number");
  // Flushes keep failing (a full disk, say): refuse new batches rather
  // than let the overlay grow without bound.
  if (mem_.unflushed_samples() >= 4 * options_.flush_samples) flush();
  std::string record;
  {
    sqlite::Transaction tx(db_);
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
      last_journal_id_ = db_.last_insert_rowid();
    }
    if (batch.last_seq > 0)
      set_meta_->bind(1, std::string("last_seq")).bind(2, static_cast<std::int64_t>(batch.last_seq)).run();
    tx.commit();
  }
  apply(batch.samples);
}

void SqliteWriter::maintain() {
  const auto now = std::chrono::steady_clock::now();
  const bool due = progress_.active || mem_.unflushed_samples() >= options_.flush_samples ||
                   (mem_.dirty() && now - last_flush_ >= options_.flush_every);
  if (due && (!retry_flush_at_ || now >= *retry_flush_at_)) {
    try {
      if (!progress_.active) start_flush();
      flush_step(options_.flush_tags_per_step);
      retry_flush_at_.reset();
    } catch (const std::exception& e) {
      retry_flush_at_ = now + options_.flush_every;
      log(LogLevel::error, "store: flush failed, retrying in {} ms: {}", options_.flush_every.count(),
          e.what());
    }
  }
}

void SqliteWriter::apply(std::span<const StoredSample> samples) {
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
        for (const RawPoint& p : read(kRawTable, tag, start, last, mem_.raw_between(tag, start, last)))
          a.add(p.sample());
      } else {
        for (const Aggregate& b : read(i, tag, start, last, mem_.buckets_between(i - 1, tag, start, last)))
          a.merge(b);
      }
      a.start = start;
      if (a.count > 0) mem_.put_bucket(i, tag, a);
      if (i + 1 < kTierCount) parent.insert({tag, bucket_start(start, kAggregatedIntervals[i + 1])});
    }
    level.swap(parent);
  }
}

bool SqliteWriter::raw_exists(TagId tag, TimeNs ts) {
  if (!mem_.raw_between(tag, ts, ts, 1).empty()) return true;
  const MemTable::TagState* state = mem_.state(tag);
  if (state && ts > state->flushed_max_ts) return false;
  return stored_at(kRawTable, tag, ts, raw_spans_[tag]) != nullptr;
}

/// A bucket as it stands: unflushed, else the newest one, else stored.
Aggregate SqliteWriter::current_bucket(std::size_t tier, TagId tag, TimeNs start) {
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
const Item* SqliteWriter::stored_at(std::size_t table, TagId tag, TimeNs key, StoredSpan<Item>& span) {
  if (key < span.from || key > span.to) {
    // The block holding `key` or the first after it, and where the block
    // before it ends: nothing else is stored in between.
    BlockStatements& st = *tables_[table];
    span = StoredSpan<Item>{};
    span.from = std::numeric_limits<TimeNs>::min();
    span.to = std::numeric_limits<TimeNs>::max();
    {
      sqlite::ResetOnExit guard{st.end_before};
      st.end_before.bind(1, static_cast<std::int64_t>(tag)).bind(2, key);
      if (st.end_before.step()) span.from = st.end_before.i64(0) + 1;
    }
    sqlite::ResetOnExit guard{st.at_or_after};
    st.at_or_after.bind(1, static_cast<std::int64_t>(tag)).bind(2, key);
    if (st.at_or_after.step()) {
      span.to = st.at_or_after.i64(1);
      decode_block(st.at_or_after.blob(2), span.items);
    }
  }
  const auto it = std::lower_bound(span.items.begin(), span.items.end(), key,
                                   [](const Item& i, TimeNs k) { return key_of(i) < k; });
  return it != span.items.end() && key_of(*it) == key ? &*it : nullptr;
}

void SqliteWriter::forget_spans() {
  raw_spans_.clear();
  for (auto& m : bucket_spans_) m.clear();
}

template <class Item>
std::vector<Item> SqliteWriter::read(std::size_t table, TagId tag, TimeNs from, TimeNs to,
                                     std::vector<Item> overlay) {
  return read_merged(tables_[table]->range, tag, from, to, std::move(overlay),
                     std::numeric_limits<std::size_t>::max());
}

void SqliteWriter::flush() {
  if (!progress_.active) {
    if (!mem_.dirty()) return;
    start_flush();
  }
  while (progress_.active) flush_step(std::numeric_limits<std::size_t>::max());
}

/// A flush runs in steps of a few tags, one after each commit (see
/// maintain()), so commits do not wait for a whole flush (a flush of 500k
/// samples over 1,000 tags takes a few hundred ms). The journal records
/// that were applied when it started are deleted with its last step. If
/// the process dies between steps, replaying them again is harmless: a
/// replayed sample replaces itself.
void SqliteWriter::start_flush() {
  progress_ = FlushProgress{true, 0, last_journal_id_};
}

void SqliteWriter::flush_step(std::size_t max_tags) {
  forget_spans();
  const TagId first = progress_.next_tag;
  const std::size_t count = mem_.tag_count();
  const TagId end = static_cast<TagId>(std::min<std::size_t>(count, first + std::min(max_tags, count)));
  const bool last = end >= count;
  // A step needs no sync of its own: everything it writes is also in the
  // journal until the last step deletes those records, so the next sync
  // makes it durable, and a step lost to a power cut is replayed from the
  // journal.
  try {
    sqlite::Transaction tx(db_);
    for (TagId tag = first; tag < end; ++tag) {
      const MemTable::TagState& t = *mem_.state(tag);
      if (!t.raw.empty()) merge_into_blocks(kRawTable, tag, t.raw);
      for (std::size_t i = 0; i < kTierCount; ++i) merge_into_blocks(i + 1, tag, mem_.dirty_buckets(i, tag));
    }
    if (last) delete_journal_->bind(1, progress_.journal_upto).run();
    tx.commit();
  } catch (...) {
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

template <class Item>
std::optional<Item> SqliteWriter::newest(std::size_t table, TagId tag) {
  const std::optional<BlockRow> tail = tail_of(table, tag);
  if (!tail) return std::nullopt;
  std::vector<Item> items;
  decode_block(block_data(table, tail->id), items);
  if (items.empty()) return std::nullopt;
  return items.back();
}

std::optional<RawPoint> SqliteWriter::newest_point(TagId tag) {
  return newest<RawPoint>(kRawTable, tag);
}

TierBuckets SqliteWriter::newest_buckets(TagId tag) {
  TierBuckets newest_of_tier{};
  for (std::size_t i = 0; i < kTierCount; ++i)
    newest_of_tier[i] = newest<Aggregate>(i + 1, tag).value_or(Aggregate{});
  return newest_of_tier;
}

std::vector<std::string> SqliteWriter::journal() {
  std::vector<std::string> out;
  sqlite::Statement s(db_, "SELECT id, data FROM journal ORDER BY id");
  while (s.step()) {
    last_journal_id_ = s.i64(0);
    out.emplace_back(s.blob(1));
  }
  return out;
}

std::size_t SqliteWriter::enforce_retention(const Retention& retention, TimeNs now, std::size_t max_rows,
                                            std::atomic<Seq>& retained_after) {
  flush();
  forget_spans();
  std::vector<TagId> tags;
  {
    sqlite::Statement s(db_, "SELECT id FROM tags");
    while (s.step()) tags.push_back(static_cast<TagId>(s.i64(0)));
  }
  std::size_t deleted = 0;
  for (std::size_t table = 0; table < kIntervalCount && deleted < max_rows; ++table) {
    const std::int64_t keep = retention.seconds[table];
    if (keep <= 0) continue;
    const TimeNs cutoff = now - keep * kNanosPerSecond;
    for (TagId tag : tags) {
      if (deleted >= max_rows) break;
      Seq doomed = 0;
      try {
        sqlite::Transaction tx(db_);
        deleted += table == kRawTable ? expire<RawPoint>(table, tag, cutoff, max_rows - deleted, doomed)
                                      : expire<Aggregate>(table, tag, cutoff, max_rows - deleted, doomed);
        // Streams resuming from an id at or below the newest deleted
        // sample's are told their history was lost.
        if (doomed > 0)
          set_meta_->bind(1, std::string("retained_after")).bind(2, static_cast<std::int64_t>(doomed)).run();
        tx.commit();
      } catch (...) {
        tails_[table].clear();  // may describe rolled-back rows
        throw;
      }
      if (doomed > retained_after.load()) retained_after = doomed;
    }
  }
  return deleted;
}

std::string SqliteWriter::block_data(std::size_t table, std::int64_t id) {
  sqlite::Statement& s = tables_[table]->data;
  sqlite::ResetOnExit guard{s};
  s.bind(1, id);
  if (!s.step()) throw std::runtime_error("store: block " + std::to_string(id) + " vanished");
  return std::string(s.blob(0));
}

/// The newest block of a tag in a table, cached: every flush appends there.
std::optional<SqliteWriter::BlockRow> SqliteWriter::tail_of(std::size_t table, TagId tag) {
  auto& cache = tails_[table];
  if (auto it = cache.find(tag); it != cache.end()) return it->second;
  sqlite::Statement& s = tables_[table]->tail;
  sqlite::ResetOnExit guard{s};
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
void SqliteWriter::merge_into_blocks(std::size_t table, TagId tag, const std::vector<Item>& dirty) {
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
    sqlite::ResetOnExit guard{st.range};
    st.range.bind(1, static_cast<std::int64_t>(tag)).bind(2, lo);
    while (st.range.step() && st.range.i64(1) <= hi) {
      doomed.push_back(st.range.i64(0));
      decode_block(st.range.blob(4), stored);
    }
  }
  const std::vector<Item> merged = merge_runs(stored, dirty);
  for (std::int64_t id : doomed) st.remove.bind(1, id).run();
  const bool tail_survives = tail && std::find(doomed.begin(), doomed.end(), tail->id) == doomed.end();
  std::optional<BlockRow> new_tail = tail_survives ? tail : std::nullopt;
  const std::size_t cap = kBlockItems[table];
  for (std::size_t i = 0; i < merged.size(); i += cap) {
    const std::vector<Item> chunk(
        merged.begin() + static_cast<std::ptrdiff_t>(i),
        merged.begin() + static_cast<std::ptrdiff_t>(std::min(merged.size(), i + cap)));
    const BlockRow row = insert_block(st, tag, chunk);
    if (!new_tail || row.end > new_tail->end) new_tail = row;
  }
  tails_[table][tag] = new_tail;
}

template <class Item>
SqliteWriter::BlockRow SqliteWriter::insert_block(BlockStatements& st, TagId tag,
                                                  const std::vector<Item>& items) {
  const std::string blob = encode_block(std::span<const Item>(items));
  BlockRow row{0, key_of(items.front()), key_of(items.back()), static_cast<std::int64_t>(items.size())};
  st.insert.bind(1, static_cast<std::int64_t>(tag))
      .bind(2, row.start)
      .bind(3, row.end)
      .bind(4, row.count)
      .bind(5, static_cast<std::int64_t>(min_seq_of(items)))
      .bind(6, static_cast<std::int64_t>(max_seq_of(items)))
      .bind_blob(7, blob)
      .run();
  row.id = db_.last_insert_rowid();
  return row;
}

/// Deletes at most `budget` items of a tag with key before `cutoff`,
/// oldest first; `doomed` gets the newest event id deleted.
template <class Item>
std::size_t SqliteWriter::expire(std::size_t table, TagId tag, TimeNs cutoff, std::size_t budget,
                                 Seq& doomed) {
  BlockStatements& st = *tables_[table];
  struct Expiring {
    BlockRow row;
    Seq max_seq;
    std::string data;
  };
  std::vector<Expiring> rows;
  {
    sqlite::ResetOnExit guard{st.expiring};
    st.expiring.bind(1, static_cast<std::int64_t>(tag));
    std::size_t seen = 0;
    while (seen < budget && st.expiring.step() && st.expiring.i64(1) < cutoff) {
      rows.push_back(
          Expiring{BlockRow{st.expiring.i64(0), st.expiring.i64(1), st.expiring.i64(2), st.expiring.i64(3)},
                   static_cast<Seq>(st.expiring.i64(4)), std::string(st.expiring.blob(5))});
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
      st.remove.bind(1, e.row.id).run();
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
    st.remove.bind(1, e.row.id).run();
    if (!items.empty()) insert_block(st, tag, items);
    deleted += n;
  }
  return deleted;
}

}  // namespace tagstream
