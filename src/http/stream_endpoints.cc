#include "http/stream_endpoints.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json.hpp>

#include "core/log.h"
#include "core/time.h"
#include "http/json_text.h"
#include "http/sse_connection.h"
#include "http/tag_resolution.h"

namespace tagstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kStreamHeaders =
    "HTTP/1.1 200 OK\r\n"
    "Server: tagstream\r\n"
    "Content-Type: text/event-stream; charset=utf-8\r\n"
    "Cache-Control: no-cache\r\n"
    "X-Accel-Buffering: no\r\n"
    "Connection: close\r\n"
    "\r\n";

std::string client_address(beast::tcp_stream& stream) {
  boost::system::error_code ec;
  auto ep = stream.socket().remote_endpoint(ec);
  return ec ? std::string("unknown") : ep.address().to_string();
}

std::string client_endpoint(beast::tcp_stream& stream) {
  boost::system::error_code ec;
  auto ep = stream.socket().remote_endpoint(ec);
  if (ec) return "unknown";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

/// The id to resume after: the Last-Event-ID header (what a browser's
/// EventSource sends on its own) wins over the lastEventId parameter.
std::optional<HttpResponse> resume_point(const HttpRequest& req, std::optional<Seq> from_query,
                                         std::optional<Seq>& out) {
  out = from_query;
  auto it = req.find("Last-Event-ID");
  if (it == req.end()) return std::nullopt;
  const std::string_view v = it->value();
  if (v.empty()) return std::nullopt;
  const auto id = parse_unsigned(v);
  if (!id)
    return error_response(http::status::bad_request, "bad_last_event_id",
                          "Last-Event-ID must be an event id this server sent (an unsigned integer)",
                          req.version(), req.keep_alive());
  out = *id;
  return std::nullopt;
}

std::optional<HttpResponse> admit(ShardContext& shard, const HttpRequest& req, const std::string& client,
                                  StreamLimiter::Ticket& ticket) {
  if (shard.server.shutting_down.load())
    return error_response(http::status::service_unavailable, "shutting_down", "the server is shutting down",
                          req.version(), false);
  switch (shard.server.limiter.acquire(client, ticket)) {
    case StreamLimiter::Verdict::ok: return std::nullopt;
    case StreamLimiter::Verdict::too_many_total: {
      auto res = error_response(http::status::service_unavailable, "too_many_streams",
                                "the server holds its maximum number of streams; retry later", req.version(),
                                req.keep_alive());
      res.set(http::field::retry_after, "5");
      return res;
    }
    case StreamLimiter::Verdict::too_many_for_client: {
      auto res = error_response(http::status::too_many_requests, "too_many_streams_for_client",
                                "this address holds its maximum number of streams (" +
                                    std::to_string(shard.server.config.max_streams_per_client) +
                                    "); close some or share one stream for several tags",
                                req.version(), req.keep_alive());
      res.set(http::field::retry_after, "5");
      return res;
    }
  }
  return std::nullopt;
}

asio::awaitable<bool> write_stream_headers(beast::tcp_stream& stream, const ServerConfig& config) {
  stream.expires_after(seconds_to_duration(config.slow_client_timeout));
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(kStreamHeaders.data(), kStreamHeaders.size()),
                                            asio::as_tuple(asio::use_awaitable));
  co_return !ec;
}

std::string_view reason_name(SseConnection::EndReason r) {
  switch (r) {
    case SseConnection::EndReason::client_closed: return "client_closed";
    case SseConnection::EndReason::write_failed: return "write_failed";
    case SseConnection::EndReason::slow_client: return "slow_client";
    case SseConnection::EndReason::shutdown: return "shutdown";
  }
  return "unknown";
}

std::string join_tag_names(const std::vector<std::string>& names, std::size_t limit = 10) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < limit; ++i) {
    if (i) out += ',';
    out += names[i];
  }
  if (names.size() > limit) out += ",...(" + std::to_string(names.size()) + " tags)";
  return out;
}

