#pragma once
// The embedded default store: one SQLite database in WAL mode under the data
// directory.
//
// A commit appends the batch to a journal table as one compact record (one
// row, however many tags it touches) and applies it to an in-memory overlay
// (MemTable) holding each tag's unflushed raw points and rollup buckets;
// commits do not fsync: with synchronous_full, sync() does, on the writer's
// second thread (Store::defers_sync). Every so often a flush folds the
// overlay into per-tag blocks of time-sorted items (raw points, or second,
// minute, hour and day buckets), one block table per tier, and empties the
// journal, a few tags per step. Readers merge the overlay over the blocks; a restart
// replays the journal. Writing rows per sample instead costs a B-tree
// insert per sample and per second bucket, which capped ingest at ~40k
// samples/s (see BENCHMARKS.md).
//
// Its parts, each in a file of its own: SqliteWriter, the one writing
// connection (commits, flushes, retention); SqliteReaders, a read-only
// connection per reading thread; SqliteCheckpointer, WAL checkpoints on a
// thread of its own; restore() in sqlite_restore.cc.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "store/memtable.h"
#include "store/store.h"

namespace tagstream {

class SqliteWriter;
class SqliteCheckpointer;
class SqliteReaders;

struct SqliteOptions {
  std::string path;  // the database file
  // Every commit durable before it is acknowledged, even across a power
  // loss (an fsync per group of commits); false is process-crash safe only.
  bool synchronous_full = true;
  // Flush the overlay into blocks once it holds this many samples, or when
  // something is unflushed this long after the last flush (checked at each
  // commit). The count bounds the overlay's memory and the journal replayed
  // at start; the period keeps slow tags from rewriting their newest block
  // on every flush while still emptying the journal regularly.
  std::size_t flush_samples = 500'000;
  std::chrono::milliseconds flush_every{10'000};
  // A flush runs this many tags per step, one step after each commit.
  std::size_t flush_tags_per_step = 64;
  // Flush when closing, so the next start replays no journal. Off in tests
  // that play a crash.
  bool flush_on_close = true;
};

class SqliteStore : public Store {
 public:
  /// Opens (creating if needed) the database. Throws std::runtime_error.
  explicit SqliteStore(SqliteOptions options);
  ~SqliteStore() override;

  RestoredState restore() override;
  void write(const WriteBatch& batch) override;
  std::size_t enforce_retention(const Retention& retention, TimeNs now, std::size_t max_rows) override;
  HistoryPage read_history(const HistoryRequest& request) override;
  std::vector<StoredSample> read_changes(Seq after, Seq upto, std::size_t limit) override;
  std::optional<Aggregate> read_bucket(TagId tag, Interval interval, TimeNs start) override;
  std::optional<HeldValue> read_newest(TagId tag) override;
  Seq retained_after() override;
  void maintain() override;
  bool defers_sync() const override;
  void sync() override;

  /// Folds everything committed into the blocks now (normally done as
  /// writes go by and on close).
  void flush();

 private:
  SqliteOptions options_;
  MemTable mem_;
  std::unique_ptr<SqliteWriter> writer_;
  std::unique_ptr<SqliteCheckpointer> checkpointer_;
  std::unique_ptr<SqliteReaders> readers_;
  std::atomic<Seq> retained_after_{0};
  int wal_fd_ = -1;  // the WAL file, opened by the first sync()
};

}  // namespace tagstream
