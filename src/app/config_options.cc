#include "app/config_options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

#include "cluster/redis_connection.h"
#include "core/log.h"
#include "http/cross_site.h"
#include "http/listen_address.h"

namespace tagstream {

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string format_double(double v) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string(buf, ptr) : std::to_string(v);
}

std::string redact_store_url(std::string_view url) {
  std::string out(url);
  if (const std::size_t scheme = out.find("://"); scheme != std::string::npos) {
    const std::size_t at = out.find('@', scheme + 3);
    const std::size_t colon = out.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at)
      out.replace(colon + 1, at - colon - 1, "***");
  }
  for (std::size_t p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
    const std::size_t from = p + 9;
    std::size_t end = out.find_first_of(" &", from);
    if (end == std::string::npos) end = out.size();
    out.replace(from, end - from, "***");
  }
  return out;
}

std::string node_id_error(std::string_view id) {
  constexpr std::size_t kMaxNodeId = 64;
  if (id.empty()) return "must not be empty";
  if (id.size() > kMaxNodeId) return "must be at most " + std::to_string(kMaxNodeId) + " characters";
  for (const char ch : id) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '.' || ch == '_' || ch == ':' || ch == '-';
    if (!ok) return "may hold only letters, digits and . _ : -, got " + in_quotes(id);
  }
  return {};
}

