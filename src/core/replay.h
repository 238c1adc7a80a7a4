#pragma once
// Resuming a stream from durable history: what the hub asks for when a
// Last-Event-ID is older than its in-memory ring, and what the store-backed
// source (store/store_replay.h) answers.
#include <cstddef>
#include <vector>

#include "core/aggregate.h"
#include "core/change.h"
#include "core/interval.h"

namespace tagstream {

/// A request for changes older than the hub's in-memory ring holds.
struct ReplayRequest {
  std::vector<TagId> tags;  // sorted
  Interval interval = Interval::raw;
  Seq after = 0;  // exclusive
  Seq upto = 0;   // inclusive
  std::size_t limit = 500;
};
struct ReplayPoint {
  TagId tag = 0;
  Seq seq = 0;
  Sample sample;     // raw
  Aggregate bucket;  // aggregated intervals: the bucket's current state
};
struct ReplayResult {
  bool ok = false;
  Seq reached = 0;  // every change in (after, reached] is in `points`
  std::vector<ReplayPoint> points;
};

}  // namespace tagstream
