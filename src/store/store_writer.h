#pragma once
// The store's writer thread: queues writes from any thread and commits them
// in batched transactions (everything queued while the previous commit ran,
// or within the commit interval, goes into the next one), then reports each request's outcome. Enforces
// retention between commits. Thread safe.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

namespace tagstream {

struct StoreWriterOptions {
  std::size_t max_pending_samples = 2'000'000;  // beyond this, submit() refuses (back-pressure)
  std::size_t max_samples_per_commit = 200'000;
  // Group commit: a commit starts no sooner than this after the previous
  // one started, unless a full commit's worth is waiting. Many small
  // requests then share one fsync instead of each paying for its own.
  std::chrono::nanoseconds commit_interval{0};
  Retention retention;
  std::chrono::seconds retention_every{60};
  std::size_t retention_rows_per_pass = 50'000;
};

class StoreWriter {
 public:
  /// Called on the writer thread once the request is committed (empty
  /// error) or has failed.
  using Done = std::function<void(const std::string& error)>;

  StoreWriter(Store& store, StoreWriterOptions options);
  ~StoreWriter();

  void start();
  /// Commits everything queued, then stops the thread.
  void stop();

  /// Queues samples. Returns false, queuing nothing, when the queue is full.
  bool submit(std::vector<StoredSample> samples, Done done);
  /// Queues a tag's record; never refused (tags are few).
  void submit_tag(TagId id, const TagInfo& info);

  /// Whether `n` more samples would be accepted now.
  bool has_room(std::size_t n) const;
  std::size_t pending_samples() const;
  std::uint64_t committed_samples() const;
  /// The highest event id committed so far (starts at what the store held).
  Seq committed_seq() const { return committed_seq_.load(); }
  void set_committed_seq(Seq seq) { committed_seq_.store(seq); }

 private:
  struct Request {
    std::vector<StoredSample> samples;
    Done done;
  };
  void run();

  Store& store_;
  StoreWriterOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Request> requests_;
  std::vector<TagRecord> tags_;
  std::size_t pending_samples_ = 0;
  std::uint64_t committed_samples_ = 0;
  std::atomic<Seq> committed_seq_{0};
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tagstream
