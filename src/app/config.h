#pragma once
// Server configuration. Sources, lowest precedence first: built-in defaults,
// environment variables, a TOML file (--config FILE or TAGSTREAM_CONFIG),
// command-line flags. One option table drives all three and `--help`.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tagstream {

/// The most network threads (--threads, or one per core) the server runs.
inline constexpr int kMaxNetworkThreads = 256;

struct ServerConfig {
  // Network
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free one
  int threads = 0;                        // 0 = one per core

  // SSE contract
  double heartbeat_interval = 30.0;  // SSE_HEARTBEAT_INTERVAL, seconds
  double data_check_interval = 0.1;  // SSE_DATA_CHECK_INTERVAL, seconds; 0 = no coalescing
  int max_reconnect_attempts = 10;   // SSE_MAX_RECONNECT_ATTEMPTS, advertised in `connected`
  int retry_ms = 3000;               // `retry:` sent on connect

  // Limits
  int max_streams = 10000;                       // 503 past this
  int max_streams_per_client = 200;              // 429 past this, per client address
  std::size_t client_buffer_bytes = 256 * 1024;  // per-stream queued bytes before coalescing
  double slow_client_timeout = 30.0;             // seconds a write may stall before the stream is dropped
  std::size_t replay_buffer = 100000;            // samples kept in memory for Last-Event-ID resume
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  double header_timeout = 10.0;  // seconds to receive a request's headers
  double idle_timeout = 60.0;    // seconds a keep-alive connection may sit idle
  double shutdown_grace = 2.0;   // seconds to flush final events on shutdown
  bool sse_gzip = true;          // gzip streams for clients that accept it
  bool io_uring = true;          // batch each write pass's sends through io_uring where the kernel allows

  // Store
  std::string data_dir = "./data";           // TAGSTREAM_DATA_DIR: the SQLite database lives here
  bool sync_full = true;                     // fsync every commit (power-loss safe); false: process-crash safe
  std::size_t store_queue_samples = 2'000'000;  // samples waiting for commit before ingest gets 503
  std::size_t store_flush_samples = 500'000;    // committed samples held in memory before a flush to blocks
  double store_commit_interval = 0.01;          // seconds from one commit's start to the next one's, at least
  // Retention per tier in seconds, 0 = forever: raw, second, minute, hour, day.
  std::int64_t retention_raw = 30LL * 86400;
  std::int64_t retention_second = 90LL * 86400;
  std::int64_t retention_minute = 2LL * 365 * 86400;
  std::int64_t retention_hour = 10LL * 365 * 86400;
  std::int64_t retention_day = 0;

  // Dashboard
  std::string web_root;  // TAGSTREAM_WEB_ROOT; empty: the built-in default (the source tree's web/dist)

  // Simulator
  bool simulator = true;                   // --no-simulator turns it off
  double simulator_rate = 1.0;             // samples per second per simulated tag
  std::optional<unsigned> simulator_seed;  // random when unset

  // Logging
  std::string log_level = "info";  // debug, info, warn, error
};

struct ConfigResult {
  ServerConfig config;
  bool show_help = false;  // --help was given: print help_text() and exit 0
  std::string error;       // non-empty: print it and exit 2
};

/// Parses `serve` arguments (argv after the subcommand). `env` looks up an
/// environment variable (injected so tests need not touch the real one).
ConfigResult load_server_config(const std::vector<std::string>& args,
                                std::optional<std::string> (*env)(const char*));

/// Reads the process environment; the usual argument for `env`.
std::optional<std::string> process_env(const char* name);

/// A `listen` value split up: "127.0.0.1:8080" -> {"127.0.0.1", 8080},
/// "[::1]:8080" -> {"::1", 8080} (brackets removed, ready for asio::ip::make_address).
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};
/// nullopt unless `s` is HOST:PORT where HOST is an IPv4 literal, an IPv6
/// literal in brackets (an `%zone` allowed) or `localhost`, and PORT is
/// 0..65535. load_server_config only accepts values this accepts.
std::optional<ListenAddress> split_listen(std::string_view s);

/// The `tagstream serve --help` text: every option with its flag, env var,
/// TOML key, default and meaning.
std::string server_help_text();

}  // namespace tagstream
