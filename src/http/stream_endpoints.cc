#include "http/stream_endpoints.h"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json.hpp>

#include "auth/authenticator.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/time.h"
#include "http/client_address.h"
#include "http/compression.h"
#include "http/cross_site.h"
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
    "Vary: Accept-Encoding\r\n"
    "Connection: close\r\n"
    "\r\n";
constexpr std::string_view kGzipStreamHeaders =
    "HTTP/1.1 200 OK\r\n"
    "Server: tagstream\r\n"
    "Content-Type: text/event-stream; charset=utf-8\r\n"
    "Content-Encoding: gzip\r\n"
    "Cache-Control: no-cache, no-transform\r\n"
    "X-Accel-Buffering: no\r\n"
    "Vary: Accept-Encoding\r\n"
    "Connection: close\r\n"
    "\r\n";

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

}  // namespace

std::optional<std::chrono::nanoseconds> display_window(const StreamQuery& query, const HttpOptions& config) {
  if (!query.rate_ms) return std::nullopt;
  return std::max<std::chrono::nanoseconds>(std::chrono::milliseconds(*query.rate_ms),
                                            seconds_to_duration(config.data_check_interval));
}

json::object connected_settings(std::string_view stream_id, const StreamSpec& spec,
                                const HttpOptions& config) {
  json::object hello{
      {"streamId", stream_id},
      {"interval", to_string(spec.interval)},
      {"heartbeatInterval", config.heartbeat_interval},
      {"dataCheckInterval", config.data_check_interval},
      {"rate", spec.window ? std::chrono::duration_cast<std::chrono::milliseconds>(*spec.window).count()
                           : static_cast<std::int64_t>(config.data_check_interval * 1000)},
      {"retry", config.retry_ms},
      {"maxReconnectAttempts", config.max_reconnect_attempts},
      {"resumed", spec.resume_after.has_value()},
      {"serverTime", format_iso8601(now_ns())}};
  if (spec.resume_after) hello["lastEventId"] = *spec.resume_after;
  return hello;
}

