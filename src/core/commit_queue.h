#pragma once
// Where accepted samples go to become durable. The ingest path hands every
// sample to one (StoreWriter is the implementation) after the live state has
// taken it, and answers its writer once the queue reports the outcome; the
// interface keeps ingest from depending on how or where samples are stored.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/change.h"

namespace tagstream {

/// What history holds of a tag: its newest committed sample and, per
/// aggregated interval, the bucket holding it.
struct HeldValue {
  Sample latest;
  TierBuckets buckets;
};

class CommitQueue {
 public:
  /// Called, on a thread of the queue's, once the samples are committed and
  /// durable (empty error) or the commit has failed.
  using Done = std::function<void(const std::string& error)>;

  virtual ~CommitQueue() = default;
  /// Whether `n` more samples would be accepted now.
  virtual bool has_room(std::size_t n) const = 0;
  /// Queues samples. Returns false, queuing nothing, when the queue is full.
  virtual bool submit(std::vector<StoredSample> samples, Done done) = 0;
  /// What history holds of `tag` now (nothing when it holds no sample of
  /// it). Thread safe; called after a failed commit, never on the hot path.
  virtual std::optional<HeldValue> held(TagId /*tag*/) const { return std::nullopt; }
};

}  // namespace tagstream
