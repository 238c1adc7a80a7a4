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

#include "auth/authenticator.h"
#include "core/build_info.h"
#include "core/field_devices.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/time.h"
#include "http/access.h"
#include "http/audit_log.h"
#include "http/auth_endpoints.h"
#include "http/client_address.h"
#include "http/compression.h"
#include "http/cross_site.h"
#include "http/data_endpoints.h"
#include "http/ingest_endpoints.h"
#include "http/responses.h"
#include "http/setpoint.h"
#include "http/static_files.h"
#include "http/stats.h"
#include "http/stream_endpoints.h"
#include "http/stream_query.h"
#include "http/tag_browse.h"
#include "http/ws_connection.h"

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
  ws,
  healthz,
  write,
  samples,
  latest,
  history,
  tags,
  setpoint,
  tree,
  layouts,
  stats,
  metrics,
  auth_status,
  auth_login,
  auth_logout,
  web
};

/// The tag of `/api/tags/{name}/value` (a tag name has no '/').
std::optional<std::string> setpoint_tag(std::string_view path) {
  constexpr std::string_view prefix = "/api/tags/", suffix = "/value";
  if (!path.starts_with(prefix) || !path.ends_with(suffix) || path.size() <= prefix.size() + suffix.size())
    return std::nullopt;
  const std::string_view name = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (name.find('/') != std::string_view::npos) return std::nullopt;
  return std::string(name);
}

Route route_of(const std::string& path) {
  if (path == "/api/sse/stream") return Route::stream;
  if (path == "/api/sse/test") return Route::test_stream;
  if (path == "/api/ws") return Route::ws;
  if (path == "/healthz") return Route::healthz;
  if (path == "/write" || path == "/api/v2/write") return Route::write;
  if (path == "/api/samples") return Route::samples;
  if (path == "/api/data/latest") return Route::latest;
  if (path == "/api/data/history") return Route::history;
  if (setpoint_tag(path)) return Route::setpoint;
  if (path == "/api/tags" || path.starts_with("/api/tags/")) return Route::tags;
  if (path == "/api/tree") return Route::tree;
  if (path == "/api/layouts" || path.starts_with("/api/layouts/")) return Route::layouts;
  if (path == "/api/stats") return Route::stats;
  if (path == "/metrics") return Route::metrics;
  if (path == "/api/auth") return Route::auth_status;
  if (path == "/api/auth/login") return Route::auth_login;
  if (path == "/api/auth/logout") return Route::auth_logout;
  if (!path.starts_with("/api/")) return Route::web;
  return Route::none;
}

/// The methods each route takes: the one place that says it, for dispatch
/// and for the Allow header of a 405. Every route also answers OPTIONS
/// (Allow, and CORS preflights), the same way for all of them.
std::span<const http::verb> methods_of(Route r) {
  static constexpr http::verb get[] = {http::verb::get};
  static constexpr http::verb post[] = {http::verb::post};
  static constexpr http::verb get_head_put[] = {http::verb::get, http::verb::head, http::verb::put};
  static constexpr http::verb get_head[] = {http::verb::get, http::verb::head};
  static constexpr http::verb get_head_put_delete[] = {http::verb::get, http::verb::head, http::verb::put,
                                                       http::verb::delete_};
  switch (r) {
    case Route::stream:
    case Route::test_stream:
    case Route::ws:
    case Route::history: return get;
    case Route::write:
    case Route::samples:
    case Route::setpoint:
    case Route::auth_login:
    case Route::auth_logout: return post;
    case Route::tags: return get_head_put;
    case Route::layouts: return get_head_put_delete;
    default: return get_head;
  }
}

bool method_allowed(Route r, http::verb m) {
  const auto methods = methods_of(r);
  return m == http::verb::options || std::ranges::find(methods, m) != methods.end();
}

/// The scope a request needs before it reaches its endpoint; none for what
/// must work signed out (health checks, sign-in, the dashboard's files,
/// which hold no data). Endpoints narrow further by tag.
std::optional<Scope> required_scope(Route r, http::verb m) {
  switch (r) {
    case Route::stream:
    case Route::test_stream:
    case Route::ws:
    case Route::latest:
    case Route::history:
    case Route::stats:
    case Route::tree:
    case Route::metrics: return Scope::read;
    case Route::tags: return m == http::verb::put ? Scope::admin : Scope::read;
    case Route::layouts: return m == http::verb::put || m == http::verb::delete_ ? Scope::admin : Scope::read;
    case Route::write:
    case Route::samples:
    case Route::setpoint: return Scope::write;
    default: return std::nullopt;
  }
}

