#pragma once
// The latest sample of every tag and its open bucket per interval.
// Thread safe: apply() is serialized by a mutex; the publisher callback runs
// under it, so every subscriber sees batches in sequence order.
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "core/change.h"
#include "core/commit_queue.h"

namespace tagstream {

struct ApplyResult {
  std::size_t accepted = 0;  // became live changes
  std::size_t late = 0;      // older than the tag's latest sample: history only
};

class LiveState {
 public:
  using Publisher = std::function<void(ChangeBatchPtr)>;

  /// Numbering continues after `last_seq`.
  explicit LiveState(Seq last_seq = 0);

  /// Must be set before the first apply(); called with each non-empty batch.
  void set_publisher(Publisher p);

  /// Applies samples in order. A sample older than its tag's latest one is
  /// late: it is not a live change (it belongs to history). When `seqs` is
  /// given it receives each sample's sequence number, 0 for late ones.
  ApplyResult apply(std::span<const TaggedSample> samples, std::vector<Seq>* seqs = nullptr);

  /// Applies samples whose event ids were handed out elsewhere (the
  /// cluster's shared log): sample i has id ids[i]. A sample older than
  /// its tag's latest one is late (its id is skipped: ids may have gaps), and
  /// so is one equal to it (the same point read again, e.g. after this node
  /// streamed it itself while the log was down). Numbering continues after
  /// the highest id seen. Batches must come in id order.
  ApplyResult apply_sequenced(std::span<const TaggedSample> samples, std::span<const Seq> ids);

  /// A commit failed: history will not hold these samples (tag, seq). A
  /// tag whose live value is still one of them gets back what history
  /// holds (`held`, asked outside the lock), published as a new change;
  /// a tag that has moved on to a newer sample keeps it. Returns how many
  /// tags were put back.
  std::size_t retract(std::span<const std::pair<TagId, Seq>> failed,
                      const std::function<std::optional<HeldValue>(TagId)>& held);

  /// Start-up only, before any apply(): the state a store kept.
  void restore(TagId tag, const Sample& latest, const TierBuckets& buckets);

  struct Current {
    bool present = false;  // the tag has a sample
    Seq seq = 0;           // of its latest change; 0 when restored and unchanged since
    Sample latest;
    TierBuckets buckets;
  };
  /// The latest sample of each tag, without its buckets: what a tag list
  /// or a tree shows, for many tags at a time. `present` is false for a
  /// tag without a sample.
  struct Latest {
    bool present = false;
    Sample sample;
  };
  std::vector<Latest> latest(std::span<const TagId> tags) const;

  /// Live changes applied so far, per tag id (for update rates).
  std::vector<std::uint64_t> update_counts() const;

  /// The current state of each tag (for polling), copied under the lock.
  std::vector<Current> current(std::span<const TagId> tags) const;

  Seq last_seq() const;
  /// Start-up only: numbering continues after `seq`.
  void set_last_seq(Seq seq);

 private:
  struct TagLive {
    bool has_sample = false;
    Seq seq = 0;  // of the latest change; restored tags keep 0 until they change
    std::uint64_t updates = 0;
    Sample latest;
    TierBuckets buckets;
  };
  /// The one pass both applies share: `next_seq(i)` gives sample i's id,
  /// `skip` tells a sample to leave out besides late ones.
  template <class NextSeq, class Skip>
  ApplyResult apply_locked(std::span<const TaggedSample> samples, NextSeq next_seq, Skip skip);

  mutable std::mutex mutex_;
  Seq last_seq_;
  std::vector<TagLive> tags_;
  Publisher publisher_;
};

}  // namespace tagstream
