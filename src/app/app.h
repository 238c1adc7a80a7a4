#pragma once
// Wires the server together: tag registry, live state, hub, HTTP server,
// simulator and the io_context threads. Tests run it in-process on port 0.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/config.h"
#include "core/live_state.h"
#include "core/tag_registry.h"
#include "http/server_context.h"
#include "hub/hub.h"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace tagstream {

namespace cluster {
class RedisLog;
struct NamedSample;
}  // namespace cluster

class AuditLog;
class ConnectorSet;
class DeadbandFilter;
class Hub;
class HttpServer;
class Ingestor;
class SimulatorThread;
class StaticFiles;
class StatsSampler;
class Store;
class StoreReplay;
class StoreWriter;

class App {
 public:
  explicit App(ServerConfig config);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  /// Binds, starts the threads and the simulator. Throws std::runtime_error
  /// if the address cannot be bound.
  void start();
  /// Stops gracefully on SIGINT or SIGTERM.
  void stop_on_signals();
  /// Any thread: begins the graceful shutdown. Idempotent.
  void request_stop();
  /// Blocks until the shutdown has finished and the threads have exited.
  void wait();

  unsigned short port() const;
  /// This node's id (--node-id, or hostname:port); set by start().
  const std::string& node_id() const { return server_->config.node_id; }
  TagRegistry& registry() { return registry_; }
  LiveState& live() { return live_; }
  Ingestor& ingestor() { return *ingestor_; }
  StoreWriter& writer() { return *writer_; }
  Hub& hub() { return *hub_; }
  /// Where store reads and tag pattern resolution run, off the network threads.
  boost::asio::thread_pool& readers() { return *readers_; }
  ServerStats& stats() { return server_->stats; }
  Authenticator& auth() { return *auth_; }
  /// Null when no connector is configured.
  ConnectorSet* connectors() { return connectors_.get(); }
  DeadbandFilter* deadband() { return deadband_.get(); }
  const ServerConfig& config() const { return config_; }

 private:
  void finish();
  void open_store(const ServerConfig& config);
  /// A cluster node: connects to the shared log before the store is read,
  /// so no entry falls between what the store held and where reading starts.
  void open_cluster();
  /// The shared log's reader thread: an entry's samples, made live here.
  void apply_from_log(Seq first, std::vector<cluster::NamedSample> samples);

  ServerConfig config_;  // as given, with the thread count and stream limit fitted to the machine
  TagRegistry registry_;
  LiveState live_;
  std::unique_ptr<ServerContext> server_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<StoreWriter> writer_;
  std::unique_ptr<StoreReplay> replay_;
  std::unique_ptr<cluster::RedisLog> shared_log_;  // null on a single node; outlives the ingestor
  std::optional<Seq> log_position_;                // the shared log's newest entry at start-up
  std::unique_ptr<DeadbandFilter> deadband_;       // declared first: outlives the ingestor that uses it
  std::unique_ptr<Ingestor> ingestor_;
  std::unique_ptr<boost::asio::thread_pool> readers_;
  std::unique_ptr<StaticFiles> web_;
  std::unique_ptr<StatsSampler> sampler_;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::unique_ptr<Hub> hub_;
  std::vector<Change> restored_latest_;  // from the store, for the hub at start-up
  Seq durable_seq_ = 0;                  // the last id the store held at start-up
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<SimulatorThread> simulator_;
  std::unique_ptr<ConnectorSet> connectors_;
  struct Signals;
  std::unique_ptr<Signals> signals_;
  struct StatsTimer;
  std::unique_ptr<StatsTimer> stats_timer_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_requested_{false};
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
};

}  // namespace tagstream
