#pragma once
// The two SSE endpoints: /api/sse/stream (tag values from the hub) and
// /api/sse/test (a diagnostic counter).
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <optional>

#include "hub/sse_frame.h"
#include "http/responses.h"
#include "http/server_context.h"
#include "http/stream_query.h"

namespace tagstream {

class SseConnection;

/// Lets the connection's shutdown hook reach the stream it is serving.
struct ActiveStream {
  std::shared_ptr<SseConnection> connection;
};

/// Serves a stream request. Returns a response to send instead (400, 429,
/// 503) when the stream cannot start; nullopt once a stream has run and
/// ended, after which the connection is closed.
boost::asio::awaitable<std::optional<HttpResponse>> serve_tag_stream(boost::beast::tcp_stream& stream,
                                                                     const HttpRequest& req,
                                                                     const ParsedTarget& target,
                                                                     ShardContext& shard, ActiveStream& active);

boost::asio::awaitable<std::optional<HttpResponse>> serve_test_stream(boost::beast::tcp_stream& stream,
                                                                      const HttpRequest& req,
                                                                      const ParsedTarget& target,
                                                                      ShardContext& shard, ActiveStream& active);

/// The final event a stream gets on graceful shutdown: a short retry and an
/// error with code server_shutdown, so clients reconnect (elsewhere) soon.
FramePtr shutdown_frame();

}  // namespace tagstream
