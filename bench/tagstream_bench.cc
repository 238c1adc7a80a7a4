// tagstream-bench: a small load generator for side-by-side benchmarks of
// tagstream and InfluxDB 1.x on one machine (bench/historian.sh and
// BENCHMARKS.md), and of tagstream's streams against nginx + nchan and
// polling (bench/streaming.sh). One subcommand per load generator:
//   ingest   ingest_load.cc   line protocol POSTed as fast as it is answered
//   history  history_load.cc  sequential GETs of one query URL
//   sse      sse_load.cc      thousands of SSE streams and their latency
//   poll     poll_load.cc     dashboards polling instead of streaming
//   resolve  resolve_bench.cc tag pattern resolution with a large registry
//   opens    opens_load.cc    streams opened as fast as they are answered
//   jwts     sign_tokens.cc   distinct JWTs for opens --tokens-file
//   mqtt     mqtt_load.cc     MQTT publishes: samples/s ingested, publish -> SSE latency
//   failover failover_load.cc kill -9 a cluster node under SSE streams through nginx
//
// Only loopback addresses are accepted (url.h). Every run is bounded in time
// and in requests and stops by itself.

#include <cstdio>
#include <exception>
#include <string_view>

#include "bench_args.h"
#include "load_commands.h"

namespace {

void usage() {
  std::fputs("usage:\n", stderr);
  tagstream_bench::ingest_usage();
  tagstream_bench::history_usage();
  std::fputs(
      "Only loopback hosts are accepted. Each run ends by itself (at most 1 h and 10,000,000 requests).\n"
      "The last line of output is 'RESULT <kind> key=value ...' for scripts.\n"
      "Streaming benchmarks (bench/streaming.sh):\n",
      stderr);
  tagstream_bench::sse_usage();
  tagstream_bench::poll_usage();
  tagstream_bench::resolve_usage();
  std::fputs("Stream opens (bench/auth.sh, bench/soak.sh):\n", stderr);
  tagstream_bench::opens_usage();
  tagstream_bench::jwts_usage();
  std::fputs("MQTT in (bench/mqtt.sh):\n", stderr);
  tagstream_bench::mqtt_usage();
  std::fputs("Cluster failover (bench/cluster.sh):\n", stderr);
  tagstream_bench::failover_usage();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string_view cmd = argv[1];
  try {
    tagstream_bench::Args args(argc, argv, 2);
    if (cmd == "ingest") return tagstream_bench::run_ingest(args);
    if (cmd == "history") return tagstream_bench::run_history(args);
    if (cmd == "sse") return tagstream_bench::run_sse(args);
    if (cmd == "poll") return tagstream_bench::run_poll(args);
    if (cmd == "resolve") return tagstream_bench::run_resolve(args);
    if (cmd == "opens") return tagstream_bench::run_opens(args);
    if (cmd == "jwts") return tagstream_bench::run_jwts(args);
    if (cmd == "mqtt") return tagstream_bench::run_mqtt(args);
    if (cmd == "failover") return tagstream_bench::run_failover(args);
  } catch (const std::exception& e) {
    tagstream_bench::die(e.what());
  }
  usage();
  return 2;
}