namespace {

// Durations above this are almost certainly unit mistakes (ms given as s), and
// the cap keeps every duration representable as std::chrono nanoseconds.
constexpr double kMaxSeconds = 86400;

std::string format_size(std::uint64_t v) {
  if (v != 0 && v % (1ull << 30) == 0) return std::to_string(v >> 30) + "G";
  if (v != 0 && v % (1ull << 20) == 0) return std::to_string(v >> 20) + "M";
  if (v != 0 && v % (1ull << 10) == 0) return std::to_string(v >> 10) + "k";
  return std::to_string(v);
}

std::optional<double> parse_double(std::string_view s) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<long long> parse_integer(std::string_view s) {
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// "262144", "256k", "256K", "256KiB", "16M", "1G": powers of 1024, since
// these bound buffers.
std::optional<std::uint64_t> parse_size(std::string_view s) {
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || ptr == s.data()) return std::nullopt;
  std::string_view suffix(ptr, s.data() + s.size() - ptr);
  unsigned shift = 0;
  if (!suffix.empty()) {
    switch (suffix.front()) {
      case 'k':
      case 'K': shift = 10; break;
      case 'm':
      case 'M': shift = 20; break;
      case 'g':
      case 'G': shift = 30; break;
      default: return std::nullopt;
    }
    suffix.remove_prefix(1);
    if (suffix != "" && suffix != "B" && suffix != "iB") return std::nullopt;
  }
  if (shift != 0 && v > (std::numeric_limits<std::uint64_t>::max() >> shift)) return std::nullopt;
  return v << shift;
}

std::optional<bool> parse_bool(std::string_view s) {
  std::string l(s);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  if (l == "true" || l == "1" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "0" || l == "no" || l == "off") return false;
  return std::nullopt;
}

std::string range_error(std::string_view text, std::string_view rule) {
  return "must be " + std::string(rule) + ", got " + in_quotes(text);
}

// Lower bound is inclusive unless `min_exclusive`.
Option seconds(std::string_view flag, std::string_view env, std::string_view help, double ServerConfig::*m,
               double min, bool min_exclusive) {
  Option o{flag, env, {}, "SECONDS", help, Kind::number, {}, {}};
  o.set = [=](ServerConfig& c, std::string_view text) -> std::string {
    auto v = parse_double(text);
    if (!v) return "expected a number of seconds, got " + in_quotes(text);
    if (min_exclusive ? *v <= min : *v < min)
      return range_error(text, (min_exclusive ? "greater than " : "at least ") + format_double(min));
    if (*v > kMaxSeconds) return range_error(text, "at most " + format_double(kMaxSeconds) + " (one day)");
    c.*m = *v;
    return {};
  };
  o.show = [=](const ServerConfig& c) { return format_double(c.*m); };
  return o;
}

Option boolean(std::string_view flag, std::string_view env, std::string_view help, bool ServerConfig::*m) {
  Option o{flag, env, {}, {}, help, Kind::boolean, {}, {}};
  o.set = [=](ServerConfig& c, std::string_view text) -> std::string {
    auto v = parse_bool(text);
    if (!v) return "expected true or false, got " + in_quotes(text);
    c.*m = *v;
    return {};
  };
  o.show = [=](const ServerConfig& c) { return std::string(c.*m ? "true" : "false"); };
  return o;
}

Option integer(std::string_view flag, std::string_view env, std::string_view metavar, std::string_view help,
               int ServerConfig::*m, int min, int max) {
  Option o{flag, env, {}, metavar, help, Kind::integer, {}, {}};
  o.set = [=](ServerConfig& c, std::string_view text) -> std::string {
    auto v = parse_integer(text);
    if (!v) return "expected an integer, got " + in_quotes(text);
    if (*v < min || *v > max)
      return range_error(text, "between " + std::to_string(min) + " and " + std::to_string(max));
    c.*m = static_cast<int>(*v);
    return {};
  };
  o.show = [=](const ServerConfig& c) { return std::to_string(c.*m); };
  return o;
}

Option count(std::string_view flag, std::string_view env, std::string_view help, std::size_t ServerConfig::*m,
             long long max) {
  Option o{flag, env, {}, "N", help, Kind::integer, {}, {}};
  o.set = [=](ServerConfig& c, std::string_view text) -> std::string {
    auto v = parse_integer(text);
    if (!v) return "expected an integer, got " + in_quotes(text);
    if (*v < 0 || *v > max) return range_error(text, "between 0 and " + std::to_string(max));
    c.*m = static_cast<std::size_t>(*v);
    return {};
  };
  o.show = [=](const ServerConfig& c) { return std::to_string(c.*m); };
  return o;
}

Option size(std::string_view flag, std::string_view env, std::string_view help, std::size_t ServerConfig::*m,
            std::uint64_t min) {
  Option o{flag, env, {}, "SIZE", help, Kind::size, {}, {}};
  o.set = [=](ServerConfig& c, std::string_view text) -> std::string {
    auto v = parse_size(text);
    if (!v || *v > std::numeric_limits<std::size_t>::max())
      return "expected a size in bytes with an optional k, M or G suffix, got " + in_quotes(text);
    if (*v < min) return range_error(text, "at least " + std::to_string(min));
    c.*m = static_cast<std::size_t>(*v);
    return {};
  };
  o.show = [=](const ServerConfig& c) { return format_size(c.*m); };
  return o;
}

Option file_path(std::string_view flag, std::string_view env, std::string_view help,
                 std::string ServerConfig::*m) {
  Option o{flag, env, {}, "FILE", help, Kind::string, {}, {}};
  o.set = [=](ServerConfig& c, std::string_view text) -> std::string {
    c.*m = std::string(text);
    return {};
  };
  o.show = [=](const ServerConfig& c) { return (c.*m).empty() ? std::string("(none)") : c.*m; };
  return o;
}

// A retention period: a number with an optional unit s, m, h, d, w or y
// (365 days); 0 or "forever" keeps data forever.
std::optional<std::int64_t> parse_period(std::string_view text) {
  if (text == "forever") return 0;
  std::int64_t unit = 1;
  std::string_view digits = text;
  if (!text.empty()) {
    switch (text.back()) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 7 * 86400; break;
      case 'y': unit = 365 * 86400; break;
      default: unit = 0;
    }
    if (unit != 0)
      digits = text.substr(0, text.size() - 1);
    else
      unit = 1;
  }
  auto v = parse_integer(digits);
  if (!v || *v < 0 || *v > std::numeric_limits<std::int64_t>::max() / unit / 1'000'000'000)
    return std::nullopt;
  return *v * unit;
}

std::string format_period(std::int64_t seconds) {
  if (seconds == 0) return "forever";
  if (seconds % (365 * 86400) == 0) return std::to_string(seconds / (365 * 86400)) + "y";
  if (seconds % 86400 == 0) return std::to_string(seconds / 86400) + "d";
  if (seconds % 3600 == 0) return std::to_string(seconds / 3600) + "h";
  return std::to_string(seconds) + "s";
}

Option period(std::string_view flag, std::string_view env, std::string_view help,
              std::int64_t ServerConfig::*m) {
  Option o{flag, env, {}, "PERIOD", help, Kind::size, {}, {}};
  o.set = [=](ServerConfig& c, std::string_view text) -> std::string {
    auto v = parse_period(text);
    if (!v) return "expected a period such as 30d, 12h, 2y or forever, got " + in_quotes(text);
    c.*m = *v;
    return {};
  };
  o.show = [=](const ServerConfig& c) { return format_period(c.*m); };
  return o;
}

// Requests per second: 0 turns the limit off.
Option rate(std::string_view flag, std::string_view env, std::string_view help, double ServerConfig::*m) {
  Option o{flag, env, {}, "N", help, Kind::number, {}, {}};
  o.set = [=](ServerConfig& c, std::string_view text) -> std::string {
    auto v = parse_double(text);
    if (!v) return "expected a number of requests, got " + in_quotes(text);
    if (*v < 0 || *v > 1e9) return range_error(text, "between 0 and 1000000000");
    c.*m = *v;
    return {};
  };
  o.show = [=](const ServerConfig& c) { return format_double(c.*m); };
  return o;
}

}  // namespace

