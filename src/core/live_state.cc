#include "core/live_state.h"

#include <memory>

namespace tagstream {

LiveState::LiveState(Seq last_seq) : last_seq_(last_seq) {}

void LiveState::set_publisher(Publisher p) {
  std::lock_guard lock(mutex_);
  publisher_ = std::move(p);
}

Seq LiveState::last_seq() const {
  std::lock_guard lock(mutex_);
  return last_seq_;
}

ApplyResult LiveState::apply(std::span<const TaggedSample> samples) {
  ApplyResult result;
  auto batch = std::make_shared<ChangeBatch>();
  batch->changes.reserve(samples.size());

  std::lock_guard lock(mutex_);
  for (const TaggedSample& ts : samples) {
    if (ts.tag >= tags_.size()) tags_.resize(ts.tag + 1);
    TagLive& live = tags_[ts.tag];
    if (live.has_sample && ts.sample.ts < live.latest.ts) {
      ++result.late;
      continue;
    }
    live.has_sample = true;
    live.latest = ts.sample;
    for (Interval iv : kAggregatedIntervals) {
      Aggregate& bucket = live.buckets[aggregated_index(iv)];
      const TimeNs start = bucket_start(ts.sample.ts, iv);
      if (bucket.empty() || bucket.start != start) {
        bucket = Aggregate{};
        bucket.start = start;
      }
      bucket.add(ts.sample);
    }
    batch->changes.push_back(Change{++last_seq_, ts.tag, ts.sample, live.buckets});
    ++result.accepted;
  }
  if (!batch->changes.empty() && publisher_) publisher_(std::move(batch));
  return result;
}

}  // namespace tagstream
