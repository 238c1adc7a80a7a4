#include "app/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include "core/log.h"
#include "http/listen_address.h"

namespace tagstream {

namespace {

// What a TOML value must look like for an option; env and flag values are
// always text.
enum class Kind { string, integer, number, size, boolean };

struct Option {
  std::string_view flag;     // without the leading "--"
  std::string_view env;      // empty: no environment variable
  std::string toml;          // empty: not settable from the config file
  std::string_view metavar;  // empty for booleans
  std::string_view help;
  Kind kind;
  // Parses and validates `text` into the config; returns what is wrong, or "".
  std::function<std::string(ServerConfig&, std::string_view text)> set;
  // The current value as help shows it; "" when help describes the default.
  std::function<std::string(const ServerConfig&)> show;
};

// Durations above this are almost certainly unit mistakes (ms given as s), and
// the cap keeps every duration representable as std::chrono nanoseconds.
constexpr double kMaxSeconds = 86400;

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string format_double(double v) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string(buf, ptr) : std::to_string(v);
}

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
    t.push_back(seconds("slow-client-timeout", "TAGSTREAM_SLOW_CLIENT_TIMEOUT",
                        "Seconds a write may stall before the stream is dropped.", &C::slow_client_timeout, 0,
                        true));
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

    // Dashboard
    t.push_back(
        Option{"web-root",
               "TAGSTREAM_WEB_ROOT",
               {},
               "DIR",
               "Directory of the built dashboard served at /; default: web/dist of the source tree "
               "this binary was built from.",
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

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// " (did you mean X?)" for the closest candidate within a small typo distance.
std::string suggestion(std::string_view wrong, bool toml) {
  std::string_view best;
  std::size_t best_d = 3;
  for (const auto& o : options()) {
    const std::string_view cand = toml ? std::string_view(o.toml) : o.flag;
    if (cand.empty()) continue;
    if (auto d = edit_distance(wrong, cand); d < best_d) {
      best_d = d;
      best = cand;
    }
  }
  if (best.empty()) return {};
  return toml ? " (did you mean " + in_quotes(best) + "?)" : " (did you mean --" + std::string(best) + "?)";
}

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string_view toml_type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    default: return "a date/time";
  }
}

// The TOML value as the text env and flags would give, after checking that
// its TOML type suits the option.
std::optional<std::string> toml_text(const toml::node& n, Kind kind, std::string& error) {
  const auto* s = n.as_string();
  const auto* i = n.as_integer();
  const auto* f = n.as_floating_point();
  const auto* b = n.as_boolean();
  switch (kind) {
    case Kind::string:
      if (s) return s->get();
      error = "expected a string";
      break;
    case Kind::integer:
      if (i) return std::to_string(i->get());
      // The seed's "random" is the one string an integer option takes.
      if (s && s->get() == "random") return s->get();
      error = "expected an integer";
      break;
    case Kind::number:
      if (i) return std::to_string(i->get());
      if (f) return format_double(f->get());
      error = "expected a number";
      break;
    case Kind::size:
      if (i) return std::to_string(i->get());
      if (s) return s->get();
      error = "expected an integer or a string such as \"256k\"";
      break;
    case Kind::boolean:
      if (b) return std::string(b->get() ? "true" : "false");
      error = "expected true or false";
      break;
  }
  error += ", got " + std::string(toml_type_name(n));
  return std::nullopt;
}

std::string apply(const Option& o, ServerConfig& c, std::string_view text, std::string_view name,
                  std::string_view where = {}) {
  std::string e = o.set(c, trim(text));
  if (e.empty()) return e;
  std::string out = std::string(name) + ": " + e;
  if (!where.empty()) out += " (" + std::string(where) + ")";
  return out;
}

std::string apply_file(const std::string& path, ServerConfig& c) {
  const std::string label = "config file " + path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return label + ": is a directory";
  std::ifstream in(path, std::ios::binary);
  if (!in) return label + ": cannot open: " + std::strerror(errno);
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return label + ": cannot read: " + std::strerror(errno);
  const std::string doc = buf.str();

  toml::table table;
#if TOML_EXCEPTIONS
  try {
    table = toml::parse(doc, path);
  } catch (const toml::parse_error& err) {
    return label + ":" + std::to_string(err.source().begin.line) + ":" +
           std::to_string(err.source().begin.column) + ": " + std::string(err.description());
  }
#else
  auto parsed = toml::parse(doc, path);
  if (!parsed) {
    const auto& err = parsed.error();
    return label + ":" + std::to_string(err.source().begin.line) + ":" +
           std::to_string(err.source().begin.column) + ": " + std::string(err.description());
  }
  table = std::move(parsed).table();
#endif

  // Typos are checked before anything is applied so the first message is
  // about the key the user got wrong, not a value after it.
  for (const auto& [key, node] : table) {
    if (!find_toml(key.str()))
      return label + ":" + std::to_string(key.source().begin.line) + ": unknown key " + in_quotes(key.str()) +
             suggestion(key.str(), true);
  }
  // Table order, not file order, so `port` applies after `listen`.
  for (const auto& o : options()) {
    if (o.toml.empty()) continue;
    const toml::node* node = table.get(o.toml);
    if (!node) continue;
    const std::string where = path + ":" + std::to_string(node->source().begin.line);
    std::string type_error;
    auto text = toml_text(*node, o.kind, type_error);
    if (!text) return std::string(o.toml) + ": " + type_error + " (" + where + ")";
    if (auto e = apply(o, c, *text, o.toml, where); !e.empty()) return e;
  }
  return {};
}

void wrap(std::string& out, std::string_view text, std::size_t indent, std::size_t width) {
  std::size_t col = indent;
  out.append(indent, ' ');
  bool first = true;
  while (!text.empty()) {
    const auto sp = text.find(' ');
    const std::string_view word = text.substr(0, sp);
    text = sp == std::string_view::npos ? std::string_view{} : text.substr(sp + 1);
    if (word.empty()) continue;
    if (!first && col + 1 + word.size() > width) {
      out += '\n';
      out.append(indent, ' ');
      col = indent;
      first = true;
    }
    if (!first) {
      out += ' ';
      ++col;
    }
    out += word;
    col += word.size();
    first = false;
  }
  out += '\n';
}

}  // namespace

