// tagstream-bench: a small load generator for side-by-side benchmarks of
// tagstream and InfluxDB 1.x on one machine (see bench/historian.sh and
// BENCHMARKS.md), and of tagstream's streams against nginx + nchan and
// polling (bench/streaming.sh; the `sse` and `poll` subcommands live in
// sse_load.cc and poll_load.cc).
//
//   tagstream-bench ingest  --url http://127.0.0.1:PORT/write [options]
//       Keep-alive HTTP/1.1 connections POST line-protocol bodies as fast as
//       the answers come back, for --seconds or until --lines lines were
//       sent. Reports samples/s (2xx answers only), requests/s and request
//       latency percentiles. The same bodies suit InfluxDB's /write?db=NAME.
//   tagstream-bench history --url 'http://127.0.0.1:PORT/...' [options]
//       Sequential GETs of one URL; reports median/p90/p99 latency and the
//       size of the answers.
//
// Only loopback addresses are accepted: every address the host resolves to
// must be a loopback address, or the tool refuses to start. Every run is
// bounded in time and in requests and stops by itself.
//
// Bodies: line i of the stream (over all requests) is
//   <measurement>,<tag-key>=d<k> <field>=<value> <timestamp>
// with k = i mod --tags (zero-padded, so every line has the same length) and
// timestamp = --start + (i div --tags) * --step: every tag's timestamps
// increase, so nothing overwrites earlier data. A template body is generated
// once per connection and its fixed-width fields are rewritten in place for
// each request, so the client spends little CPU per request.

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench_args.h"
#include "load_commands.h"

namespace {

using tagstream_bench::Args;
using tagstream_bench::die;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds kRequestTimeout{120};
constexpr std::uint64_t kMaxRequests = 10'000'000;   // hard cap on any run
constexpr double kMaxSeconds = 3600;                 // hard cap on any run

// ---------------------------------------------------------------------------
// URLs: http://host[:port]/target, loopback only.

struct Url {
  std::string host;    // without IPv6 brackets
  std::string port;
  std::string target;  // path and query, sent as given
  std::string host_header;
};

Url parse_url(const std::string& text) {
  constexpr std::string_view scheme = "http://";
  if (!text.starts_with(scheme)) die("only http:// URLs are supported: '" + text + "'");
  std::string rest = text.substr(scheme.size());
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  Url u;
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  u.host_header = authority;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string::npos) die("bad IPv6 address in '" + text + "'");
    u.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    u.port = after.starts_with(":") ? after.substr(1) : "80";
  } else {
    const auto colon = authority.find(':');
    u.host = authority.substr(0, colon);
    u.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  }
  if (u.host.empty() || u.port.empty()) die("bad URL '" + text + "'");
  return u;
}

/// Resolves the URL's host; refuses anything that is not loopback.
std::vector<tcp::endpoint> resolve_loopback(asio::io_context& io, const Url& u) {
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(u.host, u.port, ec);
  if (ec) die("cannot resolve " + u.host + ":" + u.port + ": " + ec.message());
  std::vector<tcp::endpoint> out;
  for (const auto& r : results) {
    if (!r.endpoint().address().is_loopback())
      die("refusing " + u.host + " (" + r.endpoint().address().to_string() +
          "): this tool only talks to loopback addresses (127.0.0.0/8, ::1)");
    out.push_back(r.endpoint());
  }
  if (out.empty()) die("no address for " + u.host);
  return out;
}

// ---------------------------------------------------------------------------
// Statistics.

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  // Nearest rank.
  const double rank = std::ceil(p / 100.0 * static_cast<double>(v.size()));
  const std::size_t i = static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(v.size()))) - 1;
  return v[i];
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// ---------------------------------------------------------------------------
// Line-protocol bodies with fixed-width fields, rewritten in place.

enum class Signal { ramp, wave };

struct BodySpec {
  std::string measurement = "plant";
  std::string tag_key = "dev";
  std::string field = "v";
  std::int64_t tags = 1000;
  std::int64_t lines_per_request = 5000;
  std::int64_t start = 0;  // in precision units
  std::int64_t step = 1;   // in precision units
  double units_per_second = 1e9;
  Signal signal = Signal::ramp;
};

