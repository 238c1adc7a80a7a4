#pragma once
// The hub: routes live changes to SSE streams.
//
// Threading model (the centre of the server):
// - The server runs one io_context per thread; a connection lives its whole
//   life on one of them.
// - Each io_context has one HubShard. A shard and everything in it (groups,
//   members, its replay ring and latest-value view) is touched only from its
//   own thread, so the fan-out path takes no lock.
// - LiveState publishes every batch of changes, in sequence order, by
//   handing the same immutable ChangeBatch to every shard (Hub::publish): it
//   goes into the shard's inbox, under a lock, and the shard's thread drains
//   the inbox in that order. That is the only cross-thread step of the live
//   path (a store read for a resume posts its answer to the shard's thread).
//   When every group of the shard is inside a coalescing window, nothing can
//   go out before the first window ends, so the shard is not woken for the
//   batch: the window's timer applies the inbox before it flushes (the
//   windows of a busy shard keep it awake anyway; each wake-up saved is a
//   context switch). A batch wakes the shard when some group is outside its
//   window, when the shard has no group, or when the inbox has reached a
//   bound (kMaxParkedBatches). (Posting each batch as its own handler is
//   not enough: with one thread per io_context, Asio holds a post made from
//   that context's own thread back until the running handler returns, so a
//   batch posted later from another thread could run first and the older
//   one be dropped as stale.)
// - Streams with the same tag set, interval and coalescing window (the
//   hub's, or the stream's own display rate) share a Group, which
//   serializes each `data` frame once for all its members.
// - Time comes from a HubClock (HubOptions::clock): Asio steady timers in the
//   server, a clock the test steps in unit tests. It is an interface, not an
//   Asio timer on a custom clock type, because Asio reads a clock through a
//   static now(): a steppable clock would be process-wide state or a
//   template parameter carried by Hub, HubShard and Group, and the reactor
//   would see a step only by waking on real time to look. The interface
//   costs a virtual call and a std::function each time a timer is armed,
//   which is once per group window and per heartbeat, never per change.
//
// The live path (inbox, wake rule, coalescing flush) is in hub.cc; resume
// (snapshot, ring replay, store replay) in hub_resume.cc.
#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/change.h"
#include "core/replay.h"
#include "core/tag_registry.h"
#include "hub/clock.h"
#include "hub/sse_frame.h"

namespace tagstream {

struct HubOptions {
  std::chrono::nanoseconds coalesce_window{100'000'000};  // SSE_DATA_CHECK_INTERVAL; 0 = none
  std::chrono::nanoseconds heartbeat_interval{30'000'000'000};
  std::size_t replay_capacity = 100000;   // changes kept for Last-Event-ID resume
  std::size_t replay_chunk_points = 500;  // points per replayed `data` event

  /// Answers a ReplayRequest from durable history, off the I/O thread, and
  /// calls `deliver` (from any thread); a result that is not ok (retention
  /// removed that history, or the read failed) becomes history_lost.
  /// Without it, a resume older than the ring is history_lost.
  std::function<void(ReplayRequest, std::function<void(ReplayResult)> deliver)> fetch_older;
  /// Ids in (durable_seq, start_seq] were never stored (the previous run
  /// stopped before committing them): resuming from them is history_lost.
  Seq durable_seq = 0;
  /// A resume that would replay more points than this is answered with
  /// history_lost and a snapshot instead: the client refetches the span from
  /// history, in one request, rather than receiving it event by event.
  std::size_t max_replay_points = 500'000;
  /// A cluster node: a resume from an id above what this node has read may
  /// name a point another node handed out that this one reads a moment
  /// later (a browser failing over from a node ahead of this one): it waits
  /// up to this long for it before answering history_lost. 0 (one node):
  /// such an id was never handed out.
  std::chrono::milliseconds resume_wait{0};
  /// The hub's timers; must outlive the hub.
  HubClock* clock = &HubClock::steady();
};

/// Where a hub stream's frames go; implemented by the SSE session. Called
/// only on the shard's thread.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  /// Queues a frame for writing. Returns false, queuing nothing, when the
  /// frame would take the queue past its byte bound; an empty queue accepts
  /// any one frame.
  virtual bool offer(const FramePtr& frame) = 0;
};

struct StreamSpec {
  std::vector<TagId> tags;  // resolved; order is kept in snapshots
  Interval interval = Interval::raw;
  std::optional<Seq> resume_after;  // Last-Event-ID
  /// This stream's coalescing window (its display rate): at most one `data`
  /// event per window, the latest value of each tag winning. Unset: the
  /// hub's coalesce_window. Streams share a Group only with streams of the
  /// same window.
  std::optional<std::chrono::nanoseconds> window;
};

struct Group;
/// One stream's membership in a shard (hub/group.h); a handle outside the
/// hub. Owned by the shard.
struct Member;

class HubShard {
 public:
  /// `published` is the highest seq handed to Hub::publish (shared by all
  /// shards): an id at or below it is real even if this shard has not seen
  /// it yet.
  HubShard(boost::asio::io_context& io, const TagRegistry& registry, HubOptions options, Seq start_seq,
           const std::atomic<Seq>& published);
  ~HubShard();
  HubShard(const HubShard&) = delete;
  HubShard& operator=(const HubShard&) = delete;