/// Requests whose every outcome goes to the audit log; others go there
/// only when refused for want of a credential.
std::string_view audited_action(Route r, http::verb m) {
  switch (r) {
    case Route::write:
    case Route::samples: return "write";
    case Route::tags: return m == http::verb::put ? "tag_metadata" : "";
    case Route::layouts: return m == http::verb::put || m == http::verb::delete_ ? "layout" : "";
    case Route::auth_login: return "login";
    case Route::auth_logout: return "logout";
    default: return "";
  }
}

/// Checks the request's credential against what the route needs. Fills
/// `access` and returns nothing when it may go on.
std::optional<HttpResponse> authorize(Route route, const HttpRequest& req, const ParsedTarget& target,
                                      const Authenticator& auth, Access& access) {
  if (!auth.enabled()) return std::nullopt;
  const std::optional<Scope> scope = required_scope(route, req.method());
  if (!scope) return std::nullopt;
  std::string credential = credential_of(req, target);
  auto who = auth.authenticate(credential);
  if (!who) return unauthorized(req, who.error);
  access.principal = std::move(*who);
  access.credential = std::move(credential);
  if (!access.principal->may(*scope))
    return forbidden(req, "this token has no " + std::string(scope_name(*scope)) + " scope");
  return std::nullopt;
}

void audit(AuditLog& log, std::string_view action, const HttpRequest& req, const std::string& path,
           const Access& access, const std::string& client, unsigned status) {
  boost::json::object event{{"action", action},
                            {"token", access.who()},
                            {"client", client},
                            {"method", std::string_view(http::to_string(req.method()))},
                            {"path", path},
                            {"status", status},
                            {"outcome", status < 300                     ? "ok"
                                        : status == 401 || status == 403 ? "denied"
                                                                         : "failed"}};
  if (access.tags_touched) event["tags"] = access.tags_touched;
  if (access.samples_written) event["samples"] = access.samples_written;
  log.record(event);
}

std::string allowed_methods(Route r) {
  std::string allow;
  for (http::verb m : methods_of(r)) {
    allow += http::to_string(m);
    allow += ", ";
  }
  return allow + "OPTIONS";
}

/// The request-rate bucket a request draws from, if any: writes and
/// history queries cost the server work (a commit, a scan of the store);
/// sign-in attempts are how a key would be guessed.
RateLimiter* rate_limit_of(Route r, http::verb m, ServerContext& server) {
  if (r == Route::write || r == Route::samples || r == Route::setpoint || r == Route::auth_login ||
      (r == Route::tags && m == http::verb::put))
    return &server.write_rate;
  if (r == Route::history) return &server.history_rate;
  return nullptr;
}

