#pragma once
// Browsing a plant of 100,000 tags: the tag list (search, paging, natural
// order), the tag tree (dotted names as a hierarchy, with counts and the
// worst quality per branch) and the dashboard's saved layouts. The work
// that scales with the number of tags or touches the disk runs on the
// reader pool: a network thread only formats the answer's head.
#include <boost/asio/awaitable.hpp>
#include <string>

#include "core/live_state.h"
#include "core/tag.h"
#include "http/access.h"
#include "http/responses.h"
#include "http/server_context.h"
#include "http/stream_query.h"

namespace tagstream {

/// Tags a list page holds at most (`limit`).
inline constexpr std::size_t kMaxTagPage = 100'000;
/// Children a tree level lists at most (`limit`).
inline constexpr std::size_t kMaxTreeChildren = 10'000;

/// A tag as the list and the single-tag endpoints show it.
void append_tag_json(std::string& out, const TagInfo& info, const LiveState::Latest& latest);

/// GET /api/tags?q=&offset=&limit=: tags in natural order of their names,
/// filtered by q (a glob when it has * or ?, else a case-insensitive
/// substring of the name, unit or description), a page of them at a time.
boost::asio::awaitable<HttpResponse> handle_tag_list(const HttpRequest& req, const ParsedTarget& target,
                                                     ShardContext& shard, const Access& access);

/// GET /api/tree?prefix=a.b: the children of a branch of the dotted names.
boost::asio::awaitable<HttpResponse> handle_tag_tree(const HttpRequest& req, const ParsedTarget& target,
                                                     ShardContext& shard, const Access& access);

/// GET /api/layouts, GET/PUT/DELETE /api/layouts/{name}.
boost::asio::awaitable<HttpResponse> handle_layouts(const HttpRequest& req, const ParsedTarget& target,
                                                    ShardContext& shard, const Access& access);

}  // namespace tagstream
