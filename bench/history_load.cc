// tagstream-bench history: sequential GETs of one URL over one keep-alive
// connection; reports median/p90/p99 latency and the size of the answers.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_args.h"
#include "keepalive_client.h"
#include "load_commands.h"
#include "percentile.h"
#include "request_headers.h"
#include "url.h"

namespace tagstream_bench {

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

struct HistoryResult {
  std::vector<double> latencies_ms;
  std::vector<double> bytes;
  std::string error;
  std::string first_body;
};

asio::awaitable<void> history_client(const Url& url, const RequestHeaders& headers, KeepAliveClient& client,
                                     std::int64_t warmup, std::int64_t requests, double seconds,
                                     HistoryResult& out) {
  KeepAliveClient::Request req{http::verb::get, url.target, 11};
  req.set(http::field::host, url.host_header);
  req.set(http::field::user_agent, "tagstream-bench");
  req.set(http::field::accept, "application/json");
  headers.apply(req);
  req.keep_alive(true);
  using Clock = std::chrono::steady_clock;
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (std::int64_t i = 0; i < warmup + requests; ++i) {
    if (Clock::now() >= deadline) break;
    KeepAliveClient::Response res;
    const KeepAliveClient::Exchange ex = co_await client.exchange(req, res);
    if (ex.outcome != KeepAliveClient::Exchange::Outcome::answered) {
      out.error = ex.error;
      co_return;
    }
    if (res.result_int() != 200) {
      out.error = "HTTP " + std::to_string(res.result_int()) + ": " + res.body().substr(0, 300);
      co_return;
    }
    if (out.first_body.empty()) out.first_body = res.body().substr(0, 400);
    if (i >= warmup) {
      out.latencies_ms.push_back(ex.ms);
      out.bytes.push_back(static_cast<double>(res.body().size()));
    }
  }
}

}  // namespace

void history_usage() {
  std::fputs(
      "  tagstream-bench history --url 'http://127.0.0.1:PORT/...' [--requests 200] [--warmup 5]\n"
      "        [--seconds 600] [--show-body true] [--header 'Name: value']...\n"
      "      Sequential GETs of one URL over one keep-alive connection: latency median/p90/p99, answer "
      "size.\n",
      stderr);
}

int run_history(Args& args) {
  const std::string raw = args.str("url", "");
  if (raw.empty()) die("history needs --url 'http://127.0.0.1:PORT/...'");
  const std::int64_t requests = args.integer("requests", 200);
  const std::int64_t warmup = args.integer("warmup", 5);
  const double seconds = args.num("seconds", 600);
  const bool show = args.str("show-body", "false") == "true";
  const RequestHeaders headers = RequestHeaders::from_args(args);
  args.check_all_used();
  if (requests < 1 || requests > 100000) die("--requests must be 1..100000");
  if (warmup < 0 || warmup > 10000) die("--warmup must be 0..10000");
  if (seconds <= 0 || seconds > kMaxRunSeconds) die("--seconds must be in (0, 3600]");
  const Url url = parse_url(raw);
  asio::io_context io(1);
  KeepAliveClient client(io.get_executor(), resolve_loopback(url));
  HistoryResult r;
  asio::co_spawn(io, history_client(url, headers, client, warmup, requests, seconds, r),
                 [&r](std::exception_ptr e) {
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
  std::printf(
      "%zu requests (after %lld warm-up): latency ms median %.2f p90 %.2f p99 %.2f min %.2f max %.2f; "
      "answer %.0f bytes\n",
      v.size(), static_cast<long long>(warmup), med, p90, p99, mn, mx, bytes);
  std::printf(
      "RESULT history requests=%zu median_ms=%.3f p90_ms=%.3f p99_ms=%.3f min_ms=%.3f max_ms=%.3f "
      "bytes=%.0f\n",
      v.size(), med, p90, p99, mn, mx, bytes);
  return r.error.empty() && !v.empty() ? 0 : 1;
}

}  // namespace tagstream_bench