  /// Adds a stream and queues its first content: a snapshot of the latest
  /// values; or, when resuming, every change since `resume_after` (in
  /// chunks, as the sink drains); or, when that history is no longer held,
  /// an `error` event with code history_lost followed by a snapshot.
  Member* subscribe(StreamSink* sink, const StreamSpec& spec);
  void unsubscribe(Member* member);
  /// The member's tags, in the order it asked for them.
  const std::vector<TagId>& tags_of(const Member* member) const;
  /// The member's sink has written everything it queued: a member still
  /// catching up (replay, or resync after falling behind) queues its next
  /// part. `member` is one that subscribe returned and unsubscribe has not
  /// taken back.
  void on_drained(Member* member);

  /// Any thread: queues a batch; the shard applies queued batches in the
  /// order they were queued, at once or, while every group is inside a
  /// coalescing window, by the first window's end.
  void enqueue(const ChangeBatchPtr& batch);
  /// Shard thread: applies what is queued now.
  void apply_queued();
  void on_batch(const ChangeBatchPtr& batch);
  /// Start-up only: the latest values a store kept, so the first snapshot
  /// after a restart is not empty. `seq` marks them as older than any new
  /// change.
  void restore(const std::vector<Change>& latest);
  void stop();

  Seq position() const { return position_; }
  boost::asio::io_context& io() { return io_; }

 private:
  // Live path (hub.cc).
  std::shared_ptr<Group> find_or_create_group(const StreamSpec& spec);
  void release_group(const std::shared_ptr<Group>& group);
  /// After a group's window opens or closes: whether a batch must wake the
  /// shard, and a wake-up for what queued meanwhile if it must.
  void update_wake_rule();
  void post_drain();
  void start_window(const std::shared_ptr<Group>& group);
  void flush(Group& group);
  void offer(Member& m, const FramePtr& frame, Seq last_seq);
  void schedule_heartbeat();
  const std::string& tag_name(TagId id);
  void append_point(std::string& out, TagId tag, Interval interval, const Change& change);

  // Resume (hub_resume.cc).
  void send_first_content(Member& m, std::optional<Seq> resume_after);
  void send_snapshot(Member& m, Seq after);
  void send_replay_chunk(Member& m);
  void send_history_lost(Member& m, Seq requested);
  /// Looks again shortly for an id this node has not read yet (resume_wait).
  void wait_for(Member& m, Seq id);
  void request_store_chunk(Member& m);
  void on_store_chunk(Member* m, std::uint64_t serial, ReplayResult result);
  /// Adds a batch to the ring, evicting the oldest past its capacity.
  void remember(const ChangeBatchPtr& batch);
  const Change* latest(TagId id) const;
  void keep_latest_of(const ChangeBatch& evicted);

  boost::asio::io_context& io_;
  const TagRegistry& registry_;
  HubOptions options_;
  const std::atomic<Seq>& published_;

  std::mutex inbox_mutex_;
  std::vector<ChangeBatchPtr> inbox_;
  bool drain_posted_ = false;
  bool wake_on_enqueue_ = true;   // under inbox_mutex_; see update_wake_rule
  std::size_t quiet_groups_ = 0;  // groups without an open coalescing window (window 0: always)
  Seq position_;                  // last seq applied to this shard
  Seq replay_floor_;              // changes after this are in the ring
  const Seq start_seq_;           // the first id of this run is start_seq_ + 1
  std::deque<ChangeBatchPtr> ring_;
  std::size_t ring_changes_ = 0;
  // The latest change per tag, for snapshots: a pointer into the ring while
  // its batch is there (the ingest path stores 8 bytes per change, not a
  // ~250-byte copy), else a copy made when the batch leaves the ring (or at
  // restore; seq 0 = none yet).
  std::vector<const Change*> latest_in_ring_;
  std::vector<Change> latest_kept_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::shared_ptr<Group>> groups_;
  std::array<std::vector<std::vector<Group*>>, kIntervalCount> groups_by_tag_;
  std::vector<Group*> dirty_;
  std::unordered_map<Member*, std::unique_ptr<Member>> members_;
  std::unique_ptr<HubTimer> heartbeat_timer_;
  std::uint64_t next_serial_ = 0;
  bool stopped_ = false;
};

/// The shards, one per io_context, in the same order.
class Hub {
 public:
  Hub(const std::vector<boost::asio::io_context*>& contexts, const TagRegistry& registry, HubOptions options,
      Seq start_seq);
  ~Hub();
  std::size_t size() const { return shards_.size(); }
  HubShard& shard(std::size_t i) { return *shards_[i]; }
  /// Any thread: posts the batch to every shard. Callers publish in sequence
  /// order (LiveState does so under its lock).
  void publish(const ChangeBatchPtr& batch);
  /// Start-up only, before the threads run: see HubShard::restore.
  void restore(const std::vector<Change>& latest);

 private:
  std::atomic<Seq> published_;
  std::vector<std::unique_ptr<HubShard>> shards_;
};

}  // namespace tagstream
