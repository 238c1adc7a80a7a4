// The store's writer thread: Done after commit, exactly-once commits from
// many threads, group commit bounded by max_samples_per_commit,
// back-pressure at max_pending_samples, draining on stop(), commit errors
// reaching Done, tag records and last_seq reaching restore(), retention.
#include "store/store_writer.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/interval.h"
#include "core/time.h"
#include "store/sqlite_store.h"

namespace tagstream {
namespace {

using namespace std::chrono_literals;

constexpr TimeNs kSec = kNanosPerSecond;
constexpr TimeNs kMs = kNanosPerMilli;
constexpr TimeNs kMidnight = 1'795'651'200 * kSec;  // 2026-11-26T00:00:00Z

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "store_writer_test.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

StoredSample ss(TagId tag, TimeNs ts, double v, Seq seq = 0) {
  return StoredSample{tag, Sample{ts, v, Quality::good}, seq};
}

TagInfo info(std::string name, std::string unit = "", std::string description = "",
             DataType type = DataType::number) {
  TagInfo i;
  i.name = std::move(name);
  i.unit = std::move(unit);
  i.description = std::move(description);
  i.type = type;
  return i;
}

std::vector<Aggregate> read_range(Store& store, TagId tag, Interval iv) {
  return store.read_history({tag, iv, 0, std::numeric_limits<TimeNs>::max(), std::nullopt, 10'000'000});
}

/// Polls `done` until it holds, for at most `timeout`; returns whether it held.
template <class Done>
bool eventually(Done done, std::chrono::milliseconds timeout = 20s) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= give_up) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

/// A clock for StoreWriterOptions::now that moves only when stepped. It
/// starts a minute after steady_clock's epoch, which is the machine's boot:
/// a deadline taken from a default time point is then one already near.
class ManualClock {
 public:
  std::chrono::steady_clock::time_point now() const {
    return std::chrono::steady_clock::time_point{} + std::chrono::steady_clock::duration(ticks_.load());
  }
  /// Moves the clock and wakes the writer to look at it.
  void step(StoreWriter& writer, std::chrono::steady_clock::duration d) {
    ticks_ += d.count();
    writer.clock_stepped();
  }
  StoreWriterOptions options() {
    StoreWriterOptions o;
    o.now = [this] { return now(); };
    return o;
  }

 private:
  std::atomic<std::chrono::steady_clock::rep> ticks_{
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::minutes(1)).count()};
};

/// Counts Done calls and keeps their errors; wait_for() blocks until n arrived.
class DoneLog {
 public:
  StoreWriter::Done make(std::size_t id) {
    return [this, id](const std::string& error) {
      {
        std::lock_guard lock(mutex_);
        calls_[id].push_back(error);
        ++total_;
      }
      cv_.notify_all();
    };
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = 20s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return total_ >= n; });
  }
  std::size_t total() const {
    std::lock_guard lock(mutex_);
    return total_;
  }
  std::map<std::size_t, std::vector<std::string>> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::size_t, std::vector<std::string>> calls_;
  std::size_t total_ = 0;
};

/// Wraps a store: records each committed batch's size, and can hold its
/// writes, maintenance steps or syncs until released.
class GatedStore : public Store {
 public:
  enum class Call { write, maintain, sync };

  explicit GatedStore(Store& inner) : inner_(inner) {}
  RestoredState restore() override { return inner_.restore(); }
  void write(const WriteBatch& batch) override {
    pass(Call::write);
    inner_.write(batch);
    std::lock_guard lock(mutex_);
    sizes_.push_back(batch.samples.size());
  }
  void maintain() override {
    pass(Call::maintain);
    inner_.maintain();
  }
  std::size_t enforce_retention(const Retention& r, TimeNs now, std::size_t max_rows) override {
    return inner_.enforce_retention(r, now, max_rows);
  }
  HistoryPage read_history(const HistoryRequest& r) override { return inner_.read_history(r); }
  std::vector<StoredSample> read_changes(Seq after, Seq upto, std::size_t limit) override {
    return inner_.read_changes(after, upto, limit);
  }
  std::optional<Aggregate> read_bucket(TagId tag, Interval interval, TimeNs start) override {
    return inner_.read_bucket(tag, interval, start);
  }
  Seq retained_after() override { return inner_.retained_after(); }
  bool defers_sync() const override { return inner_.defers_sync(); }
  void sync() override {
    pass(Call::sync);
    inner_.sync();
  }

