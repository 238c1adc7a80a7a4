#include "http/http_session.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json.hpp>
#include <span>

#include "core/json_text.h"
#include "core/log.h"
#include "core/time.h"
#include "http/compression.h"
#include "http/data_endpoints.h"
#include "http/ingest_endpoints.h"
#include "http/responses.h"
#include "http/static_files.h"
#include "http/stats.h"
#include "http/stream_endpoints.h"
#include "http/stream_query.h"

namespace tagstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

/// Registers the connection with its shard for the shutdown sequence.
class Connection : public Closable {
 public:
  Connection(ShardContext& shard, beast::tcp_stream& stream) : shard_(shard), stream_(stream) {
    shard_.connections.insert(this);
    shard_.server.stats.open_connections.fetch_add(1);
  }
  ~Connection() override {
    shard_.connections.erase(this);
    shard_.server.stats.open_connections.fetch_sub(1);
  }

  void shutdown(bool force) override {
    closing_ = true;
    // Idle between requests, or forced: close now. A request in progress
    // finishes and is answered with Connection: close.
    if (idle_ || force) {
      boost::system::error_code ec;
      stream_.socket().close(ec);
    }
  }

  bool closing() const { return closing_; }
  void set_idle(bool idle) { idle_ = idle; }

 private:
  ShardContext& shard_;
  beast::tcp_stream& stream_;
  bool idle_ = false;
  bool closing_ = false;
};

enum class Route {
  none,
  stream,
  test_stream,
  healthz,
  write,
  samples,
  latest,
  history,
  tags,
  stats,
  metrics,
  web
};

Route route_of(const std::string& path) {
  if (path == "/api/sse/stream") return Route::stream;
  if (path == "/api/sse/test") return Route::test_stream;
  if (path == "/healthz") return Route::healthz;
  if (path == "/write" || path == "/api/v2/write") return Route::write;
  if (path == "/api/samples") return Route::samples;
  if (path == "/api/data/latest") return Route::latest;
  if (path == "/api/data/history") return Route::history;
  if (path == "/api/tags" || path.starts_with("/api/tags/")) return Route::tags;
  if (path == "/api/stats") return Route::stats;
  if (path == "/metrics") return Route::metrics;
  if (!path.starts_with("/api/")) return Route::web;
  return Route::none;
}

/// The methods each route takes: the one place that says it, for dispatch
/// and for the Allow header of a 405.
std::span<const http::verb> methods_of(Route r) {
  static constexpr http::verb get[] = {http::verb::get};
  static constexpr http::verb post[] = {http::verb::post};
  static constexpr http::verb get_head_put[] = {http::verb::get, http::verb::head, http::verb::put};
  static constexpr http::verb get_head[] = {http::verb::get, http::verb::head};
  switch (r) {
    case Route::stream:
    case Route::test_stream:
    case Route::history: return get;
    case Route::write:
    case Route::samples: return post;
    case Route::tags: return get_head_put;
    default: return get_head;
  }
}

bool method_allowed(Route r, http::verb m) {
  const auto methods = methods_of(r);
  return std::ranges::find(methods, m) != methods.end();
}

std::string allowed_methods(Route r) {
  std::string allow;
  for (http::verb m : methods_of(r)) {
    if (!allow.empty()) allow += ", ";
    allow += http::to_string(m);
  }
  return allow;
}

/// The dashboard's files: gzip when the client takes it, ETag and 304,
/// content-hashed assets cached for a year, index.html revalidated.
HttpResponse handle_static(const HttpRequest& req, const std::string& path, ShardContext& shard) {
  const StaticFiles* web = shard.server.services.web;
  const StaticFile* file = web ? web->find(path) : nullptr;
  if (!file) {
    if (path == "/" || path == "/index.html") {
      HttpResponse res{http::status::service_unavailable, req.version()};
      res.set(http::field::content_type, "text/html; charset=utf-8");
      res.body() =
          "<!doctype html><title>tagstream</title><h1>The dashboard is not built</h1>"
          "<p>Run <code>make build</code> (or start with <code>--web-root DIR</code>). The API works without "
          "it: "
          "see <a href=\"/api/tags\">/api/tags</a>.</p>";
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      return res;
    }
    return error_response(http::status::not_found, "not_found", "no such file or endpoint: " + path,
                          req.version(), req.keep_alive());
  }
  HttpResponse res{http::status::ok, req.version()};
  res.set(http::field::server, "tagstream");
  res.set(http::field::etag, file->etag);
  res.set(http::field::cache_control, file->immutable ? "public, max-age=31536000, immutable" : "no-cache");
  res.set(http::field::vary, "Accept-Encoding");
  res.keep_alive(req.keep_alive());
  if (matches_if_none_match(req, file->etag)) {
    res.result(http::status::not_modified);
    return res;
  }
  res.set(http::field::content_type, file->content_type);
  if (accepts_gzip(req) && !file->gzip_body.empty()) {
    res.set(http::field::content_encoding, "gzip");
    res.body() = file->gzip_body;
  } else {
    res.body() = file->body;
  }
  res.prepare_payload();
  return res;
}

