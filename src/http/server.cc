#include "http/server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <stdexcept>

#include "auth/authenticator.h"
#include "core/log.h"
#include "http/audit_log.h"
#include "http/http_session.h"
#include "http/listen_address.h"
#include "http/responses.h"
#include "http/sse_connection.h"
#include "hub/hub.h"

namespace tagstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

/// Why a connection is not served.
struct Refusal {
  http::status status;
  std::string_view code;
  std::string message;
};

// Sent with the spare descriptor's slot when the process is out of them:
// no allocation, no Asio, one non-blocking send.
constexpr std::string_view kOutOfDescriptors =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: application/json\r\n"
    "Retry-After: 5\r\n"
    "Connection: close\r\n"
    "Content-Length: 81\r\n"
    "\r\n"
    "{\"code\":\"too_many_connections\",\"message\":\"the server is out of file descriptors\"}";

int open_spare_descriptor() {
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/// Runs the session while `held` counts its connection against the caps
/// (a stream it becomes is counted by the stream limiter instead).
asio::awaitable<void> serve_counted(tcp::socket socket, ShardContext& shard, ConnectionLimiter::Ticket held) {
  co_await run_http_session(std::move(socket), shard);
}

/// Answers without reading a request, then drains what the client sent
/// until it closes (closing with a request unread would reset the
/// connection, and the reset can destroy the answer before it is read),
/// for one second at most.
asio::awaitable<void> refuse_connection(tcp::socket socket, Refusal refusal) {
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(std::chrono::seconds(1));
  HttpResponse res = error_response(refusal.status, refusal.code, refusal.message, 11, false);
  res.set(http::field::retry_after, "5");
  auto [ec, n] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  char sink[1024];
  while (!ec)
    std::tie(ec, n) =
        co_await stream.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
  stream.close();
}

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log(LogLevel::error, "connection ended by exception: {}", ex.what());
  }
}

tcp::endpoint resolve_listen(const std::string& listen) {
  const auto parts = parse_listen(listen);
  if (!parts) throw std::runtime_error("listen address: " + parts.error);
  const std::string host = parts->host == "localhost" ? "127.0.0.1" : parts->host;
  return {asio::ip::make_address(host), parts->port};
}

std::optional<Refusal> admit_connection(ServerContext& server, const asio::ip::address& peer,
                                        ConnectionLimiter::Ticket& ticket) {
  const HttpOptions& config = server.config;
  // Streams hold descriptors too: they count against the total.
  if (config.max_connections > 0 &&
      server.connection_limiter.open() + server.limiter.open() >= config.max_connections)
    return Refusal{http::status::service_unavailable, "too_many_connections",
                   "the server holds its maximum number of connections (" +
                       std::to_string(config.max_connections) + "); retry later"};
  // A trusted proxy carries many clients' connections; their streams and
  // request rates are still limited per client, by client_key().
  const bool proxy = config.trusted_proxies.contains(peer);
  const std::string client = unmapped(peer).to_string();
  if (server.connection_limiter.acquire(client, ticket, !proxy) != ConnectionLimiter::Verdict::ok)
    return Refusal{http::status::too_many_requests, "too_many_connections_for_client",
                   "this address holds its maximum number of connections (" +
                       std::to_string(config.max_connections_per_client) + "); close idle ones"};
  return std::nullopt;
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

HttpServer::~HttpServer() {
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

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
  // Shedding with the spare descriptor accepts directly: that must never block.
  if (!ec) acceptor_.non_blocking(true, ec);
  if (ec) throw std::runtime_error("cannot listen on " + server_.config.listen + ": " + ec.message());
  spare_fd_ = open_spare_descriptor();
  accept_next();
  if (server_.services.auth && server_.services.auth->enabled()) check_access_every_second();
}

void HttpServer::check_access_every_second() {
  access_timer_.expires_after(std::chrono::seconds(1));
  access_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || server_.shutting_down.load()) return;
    Authenticator& auth = *server_.services.auth;
    const std::uint64_t before = auth.generation();
    const std::string error = auth.reload_if_changed();
    const std::uint64_t generation = auth.generation();
    if (!error.empty())
      log(LogLevel::error, "token file not reloaded, the previous keys stay in force: {}", error);
    if (generation != before) log(LogLevel::info, "token file reloaded: {} keys", auth.key_count());
    // Who may do what changed (or failed to): an administrative event.
    if (server_.services.audit && (!error.empty() || generation != before))
      server_.services.audit->record({{"action", "token_file_reloaded"},
                                      {"token", "-"},
                                      {"outcome", error.empty() ? "ok" : "failed"},
                                      {"keys", auth.key_count()},
                                      {"error", error}});
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
    // Out of descriptors, the process's (EMFILE) or the system's (ENFILE).
    // Compared by value: matching a generic errc goes through a virtual
    // call on Boost's category object that UBSan's vptr check rejects.
    if (ec.category() == asio::error::get_system_category() &&
        (ec.value() == EMFILE || ec.value() == ENFILE)) {
      if (!accept_backoff_logged_)
        log(LogLevel::warn, "accept failed: {}; closing new connections until descriptors are free",
            ec.message());
      accept_backoff_logged_ = true;
      if (shed_one_connection()) {
        accept_next();
        return;
      }
    }
    if (ec) {
      // No spare descriptor left to shed with, or another failure: wait
      // instead of spinning on a failing accept.
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
    const auto peer = socket.remote_endpoint(ec);
    if (ec) {  // gone already
      accept_next();
      return;
    }
    ShardContext& shard = *shards_[index];
    ConnectionLimiter::Ticket ticket;
    if (auto refusal = admit_connection(server_, peer.address(), ticket)) {
      server_.stats.connections_refused.fetch_add(1, std::memory_order_relaxed);
      asio::co_spawn(socket.get_executor(), refuse_connection(std::move(socket), std::move(*refusal)),
                     log_exception);
    } else
      asio::co_spawn(socket.get_executor(), serve_counted(std::move(socket), shard, std::move(ticket)),
                     log_exception);
    accept_next();
  });
}

bool HttpServer::shed_one_connection() {
  if (spare_fd_ < 0) spare_fd_ = open_spare_descriptor();
  if (spare_fd_ < 0) return false;
  ::close(spare_fd_);
  const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd >= 0) {
    [[maybe_unused]] const auto sent =
        ::send(fd, kOutOfDescriptors.data(), kOutOfDescriptors.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::close(fd);
    server_.stats.connections_shed.fetch_add(1, std::memory_order_relaxed);
  }
  spare_fd_ = open_spare_descriptor();
  return spare_fd_ >= 0;
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