  /// Holds the calls of one kind from now on (true), or lets them go.
  void hold(Call call, bool held) {
    {
      std::lock_guard lock(mutex_);
      gates_[static_cast<std::size_t>(call)].open = !held;
    }
    cv_.notify_all();
  }
  /// Waits until `n` calls of one kind have started.
  bool wait_started(Call call, int n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, 20s, [&] { return gates_[static_cast<std::size_t>(call)].started >= n; });
  }
  std::vector<std::size_t> sizes() const {
    std::lock_guard lock(mutex_);
    return sizes_;
  }

 private:
  struct Gate {
    bool open = true;
    int started = 0;
  };
  /// Counts a call, then holds it while its gate is closed.
  void pass(Call call) {
    Gate& gate = gates_[static_cast<std::size_t>(call)];
    std::unique_lock lock(mutex_);
    ++gate.started;
    cv_.notify_all();
    cv_.wait(lock, [&] { return gate.open; });
  }

  Store& inner_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::array<Gate, 3> gates_;
  std::vector<std::size_t> sizes_;
};

/// A store whose commits fail when a batch holds a negative value.
class PoisonStore : public Store {
 public:
  explicit PoisonStore(Store& inner) : inner_(inner) {}
  RestoredState restore() override { return inner_.restore(); }
  void write(const WriteBatch& batch) override {
    for (const StoredSample& s : batch.samples)
      if (s.sample.value < 0) throw std::runtime_error("sqlite: disk I/O error (test)");
    inner_.write(batch);
  }
  void maintain() override { inner_.maintain(); }
  std::size_t enforce_retention(const Retention& r, TimeNs now, std::size_t max_rows) override {
    return inner_.enforce_retention(r, now, max_rows);
  }
  HistoryPage read_history(const HistoryRequest& r) override { return inner_.read_history(r); }
  std::vector<StoredSample> read_changes(Seq after, Seq upto, std::size_t limit) override {
    return inner_.read_changes(after, upto, limit);
  }
  std::optional<Aggregate> read_bucket(TagId tag, Interval interval, TimeNs start) override {
    return inner_.read_bucket(tag, interval, start);
  }
  Seq retained_after() override { return inner_.retained_after(); }

 private:
  Store& inner_;
};

/// Releases a held writer if a test ends early, so the writer can stop.
struct OpenOnExit {
  GatedStore& gated;
  ~OpenOnExit() {
    gated.hold(GatedStore::Call::write, false);
    gated.hold(GatedStore::Call::maintain, false);
    gated.hold(GatedStore::Call::sync, false);
  }
};

class StoreWriterTest : public ::testing::Test {
 protected:
  StoreWriterTest() : sqlite_(SqliteOptions{(dir_.path() / "h.db").string(), false}) {}
  /// `n` samples of tag 0, a millisecond apart, each later than the last.
  std::vector<StoredSample> batch(std::size_t n) {
    std::vector<StoredSample> v;
    for (std::size_t i = 0; i < n; ++i) v.push_back(ss(0, next_ts_ += kMs, 1.0));
    return v;
  }
  TempDir dir_;
  SqliteStore sqlite_;
  TimeNs next_ts_ = kMidnight;
};

// ---------------------------------------------------------------- commits