/// 429 with Retry-After when `client`, or the token the request presents,
/// is over the rate of the route: a token shared by many sources is limited
/// as one, and an address as one whatever tokens it tries.
std::optional<HttpResponse> check_rate(Route r, const HttpRequest& req, const std::string& client,
                                       const Access& access, ServerContext& server) {
  RateLimiter* limiter = rate_limit_of(r, req.method(), server);
  if (!limiter) return std::nullopt;
  RateLimiter::Verdict verdict = limiter->take(client);
  if (verdict.allowed && access.principal) verdict = limiter->take("token:" + access.principal->id);
  if (verdict.allowed) return std::nullopt;
  server.stats.requests_rate_limited.fetch_add(1, std::memory_order_relaxed);
  const bool write = limiter == &server.write_rate;
  const double rate = write ? server.config.write_rate_limit : server.config.history_rate_limit;
  auto res =
      error_response(http::status::too_many_requests, "rate_limited",
                     std::string(write ? "writes" : "history queries") +
                         " from this client or token exceed " + fmt::format("{:g}", rate) +
                         " per second; retry after " + std::to_string(verdict.retry_after.count()) + " s",
                     req.version(), req.keep_alive());
  res.set(http::field::retry_after, std::to_string(verdict.retry_after.count()));
  return res;
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
  const bool stopping = shard.server.shutting_down.load();
  // A connector that lost its broker or device leaves the node serving
  // (200) but degraded: a load balancer keeps it, an operator sees why.
  bool degraded = false;
  if (const FieldDevices* devices = shard.server.services.devices)
    for (const auto& c : devices->status()) degraded = degraded || !c.connected;
  // A cluster node without Redis still serves its own writes and streams.
  if (const SharedLog* log = shard.server.services.cluster) degraded = degraded || !log->status().up;
  std::string body = "{\"status\":";
  append_json_string(body, stopping ? "shutting_down" : degraded ? "degraded" : "ok");
  body += ",\"uptimeSeconds\":";
  append_json_number(
      body, std::chrono::duration<double>(std::chrono::steady_clock::now() - shard.server.started).count());
  body += ",\"streams\":";
  append_json_integer(body, static_cast<std::int64_t>(shard.server.limiter.open()));
  body += ",\"tags\":";
  append_json_integer(body, static_cast<std::int64_t>(shard.server.registry.size()));
  body += ",\"eventsSent\":";
  append_json_integer(body, static_cast<std::int64_t>(stats.events_sent()));
  body += ",\"connectors\":";
  append_connectors_json(body, shard.server.services.devices);
  body += ",\"cluster\":";
  append_cluster_json(body, shard.server.services.cluster);
  body += ",\"version\":";
  append_json_string(body, build_info().version);
  body += ",\"node\":";
  append_json_string(body, shard.server.config.node_id);
  body += "}";
  return json_response(stopping ? http::status::service_unavailable : http::status::ok, std::move(body),
                       req.version(), req.keep_alive());
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
  boost::system::error_code peer_error;
  const asio::ip::address peer = stream.socket().remote_endpoint(peer_error).address();

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
    Access access;
    std::string_view audit_action;
    ParseTargetResult target = parse_target(std::string_view(req.target().data(), req.target().size()));
    const std::string client = client_key(peer, req, config);
    access.client = client;
    if (!target) {
      reply = error_response(http::status::bad_request, target.error.code, target.error.message, version,
                             keep_alive);
    } else if (auto refused = check_cross_site(req, config)) {
      server.stats.requests_cross_origin.fetch_add(1, std::memory_order_relaxed);
      reply = std::move(*refused);
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
      } else if (method == http::verb::options) {
        // Before authorization: a browser's preflight carries no credential.
        reply = options_response(req, allowed_methods(route), config);
      } else if (audit_action = audited_action(route, method);
                 (reply = authorize(route, req, *target, *server.services.auth, access))) {
      } else if (auto limited = check_rate(route, req, client, access, server)) {
        reply = std::move(*limited);
      } else {
        switch (route) {
          case Route::stream: reply = co_await serve_tag_stream(stream, req, *target, shard, access); break;
          case Route::test_stream: reply = serve_test_stream(stream, req, *target, shard, access); break;
          case Route::ws: reply = serve_websocket(stream, req, *target, shard, access); break;
          case Route::healthz: reply = handle_healthz(req, shard); break;
          case Route::write:
            reply = co_await handle_line_protocol_write(req, *target, shard, access, client);
            break;
          case Route::samples:
            reply = co_await handle_json_samples(req, *target, shard, access, client);
            break;
          case Route::latest: reply = co_await handle_latest(req, *target, shard, access); break;
          case Route::setpoint:
            reply = co_await handle_setpoint(req, *setpoint_tag(path), server, access);
            break;
          case Route::tags:
            if (target->path == "/api/tags" && method != http::verb::put)
              reply = co_await handle_tag_list(req, *target, shard, access);
            else
              reply = handle_tags(req, *target, shard, access, client);
            break;
          case Route::tree: reply = co_await handle_tag_tree(req, *target, shard, access); break;
          case Route::layouts: reply = co_await handle_layouts(req, *target, shard, access); break;
          case Route::auth_status: reply = handle_auth_status(req, *target, shard); break;
          case Route::auth_login: reply = handle_login(req, shard, access); break;
          case Route::auth_logout: reply = handle_logout(req); break;
          case Route::stats: {
            std::function<bool(std::string_view)> may_list;
            if (!access.may_all(Scope::read))
              may_list = [&access](std::string_view tag) { return access.may(Scope::read, tag); };
            reply =
                json_response(http::status::ok, server.services.stats->json(may_list), version, keep_alive);
            break;
          }
          case Route::metrics: {
            const std::string tags = target->get("tags").value_or("");
            if (!tags.empty() && !is_valid_tag_name(tags) && !is_tag_pattern(tags)) {
              reply = error_response(http::status::bad_request, "bad_pattern",
                                     "tags must be a tag name or glob: " + tag_name_rule() + ", * and ?",
                                     version, keep_alive);
              break;
            }
            if (!tags.empty() && !access.may_all(Scope::read)) {
              reply = forbidden(req, "per-tag series need a token that may read every tag");
              break;
            }
            reply =
                json_response(http::status::ok, server.services.stats->prometheus(tags), version, keep_alive);
            reply->set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
            break;
          }
          case Route::web: reply = handle_static(req, target->path, shard); break;
          case Route::history:
            reply = co_await handle_history(stream, req, *target, shard, access);
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

    if (server.services.audit) {
      const unsigned status = reply->result_int();
      // A refused credential is audited wherever it was presented; a
      // refused tag inside an allowed request is audited with its action.
      const std::string_view action = !audit_action.empty()              ? audit_action
                                      : (status == 401 || status == 403) ? "auth"
                                                                         : "";
      if (!action.empty())
        audit(*server.services.audit, action, req, target ? target->path : std::string("-"), access, client,
              status);
    }
    reply->keep_alive(keep_alive && reply->keep_alive());
    add_cors_headers(*reply, req, config);
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
