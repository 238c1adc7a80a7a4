#pragma once
// The one path every sample takes into tagstream, whatever its source
// (HTTP line protocol or JSON, the simulator, later MQTT and Modbus):
// live state first (subscribers see it at once, without waiting on disk),
// then the commit queue (the store's writer). Thread safe.
#include <atomic>
#include <mutex>
#include <span>
#include <vector>

#include "core/commit_queue.h"
#include "core/live_state.h"
#include "core/shared_log.h"
#include "ingest/deadband.h"

namespace tagstream {

class Ingestor {
 public:
  Ingestor(LiveState& live, CommitQueue& queue) : live_(live), queue_(queue) {}

  struct Outcome {
    bool queued = false;  // false: the store's queue is full; nothing was applied
    ApplyResult applied;
    std::size_t suppressed = 0;  // dropped by their tag's deadband (not in `applied`)
  };

  /// Exception reporting for every source; set before the first sample.
  void set_deadband(DeadbandFilter* filter) { deadband_ = filter; }
  /// A cluster node: samples go through the shared log, which hands out
  /// their ids, and become live when the node reads them back from it (see
  /// core/shared_log.h); while it is down they are made live here. Set
  /// before the first sample.
  void set_shared_log(SharedLog* log) { shared_log_ = log; }

  /// `done` runs on the queue's thread once the samples are committed (or
  /// the commit failed); it is not called when `queued` is false. A failed
  /// commit first takes its samples back out of the live state (see
  /// LiveState::retract): a live value is never one history will not hold.
  Outcome ingest(std::span<const TaggedSample> samples, CommitQueue::Done done);

  /// History only (Sparkplug's historical metrics, backfill from a device's
  /// buffer): stored, never a live value or a stream event, and not
  /// deadband-filtered (what a device buffered is the record).
  Outcome ingest_history(std::span<const TaggedSample> samples, CommitQueue::Done done);

  /// Samples accepted so far, from every source.
  std::uint64_t ingested() const { return ingested_.load(std::memory_order_relaxed); }
  /// Live values put back to what history holds after their commit failed.
  std::uint64_t retracted() const { return retracted_.load(std::memory_order_relaxed); }

 private:
  void retract(std::span<const std::pair<TagId, Seq>> live_changes, const std::string& error);

  LiveState& live_;
  CommitQueue& queue_;
  DeadbandFilter* deadband_ = nullptr;
  SharedLog* shared_log_ = nullptr;
  // Keeps live sequence order and commit-queue order the same, and makes
  // the capacity check and the submit one step.
  std::mutex mutex_;
  std::atomic<std::uint64_t> ingested_{0};
  std::atomic<std::uint64_t> retracted_{0};
};

}  // namespace tagstream