std::optional<HttpResponse> admit_stream(ShardContext& shard, const HttpRequest& req,
                                         const std::string& client, StreamLimiter::Ticket& ticket) {
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

namespace {

bool compress(const HttpRequest& req, const HttpOptions& config) {
  return config.sse_gzip && accepts_gzip(req);
}

/// The response head of a stream; a page of an allow-listed origin may read it.
std::string stream_head(const HttpRequest& req, const HttpOptions& config) {
  std::string head(compress(req, config) ? kGzipStreamHeaders : kStreamHeaders);
  head.insert(head.size() - 2, cors_header_lines(req, config));
  return head;
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

std::string tag_names(const TagRegistry& registry, const std::vector<TagId>& ids, std::size_t limit = 10) {
  std::string out;
  for (std::size_t i = 0; i < ids.size() && i < limit; ++i) {
    if (i) out += ',';
    out += registry.name(ids[i]);
  }
  if (ids.size() > limit) out += ",...(" + std::to_string(ids.size()) + " tags)";
  return out;
}

std::string endpoint_text(const asio::ip::tcp::endpoint& ep) {
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

/// What every stream records: its id (shard-number), when it began, the
/// admission ticket it holds; and the log line and counters when it ends.
class CountedStream : public SseConnection {
 public:
  CountedStream(asio::ip::tcp::socket socket, ShardContext& shard, StreamLimiter::Ticket ticket,
                std::string_view head, bool gzip)
      : SseConnection(std::move(socket), shard, head, gzip),
        ticket_(std::move(ticket)),
        number_(++shard.next_stream),
        started_(Clock::now()) {
    shard.server.stats.streams_opened.fetch_add(1, std::memory_order_relaxed);
  }

  std::string id() const { return std::to_string(shard_.index) + "-" + std::to_string(number_); }

  /// The credential the stream was opened with: it must keep holding.
  void set_credential(const Access& access) {
    credential_ = access.credential;
    if (access.principal) expires_ = access.principal->expires;
    key_generation_ = shard_.server.services.auth->generation();
  }

  /// An expired or revoked credential ends the stream with an error event
  /// saying so; the client signs in again rather than reconnecting.
  void recheck_access(std::uint64_t key_generation, TimeNs now) override {
    if (credential_.empty()) return;
    // Most seconds nothing changed for most streams: check only when the
    // keys did or this credential's time is up.
    if (key_generation == key_generation_ && (!expires_ || now < *expires_)) return;
    key_generation_ = key_generation;
    auto who = shard_.server.services.auth->authenticate(credential_);
    if (who) return;
    credential_.clear();
    const std::string why =
        who.error.code == "token_expired" ? who.error.message : "the token is no longer valid (revoked)";
    close_after_flush(make_sse_frame("error", error_json("token_expired", why)),
                      seconds_to_duration(shard_.server.config.shutdown_grace));
  }

 protected:
  void count_end(std::string_view kind, std::string_view tags, Interval interval, EndReason reason) {
    ServerStats& stats = shard_.server.stats;
    stats.streams_closed.fetch_add(1, std::memory_order_relaxed);
    if (reason == EndReason::slow_client) stats.slow_streams_dropped.fetch_add(1, std::memory_order_relaxed);
    if (!log_enabled(LogLevel::info)) return;
    const double secs = std::chrono::duration<double>(Clock::now() - started_).count();
    log(LogLevel::info,
        "SSE stream closed id={} kind={} client={} tags={} interval={} duration={:.3f}s events={} bytes={} "
        "reason={}",
        id(), kind, endpoint_text(peer()), tags, to_string(interval), secs, events_sent(), bytes_sent(),
        reason_name(reason));
  }

 private:
  StreamLimiter::Ticket ticket_;
  std::string credential_;  // empty: authentication is off
  std::optional<TimeNs> expires_;
  std::uint64_t key_generation_ = 0;
  std::uint64_t number_;
  Clock::time_point started_;
};

/// A stream of tag values fed by the shard's hub. Its `connected` event
/// lists every tag, which for a wide pattern is megabytes: it is written a
/// piece at a time, the next piece only once the socket took the last, so a
/// client that does not read holds one piece, not the whole event. The hub
/// feeds the stream only once that event is complete.
class TagStream final : public CountedStream {
 public:
  using CountedStream::CountedStream;

  /// `hello` is the connected event's object without its tag list.
  void greet_then_subscribe(const json::object& hello, StreamSpec spec) {
    spec_ = std::move(spec);
    interval_ = spec_.interval;
    std::string text = json_text(hello);
    text.pop_back();  // the closing brace: the tag list goes last
    text += ",\"tags\":[";
    hello_piece_.reserve(piece_bytes());
    // What append_sse_event writes ahead of a one-line payload.
    hello_piece_ += "retry: " + std::to_string(shard_.server.config.retry_ms) + "\nevent: connected\ndata: ";
    hello_piece_ += text;
    queue_hello_piece();
  }

  void shutdown(bool force) override {
    // Half a connected event followed by the shutdown event would read as
    // one malformed event: end such a stream at once.
    CountedStream::shutdown(force || greeting());
  }

 private:
  bool greeting() const { return !member_ && !ended_; }

  std::size_t piece_bytes() const {
    return std::clamp<std::size_t>(shard_.server.config.client_buffer_bytes, 1024, 64 * 1024);
  }

  void queue_hello_piece() {
    const TagRegistry& registry = shard_.server.registry;
    const std::size_t budget = piece_bytes();
    for (; next_tag_ < spec_.tags.size() && hello_piece_.size() < budget; ++next_tag_) {
      const auto info = registry.info(spec_.tags[next_tag_]);
      if (!info) continue;
      if (!first_tag_) hello_piece_ += ',';
      first_tag_ = false;
      hello_piece_ += "{\"name\":";
      append_json_string(hello_piece_, info->name);
      hello_piece_ += ",\"unit\":";
      append_json_string(hello_piece_, info->unit);
      hello_piece_ += ",\"description\":";
      append_json_string(hello_piece_, info->description);
      hello_piece_ += ",\"type\":\"";
      hello_piece_ += to_string(info->type);
      hello_piece_ += "\"}";
    }
    const bool last = next_tag_ == spec_.tags.size();
    if (last) hello_piece_ += "]}\n\n";
    force(std::make_shared<const std::string>(std::move(hello_piece_)));
    hello_piece_ = std::string();
    if (last) {
      member_ = shard_.hub.subscribe(this, spec_);
      spec_.tags = std::vector<TagId>();
    }
  }

  void on_drained() override {
    if (member_)
      shard_.hub.on_drained(member_);
    else if (!ended_)
      queue_hello_piece();
  }

  void on_end(EndReason reason) override {
    ended_ = true;
    std::string tags;
    if (member_) {
      if (log_enabled(LogLevel::info)) tags = tag_names(shard_.server.registry, shard_.hub.tags_of(member_));
      shard_.hub.unsubscribe(member_);
      member_ = nullptr;
    } else if (log_enabled(LogLevel::info)) {
      tags = tag_names(shard_.server.registry, spec_.tags);
    }
    count_end("tags", tags, interval_, reason);
  }

  Member* member_ = nullptr;
  Interval interval_ = Interval::raw;
  StreamSpec spec_;  // until subscribed
  std::size_t next_tag_ = 0;
  bool first_tag_ = true;
  bool ended_ = false;
  std::string hello_piece_;
};

/// /api/sse/test: one diagnostic event a second.
class TestStream final : public CountedStream {
 public:
  TestStream(asio::ip::tcp::socket socket, ShardContext& shard, StreamLimiter::Ticket ticket,
             std::string_view head, bool gzip, std::uint64_t counter)
      : CountedStream(std::move(socket), shard, std::move(ticket), head, gzip),
        timer_(shard.hub.io()),
        counter_(counter) {}

  void tick(std::chrono::milliseconds delay) {
    timer_.expires_after(delay);
    timer_.async_wait([weak = weak_from_this(), this](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      ++counter_;
      // Two data lines on purpose: curl shows them plainly and clients'
      // multi-line reassembly gets exercised.
      std::string data = "counter " + std::to_string(counter_) + "\ntime " + format_iso8601(now_ns());
      offer(make_sse_frame("test", data, counter_));
      tick(std::chrono::seconds(1));
    });
  }

 private:
  void on_end(EndReason reason) override {
    timer_.cancel();
    count_end("test", "-", Interval::raw, reason);
  }

  asio::steady_timer timer_;
  std::uint64_t counter_;
};

}  // namespace

asio::awaitable<std::optional<HttpResponse>> serve_tag_stream(beast::tcp_stream& stream,
                                                              const HttpRequest& req,
                                                              const ParsedTarget& target, ShardContext& shard,
                                                              const Access& access) {
  ServerContext& server = shard.server;
  const HttpOptions& config = server.config;
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();

  StreamSpec spec;
  {
    StreamQueryResult parsed = parse_stream_query(target);
    if (!parsed)
      co_return error_response(http::status::bad_request, parsed.error.code, parsed.error.message, version,
                               keep_alive);
    spec.interval = parsed->interval;
    spec.window = display_window(*parsed, config);
    ReadableTags resolved = co_await resolve_readable_tags(server, access, req, parsed->tags);
    if (!resolved) co_return std::move(resolved.error);
    spec.tags = std::move(*resolved);
    if (auto bad = resume_point(req, parsed->last_event_id, spec.resume_after)) co_return std::move(*bad);
  }

  StreamLimiter::Ticket ticket;
  if (auto refused = admit_stream(shard, req, client_key(stream, req, server.config), ticket))
    co_return std::move(*refused);

  auto conn = std::make_shared<TagStream>(stream.release_socket(), shard, std::move(ticket),
                                          stream_head(req, config), compress(req, config));
  conn->set_credential(access);
  json::object hello = connected_settings(conn->id(), spec, config);
  if (log_enabled(LogLevel::info))
    log(LogLevel::info, "SSE stream opened id={} client={} tags={} interval={} resume={}", conn->id(),
        endpoint_text(conn->peer()), tag_names(server.registry, spec.tags), to_string(spec.interval),
        spec.resume_after ? std::to_string(*spec.resume_after) : std::string("none"));
  conn->greet_then_subscribe(hello, std::move(spec));
  conn->start();
  co_return std::nullopt;
}

std::optional<HttpResponse> serve_test_stream(beast::tcp_stream& stream, const HttpRequest& req,
                                              const ParsedTarget& target, ShardContext& shard,
                                              const Access& access) {
  ServerContext& server = shard.server;
  std::optional<Seq> resume;
  std::optional<Seq> from_query;
  if (auto bad = parse_last_event_id(target, from_query))
    return error_response(http::status::bad_request, bad->code, bad->message, req.version(),
                          req.keep_alive());
  if (auto bad = resume_point(req, from_query, resume)) return std::move(*bad);

  StreamLimiter::Ticket ticket;
  if (auto refused = admit_stream(shard, req, client_key(stream, req, server.config), ticket))
    return std::move(*refused);

  auto conn = std::make_shared<TestStream>(stream.release_socket(), shard, std::move(ticket),
                                           stream_head(req, server.config), compress(req, server.config),
                                           resume.value_or(0));
  conn->set_credential(access);
  json::object hello{{"streamId", conn->id()},
                     {"diagnostic", true},
                     {"retry", server.config.retry_ms},
                     {"serverTime", format_iso8601(now_ns())}};
  conn->force(make_sse_frame("connected", json_text(hello), std::nullopt, server.config.retry_ms));
  if (log_enabled(LogLevel::info))
    log(LogLevel::info, "SSE stream opened id={} client={} diagnostic", conn->id(),
        endpoint_text(conn->peer()));
  conn->start();
  conn->tick(std::chrono::milliseconds(0));
  return std::nullopt;
}

}  // namespace tagstream
