#pragma once
// The historian's storage interface. Its one implementation is the embedded
// SQLite store (sqlite_store.h); nothing above this header knows SQL, so
// another backend would implement this interface and change nothing above it.
//
// Threading: write() is called only from the StoreWriter's thread; the read
// calls must be thread safe (the SQLite store gives each reading thread its
// own connection) and are made from the reader pool, never from an I/O thread.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/aggregate.h"
#include "core/change.h"
#include "core/commit_queue.h"
#include "core/interval.h"
#include "core/tag.h"

namespace tagstream {

struct TagRecord {
  TagId id = 0;
  TagInfo info;
};

/// One transaction's worth of writes, in order: tags first, then samples.
struct WriteBatch {
  std::vector<TagRecord> tags;
  std::vector<StoredSample> samples;
  Seq last_seq = 0;  // highest event id handed out so far, kept for restarts
};

/// What a restart needs to carry on where the last run stopped.
struct RestoredState {
  Seq last_seq = 0;
  Seq retained_after = 0;       // see Store::retained_after
  std::vector<TagRecord> tags;  // ordered by id, dense from 0
  struct Live {
    TagId tag;
    Sample latest;
    TierBuckets buckets;  // the buckets holding `latest`
  };
  std::vector<Live> live;
};

/// How long each tier is kept; 0 = forever. Seconds.
struct Retention {
  std::array<std::int64_t, kIntervalCount> seconds{};  // indexed by Interval
};

/// A page of history for one tag: points with start/ts in [from, to), after
/// `after` (exclusive, for paging), at most `limit`, in time order.
struct HistoryRequest {
  TagId tag = 0;
  Interval interval = Interval::raw;
  TimeNs from = 0;
  TimeNs to = 0;
  std::optional<TimeNs> after;
  std::size_t limit = 10000;
};

/// For raw history each point is an aggregate of one sample.
using HistoryPage = std::vector<Aggregate>;

/// History of several tags merged into groups: the points HistoryRequest
/// would return for [from, to) (all of them, no paging), merged into groups
/// `group_width` wide counted from `from` (a point at t goes into the group
/// starting at from + floor((t - from) / group_width) * group_width, clamped
/// to the int64 range).
struct GroupRequest {
  std::vector<TagId> tags;
  Interval interval = Interval::raw;
  TimeNs from = 0;
  TimeNs to = 0;
  TimeNs group_width = 1;  // > 0
};

/// The start of the group of `width` counted from `origin` that holds `t`.
/// In 128 bits: `t - origin` spans more than int64 when a range covers every
/// supported year; the start itself is clamped to int64.
TimeNs group_start(TimeNs t, TimeNs origin, TimeNs width);

class Store {
 public:
  virtual ~Store() = default;

  /// Start-up, single-threaded: what was kept.
  virtual RestoredState restore() = 0;

  /// Commits the batch atomically: samples (a sample at the same tag and
  /// timestamp as a stored one replaces it, as in InfluxDB) and every rollup
  /// tier they touch. Throws std::runtime_error when the commit fails.
  virtual void write(const WriteBatch& batch) = 0;

  /// Whether write() leaves making its commit durable to sync(). The writer
  /// then answers a commit's requests only after a sync() that began once
  /// write() had returned, and commits the next batch meanwhile: the fsync
  /// no longer holds up the commits behind it.
  virtual bool defers_sync() const { return false; }
  /// Makes every commit that write() has returned durable. Called on a
  /// thread of its own, concurrently with write() and maintain(). Throws
  /// std::runtime_error when it fails.
  virtual void sync() {}

  /// A bounded step of deferred work (folding written samples into their
  /// long-term form), called by the writer between commits once their
  /// writers have been answered.
  virtual void maintain() {}

  /// Deletes at most `max_rows` expired rows; returns how many it deleted.
  virtual std::size_t enforce_retention(const Retention& retention, TimeNs now, std::size_t max_rows) = 0;

  virtual HistoryPage read_history(const HistoryRequest& request) = 0;
  /// One page per requested tag (in the request's order): its non-empty
  /// groups in time order. This default reads every point with
  /// read_history and merges them; a store that can group where the data
  /// is overrides it. Thread safe like read_history.
  virtual std::vector<HistoryPage> read_groups(const GroupRequest& request);

  /// Live samples with seq in (after, upto], in seq order, at most `limit`
  /// (all tags: the caller filters). For resuming streams across restarts.
  virtual std::vector<StoredSample> read_changes(Seq after, Seq upto, std::size_t limit) = 0;
  /// What the store holds of a tag now: its newest sample and the buckets
  /// holding it; nothing when it holds no sample of the tag. Thread safe.
  virtual std::optional<HeldValue> read_newest(TagId /*tag*/) { return std::nullopt; }
  /// The current state of one bucket of an aggregated interval.
  virtual std::optional<Aggregate> read_bucket(TagId tag, Interval interval, TimeNs start) = 0;
  /// Live samples with seq at or below this may have been removed by
  /// retention.
  virtual Seq retained_after() = 0;
};

}  // namespace tagstream
