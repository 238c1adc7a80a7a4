#pragma once
// Turns the tag names and glob patterns of a request into tag ids.
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/tag_registry.h"
#include "http/stream_query.h"

namespace tagstream {

struct ServerContext;

struct ResolvedTags {
  std::vector<TagId> ids;           // in request order, patterns expanded by name, no repeats
  std::optional<QueryError> error;  // unknown_tag: a name that does not exist or a pattern matching none;
                                    // too_many_tags: more than max_tags in all
};

[[nodiscard]] ResolvedTags resolve_tags(const TagRegistry& registry,
                                        const std::vector<std::string>& names_or_patterns,
                                        std::size_t max_tags = SIZE_MAX);

/// resolve_tags() with the server's --max-tags-per-query. A request with a
/// pattern is resolved on the reader pool: a pattern such as `*i*` reads
/// every name, and a network thread must not stop serving its other
/// connections for that. Names alone are a hash lookup each, done here.
[[nodiscard]] boost::asio::awaitable<ResolvedTags> resolve_request_tags(
    ServerContext& server, const std::vector<std::string>& names_or_patterns);

}  // namespace tagstream