HttpResponse handle_healthz(const HttpRequest& req, ShardContext& shard) {
  const auto& stats = shard.server.stats;
  boost::json::object body{
      {"status", shard.server.shutting_down.load() ? "shutting_down" : "ok"},
      {"uptimeSeconds",
       std::chrono::duration<double>(std::chrono::steady_clock::now() - shard.server.started).count()},
      {"streams", shard.server.limiter.open()},
      {"tags", shard.server.registry.size()},
      {"eventsSent", stats.events_sent()},
  };
  return json_response(
      shard.server.shutting_down.load() ? http::status::service_unavailable : http::status::ok,
      json_text(body), req.version(), req.keep_alive());
}

}  // namespace

asio::awaitable<void> run_http_session(asio::ip::tcp::socket socket, ShardContext& shard) {
  ServerContext& server = shard.server;
  const HttpOptions& config = server.config;
  beast::tcp_stream stream(std::move(socket));
  Connection connection(shard, stream);
  server.stats.connections.fetch_add(1, std::memory_order_relaxed);
  beast::flat_buffer buffer(config.max_header_bytes + 1024);
  bool first = true;

  while (!connection.closing()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
    parser.body_limit(config.max_body_bytes);

    // A new connection must send its headers promptly; a kept-alive one may
    // sit idle longer before its next request.
    stream.expires_after(seconds_to_duration(first ? config.header_timeout : config.idle_timeout));
    connection.set_idle(!first);
    auto [ec, n] =
        co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    connection.set_idle(false);
    if (!ec && !parser.is_done()) {
      stream.expires_after(seconds_to_duration(std::max(config.idle_timeout, config.header_timeout)));
      std::tie(ec, n) =
          co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    }
    first = false;

    if (ec) {
      std::optional<HttpResponse> reply;
      if (ec == http::error::header_limit)
        reply = error_response(http::status::request_header_fields_too_large, "headers_too_large",
                               "request headers exceed " + std::to_string(config.max_header_bytes) + " bytes",
                               11, false);
      else if (ec == http::error::body_limit)
        reply = error_response(http::status::payload_too_large, "body_too_large",
                               "request body exceeds " + std::to_string(config.max_body_bytes) + " bytes", 11,
                               false);
      else if (&ec.category() == &http::make_error_code(http::error::bad_target).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message)
        reply = error_response(http::status::bad_request, "bad_request",
                               "malformed HTTP request: " + ec.message(), 11, false);
      if (reply) {
        stream.expires_after(seconds_to_duration(config.header_timeout));
        co_await http::async_write(stream, *reply, asio::as_tuple(asio::use_awaitable));
      }
      break;
    }

    server.stats.requests.fetch_add(1, std::memory_order_relaxed);
    const HttpRequest& req = parser.get();
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive() && !connection.closing();

    std::optional<HttpResponse> reply;
    bool streamed = false;
    ParseTargetResult target = parse_target(std::string_view(req.target().data(), req.target().size()));
    if (!target) {
      reply = error_response(http::status::bad_request, target.error.code, target.error.message, version,
                             keep_alive);
    } else {
      const std::string& path = target->path;
      const Route route = route_of(path);
      const http::verb method = req.method();
      if (route == Route::none) {
        reply = error_response(http::status::not_found, "not_found", "no such endpoint: " + path, version,
                               keep_alive);
      } else if (!method_allowed(route, method)) {
        reply = error_response(http::status::method_not_allowed, "method_not_allowed",
                               std::string(http::to_string(method)) + " is not supported on " + path +
                                   " (allowed: " + allowed_methods(route) + ")",
                               version, keep_alive);
        reply->set(http::field::allow, allowed_methods(route));
      } else {
        switch (route) {
          case Route::stream: reply = co_await serve_tag_stream(stream, req, *target, shard); break;
          case Route::test_stream: reply = serve_test_stream(stream, req, *target, shard); break;
          case Route::healthz: reply = handle_healthz(req, shard); break;
          case Route::write: reply = co_await handle_line_protocol_write(req, *target, shard); break;
          case Route::samples: reply = co_await handle_json_samples(req, *target, shard); break;
          case Route::latest: reply = co_await handle_latest(req, *target, shard); break;
          case Route::tags: reply = handle_tags(req, *target, shard); break;
          case Route::stats: {
            reply = json_response(http::status::ok, server.services.stats->json(), version, keep_alive);
            break;
          }
          case Route::metrics: {
            reply = json_response(http::status::ok, server.services.stats->prometheus(), version, keep_alive);
            reply->set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
            break;
          }
          case Route::web: reply = handle_static(req, target->path, shard); break;
          case Route::history:
            reply = co_await handle_history(stream, req, *target, shard);
            if (!reply) {  // streamed its own answer
              streamed = true;
            }
            break;
          case Route::none: break;
        }
        // A stream that started took the socket with it; a streamed history
        // answer leaves the connection open for the next request.
        if (!reply && !streamed) break;
      }
    }
    if (streamed) {
      if (!keep_alive) break;
      continue;
    }

    reply->keep_alive(keep_alive && reply->keep_alive());
    if (req.method() == http::verb::head) {
      reply->prepare_payload();
      reply->body().clear();
    }
    stream.expires_after(seconds_to_duration(config.idle_timeout));
    const bool again = reply->keep_alive();
    auto [wec, wn] = co_await http::async_write(stream, *reply, asio::as_tuple(asio::use_awaitable));
    if (wec || !again) break;
  }

  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream.close();
}

}  // namespace tagstream
