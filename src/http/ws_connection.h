#pragma once
// GET /api/ws: a WebSocket connection carrying any number of subscriptions
// (up to kWsMaxSubscriptions) to the hub, changed without reconnecting, and
// operator writes. The protocol is in http/ws_protocol.h; this file's unit
// owns Beast's WebSocket templates, instantiated here and nowhere else in
// the server.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <optional>

#include "http/access.h"
#include "http/responses.h"
#include "http/server_context.h"
#include "http/stream_query.h"

namespace tagstream {

/// Serves an upgrade request. Returns the response to send instead when the
/// connection cannot become a WebSocket (426 not an upgrade, 403 a foreign
/// Origin, 429/503 stream limits); otherwise takes the socket from `stream`
/// for a connection of its own and returns nullopt: the HTTP session is over.
std::optional<HttpResponse> serve_websocket(boost::beast::tcp_stream& stream, const HttpRequest& req,
                                            const ParsedTarget& target, ShardContext& shard,
                                            const Access& access);

}  // namespace tagstream
