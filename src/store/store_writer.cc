#include "store/store_writer.h"

#include "core/log.h"
#include "core/thread_name.h"
#include "core/time.h"

namespace tagstream {

StoreWriter::StoreWriter(Store& store, StoreWriterOptions options) : store_(store), options_(options) {}

StoreWriter::~StoreWriter() {
  stop();
}

void StoreWriter::start() {
  if (store_.defers_sync() && !syncer_.joinable()) syncer_ = std::thread([this] { run_syncer(); });
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void StoreWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The writer has handed over its last commit: sync and report it.
  {
    std::lock_guard lock(sync_mutex_);
    sync_stopping_ = true;
  }
  sync_wake_.notify_all();
  if (syncer_.joinable()) syncer_.join();
}

bool StoreWriter::submit(std::vector<StoredSample> samples, Done done) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || pending_samples_ + samples.size() > options_.max_pending_samples) return false;
    // Wake the thread only when it waits for this: for work (the queue
    // was empty) or for enough to commit at once. Otherwise it is
    // committing or waiting out the commit interval, and a wake-up per
    // request would cost a context switch each.
    wake = (requests_.empty() && late_slices_.empty() && tags_.empty()) || commit_at_once(pending_samples_) ||
           commit_at_once(pending_samples_ + samples.size());
    pending_samples_ += samples.size();
    Request request{std::move(samples), std::move(done)};
    slice_late_samples(request);
    requests_.push_back(std::move(request));
  }
  if (wake) wake_.notify_one();
  return true;
}

void StoreWriter::slice_late_samples(Request& request) {
  const std::size_t slice = std::max<std::size_t>(options_.late_samples_per_commit, 1);
  const auto late = static_cast<std::size_t>(std::count_if(request.samples.begin(), request.samples.end(),
                                                           [](const StoredSample& s) { return s.seq == 0; }));
  if (late <= slice) return;
  // The request is answered once every part has been: with the first
  // error, if any part failed.
  struct Parts {
    std::mutex mutex;
    std::size_t left = 0;
    std::string error;
    Done done;
  };
  const std::size_t slices = (late + slice - 1) / slice;
  auto parts = std::make_shared<Parts>();
  parts->left = slices + 1;
  parts->done = std::move(request.done);
  auto part_done = [parts](const std::string& error) {
    std::string first_error;
    {
      std::lock_guard lock(parts->mutex);
      if (parts->error.empty()) parts->error = error;
      if (--parts->left > 0) return;
      first_error = parts->error;
    }
    if (parts->done) parts->done(first_error);
  };
  std::vector<StoredSample> in_order;
  std::vector<StoredSample> late_samples;
  late_samples.reserve(late);
  for (StoredSample& s : request.samples) (s.seq != 0 ? in_order : late_samples).push_back(s);
  // By tag, each tag's in arrival order (a later one at the same time
  // replaces an earlier): a slice then reads the stored blocks of a few
  // tags, not of every tag the back-fill touches.
  std::stable_sort(late_samples.begin(), late_samples.end(),
                   [](const StoredSample& a, const StoredSample& b) { return a.tag < b.tag; });
  for (std::size_t first = 0; first < late_samples.size(); first += slice) {
    const auto begin = late_samples.begin() + static_cast<std::ptrdiff_t>(first);
    const auto end =
        late_samples.begin() + static_cast<std::ptrdiff_t>(std::min(first + slice, late_samples.size()));
    late_slices_.push_back(Request{std::vector<StoredSample>(begin, end), part_done});
  }
  request.samples = std::move(in_order);
  request.done = part_done;
}

void StoreWriter::submit_tag(TagId id, const TagInfo& info) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    wake = requests_.empty() && late_slices_.empty() && tags_.empty();
    tags_.push_back(TagRecord{id, info});
  }
  if (wake) wake_.notify_one();
}

bool StoreWriter::has_room(std::size_t n) const {
  std::lock_guard lock(mutex_);
  return !stopping_ && pending_samples_ + n <= options_.max_pending_samples;
}

std::size_t StoreWriter::pending_samples() const {
  std::lock_guard lock(mutex_);
  return pending_samples_;
}

std::uint64_t StoreWriter::committed_samples() const {
  std::lock_guard lock(mutex_);
  return committed_samples_;
}

void StoreWriter::clock_stepped() {
  // Under the lock: the writer is then either before reading the clock or
  // already asleep, so the notification cannot fall between the two.
  std::lock_guard lock(mutex_);
  wake_.notify_all();
}