int digits(std::uint64_t v) {
  int n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

void put_fixed(char* p, int width, std::uint64_t v) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

class BodyWriter {
 public:
  BodyWriter(const BodySpec& spec, std::int64_t max_rounds) : spec_(spec) {
    tag_width_ = digits(static_cast<std::uint64_t>(std::max<std::int64_t>(spec.tags - 1, 0)));
    const std::int64_t first = spec.start;
    const std::int64_t last = spec.start + max_rounds * spec.step;
    if (first <= 0 || digits(static_cast<std::uint64_t>(first)) != digits(static_cast<std::uint64_t>(last)))
      die("timestamps from --start to the last one must be positive and have the same number of digits");
    ts_width_ = digits(static_cast<std::uint64_t>(first));
    // "<m>,<k>=d<tag> <f>=DDD.DDD <ts>\n"
    prefix_ = spec.measurement + "," + spec.tag_key + "=d";
    tag_off_ = prefix_.size();
    value_off_ = tag_off_ + static_cast<std::size_t>(tag_width_) + 1 + spec.field.size() + 1;
    ts_off_ = value_off_ + 7 + 1;
    line_len_ = ts_off_ + static_cast<std::size_t>(ts_width_) + 1;
  }

  std::size_t line_length() const { return line_len_; }

  /// Writes lines [first_line, first_line + n) of the stream into body.
  void fill(std::string& body, std::uint64_t first_line, std::size_t n) {
    if (body.size() != n * line_len_) {
      body.resize(n * line_len_);
      for (std::size_t j = 0; j < n; ++j) {
        char* p = body.data() + j * line_len_;
        std::memcpy(p, prefix_.data(), prefix_.size());
        p[value_off_ - spec_.field.size() - 2] = ' ';
        std::memcpy(p + value_off_ - spec_.field.size() - 1, spec_.field.data(), spec_.field.size());
        p[value_off_ - 1] = '=';
        p[value_off_ + 3] = '.';
        p[ts_off_ - 1] = ' ';
        p[line_len_ - 1] = '\n';
      }
    }
    const auto tags = static_cast<std::uint64_t>(spec_.tags);
    for (std::size_t j = 0; j < n; ++j) {
      const std::uint64_t g = first_line + j;
      const std::uint64_t tag = g % tags;
      const std::uint64_t round = g / tags;
      const std::int64_t ts = spec_.start + static_cast<std::int64_t>(round) * spec_.step;
      char* p = body.data() + j * line_len_;
      put_fixed(p + tag_off_, tag_width_, tag);
      const std::uint64_t milli = value_milli(tag, round, ts);
      put_fixed(p + value_off_, 3, milli / 1000);
      put_fixed(p + value_off_ + 4, 3, milli % 1000);
      put_fixed(p + ts_off_, ts_width_, static_cast<std::uint64_t>(ts));
    }
  }

 private:
  /// A value in [100.000, 999.999], in thousandths.
  std::uint64_t value_milli(std::uint64_t tag, std::uint64_t round, std::int64_t ts) const {
    // A cheap deterministic hash for noise.
    std::uint64_t h = (tag + 1) * 0x9E3779B97F4A7C15ULL ^ (round + 1) * 0xC2B2AE3D27D4EB4FULL;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 32;
    if (spec_.signal == Signal::ramp) return 100000 + h % 900000;
    // A daily wave per tag plus noise: what a temperature looks like.
    const double t = static_cast<double>(ts) / spec_.units_per_second;
    const double day = 2 * M_PI * t / 86400.0;
    double v = 500.0 + 250.0 * std::sin(day + static_cast<double>(tag)) +
               50.0 * (static_cast<double>(h % 20001) / 10000.0 - 1.0);
    v = std::clamp(v, 100.0, 999.999);
    return static_cast<std::uint64_t>(std::llround(v * 1000.0));
  }

  BodySpec spec_;
  std::string prefix_;
  int tag_width_ = 1, ts_width_ = 19;
  std::size_t tag_off_ = 0, value_off_ = 0, ts_off_ = 0, line_len_ = 0;
};

// ---------------------------------------------------------------------------
// ingest

struct IngestConfig {
  Url url;
  std::string raw_url;
  int connections = 4;
  double seconds = 20;
  std::uint64_t total_lines = 0;  // 0: until --seconds
  std::uint64_t max_requests = kMaxRequests;
  bool retry_busy = false;        // resend after 503 instead of counting it
  std::string precision = "ns";
  BodySpec body;
};

struct IngestState {
  std::uint64_t next_request = 0;
  std::uint64_t ok_requests = 0, ok_lines = 0, failed_requests = 0, busy_retries = 0;
  std::map<int, std::uint64_t> failures_by_status;
  std::string first_error;
  std::vector<double> latencies_ms;
  Clock::time_point deadline;       // no new requests after it (with --seconds)
  Clock::time_point hard_deadline;  // the run stops here whatever happens
  bool fatal = false;
};

asio::awaitable<void> ingest_connection(IngestConfig& cfg, IngestState& st, std::vector<tcp::endpoint> endpoints,
                                        std::int64_t max_rounds) {
  auto executor = co_await asio::this_coro::executor;
  BodyWriter writer(cfg.body, max_rounds);
  beast::tcp_stream stream(executor);
  bool connected = false;
  beast::flat_buffer buffer;
  http::request<http::string_body> req{http::verb::post, cfg.url.target, 11};
  req.set(http::field::host, cfg.url.host_header);
  req.set(http::field::user_agent, "tagstream-bench");
  req.set(http::field::content_type, "text/plain; charset=utf-8");
  req.keep_alive(true);
  const auto L = static_cast<std::uint64_t>(cfg.body.lines_per_request);

  std::optional<std::uint64_t> retry;  // a request to send again after 503
  while (!st.fatal) {
    if (Clock::now() >= st.hard_deadline) {
      st.fatal = true;
      if (st.first_error.empty()) st.first_error = "stopped at the time limit of " + std::to_string(kMaxSeconds) + " s";
      break;
    }
    std::uint64_t n;
    if (retry) {
      n = *retry;
      retry.reset();
    } else {
      if (cfg.seconds > 0 && Clock::now() >= st.deadline) break;
      if (st.next_request >= cfg.max_requests) break;
      if (cfg.total_lines && st.next_request * L >= cfg.total_lines) break;
      n = st.next_request++;
    }
    std::uint64_t lines = L;
    if (cfg.total_lines) lines = std::min<std::uint64_t>(L, cfg.total_lines - n * L);
    writer.fill(req.body(), n * L, lines);
    req.prepare_payload();

    if (!connected) {
      stream.expires_after(std::chrono::seconds(10));
      auto [ec, ep] = co_await stream.async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
      if (ec) {
        st.fatal = true;
        st.first_error = "connect: " + ec.message();
        break;
      }
      stream.socket().set_option(tcp::no_delay(true));
      connected = true;
    }
    const auto t0 = Clock::now();
    stream.expires_after(kRequestTimeout);
    auto [wec, wn] = co_await http::async_write(stream, req, asio::as_tuple(asio::use_awaitable));
    http::response<http::string_body> res;
    boost::system::error_code rec;
    if (!wec) {
      auto [ec2, rn] = co_await http::async_read(stream, buffer, res, asio::as_tuple(asio::use_awaitable));
      rec = ec2;
    }
    if (wec || rec) {
      // The server closed a keep-alive connection or timed out: count the
      // request as failed and reconnect.
      ++st.failed_requests;
      ++st.failures_by_status[0];
      if (st.first_error.empty()) st.first_error = "transport: " + (wec ? wec : rec).message();
      boost::system::error_code ignored;
      stream.socket().close(ignored);
      connected = false;
      buffer.clear();
      if (cfg.retry_busy) retry = n;  // loading data: every line must land
      if (st.failed_requests > 1000) st.fatal = true;
      continue;
    }
    const double ms = ms_since(t0);
    const int status = static_cast<int>(res.result_int());
    if (status >= 200 && status < 300) {
      ++st.ok_requests;
      st.ok_lines += lines;
      st.latencies_ms.push_back(ms);
    } else if (status == 503 && cfg.retry_busy) {
      ++st.busy_retries;
      retry = n;
      asio::steady_timer t(executor, std::chrono::milliseconds(100));
      co_await t.async_wait(asio::use_awaitable);
    } else {
      ++st.failed_requests;
      ++st.failures_by_status[status];
      if (st.first_error.empty()) st.first_error = "HTTP " + std::to_string(status) + ": " + res.body().substr(0, 300);
      // Loading data for the history benchmark must be complete.
      if (cfg.retry_busy) st.fatal = true;
    }
    if (!res.keep_alive()) {
      boost::system::error_code ignored;
      stream.socket().close(ignored);
      connected = false;
      buffer.clear();
    }
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.socket().close(ignored);
}

double units_per_second(const std::string& p) {
  if (p == "ns" || p == "n") return 1e9;
  if (p == "us" || p == "u") return 1e6;
  if (p == "ms") return 1e3;
  if (p == "s") return 1;
  die("--precision must be ns, us, ms or s");
}

int run_ingest(Args& args) {
  IngestConfig cfg;
  cfg.raw_url = args.str("url", "");
  if (cfg.raw_url.empty()) die("ingest needs --url http://127.0.0.1:PORT/write");
  cfg.connections = static_cast<int>(args.integer("connections", 4));
  cfg.body.lines_per_request = args.integer("lines-per-request", 5000);
  cfg.body.tags = args.integer("tags", 1000);
  cfg.seconds = args.num("seconds", 20);
  const std::int64_t total = args.integer("lines", 0);
  cfg.max_requests = static_cast<std::uint64_t>(args.integer("max-requests", static_cast<std::int64_t>(kMaxRequests)));
  cfg.retry_busy = args.str("retry-busy", "false") == "true";
  cfg.precision = args.str("precision", "ns");
  cfg.body.measurement = args.str("measurement", "plant");
  cfg.body.tag_key = args.str("tag-key", "dev");
  cfg.body.field = args.str("field", "v");
  const std::string signal = args.str("signal", "ramp");
  const double ups = units_per_second(cfg.precision);
  cfg.body.units_per_second = ups;
  // Default start: a day ago, one sample per tag per second.
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  cfg.body.start = args.integer("start", static_cast<std::int64_t>((now_s - 86400) * ups));
  cfg.body.step = args.integer("step", static_cast<std::int64_t>(ups));
  args.check_all_used();

  if (cfg.connections < 1 || cfg.connections > 256) die("--connections must be 1..256");
  if (cfg.body.lines_per_request < 1 || cfg.body.lines_per_request > 1'000'000)
    die("--lines-per-request must be 1..1000000");
  if (cfg.body.tags < 1 || cfg.body.tags > 1'000'000) die("--tags must be 1..1000000");
  if (cfg.seconds < 0 || cfg.seconds > kMaxSeconds) die("--seconds must be 0..3600 (0: until --lines)");
  if (total < 0) die("--lines must be >= 0");
  cfg.total_lines = static_cast<std::uint64_t>(total);
  if (cfg.seconds == 0 && cfg.total_lines == 0) die("give --seconds, --lines or both");
  if (cfg.max_requests < 1 || cfg.max_requests > kMaxRequests) die("--max-requests must be 1..10000000");
  if (cfg.body.step < 1) die("--step must be >= 1");
  if (signal == "ramp")
    cfg.body.signal = Signal::ramp;
  else if (signal == "wave")
    cfg.body.signal = Signal::wave;
  else
    die("--signal must be ramp or wave");
  if (cfg.body.measurement.empty() || cfg.body.tag_key.empty() || cfg.body.field.empty() ||
      (cfg.body.measurement + cfg.body.tag_key + cfg.body.field).find_first_of(" ,=\\\"\n") != std::string::npos)
    die("--measurement, --tag-key and --field must be plain words");

  std::string url = cfg.raw_url;
  if (url.find("precision=") == std::string::npos)
    url += (url.find('?') == std::string::npos ? "?" : "&") + std::string("precision=") + cfg.precision;
  cfg.url = parse_url(url);

  asio::io_context io(1);
  const auto endpoints = resolve_loopback(io, cfg.url);

  // The largest round any request can reach, to check timestamp widths.
  const std::uint64_t max_lines = cfg.total_lines ? cfg.total_lines
                                                  : cfg.max_requests * static_cast<std::uint64_t>(cfg.body.lines_per_request);
  const auto max_rounds = static_cast<std::int64_t>(max_lines / static_cast<std::uint64_t>(cfg.body.tags) + 1);
  {
    BodyWriter probe(cfg.body, max_rounds);  // validates widths up front
    std::string sample;
    probe.fill(sample, 0, 1);
    std::printf("ingest: %s  connections=%d lines/request=%lld tags=%lld precision=%s %s%s\n", url.c_str(),
                cfg.connections, static_cast<long long>(cfg.body.lines_per_request),
                static_cast<long long>(cfg.body.tags), cfg.precision.c_str(),
                cfg.seconds > 0 ? ("seconds=" + std::to_string(cfg.seconds)).c_str() : "",
                cfg.total_lines ? (" lines=" + std::to_string(cfg.total_lines)).c_str() : "");
    std::printf("first line: %s", sample.c_str());
    std::fflush(stdout);
  }

  IngestState st;
  st.latencies_ms.reserve(1 << 16);
  const auto t0 = Clock::now();
  st.deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cfg.seconds));
  st.hard_deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(kMaxSeconds));
  for (int c = 0; c < cfg.connections; ++c)
    asio::co_spawn(io, ingest_connection(cfg, st, endpoints, max_rounds), [&st](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        st.fatal = true;
        st.first_error = std::string("exception: ") + ex.what();
      }
    });
  io.run();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();

  const double samples_per_s = static_cast<double>(st.ok_lines) / elapsed;
  const double requests_per_s = static_cast<double>(st.ok_requests) / elapsed;
  const double p50 = percentile(st.latencies_ms, 50), p90 = percentile(st.latencies_ms, 90),
               p99 = percentile(st.latencies_ms, 99), pmax = percentile(st.latencies_ms, 100);
  std::printf("elapsed %.2f s: %llu requests ok (%llu samples), %llu failed, %llu busy retries\n", elapsed,
              static_cast<unsigned long long>(st.ok_requests), static_cast<unsigned long long>(st.ok_lines),
              static_cast<unsigned long long>(st.failed_requests), static_cast<unsigned long long>(st.busy_retries));
  for (const auto& [status, count] : st.failures_by_status)
    std::printf("  failed with %s: %llu\n", status ? ("HTTP " + std::to_string(status)).c_str() : "transport error",
                static_cast<unsigned long long>(count));
  if (!st.first_error.empty()) std::printf("  first error: %s\n", st.first_error.c_str());
  std::printf("samples/s %.0f  requests/s %.1f  latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f\n", samples_per_s,
              requests_per_s, p50, p90, p99, pmax);
  std::printf(
      "RESULT ingest samples_per_s=%.0f requests_per_s=%.2f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f "
      "ok_requests=%llu ok_samples=%llu failed_requests=%llu busy_retries=%llu elapsed_s=%.3f\n",
      samples_per_s, requests_per_s, p50, p90, p99, pmax, static_cast<unsigned long long>(st.ok_requests),
      static_cast<unsigned long long>(st.ok_lines), static_cast<unsigned long long>(st.failed_requests),
      static_cast<unsigned long long>(st.busy_retries), elapsed);
  if (st.fatal) return 1;
  if (cfg.total_lines && st.ok_lines != cfg.total_lines) {
    std::fprintf(stderr, "tagstream-bench: only %llu of %llu lines were accepted\n",
                 static_cast<unsigned long long>(st.ok_lines), static_cast<unsigned long long>(cfg.total_lines));
    return 1;
  }
  return st.ok_requests > 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------