const std::vector<Option>& options() {
  static const std::vector<Option> table = [] {
    using C = ServerConfig;
    std::vector<Option> t;

    t.push_back(Option{"config",
                       "TAGSTREAM_CONFIG",
                       {},
                       "FILE",
                       "TOML file of settings: top-level keys named as the toml names below. Overrides "
                       "environment variables; flags override it.",
                       Kind::string,
                       [](C&, std::string_view) { return std::string(); },
                       [](const C&) { return std::string(); }});

    // Network
    {
      Option o{"listen",
               "TAGSTREAM_LISTEN",
               {},
               "HOST:PORT",
               "Address to listen on: an IP address or localhost, IPv6 in brackets as [::1]:8080; all "
               "interfaces as 0.0.0.0:PORT or [::]:PORT; port 0 picks a free port.",
               Kind::string,
               {},
               {}};
      o.set = [](C& c, std::string_view text) -> std::string {
        if (auto parsed = parse_listen(text); !parsed) return parsed.error;
        c.listen = std::string(text);
        return {};
      };
      o.show = [](const C& c) { return c.listen; };
      t.push_back(std::move(o));
    }
    {
      Option o{"port",
               "TAGSTREAM_PORT",
               {},
               "PORT",
               "Shortcut that replaces the port of --listen, keeping its host (applied after listen "
               "from the same source).",
               Kind::integer,
               {},
               {}};
      o.set = [](C& c, std::string_view text) -> std::string {
        auto p = parse_integer(text);
        if (!p) return "expected a port number, got " + in_quotes(text);
        if (*p < 0 || *p > 65535) return range_error(text, "between 0 and 65535");
        // listen was validated when set, so its last ':' separates the port.
        c.listen = c.listen.substr(0, c.listen.rfind(':') + 1) + std::to_string(*p);
        return {};
      };
      o.show = [](const C&) { return std::string(); };
      t.push_back(std::move(o));
    }
    t.push_back(integer("threads", "TAGSTREAM_THREADS", "N", "Network threads; 0 = one per CPU core.",
                        &C::threads, 0, kMaxNetworkThreads));
    {
      Option o{"node-id",
               "TAGSTREAM_NODE_ID",
               {},
               "NAME",
               "This node's name in /healthz, /api/stats and tagstream_build_info, to tell nodes "
               "apart behind a load balancer: up to 64 letters, digits and . _ : -. Default: the "
               "host name and the port listened on (plant-a:8080).",
               Kind::string,
               {},
               {}};
      o.set = [](C& c, std::string_view text) -> std::string {
        if (auto error = node_id_error(text); !error.empty()) return error;
        c.node_id = std::string(text);
        return {};
      };
      o.show = [](const C& c) { return c.node_id.empty() ? std::string("hostname:port") : c.node_id; };
      t.push_back(std::move(o));
    }

    // SSE contract
    t.push_back(seconds("heartbeat-interval", "SSE_HEARTBEAT_INTERVAL",
                        "Seconds between heartbeat events on an idle stream.", &C::heartbeat_interval, 0,
                        true));
    t.push_back(seconds("data-check-interval", "SSE_DATA_CHECK_INTERVAL",
                        "Coalescing window: changes within it are sent as one data event; 0 sends every "
                        "change at once. Fractions allowed.",
                        &C::data_check_interval, 0, false));
    t.push_back(integer("max-reconnect-attempts", "SSE_MAX_RECONNECT_ATTEMPTS", "N",
                        "Reconnect attempts advertised to clients in the connected event.",
                        &C::max_reconnect_attempts, 0, 1000000));
    t.push_back(integer("retry-ms", "SSE_RETRY_MS", "MS",
                        "Reconnect delay sent to clients as the SSE retry: field, in milliseconds.",
                        &C::retry_ms, 0, 86400000));

    // Limits
    t.push_back(integer("max-streams", "TAGSTREAM_MAX_STREAMS", "N",
                        "Open streams allowed in total; more are answered 503.", &C::max_streams, 1,
                        std::numeric_limits<int>::max()));
    t.push_back(integer("max-streams-per-client", "TAGSTREAM_MAX_STREAMS_PER_CLIENT", "N",
                        "Open streams allowed per client address; more are answered 429.",
                        &C::max_streams_per_client, 1, std::numeric_limits<int>::max()));
    t.push_back(size("client-buffer-bytes", "TAGSTREAM_CLIENT_BUFFER_BYTES",
                     "Bytes queued per stream before its pending updates coalesce (latest value wins).",
                     &C::client_buffer_bytes, 1));
    t.push_back(count("max-tags-per-query", "TAGSTREAM_MAX_TAGS_PER_QUERY",
                      "Tags a stream or query may name after its patterns are expanded; more are answered "
                      "400 too_many_tags.",
                      &C::max_tags_per_query, 100000000));
    t.push_back(seconds("slow-client-timeout", "TAGSTREAM_SLOW_CLIENT_TIMEOUT",
                        "Seconds a write may stall before the stream is dropped.", &C::slow_client_timeout, 0,
                        true));
    t.push_back(seconds("max-clock-skew", "TAGSTREAM_MAX_CLOCK_SKEW",
                        "Seconds a written sample may be ahead of the server clock; a later one is refused "
                        "with a line error and never becomes a live value.",
                        &C::max_clock_skew, 0, false));
    t.push_back(count("max-tags", "TAGSTREAM_MAX_TAGS",
                      "Most tags the server holds; a write or PUT that would create more is refused "
                      "(429, too_many_tags) and creates none. Tags already stored are kept.",
                      &C::max_tags, 1000000000));
    t.push_back(count("max-new-tags-per-request", "TAGSTREAM_MAX_NEW_TAGS_PER_REQUEST",
                      "Most new tags one write request may create; more: 429, nothing written.",
                      &C::max_new_tags_per_request, 1000000000));
    t.push_back(count("max-new-tags-per-minute", "TAGSTREAM_MAX_NEW_TAGS_PER_MINUTE",
                      "Most new tags one client address may create per minute; more: 429 with "
                      "Retry-After, nothing written.",
                      &C::max_new_tags_per_minute, 1000000000));
    t.push_back(count("replay-buffer", "TAGSTREAM_REPLAY_BUFFER",
                      "Samples kept in memory to resume streams after Last-Event-ID; 0 disables resume "
                      "from memory.",
                      &C::replay_buffer, 1000000000));
    t.push_back(size("max-header-bytes", "TAGSTREAM_MAX_HEADER_BYTES",
                     "Largest request header block accepted.", &C::max_header_bytes, 1));
    t.push_back(size("max-body-bytes", "TAGSTREAM_MAX_BODY_BYTES",
                     "Largest request body accepted (ingest batches).", &C::max_body_bytes, 0));
    t.push_back(seconds("header-timeout", "TAGSTREAM_HEADER_TIMEOUT",
                        "Seconds to receive a request's headers.", &C::header_timeout, 0, true));
    t.push_back(seconds("idle-timeout", "TAGSTREAM_IDLE_TIMEOUT",
                        "Seconds a keep-alive connection may sit idle between requests.", &C::idle_timeout, 0,
                        true));
    t.push_back(seconds("shutdown-grace", "TAGSTREAM_SHUTDOWN_GRACE",
                        "Seconds to flush final events to streams on shutdown.", &C::shutdown_grace, 0,
                        false));
    t.push_back(
        boolean("sse-gzip", "TAGSTREAM_SSE_GZIP",
                "Compress streams with gzip for clients that accept it (browsers do): an update takes "
                "~30 bytes instead of ~150, at a little CPU per write and no memory per stream. "
                "--no-sse-gzip turns it off.",
                &C::sse_gzip));
    t.push_back(boolean("io-uring", "TAGSTREAM_IO_URING",
                        "Hand each write pass's sends to the kernel in one io_uring call instead of one "
                        "sendmsg per stream (falls back by itself where io_uring is unavailable). "
                        "--no-io-uring turns it off.",
                        &C::io_uring));

    // Plant-network hardening: connection caps, proxies, cross-site writes, request rates
    t.push_back(integer("max-connections", "TAGSTREAM_MAX_CONNECTIONS", "N",
                        "Open connections (streams included) allowed in total; more are answered 503 and "
                        "closed. 0 = the open-file limit (raised to its hard limit at start) less 64 kept "
                        "for the store and files.",
                        &C::max_connections, 0, std::numeric_limits<int>::max()));
    t.push_back(integer("max-connections-per-client", "TAGSTREAM_MAX_CLIENT_CONNECTIONS", "N",
                        "Open connections that are not streams allowed per client address (streams have "
                        "max-streams-per-client); more are answered 429 and closed. Trusted proxies are "
                        "exempt.",
                        &C::max_connections_per_client, 1, std::numeric_limits<int>::max()));
    t.push_back(Option{"trusted-proxies",
                       "TAGSTREAM_TRUSTED_PROXIES",
                       {},
                       "LIST",
                       "Proxies whose X-Forwarded-For (or, without it, Forwarded) names the client, "
                       "comma-separated addresses or CIDR ranges (127.0.0.1,10.0.0.0/8,::1); behind nginx, "
                       "name nginx. Default: none, every client is its TCP address.",
                       Kind::string,
                       [](C& c, std::string_view text) -> std::string {
                         auto parsed = TrustedProxies::parse(text);
                         if (!parsed) return parsed.error;
                         c.trusted_proxies = std::move(*parsed);
                         return {};
                       },
                       [](const C& c) { return c.trusted_proxies.text(); }});
    t.push_back(Option{"cors-origins",
                       "TAGSTREAM_CORS_ORIGINS",
                       {},
                       "LIST",
                       "Origins of other sites' pages allowed to call the API from a browser, "
                       "comma-separated (https://hmi.example,http://10.0.0.5:3000): their writes are "
                       "accepted and they get CORS headers. Default: none, cross-site writes get 403.",
                       Kind::string,
                       [](C& c, std::string_view text) -> std::string {
                         auto parsed = parse_cors_origins(text);
                         if (!parsed) return parsed.error;
                         c.cors_origins = std::move(*parsed);
                         return {};
                       },
                       [](const C& c) {
                         std::string list;
                         for (const auto& o : c.cors_origins) list += (list.empty() ? "" : ",") + o;
                         return list;
                       }});
    t.push_back(rate("write-rate-limit", "TAGSTREAM_WRITE_RATE_LIMIT",
                     "Write requests (/write, /api/v2/write, /api/samples, PUT /api/tags/...) per second per "
                     "client; more are answered 429 with Retry-After. 0 = unlimited.",
                     &C::write_rate_limit));
    t.push_back(rate("write-rate-burst", "TAGSTREAM_WRITE_RATE_BURST",
                     "Write requests a client may make at once above its rate.", &C::write_rate_burst));
    t.push_back(rate("history-rate-limit", "TAGSTREAM_HISTORY_RATE_LIMIT",
                     "History queries (/api/data/history) per second per client; more are answered 429 "
                     "with Retry-After. 0 = unlimited.",
                     &C::history_rate_limit));
    t.push_back(rate("history-rate-burst", "TAGSTREAM_HISTORY_RATE_BURST",
                     "History queries a client may make at once above its rate.", &C::history_rate_burst));

    // Store
    t.push_back(Option{"data-dir",
                       "TAGSTREAM_DATA_DIR",
                       {},
                       "DIR",
                       "Directory of the embedded store (created if missing).",
                       Kind::string,
                       [](C& c, std::string_view text) -> std::string {
                         if (text.empty()) return "must not be empty";
                         c.data_dir = std::string(text);
                         return {};
                       },
                       [](const C& c) { return c.data_dir; }});
    t.push_back(
        Option{"store",
               "TAGSTREAM_STORE",
               {},
               "URL",
               "Shared PostgreSQL historian, as a libpq connection string "
               "(postgres://user@host:port/db or key=value pairs); empty: SQLite in --data-dir.",
               Kind::string,
               [](C& c, std::string_view text) -> std::string {
                 const bool url = text.starts_with("postgres://") || text.starts_with("postgresql://");
                 if (!text.empty() && !url && text.find('=') == std::string_view::npos)
                   return "expected a postgres:// URL or libpq key=value pairs, got " + in_quotes(text);
                 c.store_url = std::string(text);
                 return {};
               },
               [](const C& c) { return redact_store_url(c.store_url); }});
    t.push_back(Option{"cluster",
                       "TAGSTREAM_CLUSTER",
                       {},
                       "URL",
                       "Run as one node of a cluster: redis://HOST[:PORT][/DB] carries every sample to "
                       "every node (with --store postgres://...); empty: a single node.",
                       Kind::string,
                       [](C& c, std::string_view text) -> std::string {
                         if (!text.empty()) {
                           const auto address = cluster::parse_redis_url(text);
                           if (!address) return address.error + ", got " + in_quotes(redact_store_url(text));
                         }
                         c.cluster_url = std::string(text);
                         return {};
                       },
                       [](const C& c) { return redact_store_url(c.cluster_url); }});
    t.push_back(Option{"sync",
                       "TAGSTREAM_SYNC",
                       {},
                       "MODE",
                       "full: fsync every commit, nothing acknowledged is lost even on power loss; normal: "
                       "safe against a crash of the process, not of the machine.",
                       Kind::string,
                       [](C& c, std::string_view text) -> std::string {
                         if (text != "full" && text != "normal")
                           return "expected full or normal, got " + in_quotes(text);
                         c.sync_full = text == "full";
                         return {};
                       },
                       [](const C& c) { return std::string(c.sync_full ? "full" : "normal"); }});
    t.push_back(count("store-queue-samples", "TAGSTREAM_STORE_QUEUE_SAMPLES",
                      "Samples waiting to be committed before ingest is answered 503 (back-pressure).",
                      &C::store_queue_samples, 1000000000));
    t.push_back(count("store-flush-samples", "TAGSTREAM_STORE_FLUSH_SAMPLES",
                      "Committed samples kept in memory (and in the journal) before they are folded into the "
                      "store's blocks: more means faster ingest and more memory (about 100 bytes each).",
                      &C::store_flush_samples, 100000000));
    t.push_back(count("store-late-slice", "TAGSTREAM_STORE_LATE_SLICE",
                      "Late samples (older than their tag's live value) of one request committed together; "
                      "a request with more has them committed in slices of this many, one per commit, so "
                      "a back-fill holds other writers up by one slice.",
                      &C::store_late_slice, 100000000));
    t.push_back(seconds("store-commit-interval", "TAGSTREAM_STORE_COMMIT_INTERVAL",
                        "Least time between the starts of two commits: what arrives meanwhile shares one "
                        "commit (one fsync), and waits at most this long for it. 0 commits as soon as the "
                        "previous commit ends. Fractions allowed.",
                        &C::store_commit_interval, 0, false));
    t.push_back(period("retention-raw", "TAGSTREAM_RETENTION_RAW", "How long raw samples are kept.",
                       &C::retention_raw));
    t.push_back(period("retention-second", "TAGSTREAM_RETENTION_SECOND",
                       "How long per-second aggregates are kept.", &C::retention_second));
    t.push_back(period("retention-minute", "TAGSTREAM_RETENTION_MINUTE",
                       "How long per-minute aggregates are kept.", &C::retention_minute));
    t.push_back(period("retention-hour", "TAGSTREAM_RETENTION_HOUR", "How long per-hour aggregates are kept.",
                       &C::retention_hour));
    t.push_back(period("retention-day", "TAGSTREAM_RETENTION_DAY", "How long per-day aggregates are kept.",
                       &C::retention_day));

    // Authentication and audit
    t.push_back(file_path("token-file", "TAGSTREAM_TOKEN_FILE",
                          "API keys (TOML, hashed; `tagstream token new` adds one). Re-read when it changes: "
                          "a removed key ends its streams. Setting it turns authentication on.",
                          &C::token_file));
    t.push_back(
        file_path("jwt-secret-file", "TAGSTREAM_JWT_SECRET_FILE",
                  "File holding the HS256 secret (at least 32 bytes) JWTs are signed with. Setting it "
                  "turns authentication on.",
                  &C::jwt_secret_file));
    t.push_back(file_path("jwt-public-key", "TAGSTREAM_JWT_PUBLIC_KEY",
                          "PEM public key JWTs are verified with: RSA (RS256) or P-256 (ES256). Setting it "
                          "turns authentication on.",
                          &C::jwt_public_key_file));
    t.push_back(file_path("audit-log", "TAGSTREAM_AUDIT_LOG",
                          "Append one JSON line per write request, metadata change, sign-in and refused "
                          "credential to FILE (\"-\": standard error).",
                          &C::audit_log));
    t.push_back(boolean("allow-unauthenticated", "TAGSTREAM_ALLOW_UNAUTHENTICATED",
                        "Serve on an address other than loopback without authentication, letting anyone "
                        "who reaches the port read and write every tag. Without it tagstream refuses to "
                        "start that way.",
                        &C::allow_unauthenticated));

    // Dashboard
    t.push_back(
        Option{"web-root",
               "TAGSTREAM_WEB_ROOT",
               {},
               "DIR",
               "Directory of the built dashboard served at /; default: share/tagstream/web beside an "
               "installed binary (BINDIR/..), else web/dist of the source tree it was built from.",
               Kind::string,
               [](C& c, std::string_view text) -> std::string {
                 c.web_root = std::string(text);
                 return {};
               },
               [](const C& c) { return c.web_root.empty() ? std::string("(built-in)") : c.web_root; }});

    // Simulator
    t.push_back(
        boolean("simulator", "TAGSTREAM_SIMULATOR",
                "Run the built-in plant simulator; --no-simulator turns it off. Env/file: true/false/1/0.",
                &C::simulator));
    t.push_back(seconds("simulator-rate", "TAGSTREAM_SIMULATOR_RATE", "Samples per second per simulated tag.",
                        &C::simulator_rate, 0, true));
    t.back().metavar = "HZ";
    t.back().set = [](C& c, std::string_view text) -> std::string {
      auto v = parse_double(text);
      if (!v) return "expected a number of samples per second, got " + in_quotes(text);
      if (*v <= 0 || *v > 1e6) return range_error(text, "greater than 0 and at most 1000000");
      c.simulator_rate = *v;
      return {};
    };
    {
      Option o{"simulator-seed",
               "TAGSTREAM_SIMULATOR_SEED",
               {},
               "N",
               "Seed for the simulator's random walk, for repeatable runs; \"random\" picks one.",
               Kind::integer,
               {},
               {}};
      o.set = [](C& c, std::string_view text) -> std::string {
        if (text == "random") {
          c.simulator_seed.reset();
          return {};
        }
        auto v = parse_integer(text);
        if (!v) return "expected an integer or \"random\", got " + in_quotes(text);
        if (*v < 0 || *v > std::numeric_limits<unsigned>::max())
          return range_error(text, "between 0 and " + std::to_string(std::numeric_limits<unsigned>::max()));
        c.simulator_seed = static_cast<unsigned>(*v);
        return {};
      };
      o.show = [](const C& c) {
        return c.simulator_seed ? std::to_string(*c.simulator_seed) : std::string("random");
      };
      t.push_back(std::move(o));
    }

    // Logging
    {
      Option o{"log-level",
               "TAGSTREAM_LOG_LEVEL",
               {},
               "LEVEL",
               "Least severe log level shown: debug, info, warn or error.",
               Kind::string,
               {},
               {}};
      o.set = [](C& c, std::string_view text) -> std::string {
        std::string l(text);
        std::transform(l.begin(), l.end(), l.begin(), [](unsigned char ch) { return std::tolower(ch); });
        if (l == "warning") l = "warn";
        if (!parse_log_level(l)) return "expected debug, info, warn or error, got " + in_quotes(text);
        c.log_level = l;
        return {};
      };
      o.show = [](const C& c) { return c.log_level; };
      t.push_back(std::move(o));
    }

    // TOML keys are the ServerConfig field names, i.e. the flag in snake_case.
    for (auto& o : t) {
      if (o.flag == "config") continue;
      o.toml = o.flag;
      std::replace(o.toml.begin(), o.toml.end(), '-', '_');
    }
    return t;
  }();
  return table;
}

const Option* find_flag(std::string_view name) {
  for (const auto& o : options())
    if (o.flag == name) return &o;
  return nullptr;
}

const Option* find_toml(std::string_view key) {
  for (const auto& o : options())
    if (!o.toml.empty() && o.toml == key) return &o;
  return nullptr;
}

}  // namespace tagstream
