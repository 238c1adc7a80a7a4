#pragma once
// What the live state hands the hub: one immutable batch per ingest call,
// shared by every hub shard (and kept by them as the replay buffer).
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/aggregate.h"
#include "core/sample.h"

namespace tagstream {

/// Event sequence number: one per accepted live sample, strictly increasing,
/// contiguous. SSE event ids are sequence numbers.
using Seq = std::uint64_t;

/// Where a run's event ids start: the first id handed out is the one after
/// this. Ids continue after the last one the store kept and never fall
/// behind the wall clock in microseconds, so the ids of an earlier run, even
/// its last ones that never reached the disk, are always older than new
/// ones: a client resuming across a restart can tell (see
/// HubOptions::durable_seq). The rule belongs to what an event id means, so
/// it lives here with Seq rather than with whoever opens the store.
inline Seq seq_before_first_event(Seq last_stored, TimeNs now) {
  const Seq clock = now > 0 ? static_cast<Seq>(now / 1000) : 0;
  return last_stored > clock ? last_stored : clock;
}

struct Change {
  Seq seq = 0;
  TagId tag = 0;
  Sample sample;        // the raw sample
  TierBuckets buckets;  // its open bucket per aggregated interval, after the sample
};

/// A sample on its way to the store, with the event id it was streamed under.
struct StoredSample {
  TagId tag = 0;
  Sample sample;
  Seq seq = 0;  // the live event id it was given; 0 for late (history-only) samples
};

struct ChangeBatch {
  std::vector<Change> changes;  // ordered by seq, contiguous
  Seq first_seq() const { return changes.front().seq; }
  Seq last_seq() const { return changes.back().seq; }
};

using ChangeBatchPtr = std::shared_ptr<const ChangeBatch>;

}  // namespace tagstream
