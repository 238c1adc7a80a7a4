#include "http/tag_resolution.h"

#include <unordered_set>

namespace tagstream {

ResolvedTags resolve_tags(const TagRegistry& registry, const std::vector<std::string>& names_or_patterns) {
  ResolvedTags out;
  std::unordered_set<TagId> seen;
  for (const std::string& entry : names_or_patterns) {
    std::vector<TagId> ids;
    if (is_tag_pattern(entry)) {
      ids = registry.match(entry);
      if (ids.empty()) {
        out.error = QueryError{"unknown_tag", "no tag matches pattern '" + entry + "'"};
        return out;
      }
    } else if (auto id = registry.find(entry)) {
      ids.push_back(*id);
    } else {
      out.error = QueryError{"unknown_tag", "unknown tag '" + entry + "'"};
      return out;
    }
    for (TagId id : ids)
      if (seen.insert(id).second) out.ids.push_back(id);
  }
  return out;
}

}  // namespace tagstream
