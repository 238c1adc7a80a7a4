#pragma once
// The two SSE endpoints: /api/sse/stream (tag values from the hub) and
// /api/sse/test (a diagnostic counter).
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string_view>

#include "http/access.h"
#include "http/responses.h"
#include "http/server_context.h"
#include "http/stream_query.h"
#include "hub/hub.h"

namespace tagstream {

/// Admits a stream (an SSE stream or a WebSocket connection) under the
/// stream limits: fills `ticket`, or returns the 503 (shutting down, the
/// server's cap) or 429 (the client's cap) to answer instead.
/// The coalescing window a stream's `rate` asks for, never shorter than the
/// server's (which bounds the work every stream may cause); unset without one.
std::optional<std::chrono::nanoseconds> display_window(const StreamQuery& query, const HttpOptions& config);

/// The settings of a `connected` event, the same over SSE and WebSocket:
/// stream id, interval, heartbeat, coalescing, rate, retry, resume.
boost::json::object connected_settings(std::string_view stream_id, const StreamSpec& spec,
                                       const HttpOptions& config);

std::optional<HttpResponse> admit_stream(ShardContext& shard, const HttpRequest& req,
                                         const std::string& client, StreamLimiter::Ticket& ticket);

/// Serves a stream request. Returns a response to send instead (400, 429,
/// 503) when the stream cannot start; otherwise takes the socket from
/// `stream` for an SseConnection of its own and returns nullopt: the HTTP
/// session is over.
boost::asio::awaitable<std::optional<HttpResponse>> serve_tag_stream(boost::beast::tcp_stream& stream,
                                                                     const HttpRequest& req,
                                                                     const ParsedTarget& target,
                                                                     ShardContext& shard,
                                                                     const Access& access);

std::optional<HttpResponse> serve_test_stream(boost::beast::tcp_stream& stream, const HttpRequest& req,
                                              const ParsedTarget& target, ShardContext& shard,
                                              const Access& access);

}  // namespace tagstream
