#pragma once
// Writing samples over HTTP: InfluxDB line protocol on /write (v1) and
// /api/v2/write (v2), JSON on /api/samples. A request is answered only once
// its samples are committed to the store.
#include <boost/asio/awaitable.hpp>

#include "http/access.h"
#include "http/responses.h"
#include "http/server_context.h"
#include "http/stream_query.h"

namespace tagstream {

boost::asio::awaitable<HttpResponse> handle_line_protocol_write(const HttpRequest& req,
                                                                const ParsedTarget& target,
                                                                ShardContext& shard, Access& access);
boost::asio::awaitable<HttpResponse> handle_json_samples(const HttpRequest& req, const ParsedTarget& target,
                                                         ShardContext& shard, Access& access);

}  // namespace tagstream