// history

struct HistoryResult {
  std::vector<double> latencies_ms;
  std::vector<double> bytes;
  std::string error;
  std::string first_body;
};

asio::awaitable<void> history_client(const Url& url, std::vector<tcp::endpoint> endpoints, std::int64_t warmup,
                                     std::int64_t requests, double seconds, HistoryResult& out) {
  auto executor = co_await asio::this_coro::executor;
  beast::tcp_stream stream(executor);
  bool connected = false;
  beast::flat_buffer buffer;
  http::request<http::empty_body> req{http::verb::get, url.target, 11};
  req.set(http::field::host, url.host_header);
  req.set(http::field::user_agent, "tagstream-bench");
  req.set(http::field::accept, "application/json");
  req.keep_alive(true);
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (std::int64_t i = 0; i < warmup + requests; ++i) {
    if (Clock::now() >= deadline) break;
    if (!connected) {
      stream.expires_after(std::chrono::seconds(10));
      auto [ec, ep] = co_await stream.async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
      if (ec) {
        out.error = "connect: " + ec.message();
        co_return;
      }
      stream.socket().set_option(tcp::no_delay(true));
      connected = true;
    }
    const auto t0 = Clock::now();
    stream.expires_after(kRequestTimeout);
    auto [wec, wn] = co_await http::async_write(stream, req, asio::as_tuple(asio::use_awaitable));
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ULL << 31);
    boost::system::error_code rec;
    if (!wec) {
      auto [ec2, rn] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      rec = ec2;
    }
    const double ms = ms_since(t0);
    if (wec || rec) {
      out.error = "transport: " + (wec ? wec : rec).message();
      co_return;
    }
    auto& res = parser.get();
    if (res.result_int() != 200) {
      out.error = "HTTP " + std::to_string(res.result_int()) + ": " + res.body().substr(0, 300);
      co_return;
    }
    if (out.first_body.empty()) out.first_body = res.body().substr(0, 400);
    if (i >= warmup) {
      out.latencies_ms.push_back(ms);
      out.bytes.push_back(static_cast<double>(res.body().size()));
    }
    if (!res.keep_alive()) {
      boost::system::error_code ignored;
      stream.socket().close(ignored);
      connected = false;
      buffer.clear();
    }
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

int run_history(Args& args) {
  const std::string raw = args.str("url", "");
  if (raw.empty()) die("history needs --url 'http://127.0.0.1:PORT/...'");
  const std::int64_t requests = args.integer("requests", 200);
  const std::int64_t warmup = args.integer("warmup", 5);
  const double seconds = args.num("seconds", 600);
  const bool show = args.str("show-body", "false") == "true";
  args.check_all_used();
  if (requests < 1 || requests > 100000) die("--requests must be 1..100000");
  if (warmup < 0 || warmup > 10000) die("--warmup must be 0..10000");
  if (seconds <= 0 || seconds > kMaxSeconds) die("--seconds must be in (0, 3600]");
  const Url url = parse_url(raw);
  asio::io_context io(1);
  const auto endpoints = resolve_loopback(io, url);
  HistoryResult r;
  asio::co_spawn(io, history_client(url, endpoints, warmup, requests, seconds, r), [&r](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      r.error = std::string("exception: ") + ex.what();
    }
  });
  io.run();
  std::printf("history: %s\n", raw.c_str());
  if (show) std::printf("first answer begins: %s\n", r.first_body.c_str());
  if (!r.error.empty()) std::printf("error: %s\n", r.error.c_str());
  const auto& v = r.latencies_ms;
  const double med = percentile(v, 50), p90 = percentile(v, 90), p99 = percentile(v, 99),
               mn = percentile(v, 0), mx = percentile(v, 100), bytes = percentile(r.bytes, 50);
  std::printf("%zu requests (after %lld warm-up): latency ms median %.2f p90 %.2f p99 %.2f min %.2f max %.2f; "
              "answer %.0f bytes\n",
              v.size(), static_cast<long long>(warmup), med, p90, p99, mn, mx, bytes);
  std::printf("RESULT history requests=%zu median_ms=%.3f p90_ms=%.3f p99_ms=%.3f min_ms=%.3f max_ms=%.3f bytes=%.0f\n",
              v.size(), med, p90, p99, mn, mx, bytes);
  return r.error.empty() && !v.empty() ? 0 : 1;
}

