#pragma once
// Copies the SQLite store's WAL back into its database on a thread of its
// own, with its own connection, when the writer asks. PASSIVE: it never
// blocks the writer or the readers. request() is thread safe.
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "store/sqlite_db.h"

namespace tagstream {

/// 64 MiB of WAL between checkpoints (SQLite's default is 4): pages
/// rewritten in the meantime (reused journal pages, newest blocks) are
/// copied back once.
inline constexpr int kCheckpointPages = 16384;

class SqliteCheckpointer {
 public:
  explicit SqliteCheckpointer(const std::string& path);
  // Its connection closes last of the store's: SQLite then checkpoints and
  // removes the WAL.
  ~SqliteCheckpointer();
  SqliteCheckpointer(const SqliteCheckpointer&) = delete;
  SqliteCheckpointer& operator=(const SqliteCheckpointer&) = delete;

  void request();

 private:
  void run();

  sqlite::Connection db_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tagstream
