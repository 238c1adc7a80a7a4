#include "http/ingest_endpoints.h"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json.hpp>
#include <unordered_set>

#include "core/json_text.h"
#include "core/time.h"
#include "ingest/gzip.h"
#include "ingest/ingestor.h"
#include "ingest/json_samples.h"
#include "ingest/line_protocol.h"

namespace tagstream {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

struct CommitResult {
  bool queued = false;
  std::string error;  // empty: committed
  ApplyResult applied;
};

/// Ingests and resumes the calling coroutine on its own executor once the
/// store has committed (or refused) the samples.
template <typename Token>
auto async_ingest(Ingestor& ingestor, std::span<const TaggedSample> samples, Token&& token) {
  return asio::async_initiate<Token, void(CommitResult)>(
      [&ingestor, samples](auto handler) {
        auto executor = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto applied = std::make_shared<ApplyResult>();
        auto outcome = ingestor.ingest(samples, [shared, executor, applied](const std::string& error) {
          asio::post(executor, [shared, error, applied]() mutable {
            (*shared)(CommitResult{true, error, *applied});
          });
        });
        *applied = outcome.applied;
        if (!outcome.queued) asio::post(executor, [shared]() mutable { (*shared)(CommitResult{}); });
      },
      token);
}

/// The request body, inflated when it is gzip- or deflate-encoded.
std::optional<HttpResponse> decoded_body(const HttpRequest& req, const HttpOptions& config,
                                         std::string& out) {
  auto enc = req.find(http::field::content_encoding);
  if (enc == req.end() || enc->value().empty() || enc->value() == "identity") {
    out = req.body();
    return std::nullopt;
  }
  const std::string_view e(enc->value().data(), enc->value().size());
  if (e != "gzip" && e != "deflate" && e != "x-gzip")
    return error_response(http::status::unsupported_media_type, "unsupported_encoding",
                          "Content-Encoding must be gzip, deflate or identity, got '" + std::string(e) + "'",
                          req.version(), req.keep_alive());
  InflateResult inflated = inflate_body(req.body(), config.max_body_bytes);
  if (inflated.too_large)
    return error_response(http::status::payload_too_large, "body_too_large",
                          "decompressed body exceeds " + std::to_string(config.max_body_bytes) + " bytes",
                          req.version(), req.keep_alive());
  if (!inflated.error.empty())
    return error_response(http::status::bad_request, "bad_encoding",
                          "cannot decompress body: " + inflated.error, req.version(), req.keep_alive());
  out = std::move(inflated.data);
  return std::nullopt;
}

HttpResponse store_refused(const HttpRequest& req, const CommitResult& r) {
  if (!r.queued) {
    auto res =
        error_response(http::status::service_unavailable, "store_busy",
                       "the store's write queue is full; retry shortly", req.version(), req.keep_alive());
    res.set(http::field::retry_after, "1");
    return res;
  }
  return error_response(http::status::internal_server_error, "store_error", "commit failed: " + r.error,
                        req.version(), req.keep_alive());
}

DataType type_of(const LinePoint& p) {
  return p.type;
}
DataType type_of(const JsonSample& s) {
  return s.type.value_or(DataType::number);
}

/// The parsed points with their tags resolved (new tags created).
template <class Point>
std::vector<TaggedSample> tagged_samples(TagRegistry& registry, const std::vector<Point>& points) {
  std::vector<TagHint> hints;
  hints.reserve(points.size());
  for (const Point& p : points) hints.push_back({p.tag, p.unit, p.description, type_of(p)});
  const std::vector<TagId> ids = registry.ensure_all(hints);
  std::vector<TaggedSample> samples;
  samples.reserve(points.size());
  for (std::size_t i = 0; i < points.size(); ++i) samples.push_back({ids[i], points[i].sample});
  return samples;
}

/// Drops the points whose tag `access` may not write. Returns how many were
/// dropped; `first` names one of them for the error message.
template <class Point>
std::size_t drop_unwritable(const Access& access, std::vector<Point>& points, std::string& first) {
  if (access.may_all(Scope::write)) return 0;
  const std::size_t before = points.size();
  std::erase_if(points, [&](const Point& p) {
    if (access.may(Scope::write, p.tag)) return false;
    if (first.empty()) first = p.tag;
    return true;
  });
  return before - points.size();
}

std::size_t distinct_tags(const std::vector<TaggedSample>& samples) {
  std::unordered_set<TagId> tags;
  for (const TaggedSample& s : samples) tags.insert(s.tag);
  return tags.size();
}

std::string unwritable_message(std::size_t n, const std::string& first) {
  return std::to_string(n) + " samples refused: this token may not write tag '" + first + "'" +
         (n > 1 ? " (and others)" : "");
}

HttpResponse no_content(const HttpRequest& req) {
  HttpResponse res{http::status::no_content, req.version()};
  res.set(http::field::server, "tagstream");
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

}  // namespace

asio::awaitable<HttpResponse> handle_line_protocol_write(const HttpRequest& req, const ParsedTarget& target,
                                                         ShardContext& shard, Access& access) {
  ServerContext& server = shard.server;
  server.stats.ingest_requests.fetch_add(1, std::memory_order_relaxed);
  const auto precision = parse_precision(target.get("precision").value_or(""));
  if (!precision)
    co_return error_response(http::status::bad_request, "invalid",
                             "precision must be one of ns, us, ms, s (v2) or n, u, ms, s, m, h (v1)",
                             req.version(), req.keep_alive());
  std::string body;
  if (auto bad = decoded_body(req, server.config, body)) co_return std::move(*bad);

  LineParseResult parsed =
      parse_line_protocol(body, *precision, now_ns(), seconds_to_duration(server.config.max_clock_skew));
  if (parsed.lines == 0)
    co_return error_response(http::status::bad_request, "invalid", "the body holds no line protocol lines",
                             req.version(), req.keep_alive());
  std::string refused_tag;
  if (const std::size_t refused = drop_unwritable(access, parsed.points, refused_tag)) {
    if (parsed.points.empty()) co_return forbidden(req, unwritable_message(refused, refused_tag));
    parsed.errors.insert(parsed.errors.begin(), LineError{0, unwritable_message(refused, refused_tag)});
  }

  const std::vector<TaggedSample> samples = tagged_samples(server.registry, parsed.points);
  if (server.services.audit) access.tags_touched = distinct_tags(samples);

  if (!samples.empty()) {
    CommitResult r = co_await async_ingest(*server.services.ingestor, samples, asio::use_awaitable);
    if (!r.queued || !r.error.empty()) co_return store_refused(req, r);
    server.stats.samples_ingested.fetch_add(samples.size(), std::memory_order_relaxed);
    access.samples_written = samples.size();
  }
  if (parsed.errors.empty()) co_return no_content(req);

  // Partial write, as InfluxDB answers it: 400, the good lines kept.
  server.stats.ingest_rejected_lines.fetch_add(parsed.errors.size(), std::memory_order_relaxed);
  const std::string summary = "partial write: " + std::to_string(parsed.errors.size()) + " of " +
                              std::to_string(parsed.lines) + " lines rejected, " +
                              std::to_string(samples.size()) +
                              " samples written; first: " + parsed.errors.front().message;
  boost::json::array lines;
  for (std::size_t i = 0; i < parsed.errors.size() && i < 100; ++i)
    lines.push_back(
        boost::json::object{{"line", parsed.errors[i].line}, {"message", parsed.errors[i].message}});
  boost::json::object body_json{{"code", "invalid"},         {"message", summary},
                                {"error", summary},  // InfluxDB 1.x clients read "error"
                                {"written", samples.size()}, {"rejected", parsed.errors.size()},
                                {"errors", std::move(lines)}};
  co_return json_response(http::status::bad_request, json_text(body_json), req.version(), req.keep_alive());
}

asio::awaitable<HttpResponse> handle_json_samples(const HttpRequest& req, const ParsedTarget& target,
                                                  ShardContext& shard, Access& access) {
  ServerContext& server = shard.server;
  server.stats.ingest_requests.fetch_add(1, std::memory_order_relaxed);
  auto type = req.find(http::field::content_type);
  const std::string_view content_type =
      type == req.end() ? std::string_view() : std::string_view(type->value().data(), type->value().size());
  if (!content_type.starts_with("application/json"))
    co_return error_response(http::status::unsupported_media_type, "unsupported_media_type",
                             "POST /api/samples takes Content-Type: application/json", req.version(),
                             req.keep_alive());
  std::string body;
  if (auto bad = decoded_body(req, server.config, body)) co_return std::move(*bad);

  JsonSamplesResult parsed =
      parse_json_samples(body, now_ns(), seconds_to_duration(server.config.max_clock_skew));
  if (!parsed.fatal.empty())
    co_return error_response(http::status::bad_request, "invalid_json", parsed.fatal, req.version(),
                             req.keep_alive());
  std::string refused_tag;
  if (const std::size_t refused = drop_unwritable(access, parsed.samples, refused_tag)) {
    if (parsed.samples.empty()) co_return forbidden(req, unwritable_message(refused, refused_tag));
    parsed.errors.insert(parsed.errors.begin(), JsonSampleError{0, unwritable_message(refused, refused_tag)});
  }

  const std::vector<TaggedSample> samples = tagged_samples(server.registry, parsed.samples);
  if (server.services.audit) access.tags_touched = distinct_tags(samples);
  ApplyResult applied;
  if (!samples.empty()) {
    CommitResult r = co_await async_ingest(*server.services.ingestor, samples, asio::use_awaitable);
    if (!r.queued || !r.error.empty()) co_return store_refused(req, r);
    applied = r.applied;
    server.stats.samples_ingested.fetch_add(samples.size(), std::memory_order_relaxed);
    access.samples_written = samples.size();
  }
  boost::json::array errors;
  for (std::size_t i = 0; i < parsed.errors.size() && i < 100; ++i)
    errors.push_back(
        boost::json::object{{"index", parsed.errors[i].index}, {"message", parsed.errors[i].message}});
  boost::json::object out{{"written", samples.size()},
                          {"live", applied.accepted},
                          {"late", applied.late},
                          {"rejected", parsed.errors.size()},
                          {"errors", std::move(errors)}};
  if (!parsed.errors.empty()) {
    out["code"] = "invalid";
    out["message"] = std::to_string(parsed.errors.size()) + " samples rejected, " +
                     std::to_string(samples.size()) + " written; first: " + parsed.errors.front().message;
  }
  co_return json_response(parsed.errors.empty() ? http::status::ok : http::status::bad_request,
                          json_text(out), req.version(), req.keep_alive());
}

}  // namespace tagstream
