#pragma once
// One TCP connection: reads HTTP/1.1 requests (keep-alive, bounded headers
// and body, timeouts) and answers them; an SSE request turns the connection
// into a stream until it ends.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "http/server_context.h"

namespace tagstream {

boost::asio::awaitable<void> run_http_session(boost::asio::ip::tcp::socket socket, ShardContext& shard);

}  // namespace tagstream
