#pragma once
// What the HTTP layer needs to know of the configuration: the listen
// address, the SSE contract's settings and every limit it enforces. A plain
// struct; the app fills it from defaults, environment, file and flags.
#include <cstddef>
#include <string>
#include <vector>

#include "core/time.h"
#include "http/trusted_proxies.h"

namespace tagstream {

/// The most network threads (--threads, or one per core) the server runs.
inline constexpr int kMaxNetworkThreads = 256;

struct HttpOptions {
  // Network
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free one
  int threads = 0;                        // 0 = one per core
  // This node's name in /healthz, /api/stats and /metrics; the app fills an
  // empty one with "hostname:port" once the port is bound.
  std::string node_id;

  // SSE contract
  double heartbeat_interval = 30.0;  // SSE_HEARTBEAT_INTERVAL, seconds
  double data_check_interval = 0.1;  // SSE_DATA_CHECK_INTERVAL, seconds; 0 = no coalescing
  int max_reconnect_attempts = 10;   // SSE_MAX_RECONNECT_ATTEMPTS, advertised in `connected`
  int retry_ms = 3000;               // `retry:` sent on connect

  // Limits
  int max_streams = 10000;                       // 503 past this
  int max_streams_per_client = 200;              // 429 past this, per client address
  std::size_t client_buffer_bytes = 256 * 1024;  // per-stream queued bytes before coalescing
  std::size_t max_tags_per_query = 100'000;      // tags a stream or query resolves to; 400 past this
  double slow_client_timeout = 30.0;             // seconds a write may stall before the stream is dropped
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  double header_timeout = 10.0;  // seconds to receive a request's headers
  double idle_timeout = 60.0;    // seconds a keep-alive connection may sit idle
  double shutdown_grace = 2.0;   // seconds to flush final events on shutdown
  // Seconds a written sample may be ahead of the server clock; later ones are refused per line.
  double max_clock_skew = static_cast<double>(kDefaultMaxClockSkew.count());
  // Tag creation, checked before any tag of a request is created (429 past them).
  std::size_t max_tags = 250'000;                 // in the registry, from every source
  std::size_t max_new_tags_per_request = 10'000;  // one write or PUT
  std::size_t max_new_tags_per_minute = 20'000;   // per client address
  bool sse_gzip = true;                           // gzip streams for clients that accept it
  bool io_uring = true;  // batch each write pass's sends through io_uring where the kernel allows

  // Plant-network hardening (issue 15). Per-client limits key on
  // client_key() (http/client_address.h).
  int max_connections = 0;                // 503 past this; 0 = the open-file limit less a reserve
  int max_connections_per_client = 1000;  // 429 past this, per peer address (trusted proxies exempt)
  TrustedProxies trusted_proxies;         // whose X-Forwarded-For / Forwarded is believed; default no one
  std::vector<std::string> cors_origins;  // origins (scheme://host[:port], lower case) allowed cross-site
  double write_rate_limit = 1000;         // write requests per second per client; 0 = unlimited
  double write_rate_burst = 2000;
  double history_rate_limit = 50;  // history queries per second per client; 0 = unlimited
  double history_rate_burst = 100;

  // The dashboard's saved layouts: a directory (the data directory's
  // `layouts`); empty = layouts are not kept (GET lists none, PUT is 503).
  std::string layout_dir;
};

}  // namespace tagstream
