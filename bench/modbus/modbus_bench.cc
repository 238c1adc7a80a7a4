// tagstream-modbus-bench: the Modbus TCP connector against the test server
// (tests/integration/modbus_server.h, libmodbus's server side) in one
// process, on a loopback port. bench/modbus.sh runs it; see BENCHMARKS.md.
//
//   tagstream-modbus-bench throughput --registers N --seconds S
//     one group of N contiguous holding registers (uint16 tags) polled as
//     fast as the connection answers (a period of 10 us: every poll is late,
//     so the next one starts as soon as it ends):
//     registers/s and reads/s per connection; then libmodbus alone reading
//     the same registers back to back on one connection, for the ratio.
//   tagstream-modbus-bench jitter --registers N --period P --seconds S
//     one group polled every P seconds: how late each poll starts after its
//     deadline (p50, p99, max) and how many were skipped.
//
// Prints one "RESULT key=value ..." line.
#include <modbus/modbus.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../percentile.h"
#include "connect/modbus_connector.h"
#include "core/log.h"
#include "integration/modbus_server.h"

using namespace tagstream;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string mode;
  int registers = 1000;
  double seconds = 5;
  double period = 0.01;
};

[[noreturn]] void usage() {
  std::fprintf(
      stderr, "usage: tagstream-modbus-bench throughput|jitter [--registers N] [--seconds S] [--period P]\n");
  std::exit(2);
}

Args parse(int argc, char** argv) {
  if (argc < 2) usage();
  Args a;
  a.mode = argv[1];
  if (a.mode != "throughput" && a.mode != "jitter") usage();
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const char* v = argv[i + 1];
    if (key == "--registers")
      a.registers = std::atoi(v);
    else if (key == "--seconds")
      a.seconds = std::atof(v);
    else if (key == "--period")
      a.period = std::atof(v);
    else
      usage();
  }
  if (a.registers < 1 || a.registers > 60000 || a.seconds <= 0 || a.period < 0.001) usage();
  return a;
}

ModbusConfig config_of(unsigned short port, int registers, double period) {
  ModbusConfig c;
  c.name = "bench";
  c.host = "127.0.0.1";
  c.port = port;
  c.timeout = 1;
  ModbusGroup g;
  g.period = period;
  for (int i = 0; i < registers; ++i) {
    ModbusTag t;
    t.name = "bench.r" + std::to_string(i);
    t.address = i;
    g.tags.push_back(c.tags.size());
    c.tags.push_back(t);
  }
  c.groups.push_back(g);
  return c;
}

/// Runs the connector for `seconds`; returns samples delivered, the
/// connector's status and its poll lateness.
struct Run {
  std::uint64_t samples = 0;
  ConnectorStatus status;
  std::vector<std::int64_t> lateness;
  std::uint64_t skipped = 0;
  std::uint64_t reads = 0;
  double elapsed = 0;
};

Run run_connector(const ModbusConfig& config, double seconds) {
  TagRegistry registry;
  std::mutex mutex;
  std::uint64_t samples = 0;
  ConnectorContext context;
  context.registry = &registry;
  context.ingest = [&](std::vector<TaggedSample> s) {
    std::lock_guard lock(mutex);
    samples += s.size();
    return true;
  };
  context.ingest_history = context.ingest;
  ModbusConnector connector(config, context);
  connector.start();
  // Measure from the first answer, not from the connect.
  while (connector.status().messages == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto start_messages = connector.status().messages;
  std::uint64_t start_samples;
  {
    std::lock_guard lock(mutex);
    start_samples = samples;
  }
  const auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  Run r;
  {
    std::lock_guard lock(mutex);
    r.samples = samples - start_samples;
  }
  r.elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  r.reads = connector.status().messages - start_messages;
  connector.stop();
  r.status = connector.status();
  r.lateness = connector.poll_lateness_ns();
  r.skipped = connector.skipped_polls();
  return r;
}

/// libmodbus alone: the same registers read back to back, 125 at a time.
double raw_registers_per_second(unsigned short port, int registers, double seconds) {
  modbus_t* ctx = modbus_new_tcp("127.0.0.1", port);
  if (!ctx || modbus_connect(ctx) != 0) {
    std::fprintf(stderr, "raw connect failed: %s\n", modbus_strerror(errno));
    std::exit(1);
  }
  std::vector<std::uint16_t> buf(125);
  std::uint64_t read = 0;
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (Clock::now() < end) {
    for (int a = 0; a < registers; a += 125) {
      const int n = std::min(125, registers - a);
      if (modbus_read_registers(ctx, a, n, buf.data()) != n) {
        std::fprintf(stderr, "raw read failed: %s\n", modbus_strerror(errno));
        std::exit(1);
      }
      read += static_cast<std::uint64_t>(n);
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  modbus_close(ctx);
  modbus_free(ctx);
  return static_cast<double>(read) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  set_log_level(LogLevel::warn);
  test::ModbusTestServer server;
  for (int a = 0; a < args.registers; ++a) server.set_holding(a, {static_cast<std::uint16_t>(a)});

  if (args.mode == "throughput") {
    const auto run = run_connector(config_of(server.port(), args.registers, 1e-5), args.seconds);
    const double per_second = static_cast<double>(run.samples) / run.elapsed;
    const double raw = raw_registers_per_second(server.port(), args.registers, args.seconds);
    std::printf(
        "RESULT mode=throughput registers=%d seconds=%.1f registers_per_s=%.0f reads_per_s=%.0f "
        "raw_registers_per_s=%.0f ratio=%.3f errors=%llu\n",
        args.registers, run.elapsed, per_second, static_cast<double>(run.reads) / run.elapsed, raw,
        per_second / raw, static_cast<unsigned long long>(run.status.errors));
    return 0;
  }
  const auto run = run_connector(config_of(server.port(), args.registers, args.period), args.seconds);
  std::vector<double> late;
  late.reserve(run.lateness.size());
  for (auto ns : run.lateness) late.push_back(static_cast<double>(ns) / 1000.0);
  std::printf(
      "RESULT mode=jitter registers=%d period_ms=%.1f polls=%zu p50_us=%.0f p99_us=%.0f max_us=%.0f "
      "skipped=%llu errors=%llu\n",
      args.registers, args.period * 1000, late.size(), tagstream_bench::percentile(late, 50),
      tagstream_bench::percentile(late, 99), tagstream_bench::percentile(late, 100),
      static_cast<unsigned long long>(run.skipped), static_cast<unsigned long long>(run.status.errors));
  return 0;
}