TEST_F(StoreWriterTest, DoneIsCalledWithEmptyErrorAfterTheCommit) {
  std::promise<std::pair<std::string, std::size_t>> done;
  StoreWriter writer(sqlite_, {});
  writer.start();
  writer.submit_tag(0, info("a"));
  std::vector<StoredSample> samples = {ss(0, kMidnight, 1.0, 1), ss(0, kMidnight + kSec, 2.0, 2),
                                       ss(0, kMidnight + 2 * kSec, 3.0, 3)};
  ASSERT_TRUE(writer.submit(samples, [&](const std::string& error) {
    // Inside Done the samples are already readable, from this thread's own connection.
    done.set_value({error, read_range(sqlite_, 0, Interval::raw).size()});
  }));
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(20s), std::future_status::ready);
  const auto [error, visible] = f.get();
  EXPECT_EQ(error, "");
  EXPECT_EQ(visible, 3u);
  EXPECT_EQ(writer.committed_samples(), 3u);
  EXPECT_EQ(writer.pending_samples(), 0u);
  // And from another thread, with every tier.
  const auto day = read_range(sqlite_, 0, Interval::day);
  ASSERT_EQ(day.size(), 1u);
  EXPECT_EQ(day[0].count, 3u);
  EXPECT_EQ(day[0].sum, 6.0);
  writer.stop();
  EXPECT_EQ(sqlite_.restore().last_seq, 3u);
}

// Folding the overlay into blocks takes up to tens of ms a step: an
// acknowledgement must not wait for it.
TEST_F(StoreWriterTest, DoneDoesNotWaitForTheStoresMaintenance) {
  GatedStore gated(sqlite_);
  OpenOnExit release{gated};
  gated.hold(GatedStore::Call::maintain, true);
  StoreWriter writer(gated, {});
  writer.start();
  DoneLog log;
  ASSERT_TRUE(writer.submit(batch(3), log.make(0)));
  ASSERT_TRUE(log.wait_for(1));
  EXPECT_TRUE(gated.wait_started(GatedStore::Call::maintain,
                                 1));  // maintenance came after the commit and is still held
  ASSERT_TRUE(writer.submit(batch(2), log.make(1)));
  gated.hold(GatedStore::Call::maintain, false);
  ASSERT_TRUE(log.wait_for(2));
  EXPECT_EQ(log.calls(), (std::map<std::size_t, std::vector<std::string>>{{0, {""}}, {1, {""}}}));
  writer.stop();
  EXPECT_EQ(read_range(sqlite_, 0, Interval::raw).size(), 5u);
}

// A store that syncs on its own thread (SQLite with synchronous_full): a
// request is answered only once a sync after its commit returned, and the
// next commit goes ahead while that sync runs.
TEST_F(StoreWriterTest, AnswersWaitForTheSyncButTheNextCommitDoesNot) {
  SqliteStore durable(SqliteOptions{(dir_.path() / "durable.db").string(), true});
  ASSERT_TRUE(durable.defers_sync());
  GatedStore gated(durable);
  OpenOnExit release{gated};
  gated.hold(GatedStore::Call::sync, true);
  StoreWriter writer(gated, {});
  writer.start();
  DoneLog log;
  ASSERT_TRUE(writer.submit(batch(3), log.make(0)));
  ASSERT_TRUE(gated.wait_started(GatedStore::Call::sync, 1));
  ASSERT_TRUE(writer.submit(batch(2), log.make(1)));
  EXPECT_TRUE(eventually([&] { return gated.sizes().size() >= 2; }))
      << "the second commit waited for the first one's sync";
  EXPECT_TRUE(log.calls().empty()) << "answered before the commit was synced";
  EXPECT_EQ(writer.committed_samples(), 0u);
  gated.hold(GatedStore::Call::sync, false);
  ASSERT_TRUE(log.wait_for(2));
  EXPECT_EQ(log.calls(), (std::map<std::size_t, std::vector<std::string>>{{0, {""}}, {1, {""}}}));
  EXPECT_EQ(writer.committed_samples(), 5u);
  writer.stop();
  EXPECT_EQ(read_range(durable, 0, Interval::raw).size(), 5u);
}