template <class Ready>
bool StoreWriter::wait_until(std::unique_lock<std::mutex>& lock, TimePoint deadline, Ready ready) {
  while (!ready()) {
    const auto left = deadline - options_.now();
    if (left <= TimePoint::duration::zero()) return ready();
    wake_.wait_for(lock, left);
  }
  return true;
}

void StoreWriter::run() {
  name_this_thread("ts-store");
  auto next_retention = options_.now() + options_.retention_every;
  // Unset until the first commit: the first batch has no interval to wait out.
  std::optional<TimePoint> last_commit;
  while (true) {
    WriteBatch batch;
    std::vector<Done> done;
    bool stop = false;
    {
      std::unique_lock lock(mutex_);
      wait_until(lock, next_retention, [this] {
        return stopping_ || !requests_.empty() || !late_slices_.empty() || !tags_.empty();
      });
      if (last_commit)
        wait_until(lock, *last_commit + options_.commit_interval,
                   [this] { return stopping_ || commit_at_once(pending_samples_); });
      batch.tags.swap(tags_);
      std::size_t taken = 0;
      while (!requests_.empty() &&
             (taken == 0 || taken + requests_.front().samples.size() <= options_.max_samples_per_commit)) {
        Request& r = requests_.front();
        taken += r.samples.size();
        batch.samples.insert(batch.samples.end(), r.samples.begin(), r.samples.end());
        done.push_back(std::move(r.done));
        requests_.pop_front();
      }
      if (!late_slices_.empty()) {
        Request& r = late_slices_.front();
        taken += r.samples.size();
        batch.samples.insert(batch.samples.end(), r.samples.begin(), r.samples.end());
        done.push_back(std::move(r.done));
        late_slices_.pop_front();
      }
      pending_samples_ -= taken;
      stop = stopping_ && requests_.empty() && late_slices_.empty() && tags_.empty();
    }

    if (!batch.tags.empty() || !batch.samples.empty()) {
      for (const StoredSample& s : batch.samples) batch.last_seq = std::max(batch.last_seq, s.seq);
      Commit commit{std::move(done), batch.samples.size(), batch.last_seq};
      std::string error;
      last_commit = options_.now();
      try {
        store_.write(batch);
      } catch (const std::exception& e) {
        error = e.what();
        log(LogLevel::error, "store commit of {} samples failed: {}", batch.samples.size(), error);
      }
      if (error.empty() && syncer_.joinable()) {
        {
          std::lock_guard lock(sync_mutex_);
          unsynced_.push_back(std::move(commit));
        }
        sync_wake_.notify_one();
      } else {
        finish(commit, error);
      }
      try {
        store_.maintain();
      } catch (const std::exception& e) {
        log(LogLevel::error, "store maintenance failed: {}", e.what());
      }
    }

    if (const TimePoint now = options_.now(); now >= next_retention) {
      next_retention = now + options_.retention_every;
      try {
        const std::size_t n =
            store_.enforce_retention(options_.retention, now_ns(), options_.retention_rows_per_pass);
        if (n > 0) log(LogLevel::info, "retention: deleted {} expired rows", n);
      } catch (const std::exception& e) {
        log(LogLevel::error, "retention failed: {}", e.what());
      }
    }
    if (stop) return;
  }
}

void StoreWriter::run_syncer() {
  name_this_thread("ts-sync");
  std::vector<Commit> commits;
  while (true) {
    {
      std::unique_lock lock(sync_mutex_);
      sync_wake_.wait(lock, [this] { return sync_stopping_ || !unsynced_.empty(); });
      if (unsynced_.empty()) return;  // stopping, and everything reported
      commits.assign(std::make_move_iterator(unsynced_.begin()), std::make_move_iterator(unsynced_.end()));
      unsynced_.clear();
    }
    // One fsync for every commit made while the previous one ran.
    std::string error;
    try {
      store_.sync();
    } catch (const std::exception& e) {
      error = e.what();
      log(LogLevel::error, "store sync failed: {}", error);
    }
    for (Commit& c : commits) finish(c, error);
    commits.clear();
  }
}

void StoreWriter::finish(Commit& commit, const std::string& error) {
  if (error.empty()) {
    std::lock_guard lock(mutex_);
    committed_samples_ += commit.samples;
    if (commit.last_seq > committed_seq_.load()) committed_seq_.store(commit.last_seq);
  }
  for (Done& d : commit.done)
    if (d) d(error);
}

}  // namespace tagstream
