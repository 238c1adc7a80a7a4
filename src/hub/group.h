#pragma once
// A shard's streams: a Member per stream, and the Group that streams with the
// same tags and interval share. Both are owned by one HubShard and touched
// only on its thread.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/change.h"
#include "hub/clock.h"

namespace tagstream {

class StreamSink;
struct StreamSpec;
struct Member;

/// Streams with the same tag set, interval and coalescing window. Collects
/// the changes that arrive inside a window and serializes them once for all.
struct Group {
  struct Pending {
    Seq seq;
    const Change* change;  // valid until the flush: the batch is held in pending_batches
  };

  Group(std::unique_ptr<HubTimer> window_timer, Interval iv, std::chrono::nanoseconds w, std::vector<TagId> t,
        std::string k)
      : interval(iv),
        window(w),
        tags(std::move(t)),
        sorted_tags(tags),
        key(std::move(k)),
        timer(std::move(window_timer)) {
    std::sort(sorted_tags.begin(), sorted_tags.end());
  }

  // A sorted list, not a bitmap by tag id: a bitmap would cost every group
  // (one per idle stream, often) a bit for every tag of the server.
  bool has_tag(TagId id) const { return std::binary_search(sorted_tags.begin(), sorted_tags.end(), id); }

  Interval interval;
  std::chrono::nanoseconds window;  // 0: every change goes out at once
  std::vector<TagId> tags;
  std::vector<TagId> sorted_tags;
  std::string key;
  std::vector<Member*> members;

  std::vector<Pending> pending;
  std::unordered_map<std::uint64_t, std::size_t> pending_index;  // coalescing key -> pending slot
  std::vector<ChangeBatchPtr> pending_batches;                   // keeps `Pending::change` alive
  std::unordered_map<TagId, std::size_t> last_sent_hash;         // change-only sending
  bool dirty = false;
  bool window_active = false;
  std::unique_ptr<HubTimer> timer;  // ends the coalescing window
};

/// One stream's membership in a shard.
struct Member {
  enum class Mode { live, replay, store_replay, resync, waiting };
  StreamSink* sink = nullptr;
  std::shared_ptr<Group> group;
  std::size_t slot = 0;  // index in group->members
  Mode mode = Mode::live;
  Seq cursor = 0;                         // replay: last seq scanned
  Seq start_seq = 0;                      // live: points at or below this were already sent
  Seq last_offered = 0;                   // highest seq in a frame the sink accepted
  std::uint64_t serial = 0;               // tells a late store answer from a reused address
  bool fetching = false;                  // a store read is under way
  std::size_t replayed = 0;               // points sent by replay so far
  std::size_t waits = 0;                  // waiting: checks so far for an id this node has not read yet
  std::unique_ptr<HubTimer> retry_timer;  // asks the store again; made on first use
};

/// The key under which pending changes replace each other (latest wins):
/// one per tag for raw, one per tag and bucket for aggregates, so a bucket
/// that closes inside a window still goes out with its final value.
std::uint64_t coalescing_key(const Change& c, Interval iv);

/// Streams whose specs have the same key (interval, window, tags) share a Group.
std::string group_key(const StreamSpec& spec, std::chrono::nanoseconds window);

}  // namespace tagstream
