#pragma once
// The SQLite store's write side: the single writing connection. It commits
// batches to the journal and into the overlay (MemTable), folds the overlay
// into the blocks in steps (the flush), and enforces retention. Not thread
// safe: it is used from the store's writer thread only (and from start-up
// before that).
#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/memtable.h"
#include "store/sqlite_db.h"
#include "store/store.h"

namespace tagstream {

struct SqliteOptions;
class SqliteCheckpointer;

class SqliteWriter {
 public:
  /// Opens the database, creating its tables if needed. Throws
  /// std::runtime_error, also when the file was written with another schema.
  SqliteWriter(const SqliteOptions& options, MemTable& mem);

  sqlite::Connection& connection() { return db_; }

  /// Asks `checkpointer` for checkpoints as the WAL grows.
  void checkpoint_with(SqliteCheckpointer* checkpointer);

  void write(const WriteBatch& batch);

  /// One flush step when a flush is due or under way. Runs after the
  /// commit's writers have been answered, so no acknowledgement waits for
  /// block merges. A failing flush fails no batch: the overlay and the
  /// journal keep everything, and the next flush tries again.
  void maintain();

  /// Folds everything unflushed into the blocks and empties the journal.
  void flush();

  /// What was committed, into the overlay. In-order samples go straight
  /// in; of the others, one at a new timestamp is added to its bucket in
  /// each tier as it stands (so a bucket whose raw samples have expired
  /// keeps what it had), and one replacing a sample has its buckets rebuilt
  /// from the tier below.
  void apply(std::span<const StoredSample> samples);

  /// Start-up: the newest stored raw point of a tag, and its newest stored
  /// bucket per tier (count 0 where there is none).
  std::optional<RawPoint> newest_point(TagId tag);
  TierBuckets newest_buckets(TagId tag);
  /// Start-up: the journal's records, oldest first (batches committed
  /// since the last flush).
  std::vector<std::string> journal();

  /// Deletes at most `max_rows` expired items; raises `retained_after` to
  /// the newest event id deleted.
  std::size_t enforce_retention(const Retention& retention, TimeNs now, std::size_t max_rows,
                                std::atomic<Seq>& retained_after);

 private:
  struct BlockRow {
    std::int64_t id = 0;
    TimeNs start = 0;  // key of the first item
    TimeNs end = 0;    // key of the last item
    std::int64_t count = 0;
  };

  /// The writer's statements on one block table.
  struct BlockStatements {
    BlockStatements(sqlite::Connection& db, const std::string& table);
    sqlite::Statement range, tail, data, insert, remove, expiring, at_or_after, end_before;
  };

  /// Every item the blocks of one table hold for a tag between two times,
  /// read once: late samples come in runs that fall in the same stretch.
  template <class Item>
  struct StoredSpan {
    TimeNs from = 1;
    TimeNs to = 0;  // from > to: nothing known
    std::vector<Item> items;
  };

  void create_schema();

  bool raw_exists(TagId tag, TimeNs ts);
  Aggregate current_bucket(std::size_t tier, TagId tag, TimeNs start);
  template <class Item>
  const Item* stored_at(std::size_t table, TagId tag, TimeNs key, StoredSpan<Item>& span);
  void forget_spans();
  template <class Item>
  std::vector<Item> read(std::size_t table, TagId tag, TimeNs from, TimeNs to, std::vector<Item> overlay);

  void start_flush();
  void flush_step(std::size_t max_tags);
  template <class Item>
  std::optional<Item> newest(std::size_t table, TagId tag);
  std::string block_data(std::size_t table, std::int64_t id);
  std::optional<BlockRow> tail_of(std::size_t table, TagId tag);
  template <class Item>
  void merge_into_blocks(std::size_t table, TagId tag, const std::vector<Item>& dirty);
  template <class Item>
  BlockRow insert_block(BlockStatements& st, TagId tag, const std::vector<Item>& items);
  template <class Item>
  std::size_t expire(std::size_t table, TagId tag, TimeNs cutoff, std::size_t budget, Seq& doomed);

  static int on_commit(void* self, sqlite3* db, const char*, int wal_pages);

  const SqliteOptions& options_;
  MemTable& mem_;
  sqlite::Connection db_;  // before the statements: it outlives them
  SqliteCheckpointer* checkpointer_ = nullptr;
  std::array<std::unique_ptr<BlockStatements>, kIntervalCount> tables_;
  std::array<std::unordered_map<TagId, std::optional<BlockRow>>, kIntervalCount> tails_;
  std::unordered_map<TagId, StoredSpan<RawPoint>> raw_spans_;
  std::array<std::unordered_map<TagId, StoredSpan<Aggregate>>, kTierCount> bucket_spans_;
  std::unique_ptr<sqlite::Statement> insert_journal_, delete_journal_, upsert_tag_, set_meta_;
  struct FlushProgress {
    bool active = false;
    TagId next_tag = 0;
    std::int64_t journal_upto = 0;
  };
  FlushProgress progress_;
  std::int64_t last_journal_id_ = 0;
  std::chrono::steady_clock::time_point last_flush_ = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> retry_flush_at_;  // set while a failed flush waits
};

}  // namespace tagstream
