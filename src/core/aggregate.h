#pragma once
// Per-bucket aggregate: avg, min, max, first, last, count and a bucket
// quality. Pure value type; not thread safe.
#include <array>
#include <cstdint>

#include "core/interval.h"
#include "core/sample.h"

namespace tagstream {

struct Aggregate {
  TimeNs start = 0;  // bucket start
  double sum = 0;
  double min = 0;
  double max = 0;
  double first = 0;  // value of the earliest sample (by timestamp)
  double last = 0;   // value of the latest sample (by timestamp)
  TimeNs first_ts = 0;
  TimeNs last_ts = 0;
  std::uint64_t count = 0;
  Quality quality = Quality::good;

  bool empty() const { return count == 0; }
  double avg() const { return count ? sum / static_cast<double>(count) : 0.0; }

  /// Adds one sample. Samples may arrive out of order within the bucket:
  /// first/last follow timestamps, not arrival; on equal timestamps the
  /// later arrival wins `last` and the earlier keeps `first`.
  void add(const Sample& s);

  /// Folds another bucket's aggregate into this one (rollups: minutes from
  /// seconds, and so on). `start` is kept.
  void merge(const Aggregate& other);

  friend bool operator==(const Aggregate&, const Aggregate&) = default;
};

/// One bucket per rollup tier, indexed like kAggregatedIntervals.
using TierBuckets = std::array<Aggregate, kTierCount>;

/// An aggregate that holds exactly one sample, in the bucket of `interval`.
Aggregate aggregate_of(const Sample& s, Interval interval);

/// For a sample at `ts`, newer than any before it, and a tag's current
/// bucket of each aggregated interval (finest first): how many of the
/// finest tiers need a new bucket for it; the coarser ones hold it already.
/// Buckets nest (a second lies in one minute, a minute in one hour...), so
/// once `ts` falls in a tier's current bucket it falls in every coarser
/// tier's too: usually one range check and no division.
std::size_t tiers_needing_a_new_bucket(const TierBuckets& current, TimeNs ts);

}  // namespace tagstream
