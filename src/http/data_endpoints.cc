#include "http/data_endpoints.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json.hpp>
#include <limits>

#include "core/json_text.h"
#include "core/live_state.h"
#include "core/point_json.h"
#include "core/time.h"
#include "core/time_parse.h"
#include "http/compression.h"
#include "http/cross_site.h"
#include "http/tag_browse.h"
#include "http/tag_limits.h"
#include "http/tag_resolution.h"
#include "store/store.h"

namespace tagstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

HttpResponse bad_request(const HttpRequest& req, std::string_view code, std::string_view message) {
  return error_response(http::status::bad_request, code, message, req.version(), req.keep_alive());
}

/// FNV-1a: a stable, fast 64-bit hash for ETags (std::hash may differ
/// between builds, and an ETag outlives a process).
std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

asio::awaitable<HttpResponse> handle_latest(const HttpRequest& req, const ParsedTarget& target,
                                            ShardContext& shard, const Access& access) {
  ServerContext& server = shard.server;
  StreamQueryResult parsed = parse_stream_query(target);
  if (!parsed) co_return bad_request(req, parsed.error.code, parsed.error.message);
  ReadableTags resolved = co_await resolve_readable_tags(server, access, req, parsed->tags);
  if (!resolved) co_return std::move(resolved.error);
  const std::vector<TagId>& ids = *resolved;

  const Interval interval = parsed->interval;
  const auto current = server.services.live->current(ids);
  std::string body = "{\"interval\":\"";
  body += to_string(interval);
  body += "\",\"points\":[";
  bool first = true;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!current[i].present) continue;
    if (!first) body += ',';
    first = false;
    const std::string name = server.registry.name(ids[i]);
    if (interval == Interval::raw)
      append_point_json(body, name, current[i].latest);
    else
      append_point_json(body, name, current[i].buckets[aggregated_index(interval)]);
  }
  body += "]}";

  // Small answers are sent as they are: gzip would save next to nothing.
  const bool gzip = body.size() >= 256 && accepts_gzip(req);
  char etag_buf[32];
  // The compressed answer is another representation, with its own tag.
  const int n = std::snprintf(etag_buf, sizeof etag_buf, gzip ? "\"%016llx-gz\"" : "\"%016llx\"",
                              static_cast<unsigned long long>(fnv1a(body)));
  const std::string etag(etag_buf, static_cast<std::size_t>(n));
  if (matches_if_none_match(req, etag)) {
    HttpResponse res{http::status::not_modified, req.version()};
    res.set(http::field::server, "tagstream");
    res.set(http::field::etag, etag);
    res.set(http::field::cache_control, "no-cache");
    res.set(http::field::vary, "Accept-Encoding");
    res.keep_alive(req.keep_alive());
    co_return res;
  }
  std::string compressed = gzip ? gzip_compress(body) : std::string();
  const bool compressed_ok = !compressed.empty();
  HttpResponse res = json_response(http::status::ok, compressed_ok ? std::move(compressed) : std::move(body),
                                   req.version(), req.keep_alive());
  if (compressed_ok) res.set(http::field::content_encoding, "gzip");
  res.set(http::field::etag, etag);
  res.set(http::field::vary, "Accept-Encoding");
  // Revalidate every time: the answer changes as the plant does.
  res.set(http::field::cache_control, "no-cache");
  co_return res;
}