std::optional<std::string> process_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

ConfigResult load_server_config(const std::vector<std::string>& args,
                                std::optional<std::string> (*env)(const char*)) {
  ConfigResult r;
  // Help wins over everything else, even mistakes elsewhere on the line: the
  // user is asking how to get it right.
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      r.show_help = true;
      return r;
    }
  }

  // Flags are collected first because the config file they may name must be
  // applied before them but after the environment.
  struct FlagValue {
    const Option* option;
    std::string value;
    std::string spelled;
  };
  std::vector<FlagValue> flags;
  std::optional<std::string> config_path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (!arg.starts_with("--") || arg.size() == 2) {
      r.error = "unexpected argument " + in_quotes(arg) + " (see --help)";
      return r;
    }
    std::string_view name = arg.substr(2);
    std::optional<std::string_view> inline_value;
    if (auto eq = name.find('='); eq != std::string_view::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const std::string spelled = "--" + std::string(name);
    const Option* o = find_flag(name);
    if (!o && name.starts_with("no-")) {
      const Option* negated = find_flag(name.substr(3));
      if (negated && negated->kind == Kind::boolean) {
        if (inline_value) {
          r.error = spelled + ": takes no value";
          return r;
        }
        flags.push_back({negated, "false", spelled});
        continue;
      }
    }
    if (!o) {
      r.error = "unknown option " + in_quotes(spelled) + suggestion(name, false) + " (see --help)";
      return r;
    }
    std::string value;
    if (inline_value) {
      value = std::string(*inline_value);
    } else if (o->kind == Kind::boolean) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      r.error = spelled + ": missing value (" + std::string(o->metavar) + ")";
      return r;
    }
    if (o->flag == "config") {
      if (value.empty()) {
        r.error = "--config: missing file name";
        return r;
      }
      config_path = value;
    } else {
      flags.push_back({o, std::move(value), spelled});
    }
  }

  for (const auto& o : options()) {
    if (o.env.empty() || o.flag == "config") continue;
    const std::string env_name(o.env);
    auto v = env(env_name.c_str());
    // Empty counts as unset: compose files and shells often export VAR= to
    // mean "not configured".
    if (!v || trim(*v).empty()) continue;
    if (auto e = apply(o, r.config, *v, o.env); !e.empty()) {
      r.error = std::move(e);
      return r;
    }
  }

  if (!config_path) {
    if (auto v = env("TAGSTREAM_CONFIG"); v && !trim(*v).empty()) config_path = std::string(trim(*v));
  }
  if (config_path) {
    if (auto e = apply_file(*config_path, r.config); !e.empty()) {
      r.error = std::move(e);
      return r;
    }
  }

  // Table order within flags too, so `--port` applies after `--listen`
  // wherever it is written; stable, so a repeated flag's last value wins.
  std::stable_sort(flags.begin(), flags.end(),
                   [](const FlagValue& a, const FlagValue& b) { return a.option < b.option; });
  for (const auto& f : flags) {
    if (auto e = apply(*f.option, r.config, f.value, f.spelled); !e.empty()) {
      r.error = std::move(e);
      return r;
    }
  }
  return r;
}

std::string server_help_text() {
  constexpr std::size_t kWidth = 80;
  std::string out =
      "Usage: tagstream serve [options]\n"
      "\n"
      "Runs the tagstream server. Each setting comes from, lowest precedence first:\n"
      "its default, an environment variable, the TOML config file, a flag. Flags\n"
      "take --name VALUE or --name=VALUE. Sizes take an optional k, M or G suffix\n"
      "(powers of 1024); durations are in seconds and may be fractional.\n"
      "\n"
      "Options:\n";
  const ServerConfig defaults;
  for (const auto& o : options()) {
    std::string head = "  --" + std::string(o.flag);
    if (o.kind == Kind::boolean) head += ", --no-" + std::string(o.flag);
    if (!o.metavar.empty()) head += " " + std::string(o.metavar);
    if (const std::string def = o.show(defaults); !def.empty()) head += "  (default: " + def + ")";
    out += head + "\n";
    wrap(out, o.help, 6, kWidth);
    std::string sources;
    if (!o.env.empty()) sources += "env: " + std::string(o.env);
    if (!o.toml.empty()) sources += (sources.empty() ? "" : "   ") + std::string("toml: ") + o.toml;
    // Short enough never to need wrapping; wrap() would squeeze the gap.
    if (!sources.empty()) out += "      " + sources + "\n";
  }
  out += "  -h, --help\n";
  wrap(out, "Show this help and exit.", 6, kWidth);
  return out;
}

}  // namespace tagstream
