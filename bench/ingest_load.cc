// tagstream-bench ingest: keep-alive HTTP/1.1 connections POST line-protocol
// bodies (line_protocol_body.h) as fast as the answers come back, for
// --seconds or until --lines lines were sent. Reports samples/s (2xx answers
// only), requests/s and request latency percentiles. The same bodies suit
// InfluxDB's /write?db=NAME (bench/historian.sh loads both servers with it).

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench_args.h"
#include "keepalive_client.h"
#include "line_protocol_body.h"
#include "load_commands.h"
#include "percentile.h"
#include "request_headers.h"
#include "url.h"

namespace tagstream_bench {

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kMaxRequests = 10'000'000;  // hard cap on any run

struct IngestConfig {
  Url url;
  std::string raw_url;
  int connections = 4;
  double seconds = 20;
  std::uint64_t total_lines = 0;  // 0: until --seconds
  std::uint64_t max_requests = kMaxRequests;
  bool retry_busy = false;         // resend after 503 instead of counting it
  double requests_per_second = 0;  // 0: as fast as answered
  std::string precision = "ns";
  BodySpec body;
  RequestHeaders headers;
};

struct IngestState {
  std::uint64_t next_request = 0;
  std::uint64_t ok_requests = 0, ok_lines = 0, failed_requests = 0, busy_retries = 0;
  std::map<int, std::uint64_t> failures_by_status;
  std::string first_error;
  std::vector<double> latencies_ms;
  Clock::time_point start;
  Clock::time_point deadline;       // no new requests after it (with --seconds)
  Clock::time_point hard_deadline;  // the run stops here whatever happens
  bool fatal = false;
};

asio::awaitable<void> ingest_connection(IngestConfig& cfg, IngestState& st,
                                        std::vector<tcp::endpoint> endpoints, std::int64_t max_rounds) {
  auto executor = co_await asio::this_coro::executor;
  BodyWriter writer(cfg.body, max_rounds);
  KeepAliveClient client(executor, std::move(endpoints));
  KeepAliveClient::Request req{http::verb::post, cfg.url.target, 11};
  req.set(http::field::host, cfg.url.host_header);
  req.set(http::field::user_agent, "tagstream-bench");
  req.set(http::field::content_type, "text/plain; charset=utf-8");
  cfg.headers.apply(req);
  req.keep_alive(true);
  const auto L = static_cast<std::uint64_t>(cfg.body.lines_per_request);

  std::optional<std::uint64_t> retry;  // a request to send again after 503
  while (!st.fatal) {
    if (Clock::now() >= st.hard_deadline) {
      st.fatal = true;
      if (st.first_error.empty())
        st.first_error = "stopped at the time limit of " + std::to_string(kMaxRunSeconds) + " s";
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
      if (cfg.requests_per_second > 0) {  // paced: request n is due at start + n / rate
        const auto due = st.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                                        static_cast<double>(n) / cfg.requests_per_second));
        if (due > Clock::now()) {
          asio::steady_timer t(executor, due);
          co_await t.async_wait(asio::use_awaitable);
        }
      }
    }
    std::uint64_t lines = L;
    if (cfg.total_lines) lines = std::min<std::uint64_t>(L, cfg.total_lines - n * L);
    writer.fill(req.body(), n * L, lines);
    req.prepare_payload();

    KeepAliveClient::Response res;
    const KeepAliveClient::Exchange ex = co_await client.exchange(req, res);
    if (ex.outcome == KeepAliveClient::Exchange::Outcome::connect_failed) {
      st.fatal = true;
      st.first_error = ex.error;
      break;
    }
    if (ex.outcome == KeepAliveClient::Exchange::Outcome::transport_failed) {
      // The server closed a keep-alive connection or timed out: count the
      // request as failed; the next one reconnects.
      ++st.failed_requests;
      ++st.failures_by_status[0];
      if (st.first_error.empty()) st.first_error = ex.error;
      if (cfg.retry_busy) retry = n;  // loading data: every line must land
      if (st.failed_requests > 1000) st.fatal = true;
      continue;
    }
    const int status = static_cast<int>(res.result_int());
    if (status >= 200 && status < 300) {
      ++st.ok_requests;
      st.ok_lines += lines;
      st.latencies_ms.push_back(ex.ms);
    } else if (status == 503 && cfg.retry_busy) {
      ++st.busy_retries;
      retry = n;
      asio::steady_timer t(executor, std::chrono::milliseconds(100));
      co_await t.async_wait(asio::use_awaitable);
    } else {
      ++st.failed_requests;
      ++st.failures_by_status[status];
      if (st.first_error.empty())
        st.first_error = "HTTP " + std::to_string(status) + ": " + res.body().substr(0, 300);
      // Loading data for the history benchmark must be complete.
      if (cfg.retry_busy) st.fatal = true;
    }
  }
}

double units_per_second(const std::string& p) {
  if (p == "ns" || p == "n") return 1e9;
  if (p == "us" || p == "u") return 1e6;
  if (p == "ms") return 1e3;
  if (p == "s") return 1;
  die("--precision must be ns, us, ms or s");
}

}  // namespace

