#include "store/memtable.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <mutex>

namespace tagstream {

namespace {

template <class Item>
std::vector<Item> between(const std::vector<Item>& items, TimeNs from, TimeNs to, std::size_t limit) {
  const auto lo = std::lower_bound(items.begin(), items.end(), from,
                                   [](const Item& i, TimeNs t) { return key_of(i) < t; });
  auto hi = std::upper_bound(lo, items.end(), to, [](TimeNs t, const Item& i) { return t < key_of(i); });
  if (static_cast<std::size_t>(hi - lo) > limit) hi = lo + static_cast<std::ptrdiff_t>(limit);
  return std::vector<Item>(lo, hi);
}

}  // namespace

MemTable::TagState& MemTable::at(TagId tag) {
  if (tag >= tags_.size()) tags_.resize(static_cast<std::size_t>(tag) + 1);
  return tags_[tag];
}

void MemTable::clear() {
  std::unique_lock lock(mutex_);
  tags_.clear();
  unflushed_samples_ = 0;
  dirty_ = false;
}

void MemTable::init_tag(TagId tag, std::optional<RawPoint> latest, const TierBuckets& newest) {
  std::unique_lock lock(mutex_);
  TagState& t = at(tag);
  t.latest = latest;
  t.max_ts = latest ? latest->ts : kNoTime;
  t.open = newest;
  // With raw history expired, the newest bucket still bounds what was seen.
  for (const Aggregate& a : newest)
    if (a.count > 0) t.max_ts = std::max(t.max_ts, a.last_ts);
  t.flushed_max_ts = t.max_ts;
}

void MemTable::add_in_order(TagState& t, const StoredSample& s) {
  const RawPoint p{s.sample.ts, s.sample.value, s.sample.quality, s.seq};
  const std::size_t fresh = tiers_needing_a_new_bucket(t.open, p.ts);
  for (std::size_t i = 0; i < fresh; ++i) {
    // A second that got only the previous sample keeps no bucket: that
    // sample, in raw, stands for it. At one sample per tag per second
    // (the usual plant rate) this halves what the overlay writes.
    const bool lone =
        i == 0 && t.open[0].count == 1 && !t.raw.empty() && t.raw.back().ts == t.open[0].first_ts;
    if (t.open_dirty[i] && !lone) t.buckets[i].push_back(t.open[i]);
    t.open[i] = aggregate_of(s.sample, kAggregatedIntervals[i]);
    t.open_dirty[i] = true;
  }
  for (std::size_t i = fresh; i < kTierCount; ++i) {
    t.open[i].add(s.sample);
    t.open_dirty[i] = true;
  }
  t.raw.push_back(p);
  t.latest = p;
  t.max_ts = p.ts;
  ++unflushed_samples_;
}

bool MemTable::add_late(TagState& t, const StoredSample& s) {
  const TimeNs ts = s.sample.ts;
  if (ts <= t.flushed_max_ts) return false;  // the blocks may hold its timestamp or part of its buckets
  const auto raw_at =
      std::lower_bound(t.raw.begin(), t.raw.end(), ts, [](const RawPoint& r, TimeNs v) { return r.ts < v; });
  if (raw_at != t.raw.end() && raw_at->ts == ts) return false;  // replaces a sample: its buckets are rebuilt
  // Each tier's bucket is either here, or newer than anything flushed (so
  // empty until now), or partly in the blocks (then the caller reads them).
  // A second may be here as the one raw sample standing for it.
  std::array<Aggregate*, kTierCount> found{};
  std::array<std::vector<Aggregate>::iterator, kTierCount> insert_at{};
  std::optional<RawPoint> lone;
  for (std::size_t i = 0; i < kTierCount; ++i) {
    const TimeNs start = bucket_start(ts, kAggregatedIntervals[i]);
    if (t.open[i].count > 0 && t.open[i].start == start) {
      found[i] = &t.open[i];
      continue;
    }
    auto& v = t.buckets[i];
    auto it =
        std::lower_bound(v.begin(), v.end(), start, [](const Aggregate& b, TimeNs x) { return b.start < x; });
    insert_at[i] = it;
    if (it != v.end() && it->start == start) {
      found[i] = &*it;
      continue;
    }
    if (i == 0) {
      // Compared as a sum: the difference of two times at the far ends of the
      // sample range does not fit TimeNs.
      if (raw_at != t.raw.end() && raw_at->ts < start + interval_width(Interval::second))
        lone = *raw_at;
      else if (raw_at != t.raw.begin() && std::prev(raw_at)->ts >= start)
        lone = *std::prev(raw_at);
      if (lone) continue;
    }
    if (start <= t.flushed_max_ts) return false;
  }
  t.raw.insert(raw_at, RawPoint{ts, s.sample.value, s.sample.quality, s.seq});
  ++unflushed_samples_;
  for (std::size_t i = 0; i < kTierCount; ++i) {
    if (found[i] == &t.open[i]) t.open_dirty[i] = true;
    if (found[i]) {
      found[i]->add(s.sample);
    } else if (i == 0) {
      // Two samples in a second that had one: it needs its bucket now.
      // (A second with none gets this one standing for it.)
      if (!lone) continue;
      Aggregate a = aggregate_of(lone->sample(), Interval::second);
      a.add(s.sample);
      t.buckets[0].insert(insert_at[0], a);
    } else {
      t.buckets[i].insert(insert_at[i], aggregate_of(s.sample, kAggregatedIntervals[i]));
    }
  }
  return true;
}

std::vector<Aggregate> MemTable::seconds_between(const TagState& t, TimeNs from, TimeNs to,
                                                 std::size_t limit) {
  std::vector<Aggregate> kept = between(t.buckets[0], from, to, SIZE_MAX);
  if (t.open_dirty[0] && t.open[0].start >= from && t.open[0].start <= to) kept.push_back(t.open[0]);
  std::vector<Aggregate> out;
  auto next_kept = kept.begin();
  auto r = std::lower_bound(t.raw.begin(), t.raw.end(), from,
                            [](const RawPoint& p, TimeNs v) { return p.ts < v; });
  for (; r != t.raw.end() && out.size() < limit; ++r) {
    const TimeNs start = bucket_start(r->ts, Interval::second);
    if (start < from) continue;
    if (start > to) break;
    while (next_kept != kept.end() && next_kept->start < start && out.size() < limit)
      out.push_back(*next_kept++);
    if (next_kept != kept.end() && next_kept->start == start) continue;  // the sample is in that bucket
    if (out.size() == limit) break;
    if (!out.empty() && out.back().start == start)
      out.back().add(r->sample());  // not expected: a second with two samples keeps its bucket
    else
      out.push_back(aggregate_of(r->sample(), Interval::second));
  }
  while (next_kept != kept.end() && out.size() < limit) out.push_back(*next_kept++);
  return out;
}

std::vector<StoredSample> MemTable::apply_in_order(std::span<const StoredSample> samples) {
  std::vector<StoredSample> late;
  if (samples.empty()) return late;
  // Visit the samples tag by tag, each tag's in arrival order (a counting
  // sort): a batch interleaves a thousand tags, and taking them in turn
  // keeps one tag's state in cache instead of missing it on every sample.
  TagId max_tag = 0;
  for (const StoredSample& s : samples) max_tag = std::max(max_tag, s.tag);
  std::vector<std::uint32_t> starts(static_cast<std::size_t>(max_tag) + 2, 0);
  for (const StoredSample& s : samples) ++starts[s.tag + 1];
  for (std::size_t i = 1; i < starts.size(); ++i) starts[i] += starts[i - 1];
  std::vector<std::uint32_t> order(samples.size());
  for (std::uint32_t i = 0; i < samples.size(); ++i) order[starts[samples[i].tag]++] = i;

  std::unique_lock lock(mutex_);
  dirty_ = true;
  at(max_tag);
  for (std::uint32_t i : order) {
    const StoredSample& s = samples[i];
    TagState& t = tags_[s.tag];
    if (s.sample.ts > t.max_ts)
      add_in_order(t, s);
    else if (!add_late(t, s))
      late.push_back(s);
  }
  return late;
}

void MemTable::put_raw(TagId tag, const RawPoint& p) {
  std::unique_lock lock(mutex_);
  TagState& t = at(tag);
  dirty_ = true;
  auto it = std::lower_bound(t.raw.begin(), t.raw.end(), p.ts,
                             [](const RawPoint& r, TimeNs ts) { return r.ts < ts; });
  if (it != t.raw.end() && it->ts == p.ts) {
    *it = p;
  } else {
    t.raw.insert(it, p);
    ++unflushed_samples_;
  }
  if (p.ts >= t.max_ts) {
    t.max_ts = p.ts;
    t.latest = p;
  }
}

void MemTable::put_bucket(std::size_t tier, TagId tag, const Aggregate& a) {
  std::unique_lock lock(mutex_);
  TagState& t = at(tag);
  dirty_ = true;
  Aggregate& open = t.open[tier];
  if (open.count == 0 || a.start >= open.start) {
    if (open.count > 0 && a.start > open.start && t.open_dirty[tier]) t.buckets[tier].push_back(open);
    open = a;
    t.open_dirty[tier] = true;
    return;
  }
  auto& v = t.buckets[tier];
  auto it =
      std::lower_bound(v.begin(), v.end(), a.start, [](const Aggregate& b, TimeNs s) { return b.start < s; });
  if (it != v.end() && it->start == a.start)
    *it = a;
  else
    v.insert(it, a);
}

std::vector<RawPoint> MemTable::raw_between(TagId tag, TimeNs from, TimeNs to, std::size_t limit) const {
  std::shared_lock lock(mutex_);
  if (tag >= tags_.size()) return {};
  return between(tags_[tag].raw, from, to, limit);
}

std::vector<Aggregate> MemTable::buckets_between(std::size_t tier, TagId tag, TimeNs from, TimeNs to,
                                                 std::size_t limit) const {
  std::shared_lock lock(mutex_);
  if (tag >= tags_.size()) return {};
  const TagState& t = tags_[tag];
  if (tier == 0) return seconds_between(t, from, to, limit);
  std::vector<Aggregate> out = between(t.buckets[tier], from, to, limit);
  const Aggregate& open = t.open[tier];
  if (out.size() < limit && t.open_dirty[tier] && open.start >= from && open.start <= to) out.push_back(open);
  return out;
}

std::optional<HeldValue> MemTable::newest(TagId tag) const {
  std::shared_lock lock(mutex_);
  if (tag >= tags_.size() || !tags_[tag].latest) return std::nullopt;
  const TagState& t = tags_[tag];
  HeldValue held{t.latest->sample(), {}};
  for (std::size_t i = 0; i < kTierCount; ++i) {
    const Aggregate& open = t.open[i];
    const bool holds_latest =
        open.count > 0 && open.start == bucket_start(held.latest.ts, kAggregatedIntervals[i]);
    held.buckets[i] = holds_latest ? open : aggregate_of(held.latest, kAggregatedIntervals[i]);
  }
  return held;
}

std::vector<StoredSample> MemTable::changes_between(Seq after, Seq upto) const {
  std::vector<StoredSample> out;
  std::shared_lock lock(mutex_);
  for (TagId tag = 0; tag < tags_.size(); ++tag)
    for (const RawPoint& p : tags_[tag].raw)
      if (p.seq > after && p.seq <= upto) out.push_back(StoredSample{tag, p.sample(), p.seq});
  return out;
}

std::vector<Aggregate> MemTable::dirty_buckets(std::size_t tier, TagId tag) const {
  const TagState& t = tags_[tag];
  if (tier == 0)
    return seconds_between(t, std::numeric_limits<TimeNs>::min(), std::numeric_limits<TimeNs>::max(),
                           SIZE_MAX);
  std::vector<Aggregate> out = t.buckets[tier];
  if (t.open_dirty[tier]) out.push_back(t.open[tier]);
  return out;
}

void MemTable::mark_flushed(TagId from, TagId to) {
  std::unique_lock lock(mutex_);
  to = std::min<TagId>(to, static_cast<TagId>(tags_.size()));
  for (TagId tag = from; tag < to; ++tag) {
    TagState& t = tags_[tag];
    t.flushed_max_ts = t.max_ts;
    unflushed_samples_ -= t.raw.size();
    t.raw.clear();
    for (std::size_t i = 0; i < kTierCount; ++i) {
      t.buckets[i].clear();
      t.open_dirty[i] = false;
    }
  }
  dirty_ = std::any_of(tags_.begin(), tags_.end(), [](const TagState& t) { return is_dirty(t); });
}

bool MemTable::is_dirty(const TagState& t) {
  if (!t.raw.empty()) return true;
  for (std::size_t i = 0; i < kTierCount; ++i)
    if (t.open_dirty[i] || !t.buckets[i].empty()) return true;
  return false;
}

void MemTable::drop_replaced(std::vector<StoredSample>& stored) const {
  std::shared_lock lock(mutex_);
  std::erase_if(stored, [&](const StoredSample& s) {
    if (s.tag >= tags_.size()) return false;
    const auto& raw = tags_[s.tag].raw;
    const auto it = std::lower_bound(raw.begin(), raw.end(), s.sample.ts,
                                     [](const RawPoint& r, TimeNs ts) { return r.ts < ts; });
    return it != raw.end() && it->ts == s.sample.ts && it->seq != s.seq;
  });
}

}  // namespace tagstream