HttpResponse handle_tags(const HttpRequest& req, const ParsedTarget& target, ShardContext& shard,
                         Access& access, const std::string& client) {
  ServerContext& server = shard.server;
  TagRegistry& registry = server.registry;
  const std::string prefix = "/api/tags/";
  const bool single = target.path.starts_with(prefix) && target.path.size() > prefix.size();
  const std::string name = single ? target.path.substr(prefix.size()) : std::string();
  TagInfo unknown_tag;  // what a name the registry does not hold is described as
  unknown_tag.name = name;

  if (req.method() == http::verb::put) {
    if (!single) return bad_request(req, "missing_tag", "PUT /api/tags/{name} names the tag to describe");
    if (!is_valid_tag_name(name))
      return bad_request(req, "bad_tag", "'" + name + "' is not a valid tag name ([A-Za-z0-9_.:-], dotted)");
    // Metadata is configuration: describing a tag wrongly (its unit, its
    // type) falsifies every value shown with it, so it takes admin.
    if (!access.may(Scope::admin, name))
      return forbidden(req, "describing tag '" + name + "' needs the admin scope");
    access.tags_touched = 1;
    // Room for the longest unit and description even fully \u-escaped; a
    // bigger body is refused before it is parsed.
    constexpr std::size_t kMaxTagBodyBytes = 16 * 1024;
    if (req.body().size() > kMaxTagBodyBytes)
      return error_response(http::status::payload_too_large, "body_too_large",
                            "a tag description body is at most " + std::to_string(kMaxTagBodyBytes) +
                                " bytes (unit at most " + std::to_string(kMaxUnitLength) +
                                ", description at most " + std::to_string(kMaxDescriptionLength) + ")",
                            req.version(), req.keep_alive());
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(req.body(), ec);
    if (ec || !doc.is_object())
      return bad_request(req, "invalid_json",
                         "the body must be a JSON object with unit, description and/or type" +
                             (ec ? " (" + ec.message() + ")" : std::string()));
    const auto& o = doc.as_object();
    const auto existing_id = registry.find(name);
    TagInfo info = existing_id ? registry.info(*existing_id).value_or(unknown_tag) : unknown_tag;
    for (const auto& [key, value] : o) {
      if (key == "unit" || key == "description") {
        if (!value.is_string())
          return bad_request(req, "invalid", "\"" + std::string(key) + "\" must be a string");
        const std::string_view text = value.as_string();
        if (std::string e = key == "unit" ? unit_error(text) : description_error(text); !e.empty())
          return bad_request(req, "invalid", e);
        (key == "unit" ? info.unit : info.description) = std::string(text);
      } else if (key == "type") {
        const auto t = value.is_string() ? parse_data_type(value.as_string()) : std::nullopt;
        if (!t) return bad_request(req, "invalid", "\"type\" must be number, integer or boolean");
        info.type = *t;
      } else {
        return bad_request(req, "invalid",
                           "unknown field \"" + std::string(key) + "\" (unit, description, type)");
      }
    }
    if (!existing_id) {
      const TagHint hint[] = {{info.name, info.unit, info.description, info.type}};
      std::vector<TagId> created;
      if (auto refused = ensure_tags_within_limits(server, req, client, hint, created)) return *refused;
    }
    // The tag exists now: this sets its metadata exactly, an empty unit included.
    const TagId id = registry.upsert(info, /*update=*/true).value();
    const TagId ids[] = {id};
    std::string body;
    append_tag_json(body, info, server.services.live->latest(ids)[0], server.services.devices);
    return json_response(existing_id ? http::status::ok : http::status::created, std::move(body),
                         req.version(), req.keep_alive());
  }

  if (single) {
    if (!access.may(Scope::read, name)) return forbidden(req, "this token may not read tag '" + name + "'");
    const auto id = registry.find(name);
    if (!id)
      return error_response(http::status::not_found, "unknown_tag", "unknown tag '" + name + "'",
                            req.version(), req.keep_alive());
    const TagId ids[] = {*id};
    std::string body;
    append_tag_json(body, registry.info(*id).value_or(unknown_tag), server.services.live->latest(ids)[0],
                    server.services.devices);
    return json_response(http::status::ok, std::move(body), req.version(), req.keep_alive());
  }

  // The list is handle_tag_list (http/tag_browse.h), dispatched before this.
  return bad_request(req, "missing_tag", "PUT /api/tags/{name} names the tag to describe");
}