void ingest_usage() {
  std::fputs(
      "  tagstream-bench ingest --url http://127.0.0.1:PORT/write [--connections 4] [--lines-per-request "
      "5000]\n"
      "        [--tags 1000] [--seconds 20] [--lines N] [--precision ns|us|ms|s] [--start TS] [--step N]\n"
      "        [--measurement plant] [--tag-key dev] [--field v] [--signal ramp|wave] [--retry-busy true]\n"
      "        [--max-requests N] [--requests-per-second R] [--header 'Name: value']...\n"
      "      POSTs line protocol over keep-alive connections as fast as answers come back. Timestamps are "
      "in\n"
      "      --precision units (appended to the URL as precision= unless the URL has one); --start defaults\n"
      "      to a day ago and --step to one second. --lines N stops after N lines (with --seconds 0: only\n"
      "      then). --retry-busy true resends after 503 and stops at any other error (for loading data).\n"
      "      --requests-per-second R paces the requests (all connections together) instead.\n",
      stderr);
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
  cfg.max_requests =
      static_cast<std::uint64_t>(args.integer("max-requests", static_cast<std::int64_t>(kMaxRequests)));
  cfg.retry_busy = args.str("retry-busy", "false") == "true";
  cfg.requests_per_second = args.num("requests-per-second", 0);
  cfg.precision = args.str("precision", "ns");
  cfg.body.measurement = args.str("measurement", "plant");
  cfg.body.tag_key = args.str("tag-key", "dev");
  cfg.body.field = args.str("field", "v");
  const std::string signal = args.str("signal", "ramp");
  const double ups = units_per_second(cfg.precision);
  cfg.body.units_per_second = ups;
  // Default start: a day ago, one sample per tag per second.
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  cfg.body.start = args.integer("start", static_cast<std::int64_t>((now_s - 86400) * ups));
  cfg.body.step = args.integer("step", static_cast<std::int64_t>(ups));
  cfg.headers = RequestHeaders::from_args(args);
  args.check_all_used();

  if (cfg.connections < 1 || cfg.connections > 256) die("--connections must be 1..256");
  if (cfg.body.lines_per_request < 1 || cfg.body.lines_per_request > 1'000'000)
    die("--lines-per-request must be 1..1000000");
  if (cfg.body.tags < 1 || cfg.body.tags > 1'000'000) die("--tags must be 1..1000000");
  if (cfg.seconds < 0 || cfg.seconds > kMaxRunSeconds) die("--seconds must be 0..3600 (0: until --lines)");
  if (total < 0) die("--lines must be >= 0");
  cfg.total_lines = static_cast<std::uint64_t>(total);
  if (cfg.seconds == 0 && cfg.total_lines == 0) die("give --seconds, --lines or both");
  if (cfg.max_requests < 1 || cfg.max_requests > kMaxRequests) die("--max-requests must be 1..10000000");
  if (cfg.body.step < 1) die("--step must be >= 1");
  if (cfg.requests_per_second < 0 || cfg.requests_per_second > 1e6)
    die("--requests-per-second must be 0..1000000");
  if (signal == "ramp")
    cfg.body.signal = Signal::ramp;
  else if (signal == "wave")
    cfg.body.signal = Signal::wave;
  else
    die("--signal must be ramp or wave");
  if (cfg.body.measurement.empty() || cfg.body.tag_key.empty() || cfg.body.field.empty() ||
      (cfg.body.measurement + cfg.body.tag_key + cfg.body.field).find_first_of(" ,=\\\"\n") !=
          std::string::npos)
    die("--measurement, --tag-key and --field must be plain words");

  std::string url = cfg.raw_url;
  if (url.find("precision=") == std::string::npos)
    url += (url.find('?') == std::string::npos ? "?" : "&") + std::string("precision=") + cfg.precision;
  cfg.url = parse_url(url);
  const auto endpoints = resolve_loopback(cfg.url);
  asio::io_context io(1);

  // The largest round any request can reach, to check timestamp widths.
  const std::uint64_t max_lines =
      cfg.total_lines ? cfg.total_lines
                      : cfg.max_requests * static_cast<std::uint64_t>(cfg.body.lines_per_request);
  const auto max_rounds =
      static_cast<std::int64_t>(max_lines / static_cast<std::uint64_t>(cfg.body.tags) + 1);
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
  st.start = t0;
  st.deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cfg.seconds));
  st.hard_deadline =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(kMaxRunSeconds));
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
              static_cast<unsigned long long>(st.failed_requests),
              static_cast<unsigned long long>(st.busy_retries));
  for (const auto& [status, count] : st.failures_by_status)
    std::printf("  failed with %s: %llu\n",
                status ? ("HTTP " + std::to_string(status)).c_str() : "transport error",
                static_cast<unsigned long long>(count));
  if (!st.first_error.empty()) std::printf("  first error: %s\n", st.first_error.c_str());
  std::printf("samples/s %.0f  requests/s %.1f  latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f\n",
              samples_per_s, requests_per_s, p50, p90, p99, pmax);
  std::printf(
      "RESULT ingest samples_per_s=%.0f requests_per_s=%.2f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f "
      "ok_requests=%llu ok_samples=%llu failed_requests=%llu busy_retries=%llu elapsed_s=%.3f\n",
      samples_per_s, requests_per_s, p50, p90, p99, pmax, static_cast<unsigned long long>(st.ok_requests),
      static_cast<unsigned long long>(st.ok_lines), static_cast<unsigned long long>(st.failed_requests),
      static_cast<unsigned long long>(st.busy_retries), elapsed);
  if (st.fatal) return 1;
  if (cfg.total_lines && st.ok_lines != cfg.total_lines) {
    std::fprintf(stderr, "tagstream-bench: only %llu of %llu lines were accepted\n",
                 static_cast<unsigned long long>(st.ok_lines),
                 static_cast<unsigned long long>(cfg.total_lines));
    return 1;
  }
  return st.ok_requests > 0 ? 0 : 1;
}

}  // namespace tagstream_bench
