#pragma once
// Reading: the latest values (the polling fallback, with ETag), history
// ranges in JSON or CSV, and the tag list.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <optional>

#include "http/access.h"
#include "http/responses.h"
#include "http/server_context.h"
#include "http/stream_query.h"

namespace tagstream {

/// GET /api/data/latest
boost::asio::awaitable<HttpResponse> handle_latest(const HttpRequest& req, const ParsedTarget& target,
                                                   ShardContext& shard, const Access& access);

/// GET /api/tags, GET /api/tags/{name}, PUT /api/tags/{name}
HttpResponse handle_tags(const HttpRequest& req, const ParsedTarget& target, ShardContext& shard,
                         Access& access, const std::string& client);

/// GET /api/data/history. Streams its answer (chunked) when the query is
/// good and returns nullopt; otherwise returns the error to send.
boost::asio::awaitable<std::optional<HttpResponse>> handle_history(boost::beast::tcp_stream& stream,
                                                                   const HttpRequest& req,
                                                                   const ParsedTarget& target,
                                                                   ShardContext& shard, const Access& access);

}  // namespace tagstream