void usage() {
  std::fputs(
      "usage:\n"
      "  tagstream-bench ingest --url http://127.0.0.1:PORT/write [--connections 4] [--lines-per-request 5000]\n"
      "        [--tags 1000] [--seconds 20] [--lines N] [--precision ns|us|ms|s] [--start TS] [--step N]\n"
      "        [--measurement plant] [--tag-key dev] [--field v] [--signal ramp|wave] [--retry-busy true]\n"
      "        [--max-requests N]\n"
      "      POSTs line protocol over keep-alive connections as fast as answers come back. Timestamps are in\n"
      "      --precision units (appended to the URL as precision= unless the URL has one); --start defaults\n"
      "      to a day ago and --step to one second. --lines N stops after N lines (with --seconds 0: only\n"
      "      then). --retry-busy true resends after 503 and stops at any other error (for loading data).\n"
      "  tagstream-bench history --url 'http://127.0.0.1:PORT/...' [--requests 200] [--warmup 5]\n"
      "        [--seconds 600] [--show-body true]\n"
      "      Sequential GETs of one URL over one keep-alive connection: latency median/p90/p99, answer size.\n"
      "Only loopback hosts are accepted. Each run ends by itself (at most 1 h and 10,000,000 requests).\n"
      "The last line of output is 'RESULT <kind> key=value ...' for scripts.\n"
      "Streaming benchmarks (bench/streaming.sh):\n",
      stderr);
  tagstream_bench::sse_usage();
  tagstream_bench::poll_usage();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string_view cmd = argv[1];
  try {
    Args args(argc, argv, 2);
    if (cmd == "ingest") return run_ingest(args);
    if (cmd == "history") return run_history(args);
    if (cmd == "sse") return tagstream_bench::run_sse(args);
    if (cmd == "poll") return tagstream_bench::run_poll(args);
  } catch (const std::exception& e) {
    die(e.what());
  }
  usage();
  return 2;
}
