#include "core/live_state.h"

#include <algorithm>
#include <memory>

namespace tagstream {

LiveState::LiveState(Seq last_seq) : last_seq_(last_seq) {}

void LiveState::set_publisher(Publisher p) {
  std::lock_guard lock(mutex_);
  publisher_ = std::move(p);
}

void LiveState::set_last_seq(Seq seq) {
  std::lock_guard lock(mutex_);
  last_seq_ = seq;
}

Seq LiveState::last_seq() const {
  std::lock_guard lock(mutex_);
  return last_seq_;
}

void LiveState::restore(TagId tag, const Sample& latest, const TierBuckets& buckets) {
  std::lock_guard lock(mutex_);
  if (tag >= tags_.size()) tags_.resize(tag + 1);
  TagLive& live = tags_[tag];
  live.has_sample = true;
  live.latest = latest;
  live.buckets = buckets;
}

std::vector<std::uint64_t> LiveState::update_counts() const {
  std::lock_guard lock(mutex_);
  std::vector<std::uint64_t> out(tags_.size());
  for (std::size_t i = 0; i < tags_.size(); ++i) out[i] = tags_[i].updates;
  return out;
}

std::vector<LiveState::Current> LiveState::current(std::span<const TagId> tags) const {
  std::vector<Current> out(tags.size());
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < tags.size(); ++i) {
    if (tags[i] >= tags_.size() || !tags_[tags[i]].has_sample) continue;
    const TagLive& live = tags_[tags[i]];
    out[i] = Current{true, live.seq, live.latest, live.buckets};
  }
  return out;
}

std::vector<LiveState::Latest> LiveState::latest(std::span<const TagId> tags) const {
  std::vector<Latest> out(tags.size());
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < tags.size(); ++i) {
    if (tags[i] >= tags_.size() || !tags_[tags[i]].has_sample) continue;
    out[i] = Latest{true, tags_[tags[i]].latest};
  }
  return out;
}

std::size_t LiveState::retract(std::span<const std::pair<TagId, Seq>> failed,
                               const std::function<std::optional<HeldValue>(TagId)>& held) {
  const auto still_live = [this](TagId tag, Seq seq) {
    return tag < tags_.size() && tags_[tag].has_sample && tags_[tag].seq == seq;
  };
  std::vector<std::pair<TagId, Seq>> showing;  // failed samples that are still live values
  {
    std::lock_guard lock(mutex_);
    for (const auto& [tag, seq] : failed)
      if (seq != 0 && still_live(tag, seq)) showing.emplace_back(tag, seq);
  }
  if (showing.empty()) return 0;
  // The store is asked without the live lock: ingest goes on meanwhile, and
  // whatever it makes live is newer than the failed sample and stays.
  std::vector<std::optional<HeldValue>> restored;
  restored.reserve(showing.size());
  for (const auto& entry : showing) restored.push_back(held(entry.first));

  auto batch = std::make_shared<ChangeBatch>();
  std::size_t retracted = 0;
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < showing.size(); ++i) {
    const auto [tag, seq] = showing[i];
    if (!still_live(tag, seq)) continue;
    TagLive& live = tags_[tag];
    ++retracted;
    if (!restored[i]) {
      // History holds nothing of this tag: it has no value to show.
      live.has_sample = false;
      live.seq = 0;
      continue;
    }
    live.latest = restored[i]->latest;
    live.buckets = restored[i]->buckets;
    live.seq = ++last_seq_;
    batch->changes.push_back(Change{live.seq, tag, live.latest, live.buckets});
  }
  if (!batch->changes.empty() && publisher_) publisher_(std::move(batch));
  return retracted;
}

template <class NextSeq, class Skip>
ApplyResult LiveState::apply_locked(std::span<const TaggedSample> samples, NextSeq next_seq, Skip skip) {
  ApplyResult result;
  auto batch = std::make_shared<ChangeBatch>();
  batch->changes.reserve(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const TaggedSample& ts = samples[i];
    if (ts.tag >= tags_.size()) tags_.resize(ts.tag + 1);
    TagLive& live = tags_[ts.tag];
    if ((live.has_sample && ts.sample.ts < live.latest.ts) || skip(ts)) {
      ++result.late;
      continue;
    }
    live.has_sample = true;
    live.latest = ts.sample;
    const std::size_t fresh = tiers_needing_a_new_bucket(live.buckets, ts.sample.ts);
    for (std::size_t t = 0; t < fresh; ++t)
      live.buckets[t] = aggregate_of(ts.sample, kAggregatedIntervals[t]);
    for (std::size_t t = fresh; t < live.buckets.size(); ++t) live.buckets[t].add(ts.sample);
    live.seq = next_seq(i);
    ++live.updates;
    batch->changes.push_back(Change{live.seq, ts.tag, ts.sample, live.buckets});
    ++result.accepted;
  }
  if (!batch->changes.empty() && publisher_) publisher_(std::move(batch));
  return result;
}

ApplyResult LiveState::apply(std::span<const TaggedSample> samples, std::vector<Seq>* seqs) {
  if (seqs) seqs->assign(samples.size(), 0);
  std::lock_guard lock(mutex_);
  return apply_locked(
      samples,
      [&](std::size_t i) {
        const Seq seq = ++last_seq_;
        if (seqs) (*seqs)[i] = seq;
        return seq;
      },
      [](const TaggedSample&) { return false; });
}

ApplyResult LiveState::apply_sequenced(std::span<const TaggedSample> samples, std::span<const Seq> ids) {
  std::lock_guard lock(mutex_);
  const auto is_repeat = [this](const TaggedSample& ts) {
    const TagLive& live = tags_[ts.tag];
    return live.has_sample && live.latest == ts.sample;
  };
  ApplyResult result = apply_locked(
      samples, [&](std::size_t i) { return ids[i]; }, is_repeat);
  for (Seq id : ids) last_seq_ = std::max(last_seq_, id);
  return result;
}

}  // namespace tagstream