void log_stream_end(std::string_view kind, std::string_view id, std::string_view client, std::string_view tags,
                    Interval interval, Clock::time_point started, const SseConnection& conn,
                    SseConnection::EndReason reason) {
  const double secs = std::chrono::duration<double>(Clock::now() - started).count();
  log(LogLevel::info,
      "SSE stream closed id={} kind={} client={} tags={} interval={} duration={:.3f}s events={} bytes={} reason={}",
      id, kind, client, tags, to_string(interval), secs, conn.events_sent(), conn.bytes_sent(),
      reason_name(reason));
}

}  // namespace

FramePtr shutdown_frame() {
  static const FramePtr frame = make_sse_frame(
      "error", R"({"code":"server_shutdown","message":"the server is shutting down; reconnect","reconnect":true})",
      std::nullopt, 500);
  return frame;
}

asio::awaitable<std::optional<HttpResponse>> serve_tag_stream(beast::tcp_stream& stream, const HttpRequest& req,
                                                              const ParsedTarget& target, ShardContext& shard,
                                                              ActiveStream& active) {
  ServerContext& server = shard.server;
  const ServerConfig& config = server.config;
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();

  // This coroutine's frame lives as long as the stream: what is needed only
  // to set it up is kept in inner scopes, so an open stream does not hold
  // the parsed query, the tag names or the `connected` JSON.
  StreamSpec spec;
  {
    StreamQueryResult parsed = parse_stream_query(target);
    if (!parsed.query)
      co_return error_response(http::status::bad_request, parsed.error.code, parsed.error.message, version,
                               keep_alive);
    spec.interval = parsed.query->interval;
    ResolvedTags resolved = resolve_tags(server.registry, parsed.query->tags);
    if (resolved.error)
      co_return error_response(http::status::bad_request, resolved.error->code, resolved.error->message, version,
                               keep_alive);
    spec.tags = std::move(resolved.ids);
    if (auto bad = resume_point(req, parsed.query->last_event_id, spec.resume_after)) co_return std::move(*bad);
  }

  StreamLimiter::Ticket ticket;
  if (auto refused = admit(shard, req, client_address(stream), ticket)) co_return std::move(*refused);

  if (!co_await write_stream_headers(stream, config)) co_return std::nullopt;

  const std::string stream_id = std::to_string(shard.index) + "-" + std::to_string(++shard.next_stream);
  auto conn = std::make_shared<SseConnection>(stream, server, config.client_buffer_bytes,
                                              seconds_to_duration(config.slow_client_timeout));
  std::string tag_list;
  {
    std::vector<std::string> names;
    json::array tags_json;
    for (TagId id : spec.tags) {
      auto info = server.registry.info(id);
      if (!info) continue;
      names.push_back(info->name);
      tags_json.push_back(json::object{{"name", info->name},
                                       {"unit", info->unit},
                                       {"description", info->description},
                                       {"type", to_string(info->type)}});
    }
    json::object hello{{"streamId", stream_id},
                       {"interval", to_string(spec.interval)},
                       {"tags", std::move(tags_json)},
                       {"heartbeatInterval", config.heartbeat_interval},
                       {"dataCheckInterval", config.data_check_interval},
                       {"retry", config.retry_ms},
                       {"maxReconnectAttempts", config.max_reconnect_attempts},
                       {"resumed", spec.resume_after.has_value()},
                       {"serverTime", format_iso8601(now_ns())}};
    if (spec.resume_after) hello["lastEventId"] = *spec.resume_after;
    conn->force(make_sse_frame("connected", json_text(hello), std::nullopt, config.retry_ms));
    tag_list = join_tag_names(names);
  }
  Member* member = shard.hub.subscribe(conn.get(), spec);
  conn->set_on_drained([&shard, member] { shard.hub.on_drained(member); });
  active.connection = conn;

  const std::string peer = client_endpoint(stream);
  server.stats.streams_opened.fetch_add(1, std::memory_order_relaxed);
  log(LogLevel::info, "SSE stream opened id={} client={} tags={} interval={} resume={}", stream_id, peer,
      tag_list, to_string(spec.interval),
      spec.resume_after ? std::to_string(*spec.resume_after) : std::string("none"));
  const auto started = Clock::now();

  const auto reason = co_await conn->run();

  shard.hub.unsubscribe(member);
  active.connection.reset();
  server.stats.streams_closed.fetch_add(1, std::memory_order_relaxed);
  if (reason == SseConnection::EndReason::slow_client)
    server.stats.slow_streams_dropped.fetch_add(1, std::memory_order_relaxed);
  log_stream_end("tags", stream_id, peer, tag_list, spec.interval, started, *conn, reason);
  co_return std::nullopt;
}

