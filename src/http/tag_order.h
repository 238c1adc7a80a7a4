#pragma once
// The registry's names in natural order (core/natural_order.h), kept for
// the tag list and the tag tree: sorting 100,000 names costs tens of
// milliseconds, so it is done once and then extended by the tags created
// since (ids are dense and never reused, so "since" is an id range).
// Thread safe; called from the reader pool.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/tag_registry.h"

namespace tagstream {

class TagOrder {
 public:
  struct Snapshot {
    std::vector<TagId> ids;          // natural order of their names
    std::vector<std::string> names;  // names[i] is the name of ids[i]
    std::size_t tag_count = 0;       // tags 0..tag_count-1 are in it
  };
  /// The order of every tag the registry holds now. Immutable: callers keep
  /// it while they read.
  std::shared_ptr<const Snapshot> get(const TagRegistry& registry);

 private:
  std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_ = std::make_shared<Snapshot>();
};

}  // namespace tagstream
