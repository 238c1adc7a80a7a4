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

struct Change {
  Seq seq = 0;
  TagId tag = 0;
  Sample sample;                        // the raw sample
  std::array<Aggregate, 4> buckets;     // its open bucket per aggregated interval, after the sample
};

struct ChangeBatch {
  std::vector<Change> changes;  // ordered by seq, contiguous
  Seq first_seq() const { return changes.front().seq; }
  Seq last_seq() const { return changes.back().seq; }
};

using ChangeBatchPtr = std::shared_ptr<const ChangeBatch>;

}  // namespace tagstream
