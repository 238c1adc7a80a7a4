#pragma once
// Turns the tag names and glob patterns of a request into tag ids.
#include <optional>
#include <string>
#include <vector>

#include "core/tag_registry.h"
#include "http/stream_query.h"

namespace tagstream {

struct ResolvedTags {
  std::vector<TagId> ids;           // in request order, patterns expanded by name, no repeats
  std::optional<QueryError> error;  // unknown_tag: a name that does not exist or a pattern matching none
};

[[nodiscard]] ResolvedTags resolve_tags(const TagRegistry& registry,
                                        const std::vector<std::string>& names_or_patterns);

}  // namespace tagstream
