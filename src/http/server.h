#pragma once
// The HTTP server: one listener handing connections round-robin to the
// io_context threads, and the shutdown sequence.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "http/server_context.h"

namespace tagstream {

class Hub;

class HttpServer {
 public:
  /// `contexts[i]` runs shard i of `hub`.
  HttpServer(ServerContext& server, const std::vector<boost::asio::io_context*>& contexts, Hub& hub);
  ~HttpServer();

  /// Binds and starts accepting. Throws std::runtime_error when the address
  /// cannot be bound.
  void listen();
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  /// Runs network thread `index` (its io_context and its streams' writes)
  /// until the io_context is stopped.
  void run_thread(std::size_t index);

  /// Any thread. Stops accepting, sends every stream its final event and
  /// closes idle connections; after `shutdown_grace` closes what is left.
  /// `done` runs (on thread 0) once no connection remains.
  void shutdown(std::function<void()> done);

 private:
  void accept_next();
  /// Out of descriptors: frees the spare one, accepts and closes one
  /// pending connection with it (a 503 on the way), and takes it back, so
  /// connections are turned away instead of waiting unanswered in the
  /// backlog. False when there is no spare descriptor to use.
  bool shed_one_connection();
  /// Asks every connection of every thread to close, each on its own thread.
  void close_connections(bool force);
  void poll_drained(std::function<void()> done, std::chrono::steady_clock::time_point force_at, bool forced);
  /// Once a second while authentication is on: re-reads the key file if it
  /// changed and has every connection recheck its credential, so a revoked
  /// or expired token ends its streams within about a second.
  void check_access_every_second();

  ServerContext& server_;
  std::vector<boost::asio::io_context*> contexts_;
  std::vector<std::unique_ptr<ShardContext>> shards_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer drain_timer_;
  boost::asio::steady_timer access_timer_;
  std::size_t next_ = 0;
  bool accept_backoff_logged_ = false;
  int spare_fd_ = -1;  // held open for shed_one_connection()
};

}  // namespace tagstream
