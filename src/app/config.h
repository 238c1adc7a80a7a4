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

#include "auth/authenticator.h"
#include "connect/connector_spec.h"
#include "http/http_options.h"

namespace tagstream {

/// Everything `serve` can be told: the HTTP layer's options (listen
/// address, SSE contract, limits), authentication, and what the app wires
/// up beside them.
struct ServerConfig : HttpOptions, AuthOptions {
  std::size_t replay_buffer = 100000;  // samples kept in memory for Last-Event-ID resume

  // Store
  std::string data_dir = "./data";  // TAGSTREAM_DATA_DIR: the SQLite database lives here
  std::string store_url;            // TAGSTREAM_STORE: libpq connection string; empty = SQLite in data_dir
  std::string cluster_url;  // TAGSTREAM_CLUSTER: redis://... shared log between nodes; empty = one node
  bool sync_full = true;    // fsync every commit (power-loss safe); false: process-crash safe
  std::size_t store_queue_samples = 2'000'000;  // samples waiting for commit before ingest gets 503
  std::size_t store_flush_samples = 500'000;    // committed samples held in memory before a flush to blocks
  std::size_t store_late_slice = 2'000;         // a request's late samples beyond this go in slices
  double store_commit_interval = 0.01;          // seconds from one commit's start to the next one's, at least
  // Retention per tier in seconds, 0 = forever: raw, second, minute, hour, day.
  std::int64_t retention_raw = 30LL * 86400;
  std::int64_t retention_second = 90LL * 86400;
  std::int64_t retention_minute = 2LL * 365 * 86400;
  std::int64_t retention_hour = 10LL * 365 * 86400;
  std::int64_t retention_day = 0;

  // Dashboard
  // TAGSTREAM_WEB_ROOT; empty: beside an installed binary, else the source tree's web/dist.
  std::string web_root;

  // Simulator
  bool simulator = true;                   // --no-simulator turns it off
  double simulator_rate = 1.0;             // samples per second per simulated tag
  std::optional<unsigned> simulator_seed;  // random when unset

  // Logging
  std::string log_level = "info";  // debug, info, warn, error

  // Plant connectors and deadbands: the [[mqtt]], [[modbus]] and [[deadband]]
  // tables of the config file (connect/connectors_config.h).
  ConnectorsConfig connectors;
};

struct [[nodiscard]] ConfigResult {
  ServerConfig config;
  bool show_help = false;  // --help was given: print server_help_text() and exit 0
  std::string error;       // non-empty: print it and exit 2
};

/// Parses `serve` arguments (argv after the subcommand). `env` looks up an
/// environment variable (injected so tests need not touch the real one).
[[nodiscard]] ConfigResult load_server_config(const std::vector<std::string>& args,
                                              std::optional<std::string> (*env)(const char*));

/// Reads the process environment; the usual argument for `env`.
std::optional<std::string> process_env(const char* name);

/// The `tagstream serve --help` text: every option with its flag, env var,
/// TOML key, default and meaning.
std::string server_help_text();

}  // namespace tagstream
