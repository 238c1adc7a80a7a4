#include "store/sqlite_checkpointer.h"

#include "core/log.h"
#include "core/thread_name.h"

namespace tagstream {

SqliteCheckpointer::SqliteCheckpointer(const std::string& path) : db_(path, false) {
  db_.exec(
      "PRAGMA journal_mode=WAL");  // reads the header: a fresh connection does not know it is in WAL mode
  thread_ = std::thread([this] { run(); });
}

SqliteCheckpointer::~SqliteCheckpointer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void SqliteCheckpointer::request() {
  {
    std::lock_guard lock(mutex_);
    wanted_ = true;
  }
  wake_.notify_one();
}

void SqliteCheckpointer::run() {
  name_this_thread("ts-checkpoint");
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || wanted_; });
    if (stopping_) return;
    wanted_ = false;
    lock.unlock();
    const int rc =
        sqlite3_wal_checkpoint_v2(db_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
      log(LogLevel::warn, "store: checkpoint failed: {}", sqlite3_errmsg(db_.handle()));
    lock.lock();
  }
}

}  // namespace tagstream