namespace {

/// Aggregate functions a history query may ask for.
constexpr std::array<std::string_view, 6> kFunctions = {"avg", "min", "max", "first", "last", "count"};

struct HistoryPlan {
  std::vector<TagId> tags;
  Interval tier = Interval::minute;  // the stored tier read
  TimeNs group_width = 0;            // 0: one point per stored row; else rows merged into groups this wide
  TimeNs from = 0, to = 0;
  std::array<bool, 6> fns{true, true, true, true, true, true};
  bool csv = false;
  bool raw_points = false;  // raw tier, not grouped: points are samples
  std::optional<std::size_t> max_points;
};

/// After the query's tags are resolved into plan.tags.
std::optional<HttpResponse> plan_history(const HttpRequest& req, const ParsedTarget& target,
                                         const StreamQuery& query, HistoryPlan& plan) {
  const TimeNs now = now_ns();
  plan.to = now;
  if (auto t = target.get("to")) {
    auto v = parse_time(*t, now);
    if (!v)
      return bad_request(req, "bad_time",
                         "to: expected RFC 3339 (2026-11-25T10:00:00Z), epoch or now-1h, got '" + *t + "'");
    plan.to = *v;
  }
  constexpr TimeNs kDefaultSpan = 3600 * kNanosPerSecond;
  plan.from = plan.to < std::numeric_limits<TimeNs>::min() + kDefaultSpan ? std::numeric_limits<TimeNs>::min()
                                                                          : plan.to - kDefaultSpan;
  if (auto f = target.get("from")) {
    auto v = parse_time(*f, now);
    if (!v)
      return bad_request(req, "bad_time",
                         "from: expected RFC 3339 (2026-11-25T00:00:00Z), epoch or now-1h, got '" + *f + "'");
    plan.from = *v;
  }
  if (plan.from >= plan.to) return bad_request(req, "bad_range", "from must be before to");
  // No sample lies outside kMin/kMaxSampleTime, so a range reaching past
  // them reads the same points clamped, and every bucket and group sum below
  // stays inside int64 (from 1677 to 2262 it would not).
  plan.from = std::clamp(plan.from, kMinSampleTime, kMaxSampleTime);
  plan.to = std::clamp(plan.to, kMinSampleTime + 1, kMaxSampleTime + 1);

  if (auto fn = target.get("fn")) {
    plan.fns.fill(false);
    std::string_view rest = *fn;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string_view name = rest.substr(0, comma);
      auto it = std::find(kFunctions.begin(), kFunctions.end(), name);
      if (it == kFunctions.end())
        return bad_request(
            req, "bad_fn",
            "fn: unknown function '" + std::string(name) + "' (avg, min, max, first, last, count)");
      plan.fns[static_cast<std::size_t>(it - kFunctions.begin())] = true;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }

  const auto format = target.get("format");
  auto accept = req.find(http::field::accept);
  plan.csv = format ? *format == "csv"
                    : (accept != req.end() &&
                       std::string_view(accept->value().data(), accept->value().size()).find("text/csv") !=
                           std::string_view::npos);
  if (format && *format != "csv" && *format != "json")
    return bad_request(req, "bad_format", "format must be json or csv");

  const bool interval_given = target.get("interval").has_value();
  plan.tier = interval_given ? query.interval : Interval::minute;
  if (auto mp = target.get("maxPoints")) {
    const auto parsed_n = parse_unsigned(*mp);
    if (!parsed_n || *parsed_n == 0 || *parsed_n > 1'000'000)
      return bad_request(req, "bad_max_points", "maxPoints must be an integer from 1 to 1000000");
    const auto n = static_cast<std::size_t>(*parsed_n);
    plan.max_points = n;
    // Points narrower than range/N would not fit: read the coarsest tier no
    // wider than that (it still fills the N points) and merge its rows
    // into groups of range/N or more.
    // Unsigned: the clamped range is up to 2^63 + 1 ns, one past int64.
    const std::uint64_t range = static_cast<std::uint64_t>(plan.to) - static_cast<std::uint64_t>(plan.from);
    const std::uint64_t want = range / n + (range % n != 0);
    if (!interval_given) {
      plan.tier = Interval::raw;
      for (Interval iv : kAggregatedIntervals)
        if (static_cast<std::uint64_t>(interval_width(iv)) <= want) plan.tier = iv;
    }
    const auto tier_width = static_cast<std::uint64_t>(std::max<TimeNs>(interval_width(plan.tier), 1));
    const std::uint64_t k = want / tier_width + (want % tier_width != 0);
    // Only maxPoints=1 over the whole supported range needs a wider group
    // than int64 holds; the widest that fits gives it two points.
    const std::uint64_t widest = static_cast<std::uint64_t>(std::numeric_limits<TimeNs>::max()) / tier_width;
    if (plan.tier == Interval::raw || k > 1)
      plan.group_width = static_cast<TimeNs>(std::max<std::uint64_t>(std::min(k, widest) * tier_width, 1));
  }
  plan.raw_points = plan.tier == Interval::raw && plan.group_width == 0;
  return std::nullopt;
}

/// The coroutine that reads grouped history on the reader pool. The request
/// is a parameter, so it lives in the coroutine's frame (not in a lambda's
/// captures, which may be gone by the time the coroutine runs).
asio::awaitable<std::vector<HistoryPage>> read_groups_of(Store& store, GroupRequest request) {
  co_return store.read_groups(request);
}

/// Writes one point in the requested format.
void append_history_point(std::string& out, const HistoryPlan& plan, const std::string& tag,
                          const Aggregate& a, bool first_in_series) {
  if (plan.csv) {
    out += tag;  // tag names never need CSV quoting: [A-Za-z0-9_.:-] only
    out += ',';
    out += format_iso8601(a.start);
    if (plan.raw_points) {
      out += ',';
      append_json_number(out, a.last);
    } else {
      const double values[] = {a.avg(), a.min, a.max, a.first, a.last, static_cast<double>(a.count)};
      for (std::size_t f = 0; f < kFunctions.size(); ++f)
        if (plan.fns[f]) {
          out += ',';
          append_json_number(out, values[f]);
        }
    }
    out += ',';
    out += to_string(a.quality);
    out += "\r\n";
    return;
  }
  if (!first_in_series) out += ',';
  out += "{\"t\":";
  append_json_integer(out, to_millis(a.start));
  if (plan.raw_points) {
    out += ",\"v\":";
    append_json_number(out, a.last);
  } else {
    const double values[] = {a.avg(), a.min, a.max, a.first, a.last, static_cast<double>(a.count)};
    for (std::size_t f = 0; f < kFunctions.size(); ++f) {
      if (!plan.fns[f]) continue;
      out += ",\"";
      out += kFunctions[f];
      out += "\":";
      if (f == 5)
        append_json_integer(out, static_cast<std::int64_t>(a.count));
      else
        append_json_number(out, values[f]);
    }
  }
  out += ",\"q\":\"";
  out += to_string(a.quality);
  out += "\"}";
}

}  // namespace

