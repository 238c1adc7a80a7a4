#include "store/sqlite_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/log.h"
#include "store/sqlite_checkpointer.h"
#include "store/sqlite_reader.h"
#include "store/sqlite_writer.h"

namespace tagstream {

SqliteStore::SqliteStore(SqliteOptions options) : options_(std::move(options)) {
  writer_ = std::make_unique<SqliteWriter>(options_, mem_);
  checkpointer_ = std::make_unique<SqliteCheckpointer>(options_.path);
  writer_->checkpoint_with(checkpointer_.get());
  readers_ = std::make_unique<SqliteReaders>(options_.path, mem_);
}

SqliteStore::~SqliteStore() {
  // Folding the journal now makes the next start-up quick; what is left
  // unflushed is still in the journal.
  try {
    if (options_.flush_on_close) writer_->flush();
  } catch (const std::exception& e) {
    log(LogLevel::warn, "store: final flush failed (the journal keeps the data): {}", e.what());
  }
  // The checkpointer's connection closes last (see SqliteCheckpointer).
  readers_.reset();
  writer_.reset();
  checkpointer_.reset();
  if (wal_fd_ >= 0) ::close(wal_fd_);
}

bool SqliteStore::defers_sync() const {
  return options_.synchronous_full;
}

void SqliteStore::sync() {
  // fsync applies to the file, whichever descriptor asks: this one is ours,
  // so syncing never touches the writer connection's state.
  if (wal_fd_ < 0) {
    wal_fd_ = ::open((options_.path + "-wal").c_str(), O_RDWR | O_CLOEXEC);
    if (wal_fd_ < 0)
      throw std::runtime_error("store: cannot open the WAL to sync it: " + std::string(std::strerror(errno)));
  }
  if (::fdatasync(wal_fd_) != 0)
    throw std::runtime_error("store: fsync of the WAL failed: " + std::string(std::strerror(errno)));
}

HistoryPage SqliteStore::read_history(const HistoryRequest& request) {
  return readers_->mine().history(request);
}

std::vector<StoredSample> SqliteStore::read_changes(Seq after, Seq upto, std::size_t limit) {
  return readers_->mine().changes(after, upto, limit);
}

std::optional<Aggregate> SqliteStore::read_bucket(TagId tag, Interval interval, TimeNs start) {
  return readers_->mine().bucket(tag, interval, start);
}

std::optional<HeldValue> SqliteStore::read_newest(TagId tag) {
  // Every committed sample passes through the overlay, which keeps each
  // tag's newest one and its open buckets: no disk read needed.
  return mem_.newest(tag);
}

Seq SqliteStore::retained_after() {
  return retained_after_.load();
}

void SqliteStore::write(const WriteBatch& batch) {
  writer_->write(batch);
}

void SqliteStore::flush() {
  writer_->flush();
}

void SqliteStore::maintain() {
  writer_->maintain();
}

std::size_t SqliteStore::enforce_retention(const Retention& retention, TimeNs now, std::size_t max_rows) {
  return writer_->enforce_retention(retention, now, max_rows, retained_after_);
}

}  // namespace tagstream
