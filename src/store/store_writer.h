#pragma once
// The store's writer thread: queues writes from any thread and commits them
// in batched transactions (everything queued while the previous commit ran,
// or within the commit interval, goes into the next one), then reports each
// request's outcome. Enforces retention between commits. For a store that
// defers its fsync (Store::defers_sync), a second thread makes commits
// durable and reports them, while the writer goes on with the next commit.
// Thread safe.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/commit_queue.h"
#include "store/store.h"

namespace tagstream {

struct StoreWriterOptions {
  std::size_t max_pending_samples = 2'000'000;  // beyond this, submit() refuses (back-pressure)
  std::size_t max_samples_per_commit = 200'000;
  // Group commit: a commit starts no sooner than this after the previous
  // one started, unless commit_at_once_samples are waiting. Many small
  // requests then share one fsync instead of each paying for its own.
  std::chrono::nanoseconds commit_interval{0};
  // A batch this big pays for its fsync with a small share of its own cost
  // (~0.2 ms against several ms of encoding and applying), so waiting out
  // the interval would only add latency and cap bulk ingest at this many
  // samples per interval.
  std::size_t commit_at_once_samples = 4'096;
  // Late samples (older than their tag's live value, seq 0) cost the store
  // block reads each. A request with more than this many has them
  // committed in slices of this size, one per commit, alongside whatever
  // else is queued: a back-fill cannot hold other writers up for the whole
  // of its cost, only for one slice.
  std::size_t late_samples_per_commit = 2'000;
  Retention retention;
  std::chrono::seconds retention_every{60};
  std::size_t retention_rows_per_pass = 50'000;
  // Where the commit interval and the retention period are measured. A
  // test passes a clock it steps by hand, then calls clock_stepped().
  std::function<std::chrono::steady_clock::time_point()> now = [] {
    return std::chrono::steady_clock::now();
  };
};

class StoreWriter final : public CommitQueue {
 public:
  StoreWriter(Store& store, StoreWriterOptions options);
  ~StoreWriter() override;

  void start();
  /// Commits everything queued, then stops the thread.
  void stop();

  /// Done runs on one of the writer's threads.
  bool submit(std::vector<StoredSample> samples, Done done) override;
  /// Queues a tag's record; never refused (tags are few).
  void submit_tag(TagId id, const TagInfo& info);

  bool has_room(std::size_t n) const override;
  std::optional<HeldValue> held(TagId tag) const override { return store_.read_newest(tag); }
  std::size_t pending_samples() const;
  std::uint64_t committed_samples() const;
  /// Makes the writer read its clock again. Needed only with a clock that
  /// jumps (options.now in tests): the writer sleeps for what its clock
  /// said was left, and a jump does not wake it.
  void clock_stepped();
  /// The highest event id committed so far (starts at what the store held).
  Seq committed_seq() const { return committed_seq_.load(); }
  void set_committed_seq(Seq seq) { committed_seq_.store(seq); }

 private:
  struct Request {
    std::vector<StoredSample> samples;
    Done done;
  };
  /// A request with more late samples than one slice: moves them all into
  /// late_slices_, each slice with a share of the request's Done (the
  /// request keeps the others and a share too).
  void slice_late_samples(Request& request);
  /// A commit whose requests wait for it to become durable.
  struct Commit {
    std::vector<Done> done;
    std::size_t samples = 0;
    Seq last_seq = 0;
  };
  using TimePoint = std::chrono::steady_clock::time_point;
  void run();
  void run_syncer();
  /// Waits until `ready` holds or options_.now reaches `deadline`; returns
  /// `ready()`. With the steady clock this is condition_variable::wait_until.
  template <class Ready>
  bool wait_until(std::unique_lock<std::mutex>& lock, TimePoint deadline, Ready ready);
  /// Reports a commit's outcome to its requests.
  void finish(Commit& commit, const std::string& error);
  /// Whether this many queued samples go into a commit without waiting out
  /// the commit interval.
  bool commit_at_once(std::size_t pending) const {
    return pending >= std::min(options_.commit_at_once_samples, options_.max_samples_per_commit);
  }

  Store& store_;
  StoreWriterOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Request> requests_;
  std::deque<Request> late_slices_;  // one goes into each commit
  std::vector<TagRecord> tags_;
  std::size_t pending_samples_ = 0;
  std::uint64_t committed_samples_ = 0;
  std::atomic<Seq> committed_seq_{0};
  bool stopping_ = false;
  std::thread thread_;

  std::mutex sync_mutex_;
  std::condition_variable sync_wake_;
  std::deque<Commit> unsynced_;
  bool sync_stopping_ = false;
  std::thread syncer_;
};

}  // namespace tagstream
