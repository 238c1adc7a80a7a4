#pragma once
// The embedded default store: one SQLite database in WAL mode under the data
// directory. Samples in a WITHOUT ROWID table keyed by (tag, ts); one rollup
// table per aggregated interval, each kept up to date from the tier below in
// the same transaction as the samples.
#include <memory>
#include <atomic>
#include <mutex>
#include <string>

#include "store/store.h"

struct sqlite3;

namespace tagstream {

struct SqliteOptions {
  std::string path;          // the database file
  bool synchronous_full = true;  // fsync on every commit (power-loss safe); NORMAL is process-crash safe
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
  Seq retained_after() override;

 private:
  class Writer;
  class Reader;
  Reader& reader();

  SqliteOptions options_;
  const std::uint64_t id_;  // never reused: keys each thread's reader connection
  std::unique_ptr<Writer> writer_;
  std::atomic<Seq> retained_after_{0};
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Reader>> readers_;
};

}  // namespace tagstream
