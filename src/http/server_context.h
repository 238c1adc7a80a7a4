#pragma once
// State the HTTP layer shares: per server (config, registry, limits, stats)
// and per shard (the hub shard and the open connections of that thread).
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/shared_log.h"
#include "core/tag_registry.h"
#include "http/http_options.h"
#include "http/layout_store.h"
#include "http/new_tag_budget.h"
#include "http/rate_limiter.h"
#include "http/send_batch.h"
#include "http/stream_limiter.h"
#include "http/tag_order.h"

namespace boost::asio {
class thread_pool;
}

namespace tagstream {

class AuditLog;
class Authenticator;
class DeadbandFilter;
class FieldDevices;
class HubShard;
class SseConnection;
class Ingestor;
class LiveState;
class StaticFiles;
class StatsSampler;
class Store;
class StoreWriter;

/// Process-wide counters; relaxed atomics, read by stats and tests.
struct ServerStats {
  std::atomic<std::uint64_t> connections{0};  // accepted, ever
  // Turned away (issue 15): over a connection cap, out of descriptors (accepted
  // and closed at once), over a request rate, a cross-site write.
  std::atomic<std::uint64_t> connections_refused{0};
  std::atomic<std::uint64_t> connections_shed{0};
  std::atomic<std::uint64_t> requests_rate_limited{0};
  std::atomic<std::uint64_t> requests_cross_origin{0};
  std::atomic<std::int64_t> open_connections{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> streams_opened{0};
  std::atomic<std::uint64_t> streams_closed{0};
  std::atomic<std::uint64_t> slow_streams_dropped{0};
  std::atomic<std::uint64_t> samples_ingested{0};  // over HTTP
  std::atomic<std::uint64_t> ingest_requests{0};
  std::atomic<std::uint64_t> ingest_rejected_lines{0};
  std::atomic<std::uint64_t> tag_limit_refusals{0};  // requests refused by a tag-creation cap

  /// What the streams of one I/O thread wrote and hold queued. Each thread
  /// adds only to its own, on a cache line of its own: one counter shared
  /// by the threads bounced between their cores on every write.
  struct alignas(64) StreamTotals {
    std::atomic<std::uint64_t> events_sent{0};
    std::atomic<std::uint64_t> bytes_sent{0};
    std::atomic<std::uint64_t> writes{0};  // socket sends that took bytes: events per write is the batching
    std::atomic<std::int64_t> queued_bytes{0};  // frames queued plus compressed bytes not yet written
  };
  std::array<StreamTotals, kMaxNetworkThreads> per_thread;  // indexed by shard

  std::uint64_t events_sent() const;
  std::uint64_t bytes_sent() const;
  std::uint64_t writes() const;
  std::int64_t queued_bytes() const;  // all streams
};

/// A connection the shutdown sequence can reach. Called on its own thread.
class Closable {
 public:
  virtual ~Closable() = default;
  /// Graceful: finish what is in flight, send streams a final event, close.
  /// Forced: close the socket now.
  virtual void shutdown(bool force) = 0;
  /// The key set changed or time passed: a connection that lives on one
  /// credential (a stream) checks it again and ends if it no longer holds.
  virtual void recheck_access(std::uint64_t key_generation, std::int64_t now) {
    (void)key_generation;
    (void)now;
  }
};

/// The parts of the server the HTTP handlers reach. Set up by App before
/// the server starts, constant afterwards.
struct Services {
  LiveState* live = nullptr;
  Ingestor* ingestor = nullptr;
  Store* store = nullptr;  // reads only, from `readers`
  StoreWriter* writer = nullptr;
  boost::asio::thread_pool* readers = nullptr;  // where store reads run, off the I/O threads
  StatsSampler* stats = nullptr;
  const StaticFiles* web = nullptr;          // the dashboard's files
  Authenticator* auth = nullptr;             // always set; auth->enabled() says whether requests need a token
  AuditLog* audit = nullptr;                 // null: no audit log configured
  FieldDevices* devices = nullptr;           // null: no connectors configured
  const DeadbandFilter* deadband = nullptr;  // null: no deadband rules
  const SharedLog* cluster = nullptr;        // null: a single node
};

struct ServerContext {
  HttpOptions config;
  TagRegistry& registry;
  Services services;
  StreamLimiter limiter;
  NewTagBudget new_tags;
  ConnectionLimiter connection_limiter;  // connections not (yet) streams: a stream counts in `limiter`
  RateLimiter write_rate;                // per client_key(), on the ingest endpoints
  RateLimiter history_rate;              // per client_key(), on /api/data/history
  ServerStats stats;
  TagOrder tag_order;   // natural order of the names, for the tag list and tree
  LayoutStore layouts;  // the dashboard's saved layouts (config.layout_dir)
  std::atomic<bool> shutting_down{false};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  ServerContext(HttpOptions c, TagRegistry& r)
      : config(std::move(c)),
        registry(r),
        limiter(config.max_streams, config.max_streams_per_client),
        new_tags(config.max_new_tags_per_minute),
        connection_limiter(
            config.max_connections > 0 ? config.max_connections : std::numeric_limits<int>::max(),
            config.max_connections_per_client),
        write_rate(config.write_rate_limit, config.write_rate_burst),
        history_rate(config.history_rate_limit, config.history_rate_burst),
        layouts(config.layout_dir) {}
};

/// One per io_context thread. Only touched from that thread.
struct ShardContext {
  ServerContext& server;
  HubShard& hub;
  std::size_t index;
  std::unordered_set<Closable*> connections;
  std::uint64_t next_stream = 0;
  // Streams with something to write. The thread writes them in one pass
  // once it has run everything else that is ready (HttpServer::run_thread):
  // a fan-out to thousands of streams is one pass, not one write each.
  std::vector<std::shared_ptr<SseConnection>> ready = {};
  std::unique_ptr<SendBatch> sends = {};  // made on first use, on this thread (see send_batch())

  /// The thread's batch of stream sends, made on first use: its ring
  /// accepts submissions only from the thread that made it.
  SendBatch& send_batch() {
    if (!sends) sends = std::make_unique<SendBatch>(server.config.io_uring);
    return *sends;
  }
};

}  // namespace tagstream