TEST_F(StoreWriterTest, ManySubmitsFromFourThreadsAreEachCommittedExactlyOnce) {
  StoreWriterOptions o;
  o.max_samples_per_commit = 64;  // many commits, each grouping several requests
  DoneLog log;
  StoreWriter writer(sqlite_, o);
  writer.start();
  for (TagId t = 0; t < 4; ++t) writer.submit_tag(t, info("thread" + std::to_string(t)));

  constexpr int kPerThread = 300;
  std::atomic<std::size_t> submitted_samples{0};
  std::atomic<Seq> seq{0};
  std::vector<std::thread> threads;
  for (TagId t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::size_t n = 1 + static_cast<std::size_t>((i * 7 + static_cast<int>(t)) % 13);
        std::vector<StoredSample> samples;
        for (std::size_t j = 0; j < n; ++j)
          samples.push_back(ss(t, kMidnight + (i * 16 + static_cast<TimeNs>(j)) * 100 * kMs,
                               static_cast<double>(j), ++seq));
        const std::size_t id = t * kPerThread + static_cast<std::size_t>(i);
        while (!writer.submit(samples, log.make(id))) std::this_thread::yield();
        submitted_samples += n;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(log.wait_for(4 * kPerThread));
  writer.stop();

  const auto calls = log.calls();
  ASSERT_EQ(calls.size(), 4u * kPerThread);
  for (const auto& [id, errors] : calls) {
    ASSERT_EQ(errors.size(), 1u) << "request " << id;
    EXPECT_EQ(errors[0], "") << "request " << id;
  }
  EXPECT_EQ(log.total(), 4u * kPerThread);
  EXPECT_EQ(writer.committed_samples(), submitted_samples.load());
  EXPECT_EQ(writer.pending_samples(), 0u);

  std::size_t raw = 0, in_days = 0;
  for (TagId t = 0; t < 4; ++t) {
    raw += read_range(sqlite_, t, Interval::raw).size();
    for (const Aggregate& a : read_range(sqlite_, t, Interval::day)) in_days += a.count;
  }
  EXPECT_EQ(raw, submitted_samples.load());
  EXPECT_EQ(in_days, submitted_samples.load());
  const RestoredState s = sqlite_.restore();
  EXPECT_EQ(s.last_seq, seq.load());
  ASSERT_EQ(s.tags.size(), 4u);
  EXPECT_EQ(s.tags[3].info.name, "thread3");
}

// Everything queued while a commit runs goes into the next commit, up to
// max_samples_per_commit; a single larger request is committed on its own.
TEST_F(StoreWriterTest, GroupsQueuedRequestsUpToMaxSamplesPerCommit) {
  GatedStore gated(sqlite_);
  StoreWriterOptions o;
  o.max_samples_per_commit = 10;
  DoneLog log;
  StoreWriter writer(gated, o);
  gated.hold(GatedStore::Call::write, true);
  writer.start();
  OpenOnExit open_on_exit{gated};
  ASSERT_TRUE(writer.submit(batch(3), log.make(0)));
  ASSERT_TRUE(gated.wait_started(GatedStore::Call::write, 1));  // the writer holds request 0
  ASSERT_TRUE(writer.submit(batch(4), log.make(1)));
  ASSERT_TRUE(writer.submit(batch(4), log.make(2)));
  ASSERT_TRUE(writer.submit(batch(4), log.make(3)));
  ASSERT_TRUE(writer.submit(batch(25), log.make(4)));
  ASSERT_TRUE(writer.submit(batch(2), log.make(5)));
  EXPECT_EQ(writer.pending_samples(), 39u);
  EXPECT_EQ(log.total(), 0u);
  gated.hold(GatedStore::Call::write, false);
  ASSERT_TRUE(log.wait_for(6));
  writer.stop();
  EXPECT_EQ(gated.sizes(), (std::vector<std::size_t>{3, 8, 4, 25, 2}));
  EXPECT_EQ(read_range(sqlite_, 0, Interval::raw).size(), 42u);
  EXPECT_EQ(writer.committed_samples(), 42u);
}

// Requests that arrive within the commit interval of the last commit's start
// share the next commit (one fsync), instead of one commit each.
TEST_F(StoreWriterTest, RequestsWithinTheCommitIntervalShareOneCommit) {
  GatedStore gated(sqlite_);
  ManualClock clock;
  StoreWriterOptions o = clock.options();
  o.commit_interval = 500ms;
  DoneLog log;
  StoreWriter writer(gated, o);
  writer.start();
  ASSERT_TRUE(writer.submit(batch(3), log.make(0)));
  ASSERT_TRUE(log.wait_for(1));  // the first commit does not wait
  for (std::size_t i = 1; i <= 4; ++i) ASSERT_TRUE(writer.submit(batch(2), log.make(i)));
  EXPECT_EQ(writer.pending_samples(), 8u);
  clock.step(writer, 499ms);
  EXPECT_EQ(gated.sizes(), (std::vector<std::size_t>{3}));
  clock.step(writer, 1ms);
  ASSERT_TRUE(log.wait_for(5));
  writer.stop();
  EXPECT_EQ(gated.sizes(), (std::vector<std::size_t>{3, 8}));
  EXPECT_EQ(read_range(sqlite_, 0, Interval::raw).size(), 11u);
}

// On a machine booted a minute ago, with an hour's interval: nothing has
// been committed, so there is no interval to wait out.
TEST_F(StoreWriterTest, TheFirstCommitDoesNotWaitForTheCommitInterval) {
  ManualClock clock;
  StoreWriterOptions o = clock.options();
  o.commit_interval = std::chrono::hours(1);
  DoneLog log;
  StoreWriter writer(sqlite_, o);
  writer.start();
  ASSERT_TRUE(writer.submit(batch(3), log.make(0)));
  EXPECT_TRUE(log.wait_for(1)) << "the first commit waited for an interval after the clock's epoch";
  writer.stop();
}

// A big enough batch goes at once, whatever the interval: bulk writers
// are not held to one commit per interval.
TEST_F(StoreWriterTest, ABigEnoughBatchDoesNotWaitForTheCommitInterval) {
  GatedStore gated(sqlite_);
  ManualClock clock;
  StoreWriterOptions o = clock.options();
  o.commit_interval = std::chrono::hours(1);
  o.commit_at_once_samples = 8;
  DoneLog log;
  StoreWriter writer(gated, o);
  writer.start();
  ASSERT_TRUE(writer.submit(batch(3), log.make(0)));
  ASSERT_TRUE(log.wait_for(1));
  ASSERT_TRUE(writer.submit(batch(4), log.make(1)));
  ASSERT_TRUE(writer.submit(batch(6), log.make(2)));
  ASSERT_TRUE(log.wait_for(3));  // the clock stands still: the hour never passes
  EXPECT_EQ(gated.sizes(), (std::vector<std::size_t>{3, 10}));
  writer.stop();
}

// ---------------------------------------------------------------- back-pressure

TEST_F(StoreWriterTest, RefusesPastMaxPendingSamplesWhileACommitIsBlocked) {
  GatedStore gated(sqlite_);
  StoreWriterOptions o;
  o.max_pending_samples = 10;
  DoneLog log;
  StoreWriter writer(gated, o);
  gated.hold(GatedStore::Call::write, true);
  writer.start();
  OpenOnExit open_on_exit{gated};

  // The writer takes the first request and blocks committing it: the queue
  // is empty again.
  ASSERT_TRUE(writer.submit(batch(4), log.make(0)));
  ASSERT_TRUE(gated.wait_started(GatedStore::Call::write, 1));
  EXPECT_EQ(writer.pending_samples(), 0u);
  EXPECT_TRUE(writer.has_room(10));
  EXPECT_FALSE(writer.has_room(11));
  EXPECT_FALSE(writer.submit(batch(11), log.make(99)));  // larger than the whole queue
  EXPECT_EQ(writer.pending_samples(), 0u);

  ASSERT_TRUE(writer.submit(batch(6), log.make(1)));
  EXPECT_EQ(writer.pending_samples(), 6u);
  EXPECT_TRUE(writer.has_room(4));
  EXPECT_FALSE(writer.has_room(5));
  EXPECT_FALSE(writer.submit(batch(5), log.make(98)));  // refused: nothing queued
  EXPECT_EQ(writer.pending_samples(), 6u);
  ASSERT_TRUE(writer.submit(batch(4), log.make(2)));  // exactly to the limit
  EXPECT_EQ(writer.pending_samples(), 10u);
  EXPECT_FALSE(writer.has_room(1));
  EXPECT_TRUE(writer.has_room(0));
  EXPECT_FALSE(writer.submit(batch(1), log.make(97)));
  // Still nothing reported: the first commit has not finished.
  EXPECT_EQ(log.total(), 0u);
  EXPECT_EQ(writer.committed_samples(), 0u);

  gated.hold(GatedStore::Call::write, false);
  ASSERT_TRUE(log.wait_for(3));
  // Room again once the queue drained.
  EXPECT_TRUE(eventually([&] { return writer.pending_samples() == 0; }));
  EXPECT_TRUE(writer.has_room(10));
  writer.stop();

  const auto calls = log.calls();
  EXPECT_EQ(calls.size(), 3u);  // refused requests never get a Done
  for (std::size_t id : {0u, 1u, 2u}) {
    ASSERT_EQ(calls.count(id), 1u) << id;
    EXPECT_EQ(calls.at(id), std::vector<std::string>{""}) << id;
  }
  EXPECT_EQ(writer.committed_samples(), 14u);
  EXPECT_EQ(read_range(sqlite_, 0, Interval::raw).size(), 14u);
}

// ---------------------------------------------------------------- stop

TEST_F(StoreWriterTest, StopCommitsEverythingQueued) {
  DoneLog log;
  StoreWriter writer(sqlite_, {});
  writer.start();
  writer.submit_tag(0, info("a"));
  for (std::size_t i = 0; i < 200; ++i)
    ASSERT_TRUE(writer.submit({ss(0, kMidnight + static_cast<TimeNs>(i) * kMs, 1.0, i + 1)}, log.make(i)));
  writer.stop();  // no waiting before: stop must drain the queue
  EXPECT_EQ(log.total(), 200u);
  for (const auto& [id, errors] : log.calls()) EXPECT_EQ(errors, std::vector<std::string>{""}) << id;
  EXPECT_EQ(writer.committed_samples(), 200u);
  EXPECT_EQ(writer.pending_samples(), 0u);
  EXPECT_EQ(read_range(sqlite_, 0, Interval::raw).size(), 200u);
  EXPECT_EQ(sqlite_.restore().last_seq, 200u);
  // After stop, nothing more is accepted.
  EXPECT_FALSE(writer.has_room(1));
  EXPECT_FALSE(writer.submit({ss(0, kMidnight - kSec, 1.0)}, log.make(1000)));
  writer.stop();  // idempotent
  EXPECT_EQ(log.total(), 200u);
}

TEST_F(StoreWriterTest, StopDuringABlockedCommitDrainsTheQueueAndRefusesNewWork) {
  GatedStore gated(sqlite_);
  DoneLog log;
  StoreWriterOptions o;
  o.max_samples_per_commit = 1;  // draining the queue takes several commits
  StoreWriter writer(gated, o);
  gated.hold(GatedStore::Call::write, true);
  writer.start();
  OpenOnExit open_on_exit{gated};
  ASSERT_TRUE(writer.submit({ss(0, kMidnight, 1.0, 1)}, log.make(0)));
  ASSERT_TRUE(gated.wait_started(GatedStore::Call::write, 1));
  ASSERT_TRUE(writer.submit({ss(0, kMidnight + kSec, 2.0, 2)}, log.make(1)));
  writer.submit_tag(0, info("late.tag", "kPa"));
  ASSERT_TRUE(writer.submit({ss(0, kMidnight + 2 * kSec, 3.0, 3)}, log.make(2)));
  ASSERT_TRUE(writer.submit({ss(0, kMidnight + 3 * kSec, 4.0, 4)}, log.make(3)));
  ASSERT_TRUE(writer.submit({ss(0, kMidnight + 4 * kSec, 5.0, 5)}, log.make(4)));

  std::thread stopper([&] { writer.stop(); });
  // Once stopping, submissions are refused...
  EXPECT_TRUE(eventually([&] { return !writer.has_room(1); }));
  EXPECT_FALSE(writer.submit({ss(0, kMidnight + 9 * kSec, 9.0)}, log.make(9)));
  // ...but what was queued is still committed, one sample per commit.
  gated.hold(GatedStore::Call::write, false);
  stopper.join();
  EXPECT_EQ(log.total(), 5u);
  for (const auto& [id, errors] : log.calls()) EXPECT_EQ(errors, std::vector<std::string>{""}) << id;
  EXPECT_EQ(gated.sizes(), (std::vector<std::size_t>{1, 1, 1, 1, 1}));
  EXPECT_EQ(read_range(sqlite_, 0, Interval::raw).size(), 5u);
  const RestoredState s = sqlite_.restore();
  EXPECT_EQ(s.last_seq, 5u);
  ASSERT_EQ(s.tags.size(), 1u);
  EXPECT_EQ(s.tags[0].info.name, "late.tag");
}

// ---------------------------------------------------------------- errors

TEST_F(StoreWriterTest, CommitErrorReachesDoneAndLaterCommitsStillWork) {
  PoisonStore poison(sqlite_);
  DoneLog log;
  StoreWriter writer(poison, {});
  writer.start();
  ASSERT_TRUE(writer.submit({ss(0, kMidnight, -1.0), ss(0, kMidnight + kSec, 1.0)}, log.make(0)));
  ASSERT_TRUE(log.wait_for(1));
  ASSERT_TRUE(writer.submit({ss(0, kMidnight + 2 * kSec, 2.0)}, log.make(1)));
  ASSERT_TRUE(log.wait_for(2));
  writer.stop();
  const auto calls = log.calls();
  EXPECT_EQ(calls.at(0), std::vector<std::string>{"sqlite: disk I/O error (test)"});
  EXPECT_EQ(calls.at(1), std::vector<std::string>{""});
  EXPECT_EQ(writer.committed_samples(), 1u);  // failed samples are not counted
  EXPECT_EQ(writer.pending_samples(), 0u);
  const auto raw = read_range(sqlite_, 0, Interval::raw);
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(raw[0].start, kMidnight + 2 * kSec);
}

// A request of many late samples is committed in slices: it is answered
// once, after its last slice, with the error of a slice that failed; a
// request queued behind it commits (and is answered) before that.
TEST_F(StoreWriterTest, LateSamplesAreCommittedInSlicesAndAnsweredOnce) {
  PoisonStore poison(sqlite_);
  StoreWriterOptions options;
  options.late_samples_per_commit = 10;
  StoreWriter writer(poison, options);
  std::mutex mutex;
  std::vector<std::pair<int, std::string>> answers;  // in the order given
  std::promise<void> both;
  auto answer = [&](int id) {
    return [&, id](const std::string& error) {
      std::lock_guard lock(mutex);
      answers.emplace_back(id, error);
      if (answers.size() == 2) both.set_value();
    };
  };
  std::vector<StoredSample> backfill{ss(1, kMidnight + kSec, 5.0, 7)};  // one live sample
  for (int i = 0; i < 45; ++i) backfill.push_back(ss(0, kMidnight + i * kMs, i == 33 ? -1.0 : 1.0));
  ASSERT_TRUE(writer.submit(backfill, answer(0)));
  ASSERT_TRUE(writer.submit({ss(2, kMidnight, 1.0, 8)}, answer(1)));
  writer.start();
  ASSERT_EQ(both.get_future().wait_for(20s), std::future_status::ready);
  writer.stop();
  std::lock_guard lock(mutex);
  ASSERT_EQ(answers.size(), 2u);  // once each
  EXPECT_EQ(answers[0], std::make_pair(1, std::string()));
  EXPECT_EQ(answers[1], std::make_pair(0, std::string("sqlite: disk I/O error (test)")));
  EXPECT_EQ(read_range(sqlite_, 0, Interval::raw).size(), 35u);  // every slice but the one of -1
  EXPECT_EQ(read_range(sqlite_, 2, Interval::raw).size(), 1u);
  EXPECT_EQ(writer.pending_samples(), 0u);
}

// With the real SQLite store: a batch that the store refuses (a NaN value)
// reports the store's message to Done, and the next batch commits.
TEST_F(StoreWriterTest, SqliteErrorReachesDone) {
  DoneLog log;
  StoreWriter writer(sqlite_, {});
  writer.start();
  ASSERT_TRUE(writer.submit({ss(0, kMidnight, std::nan(""))}, log.make(0)));
  ASSERT_TRUE(log.wait_for(1));
  ASSERT_TRUE(writer.submit({ss(0, kMidnight + kSec, 2.0)}, log.make(1)));
  ASSERT_TRUE(log.wait_for(2));
  writer.stop();
  const auto calls = log.calls();
  ASSERT_EQ(calls.at(0).size(), 1u);
  EXPECT_NE(calls.at(0)[0].find("not a finite number"), std::string::npos) << calls.at(0)[0];
  EXPECT_EQ(calls.at(1), std::vector<std::string>{""});
  const auto raw = read_range(sqlite_, 0, Interval::raw);
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(raw[0].first, 2.0);
}

// ---------------------------------------------------------------- tags, last_seq

TEST_F(StoreWriterTest, SubmittedTagsAndLastSeqLandInRestore) {
  {
    DoneLog log;
    StoreWriter writer(sqlite_, {});
    writer.start();
    writer.submit_tag(0, info("boiler1.temperature", "degC", "Boiler 1", DataType::number));
    writer.submit_tag(1, info("pump1.running", "", "Pump 1 on", DataType::boolean));
    // Late samples (seq 0) do not lower last_seq.
    ASSERT_TRUE(writer.submit({ss(0, kMidnight, 70.0, 41), ss(1, kMidnight, 1.0, 42)}, log.make(0)));
    ASSERT_TRUE(log.wait_for(1));
    ASSERT_TRUE(writer.submit({ss(0, kMidnight - kSec, 69.0, 0)}, log.make(1)));
    ASSERT_TRUE(log.wait_for(2));
    writer.submit_tag(2, info("line1.count", "pcs", "", DataType::integer));  // tag alone, no samples
  }  // the destructor stops, committing the last tag
  const RestoredState s = sqlite_.restore();
  EXPECT_EQ(s.last_seq, 42u);
  ASSERT_EQ(s.tags.size(), 3u);
  EXPECT_EQ(s.tags[0].id, 0u);
  EXPECT_EQ(s.tags[0].info.name, "boiler1.temperature");
  EXPECT_EQ(s.tags[0].info.unit, "degC");
  EXPECT_EQ(s.tags[0].info.description, "Boiler 1");
  EXPECT_EQ(s.tags[1].info.type, DataType::boolean);
  EXPECT_EQ(s.tags[2].id, 2u);
  EXPECT_EQ(s.tags[2].info.name, "line1.count");
  EXPECT_EQ(s.tags[2].info.type, DataType::integer);
  ASSERT_EQ(s.live.size(), 2u);
  EXPECT_EQ(s.live[0].latest, (Sample{kMidnight, 70.0, Quality::good}));
  EXPECT_EQ(s.live[0].buckets[2].count, 1u);  // minute 00:00 holds only the 00:00:00 sample
  EXPECT_EQ(s.live[0].buckets[3].count, 1u);  // the day too: 23:59:59 belongs to the day before
}

// ---------------------------------------------------------------- retention

TEST_F(StoreWriterTest, EnforcesRetentionPeriodically) {
  ManualClock clock;
  StoreWriterOptions o = clock.options();
  o.retention.seconds[static_cast<std::size_t>(Interval::raw)] = 3600;
  o.retention_every = 1min;
  DoneLog log;
  StoreWriter writer(sqlite_, o);
  writer.start();
  writer.submit_tag(0, info("a"));
  const TimeNs now = now_ns();
  ASSERT_TRUE(writer.submit(
      {ss(0, now - 2 * 3600 * kSec, 1.0), ss(0, now - 1800 * kSec, 2.0), ss(0, now, 3.0)}, log.make(0)));
  ASSERT_TRUE(log.wait_for(1));
  EXPECT_EQ(read_range(sqlite_, 0, Interval::raw).size(), 3u) << "retention ran before its period";
  clock.step(writer, 1min);
  EXPECT_TRUE(eventually([&] { return read_range(sqlite_, 0, Interval::raw).size() == 2; }))
      << "no retention pass once its period had passed";
  writer.stop();
  const auto raw = read_range(sqlite_, 0, Interval::raw);
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[0].first, 2.0);
  // Rollups are not subject to the raw retention.
  std::size_t in_seconds = read_range(sqlite_, 0, Interval::second).size();
  EXPECT_EQ(in_seconds, 3u);
}

}  // namespace
}  // namespace tagstream