asio::awaitable<std::optional<HttpResponse>> handle_history(beast::tcp_stream& stream, const HttpRequest& req,
                                                            const ParsedTarget& target, ShardContext& shard,
                                                            const Access& access) {
  ServerContext& server = shard.server;
  HistoryPlan plan;
  StreamQueryResult parsed = parse_stream_query(target);
  if (!parsed) co_return bad_request(req, parsed.error.code, parsed.error.message);
  ReadableTags resolved = co_await resolve_readable_tags(server, access, req, parsed->tags);
  if (!resolved) co_return std::move(resolved.error);
  plan.tags = std::move(*resolved);
  if (auto bad = plan_history(req, target, *parsed, plan)) co_return std::move(*bad);

  http::response<http::empty_body> head{http::status::ok, req.version()};
  head.set(http::field::server, "tagstream");
  head.set(http::field::content_type, plan.csv ? "text/csv; charset=utf-8" : "application/json");
  head.set(http::field::cache_control, "no-store");
  head.keep_alive(req.keep_alive());
  head.chunked(true);
  add_cors_headers(head, req, server.config);
  http::response_serializer<http::empty_body> serializer{head};
  stream.expires_after(std::chrono::seconds(60));
  auto [hec, hn] = co_await http::async_write_header(stream, serializer, asio::as_tuple(asio::use_awaitable));
  if (hec) throw boost::system::system_error(hec);

  std::string chunk;
  auto flush = [&](bool force) -> asio::awaitable<void> {
    if (chunk.empty() || (!force && chunk.size() < 64 * 1024)) co_return;
    stream.expires_after(std::chrono::seconds(60));
    auto [ec, n] = co_await asio::async_write(stream, http::make_chunk(asio::buffer(chunk)),
                                              asio::as_tuple(asio::use_awaitable));
    if (ec) throw boost::system::system_error(ec);
    chunk.clear();
  };

  if (plan.csv) {
    chunk += "tag,time";
    if (plan.raw_points) {
      chunk += ",value";
    } else {
      for (std::size_t f = 0; f < kFunctions.size(); ++f)
        if (plan.fns[f]) (chunk += ',') += kFunctions[f];
    }
    chunk += ",quality\r\n";
  } else {
    chunk += "{\"interval\":\"";
    chunk += plan.group_width ? "auto" : to_string(plan.tier);
    chunk += "\",\"tier\":\"";
    chunk += to_string(plan.tier);
    chunk += "\",\"bucketMs\":";
    append_json_integer(chunk, to_millis(plan.group_width ? plan.group_width : interval_width(plan.tier)));
    chunk += ",\"from\":\"" + format_iso8601(plan.from) + "\",\"to\":\"" + format_iso8601(plan.to) +
             "\",\"series\":[";
  }

  Store& store = *server.services.store;
  auto& pool = *server.services.readers;
  // Grouped history is read for many tags at once (one query on a database
  // store), at most this many points' worth of tags per read.
  constexpr std::size_t kGroupedPointsPerRead = 100'000;
  const std::size_t tags_per_read =
      std::max<std::size_t>(1, kGroupedPointsPerRead / (plan.max_points.value_or(0) + 1));
  std::vector<HistoryPage> grouped;  // of the tags from grouped_from on
  std::size_t grouped_from = 0;
  for (std::size_t ti = 0; ti < plan.tags.size(); ++ti) {
    const TagId tag = plan.tags[ti];
    const TagInfo info = server.registry.info(tag).value_or(TagInfo{});
    if (!plan.csv) {
      if (ti) chunk += ',';
      chunk += "{\"tag\":";
      append_json_string(chunk, info.name);
      chunk += ",\"unit\":";
      append_json_string(chunk, info.unit);
      chunk += ",\"points\":[";
    }
    bool first = true;
    if (plan.group_width) {
      if (ti == 0 || ti - grouped_from >= grouped.size()) {
        GroupRequest request;
        request.tags.assign(
            plan.tags.begin() + static_cast<std::ptrdiff_t>(ti),
            plan.tags.begin() + static_cast<std::ptrdiff_t>(std::min(plan.tags.size(), ti + tags_per_read)));
        request.interval = plan.tier;
        request.from = plan.from;
        request.to = plan.to;
        request.group_width = plan.group_width;
        // Read on the reader pool: an I/O thread never waits on disk.
        grouped =
            co_await asio::co_spawn(pool, read_groups_of(store, std::move(request)), asio::use_awaitable);
        grouped_from = ti;
      }
      HistoryPage& groups = grouped.at(ti - grouped_from);
      for (const Aggregate& a : groups) {
        append_history_point(chunk, plan, info.name, a, first);
        first = false;
        if (chunk.size() >= 64 * 1024) co_await flush(false);
      }
      groups = HistoryPage{};
    } else {
      HistoryRequest request{tag, plan.tier, plan.from, plan.to, std::nullopt, 10000};
      while (true) {
        // Pages are read on the reader pool: an I/O thread never waits on disk.
        HistoryPage page = co_await asio::co_spawn(
            pool,
            [&store, request]() -> asio::awaitable<HistoryPage> { co_return store.read_history(request); },
            asio::use_awaitable);
        for (const Aggregate& a : page) {
          append_history_point(chunk, plan, info.name, a, first);
          first = false;
        }
        co_await flush(false);
        if (page.size() < request.limit) break;
        request.after = page.back().start;
      }
    }
    if (!plan.csv) chunk += "]}";
  }
  if (!plan.csv) chunk += "]}";
  co_await flush(true);
  stream.expires_after(std::chrono::seconds(60));
  auto [lec, ln] =
      co_await asio::async_write(stream, http::make_chunk_last(), asio::as_tuple(asio::use_awaitable));
  if (lec) throw boost::system::system_error(lec);
  co_return std::nullopt;
}

}  // namespace tagstream
