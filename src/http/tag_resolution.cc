#include "http/tag_resolution.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <unordered_set>

#include "http/server_context.h"

namespace tagstream {

namespace {
QueryError too_many(std::size_t max_tags, std::string_view what) {
  return QueryError{"too_many_tags", std::string(what) + " more than " + std::to_string(max_tags) +
                                         " tags (--max-tags-per-query): narrow the patterns (area1.boiler* "
                                         "rather than *boiler*) or split the query"};
}
}  // namespace

ResolvedTags resolve_tags(const TagRegistry& registry, const std::vector<std::string>& names_or_patterns,
                          std::size_t max_tags) {
  ResolvedTags out;
  std::unordered_set<TagId> seen;
  for (const std::string& entry : names_or_patterns) {
    std::vector<TagId> ids;
    if (is_tag_pattern(entry)) {
      ids = registry.match(entry, max_tags);
      if (ids.empty()) {
        out.error = QueryError{"unknown_tag", "no tag matches pattern '" + entry + "'"};
        return out;
      }
      if (ids.size() > max_tags) {
        out.error = too_many(max_tags, "pattern '" + entry + "' matches");
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
    if (out.ids.size() > max_tags) {
      out.ids.clear();
      out.error = too_many(max_tags, "the tags and patterns of this request name");
      return out;
    }
  }
  return out;
}

boost::asio::awaitable<ResolvedTags> resolve_request_tags(ServerContext& server,
                                                          const std::vector<std::string>& names_or_patterns) {
  const std::size_t max_tags = server.config.max_tags_per_query;
  const bool scans = std::any_of(names_or_patterns.begin(), names_or_patterns.end(),
                                 [](const std::string& entry) { return is_tag_pattern(entry); });
  if (!scans || !server.services.readers)
    co_return resolve_tags(server.registry, names_or_patterns, max_tags);
  co_return co_await boost::asio::co_spawn(
      *server.services.readers,
      [&]() -> boost::asio::awaitable<ResolvedTags> {
        co_return resolve_tags(server.registry, names_or_patterns, max_tags);
      },
      boost::asio::use_awaitable);
}

}  // namespace tagstream