namespace {

/// Queues one diagnostic event a second while its connection lives.
class TestTicker : public std::enable_shared_from_this<TestTicker> {
 public:
  TestTicker(asio::any_io_executor ex, std::weak_ptr<SseConnection> conn, std::uint64_t counter)
      : timer_(ex), conn_(std::move(conn)), counter_(counter) {}

  void start() { tick(std::chrono::milliseconds(0)); }
  void stop() { timer_.cancel(); }

 private:
  void tick(std::chrono::milliseconds delay) {
    timer_.expires_after(delay);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      auto conn = self->conn_.lock();
      if (!conn) return;
      ++self->counter_;
      // Two data lines on purpose: curl shows them plainly and clients'
      // multi-line reassembly gets exercised.
      std::string data = "counter " + std::to_string(self->counter_) + "\ntime " + format_iso8601(now_ns());
      conn->offer(make_sse_frame("test", data, self->counter_));
      self->tick(std::chrono::seconds(1));
    });
  }

  asio::steady_timer timer_;
  std::weak_ptr<SseConnection> conn_;
  std::uint64_t counter_;
};

}  // namespace

asio::awaitable<std::optional<HttpResponse>> serve_test_stream(beast::tcp_stream& stream, const HttpRequest& req,
                                                               const ParsedTarget& target, ShardContext& shard,
                                                               ActiveStream& active) {
  ServerContext& server = shard.server;
  std::optional<Seq> resume;
  std::optional<Seq> from_query;
  if (auto v = target.get("lastEventId")) from_query = parse_unsigned(*v);
  if (auto bad = resume_point(req, from_query, resume)) co_return std::move(*bad);

  const std::string client = client_address(stream);
  StreamLimiter::Ticket ticket;
  if (auto refused = admit(shard, req, client, ticket)) co_return std::move(*refused);
  if (!co_await write_stream_headers(stream, server.config)) co_return std::nullopt;

  const std::string stream_id = std::to_string(shard.index) + "-" + std::to_string(++shard.next_stream);
  auto conn = std::make_shared<SseConnection>(stream, server, server.config.client_buffer_bytes,
                                              seconds_to_duration(server.config.slow_client_timeout));
  json::object hello{{"streamId", stream_id},
                     {"diagnostic", true},
                     {"retry", server.config.retry_ms},
                     {"serverTime", format_iso8601(now_ns())}};
  conn->force(make_sse_frame("connected", json_text(hello), std::nullopt, server.config.retry_ms));
  active.connection = conn;
  auto ticker = std::make_shared<TestTicker>(stream.get_executor(), conn, resume.value_or(0));
  ticker->start();

  const std::string peer = client_endpoint(stream);
  server.stats.streams_opened.fetch_add(1, std::memory_order_relaxed);
  log(LogLevel::info, "SSE stream opened id={} client={} diagnostic", stream_id, peer);
  const auto started = Clock::now();
  const auto reason = co_await conn->run();
  ticker->stop();
  active.connection.reset();
  server.stats.streams_closed.fetch_add(1, std::memory_order_relaxed);
  log_stream_end("test", stream_id, peer, "-", Interval::raw, started, *conn, reason);
  co_return std::nullopt;
}

}  // namespace tagstream
