#include "http/tag_order.h"

#include <algorithm>
#include <numeric>

#include "core/natural_order.h"

namespace tagstream {

std::shared_ptr<const TagOrder::Snapshot> TagOrder::get(const TagRegistry& registry) {
  std::lock_guard lock(mutex_);
  const std::size_t count = registry.size();
  if (count <= current_->tag_count) return current_;
  const Snapshot& old = *current_;
  // The new tags, sorted among themselves, then merged into the old order.
  std::vector<std::pair<std::string, TagId>> fresh;
  fresh.reserve(count - old.tag_count);
  for (std::size_t id = old.tag_count; id < count; ++id)
    fresh.emplace_back(registry.name(static_cast<TagId>(id)), static_cast<TagId>(id));
  std::sort(fresh.begin(), fresh.end(),
            [](const auto& a, const auto& b) { return natural_less(a.first, b.first); });
  auto next = std::make_shared<Snapshot>();
  next->tag_count = count;
  next->ids.reserve(count);
  next->names.reserve(count);
  std::size_t i = 0, j = 0;
  while (i < old.ids.size() || j < fresh.size()) {
    const bool take_old =
        j == fresh.size() || (i < old.ids.size() && natural_less(old.names[i], fresh[j].first));
    if (take_old) {
      next->ids.push_back(old.ids[i]);
      next->names.push_back(old.names[i]);
      ++i;
    } else {
      next->ids.push_back(fresh[j].second);
      next->names.push_back(std::move(fresh[j].first));
      ++j;
    }
  }
  current_ = std::move(next);
  return current_;
}

}  // namespace tagstream
