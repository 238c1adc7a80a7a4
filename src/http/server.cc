#include "http/server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <stdexcept>

#include "auth/authenticator.h"
#include "core/log.h"
#include "http/http_session.h"
#include "http/listen_address.h"
#include "http/sse_connection.h"
#include "hub/hub.h"

namespace tagstream {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

tcp::endpoint resolve_listen(const std::string& listen) {
  const auto parts = parse_listen(listen);
  if (!parts) throw std::runtime_error("listen address: " + parts.error);
  const std::string host = parts->host == "localhost" ? "127.0.0.1" : parts->host;
  return {asio::ip::make_address(host), parts->port};
}

}  // namespace

HttpServer::HttpServer(ServerContext& server, const std::vector<asio::io_context*>& contexts, Hub& hub)
    : server_(server),
      contexts_(contexts),
      acceptor_(*contexts.front()),
      drain_timer_(*contexts.front()),
      access_timer_(*contexts.front()) {
  for (std::size_t i = 0; i < contexts.size(); ++i)
    shards_.push_back(std::make_unique<ShardContext>(ShardContext{server, hub.shard(i), i, {}, 0}));
}

HttpServer::~HttpServer() = default;

void HttpServer::run_thread(std::size_t index) {
  asio::io_context& io = *contexts_[index];
  ShardContext& shard = *shards_[index];
  // As Redis writes its replies before it sleeps: run everything that is
  // ready (handlers, and I/O the kernel already reports: poll_one looks
  // without blocking), then write what they queued, then wait. A thread
  // that keeps up writes each change as soon as its handler returns; one
  // that fell behind applies every batch that arrived meanwhile first, and
  // each stream gets them in one send instead of one send each, so the
  // cost per event falls as the load rises instead of the queue growing.
  // The bound keeps a flood of ready handlers from holding writes back.
  constexpr std::size_t kMaxHandlersBeforeWriting = 256;
  while (!io.stopped()) {
    std::size_t ran = 0;
    bool idle = false;
    while (!idle && ran < kMaxHandlersBeforeWriting) {
      if (io.poll_one())
        ++ran;
      else
        idle = true;
    }
    if (!shard.ready.empty()) {
      SseConnection::write_pass(shard);
      continue;
    }
    if (idle && io.run_one() == 0) return;
  }
}

void HttpServer::listen() {
  const tcp::endpoint endpoint = resolve_listen(server_.config.listen);
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + server_.config.listen + ": " + ec.message());
  accept_next();
  if (server_.services.auth && server_.services.auth->enabled()) check_access_every_second();
}

void HttpServer::check_access_every_second() {
  access_timer_.expires_after(std::chrono::seconds(1));
  access_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || server_.shutting_down.load()) return;
    Authenticator& auth = *server_.services.auth;
    const std::uint64_t before = auth.generation();
    if (std::string error = auth.reload_if_changed(); !error.empty())
      log(LogLevel::error, "token file not reloaded, the previous keys stay in force: {}", error);
    const std::uint64_t generation = auth.generation();
    if (generation != before) log(LogLevel::info, "token file reloaded");
    const TimeNs now = auth.now();
    for (auto& shard : shards_) {
      ShardContext* s = shard.get();
      asio::post(*contexts_[s->index], [s, generation, now] {
        std::vector<Closable*> open(s->connections.begin(), s->connections.end());
        for (Closable* c : open) c->recheck_access(generation, now);
      });
    }
    check_access_every_second();
  });
}

tcp::endpoint HttpServer::local_endpoint() const {
  return acceptor_.local_endpoint();
}

void HttpServer::accept_next() {
  const std::size_t index = next_++ % contexts_.size();
  // The socket is created on the target thread's io_context: the connection
  // lives there for good.
  acceptor_.async_accept(*contexts_[index], [this, index](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors (or similar): wait instead of spinning on
      // a failing accept. Streams past the limit are refused with 503 long
      // before this, so it should be rare.
      if (!accept_backoff_logged_) log(LogLevel::warn, "accept failed: {}; backing off", ec.message());
      accept_backoff_logged_ = true;
      drain_timer_.expires_after(std::chrono::milliseconds(100));
      drain_timer_.async_wait([this](boost::system::error_code wec) {
        if (!wec && acceptor_.is_open()) accept_next();
      });
      return;
    }
    accept_backoff_logged_ = false;
    socket.set_option(tcp::no_delay(true), ec);
    ShardContext& shard = *shards_[index];
    asio::co_spawn(socket.get_executor(), run_http_session(std::move(socket), shard),
                   [](std::exception_ptr e) {
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       log(LogLevel::error, "connection ended by exception: {}", ex.what());
                     }
                   });
    accept_next();
  });
}

void HttpServer::shutdown(std::function<void()> done) {
  asio::post(*contexts_.front(), [this, done = std::move(done)]() mutable {
    if (server_.shutting_down.exchange(true)) return;
    boost::system::error_code ec;
    acceptor_.close(ec);
    drain_timer_.cancel();
    access_timer_.cancel();
    log(LogLevel::info, "shutting down: closing {} streams", server_.limiter.open());
    close_connections(false);
    const auto force_at =
        std::chrono::steady_clock::now() +
        std::chrono::nanoseconds(static_cast<std::int64_t>(server_.config.shutdown_grace * 1e9));
    poll_drained(std::move(done), force_at, false);
  });
}

void HttpServer::close_connections(bool force) {
  for (auto& shard : shards_) {
    ShardContext* s = shard.get();
    asio::post(*contexts_[s->index], [s, force] {
      // A copy: a connection may leave the set as it closes.
      std::vector<Closable*> open(s->connections.begin(), s->connections.end());
      for (Closable* c : open) c->shutdown(force);
    });
  }
}

void HttpServer::poll_drained(std::function<void()> done, std::chrono::steady_clock::time_point force_at,
                              bool forced) {
  if (server_.stats.open_connections.load() <= 0) {
    done();
    return;
  }
  if (!forced && std::chrono::steady_clock::now() >= force_at) {
    log(LogLevel::warn, "shutdown grace expired with {} connections open; closing them",
        server_.stats.open_connections.load());
    close_connections(true);
    forced = true;
  }
  drain_timer_.expires_after(std::chrono::milliseconds(20));
  drain_timer_.async_wait(
      [this, done = std::move(done), force_at, forced](boost::system::error_code) mutable {
        poll_drained(std::move(done), force_at, forced);
      });
}

}  // namespace tagstream
