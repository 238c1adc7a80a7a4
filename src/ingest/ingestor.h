#pragma once
// The one path every sample takes into tagstream, whatever its source
// (HTTP line protocol or JSON, the simulator, later MQTT and Modbus):
// live state first (subscribers see it at once, without waiting on disk),
// then the store's commit queue. Thread safe.
#include <mutex>
#include <vector>

#include "core/live_state.h"
#include "store/store_writer.h"

namespace tagstream {

class Ingestor {
 public:
  Ingestor(LiveState& live, StoreWriter& writer) : live_(live), writer_(writer) {}

  struct Outcome {
    bool queued = false;  // false: the store's queue is full; nothing was applied
    ApplyResult applied;
  };

  /// `done` runs on the store's writer thread once the samples are committed
  /// (or the commit failed); it is not called when `queued` is false.
  Outcome ingest(std::span<const TaggedSample> samples, StoreWriter::Done done);

 private:
  LiveState& live_;
  StoreWriter& writer_;
  // Keeps live sequence order and commit-queue order the same, and makes
  // the capacity check and the submit one step.
  std::mutex mutex_;
};

}  // namespace tagstream
