#include "hub/group.h"

#include "core/time.h"
#include "hub/hub.h"

namespace tagstream {

std::uint64_t coalescing_key(const Change& c, Interval iv) {
  const std::uint64_t tag = std::uint64_t{c.tag} << 32;
  if (iv == Interval::raw) return tag;
  const TimeNs start = c.buckets[aggregated_index(iv)].start;
  return tag | static_cast<std::uint32_t>(floor_div(start, interval_width(iv)));
}

std::string group_key(const StreamSpec& spec, std::chrono::nanoseconds window) {
  std::string key(1, static_cast<char>(spec.interval));
  const std::int64_t w = window.count();
  key.append(reinterpret_cast<const char*>(&w), sizeof w);
  key.append(reinterpret_cast<const char*>(spec.tags.data()), spec.tags.size() * sizeof(TagId));
  return key;
}

}  // namespace tagstream
