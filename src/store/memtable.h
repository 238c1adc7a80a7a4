#pragma once
// What the SQLite store has committed (in its journal) but not yet folded
// into its blocks: per tag, the unflushed raw points and rollup buckets, the
// newest bucket of each tier and the newest sample. Readers merge it over
// what they read from the blocks ("the overlay"); the store's writer thread
// is its only mutator. Thread safe: mutators take an exclusive lock,
// readers a shared one.
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <shared_mutex>
#include <span>
#include <vector>

#include "core/aggregate.h"
#include "core/interval.h"
#include "store/block_codec.h"
#include "store/store.h"

namespace tagstream {

inline constexpr TimeNs kNoTime = std::numeric_limits<TimeNs>::min();

class MemTable {
 public:
  struct TagState {
    TimeNs max_ts = kNoTime;          // newest sample timestamp ever written
    TimeNs flushed_max_ts = kNoTime;  // newest timestamp the blocks may hold
    std::optional<RawPoint> latest;   // the sample at max_ts, while known
    std::vector<RawPoint> raw;        // unflushed, sorted by ts, unique ts
    // Per tier: the newest bucket (count 0: none yet) and whether it
    // changed since the last flush; older unflushed buckets sorted by start.
    // A second that holds just one sample, itself in `raw`, has no entry
    // in buckets[0]: that sample is its bucket (see seconds_between).
    TierBuckets open{};
    std::array<bool, kTierCount> open_dirty{};
    std::array<std::vector<Aggregate>, kTierCount> buckets;
  };

  /// Forgets everything (before a restore).
  void clear();
  /// Start-up: what the blocks hold for a tag.
  void init_tag(TagId tag, std::optional<RawPoint> latest, const TierBuckets& newest);

  /// Applies the samples that need nothing from the blocks: those newer
  /// than everything their tag has seen (the common case), and late ones
  /// newer than anything flushed that replace no sample and whose buckets
  /// are all here (several writers racing). Returns the others, each
  /// tag's in arrival order, for the caller to merge with what is stored.
  std::vector<StoredSample> apply_in_order(std::span<const StoredSample> samples);

  /// Puts a late raw point: replaces the one at the same timestamp.
  void put_raw(TagId tag, const RawPoint& p);
  /// Puts the complete, recomputed state of a bucket of tier `tier`.
  void put_bucket(std::size_t tier, TagId tag, const Aggregate& a);

  /// Copies of the first `limit` unflushed items of one tag with key in
  /// [from, to].
  std::vector<RawPoint> raw_between(TagId tag, TimeNs from, TimeNs to, std::size_t limit = SIZE_MAX) const;
  std::vector<Aggregate> buckets_between(std::size_t tier, TagId tag, TimeNs from, TimeNs to,
                                         std::size_t limit = SIZE_MAX) const;
  /// A tag's newest committed sample and the buckets holding it.
  std::optional<HeldValue> newest(TagId tag) const;
  /// Unflushed raw points of every tag with seq in (after, upto].
  std::vector<StoredSample> changes_between(Seq after, Seq upto) const;

  /// Drops the samples an unflushed point has replaced (same tag and ts).
  void drop_replaced(std::vector<StoredSample>& stored) const;

  std::size_t unflushed_samples() const { return unflushed_samples_; }
  /// Whether anything changed since the last flush.
  bool dirty() const { return dirty_; }

  // The writer thread's view, used while flushing: no lock is needed to read
  // what only this thread mutates.
  std::size_t tag_count() const { return tags_.size(); }
  const TagState* state(TagId tag) const { return tag < tags_.size() ? &tags_[tag] : nullptr; }
  /// Unflushed buckets of a tier, sorted by start (the open one last).
  std::vector<Aggregate> dirty_buckets(std::size_t tier, TagId tag) const;
  /// What tags [from, to) had unflushed was written to the blocks: forget it.
  void mark_flushed(TagId from, TagId to);
  static bool is_dirty(const TagState& t);

 private:
  TagState& at(TagId tag);
  void add_in_order(TagState& t, const StoredSample& s);
  bool add_late(TagState& t, const StoredSample& s);
  /// The unflushed second buckets of a tag with start in [from, to]: the
  /// ones kept, the open one, and those standing for a lone raw sample.
  static std::vector<Aggregate> seconds_between(const TagState& t, TimeNs from, TimeNs to, std::size_t limit);

  mutable std::shared_mutex mutex_;
  std::vector<TagState> tags_;
  std::size_t unflushed_samples_ = 0;
  bool dirty_ = false;
};

}  // namespace tagstream
