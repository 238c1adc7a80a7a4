#pragma once
// The shared historian: PostgreSQL, for several nodes writing one database.
//
// Rows, not blocks: `samples` holds one row per (tag, ts) and
// `rollups_second/minute/hour/day` one row per (tag, bucket start); the
// database does the indexing that the SQLite store does by hand.
//
// Tags are keyed by name in the database (tags.id is the database's own
// bigserial); each node's TagIds are its own, dense from its registry, and
// the store maps them both ways. restore() hands out local ids in database
// id order.
//
// A write is one transaction: tag upserts (one node at a time), then a
// transaction-scoped advisory lock on each stripe of the touched tags
// (database id modulo 256, in stripe order), then one of two paths:
//
// - Adding (the common case: every sample is new). The batch goes straight
//   into `samples` with a binary COPY, in (tag, ts) order; a sample whose
//   tag and timestamp is stored already fails it (unique violation), the
//   transaction rolls back and the batch takes the replacing path. The
//   batch's own buckets of every tier are computed in memory and added to
//   the stored ones by an upsert that merges (count and sum add up, min,
//   max, first, last and quality combine: the database does the merge, so
//   two nodes adding to one bucket at once each add their share). Buckets
//   newer than the newest this store committed for their tag are COPYed
//   straight in (under a savepoint: if another node made one meanwhile,
//   they are upserted instead). Stripe locks are shared: nodes adding to
//   the same tags run concurrently; each statement writes rows in key
//   order, tier by tier, so they seldom deadlock, and a batch the server
//   fails to break a deadlock is tried again.
// - Replacing (a client's retry, a correction). Stripe locks are
//   exclusive. The batch is COPYed into a temporary staging table, one
//   INSERT ... ON CONFLICT puts it into `samples` (the same tag and
//   timestamp replaces, whichever node wrote it first), and per tier one
//   INSERT ... SELECT recomputes every touched bucket from the tier below
//   (raw for seconds). The lock is exclusive because under READ COMMITTED a
//   recompute reads a snapshot taken before it waits on a conflicting row:
//   a node adding to the bucket meanwhile would be overwritten. With the
//   lock, no node adds to those tags until the rebuild commits.
//
// No row is written by every commit: the newest event id is the newest
// `seq` in `samples` (meta's last_seq is raised only when a batch was given
// a newer one than it stores, or replaces a sample holding the newest).
//
// Retention removes raw rows sooner (30 days) than minute buckets (2 years),
// and a recompute must never rebuild a bucket from rows retention removed.
// Retention records, per tag and source tier, the time before which rows
// may be gone (`horizons`); a bucket that starts before its source's horizon
// is merged incrementally with the batch's samples instead (a sample at a new
// timestamp is added; one replacing a stored sample moves the sum by the
// difference). Such a replacement cannot lower a min or max the replaced
// value set: the rows that would say so are gone.
//
// History for maxPoints (read_groups) is grouped in the database: one
// statement for all the requested tags, one row per group returned.
//
// A lost connection is opened again by the next call that needs it (the
// writer's at most once a second); the call that found it lost fails.
//
// Threading: write(), restore() and enforce_retention() use the writer's
// connection, from the store writer's thread (restore before it starts).
// Reads are thread safe: each reading thread gets a connection of its own.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/store.h"

namespace tagstream {

namespace pg {
class Connection;
}

struct PgOptions {
  std::string conninfo;  // libpq: postgres://user@host:port/db or key=value pairs
};

class PgStore : public Store {
 public:
  /// Connects and creates the schema if needed. Throws std::runtime_error.
  explicit PgStore(PgOptions options);
  ~PgStore() override;

  /// A bucket of a tag (by database id), as written by one batch.
  struct TagBucket {
    std::int64_t tag;
    Aggregate a;
  };

  RestoredState restore() override;
  void write(const WriteBatch& batch) override;
  std::size_t enforce_retention(const Retention& retention, TimeNs now, std::size_t max_rows) override;
  HistoryPage read_history(const HistoryRequest& request) override;
  std::vector<HistoryPage> read_groups(const GroupRequest& request) override;
  std::vector<StoredSample> read_changes(Seq after, Seq upto, std::size_t limit) override;
  std::optional<Aggregate> read_bucket(TagId tag, Interval interval, TimeNs start) override;
  std::optional<HeldValue> read_newest(TagId tag) override;
  Seq retained_after() override;

 private:
  class Reader;

  /// The calling thread's reading connection.
  Reader& reader();
  /// Runs `read` on the thread's reader; once more on a new connection
  /// when the first one turns out lost (a database restart, say).
  template <class Read>
  auto with_reader(Read&& read);
  /// The writer's connection, opened again if it was lost. Throws
  /// std::runtime_error when the database cannot be reached.
  pg::Connection& writer();
  std::unique_ptr<pg::Connection> open_writer() const;
  /// The database id of a local tag (0: none). Thread safe.
  std::int64_t db_id(TagId tag) const;
  /// The local id of a database tag, when this node has one. Thread safe.
  std::optional<TagId> local_id(std::int64_t db) const;

  /// One try at committing the batch; false (rolled back) when a sample
  /// replaces a stored one and `replacing` is false.
  bool write_batch(const WriteBatch& batch, bool replacing);
  /// Adds buckets of a tier to the stored ones (an upsert that merges).
  void add_buckets(pg::Connection& db, std::size_t tier, const std::vector<TagBucket>& buckets);
  std::size_t expire(std::size_t table, std::int64_t db_tag, TimeNs cutoff, std::size_t budget);

  const PgOptions options_;
  std::unique_ptr<pg::Connection> writer_;
  std::chrono::steady_clock::time_point reconnect_after_{};
  // Every tag record write() was given, by local id: a record whose batch
  // failed is upserted again with the next batch holding its samples.
  std::unordered_map<TagId, TagInfo> records_;
  std::atomic<Seq> retained_after_{0};
  // Per database tag and tier, the newest bucket this store has committed
  // (writer thread only): a newer one is most likely not in the table yet.
  std::unordered_map<std::int64_t, std::array<TimeNs, kTierCount>> newest_bucket_;

  mutable std::shared_mutex map_mutex_;
  std::vector<std::int64_t> db_of_local_;  // by TagId; 0 = not mapped
  std::unordered_map<std::int64_t, TagId> local_of_db_;

  const std::uint64_t id_;  // never reused: keys each thread's reader
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Reader>> readers_;
};

}  // namespace tagstream
