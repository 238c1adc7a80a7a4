#include "core/aggregate.h"

#include <algorithm>

namespace tagstream {

void Aggregate::add(const Sample& s) {
  if (count == 0) {
    sum = min = max = first = last = s.value;
    first_ts = last_ts = s.ts;
    count = 1;
    quality = s.quality;
    return;
  }
  sum += s.value;
  min = std::min(min, s.value);
  max = std::max(max, s.value);
  if (s.ts < first_ts) {
    first = s.value;
    first_ts = s.ts;
  }
  if (s.ts >= last_ts) {
    last = s.value;
    last_ts = s.ts;
  }
  ++count;
  quality = combine(quality, s.quality);
}

void Aggregate::merge(const Aggregate& o) {
  if (o.count == 0) return;
  if (count == 0) {
    const TimeNs keep = start;
    *this = o;
    start = keep;
    return;
  }
  sum += o.sum;
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  if (o.first_ts < first_ts) {
    first = o.first;
    first_ts = o.first_ts;
  }
  if (o.last_ts >= last_ts) {
    last = o.last;
    last_ts = o.last_ts;
  }
  count += o.count;
  quality = combine(quality, o.quality);
}

std::size_t tiers_needing_a_new_bucket(const TierBuckets& current, TimeNs ts) {
  // Looked up once: interval_width() is a switch, and this is the ingest path.
  static const std::array<std::uint64_t, 4> widths = [] {
    std::array<std::uint64_t, 4> w{};
    for (std::size_t i = 0; i < w.size(); ++i)
      w[i] = static_cast<std::uint64_t>(interval_width(kAggregatedIntervals[i]));
    return w;
  }();
  std::size_t tiers = 0;
  while (tiers < current.size()) {
    const Aggregate& a = current[tiers];
    // Unsigned: ts - start cannot overflow once ts >= start.
    if (a.count > 0 && ts >= a.start &&
        static_cast<std::uint64_t>(ts) - static_cast<std::uint64_t>(a.start) < widths[tiers])
      break;
    ++tiers;
  }
  return tiers;
}

Aggregate aggregate_of(const Sample& s, Interval interval) {
  Aggregate a;
  a.start = bucket_start(s.ts, interval);
  a.add(s);
  return a;
}

}  // namespace tagstream
