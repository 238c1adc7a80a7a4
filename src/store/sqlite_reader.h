#pragma once
// The SQLite store's read side: read-only connections that merge the
// unflushed overlay (MemTable) over the blocks they read.
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/memtable.h"
#include "store/sqlite_db.h"
#include "store/store.h"

namespace tagstream {

/// One read-only connection and its statements. Not thread safe: it
/// belongs to one reading thread (see SqliteReaders).
class SqliteReader {
 public:
  SqliteReader(const std::string& path, const MemTable& mem);

  HistoryPage history(const HistoryRequest& r);
  std::vector<StoredSample> changes(Seq after, Seq upto, std::size_t limit);
  std::optional<Aggregate> bucket(TagId tag, Interval interval, TimeNs start);

 private:
  const MemTable& mem_;
  sqlite::Connection db_;  // before the statements: it outlives them
  std::array<std::unique_ptr<sqlite::Statement>, kIntervalCount> ranges_;  // block_range_sql, per table
  sqlite::Statement changes_;
};

/// The reading connections of one store, one per reading thread, each
/// opened on its thread's first read and kept as long as the store.
/// Thread safe.
class SqliteReaders {
 public:
  SqliteReaders(std::string path, const MemTable& mem);

  /// The calling thread's reader.
  SqliteReader& mine();

 private:
  const std::string path_;
  const MemTable& mem_;
  const std::uint64_t id_;  // never reused: keys each thread's connection
  std::mutex mutex_;
  std::vector<std::unique_ptr<SqliteReader>> readers_;
};

}  // namespace tagstream
