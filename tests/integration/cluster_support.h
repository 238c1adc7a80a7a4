#pragma once
// The moving parts of a tagstream cluster, started by a test as real
// processes on 127.0.0.1, free ports and temporary directories: Redis
// (redis-server with the shipped deploy/redis/tagstream-redis.conf),
// PostgreSQL (tests/store/pg_server.h), tagstream nodes (the built binary)
// and nginx (the shipped deploy/nginx/tagstream.conf).
//
// Every process is a child of the test with PR_SET_PDEATHSIG, so a test
// that crashes or is killed leaves nothing running; its output goes to a
// file in its temporary directory, printed (the end of it) when the test
// that owns it has failed. Nothing here sleeps for a fixed time: each start
// waits until the service answers, each stop until the process is gone.
//
// Not thread-safe: one test thread drives a Cluster. PR_SET_PDEATHSIG fires
// when the thread that started the child exits, so start and restart
// processes from the test's own thread.
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/pg_server.h"
#include "support.h"

namespace tagstream::test {

/// A loopback TCP port nothing listens on right now (bound to 0 and
/// released: a start that loses the race to another process retries).
unsigned short free_port();

std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);

/// Everything left in a finished Child's pipes.
void drain(Child& child);
/// Whether a Child has not exited yet (reaps it if it has).
bool still_running(const Child& child);

/// Why the cluster tests cannot run here (a binary is missing, with the
/// package that brings it), or empty. `nginx`: nginx, curl and openssl too.
std::string cluster_tools_missing(bool nginx);
/// Why nginx cannot be run here (nginx, curl or openssl missing), or empty.
std::string nginx_tools_missing();

/// A child process whose stdout and stderr go to a log file (appended
/// across restarts). Killed with SIGKILL when its parent thread exits
/// (PR_SET_PDEATHSIG) or when the Process is destroyed.
class Process {
 public:
  Process(std::string name, std::vector<std::string> args, std::string log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  /// Starts the program (again). Throws when it is already running.
  void start();
  bool running();
  pid_t pid() const { return pid_; }
  /// Sends `signal` and waits for the exit; returns the exit status or
  /// 128 + signal, or -1 when it did not exit within `timeout`.
  int stop(int signal, std::chrono::milliseconds timeout = 30s);
  /// Waits for an exit without signalling; -1 on timeout.
  int wait_exit(std::chrono::milliseconds timeout);
  /// The log so far (every start of it).
  std::string log() const;
  /// The last `bytes` of the log, headed by the name and path: for
  /// failure messages.
  std::string log_tail(std::size_t bytes = 8192) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::vector<std::string> args_;
  std::string log_path_;
  pid_t pid_ = -1;
  int starts_ = 0;
};

/// redis-server on 127.0.0.1 with the shipped configuration
/// (deploy/redis/tagstream-redis.conf: AOF, fsync every second,
/// noeviction), its port, directory and log replaced. stop(), kill() and
/// start() again keep the port and the directory, so a restart reloads the
/// append-only file written before.
class RedisServer {
 public:
  /// Where redis-server and redis-cli are ($TAGSTREAM_REDIS_BIN, else
  /// /usr/bin); empty (and `why`) when missing.
  static std::string bin_dir(std::string* why = nullptr);

  /// Starts the server. Throws std::runtime_error when it cannot.
  RedisServer();
  ~RedisServer();

  /// Starts it again after stop() or kill(): same port, same directory.
  void start();
  /// SHUTDOWN as systemd would (SIGTERM): the AOF is flushed, then exit.
  void stop();
  /// SIGKILL: a crash. What it acknowledged is in the AOF already (written
  /// before each reply; fsync'd every second, which only a machine crash
  /// can tell apart).
  void kill();
  /// SIGSTOP / SIGCONT: connections stay open and nothing is answered, as
  /// with a Redis that hangs or a network that drops packets.
  void pause();
  void resume();
  bool running() { return process_->running(); }

  unsigned short port() const { return port_; }
  /// redis://127.0.0.1:PORT, the form --cluster takes.
  std::string url() const;
  const std::string& dir() const { return dir_; }

  /// Runs redis-cli against this server; returns its stdout without the
  /// last newline. Throws when redis-cli fails.
  std::string cli(const std::vector<std::string>& args) const;
  /// The server's own log (also printed when the test has failed).
  std::string log() const { return process_->log(); }

 private:
  /// Polls PING until +PONG (not -LOADING while the AOF loads), or the
  /// process exits, or `timeout` passes.
  bool wait_ready(std::chrono::milliseconds timeout);

  std::string bin_;
  std::string dir_;
  unsigned short port_ = 0;
  std::unique_ptr<Process> process_;
};

/// How a tagstream node is started.
struct NodeOptions {
  std::string id{};
  /// --store: empty for SQLite in the node's data directory.
  std::string store{};
  /// --cluster: empty for a node on its own.
  std::string cluster{};
  bool simulator = false;
  /// More options, after the harness's (a later one wins).
  std::vector<std::string> extra{};
};

/// The built `tagstream` binary as a child process on a loopback port
/// chosen once: a restart (start() after kill9() or terminate()) listens
/// on the same port with the same data directory, as nginx expects of a
/// node that comes back. Started with --trusted-proxies 127.0.0.1 (nginx
/// on loopback) and --heartbeat-interval 1.
class NodeProcess {
 public:
  /// Starts the node and waits until /healthz answers. Throws (with the
  /// node's log) when it does not.
  explicit NodeProcess(NodeOptions options);

  /// Starts it again (same port, data directory and options).
  void start();
  /// SIGKILL, as `kill -9`; returns once the process is gone.
  void kill9();
  /// SIGTERM (graceful: streams get a last event); the exit status.
  int terminate();
  bool running() { return process_->running(); }

  const std::string& id() const { return options_.id; }
  unsigned short port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string log() const { return process_->log(); }
  std::string log_tail() const { return process_->log_tail(); }

  /// GET /healthz straight from this node.
  HttpReply healthz() const { return http_get(port_, "/healthz"); }
  /// Writes line protocol (nanosecond timestamps) straight to this node;
  /// throws unless it answers 204.
  void write(const std::string& lines) const;

 private:
  /// Waits until /healthz answers (any status) or the process exits.
  bool wait_healthy(std::chrono::milliseconds timeout);

  NodeOptions options_;
  std::string data_dir_;
  unsigned short port_ = 0;
  std::unique_ptr<Process> process_;
};

/// nginx running the shipped deploy/nginx/tagstream.conf from a prefix of
/// its own: the upstream servers replaced by the given loopback ports (as
/// many as given, each with the shipped max_fails/fail_timeout), the
/// listen ports by free ones, the certificate by a self-signed one made
/// with openssl. One process (master_process off): a SIGKILLed master
/// would leave workers listening.
class Nginx {
 public:
  explicit Nginx(const std::vector<unsigned short>& upstreams);
  ~Nginx();

  /// The plain-HTTP port (which redirects to HTTPS, as shipped).
  unsigned short http_port() const { return http_port_; }
  unsigned short https_port() const { return https_port_; }
  /// https://127.0.0.1:PORT<target>
  std::string https(const std::string& target) const;
  std::string error_log() const;

 private:
  void make_certificate();

  std::string prefix_;
  unsigned short http_port_ = 0, https_port_ = 0;
  std::unique_ptr<Process> process_;
};

struct CurlReply {
  int status = 0;
  std::string http_version;
  std::string body;
};

/// A GET through curl (TLS, the self-signed certificate not checked).
/// `protocol`: --http2 or --http1.1.
CurlReply curl_get(const std::string& url, const std::string& protocol = "--http2");
/// A request with a body through curl (HTTP/2 over TLS, as browsers):
/// POST unless `method` says otherwise.
CurlReply curl_send(const std::string& url, const std::string& body, const std::string& method = "POST");

/// The "node" of a /healthz body.
std::string node_of(const std::string& healthz_body);

/// Designated initializers pick what differs: {.nodes = 2, .nginx = true}.
struct ClusterOptions {
  int nodes = 3;
  /// Pass --cluster (Redis) to the nodes; false: nodes that share only
  /// PostgreSQL.
  bool cluster = true;
  /// nginx in front of the nodes.
  bool nginx = false;
  /// The node (index) that runs the simulator; -1: none.
  int simulator_node = -1;
  /// A PostgreSQL server of the Cluster's own (a test may stop it); by
  /// default a fresh database on the test binary's shared one.
  bool own_postgres = false;
  /// More options for every node.
  std::vector<std::string> node_args{};
};

/// Redis + PostgreSQL + N nodes (node-a, node-b, ...) + optional nginx,
/// started in that order by the constructor, stopped in reverse by the
/// destructor. Throws when a part does not start.
struct Cluster {
  explicit Cluster(const ClusterOptions& options = {});
  ~Cluster();

  std::unique_ptr<RedisServer> redis;
  std::unique_ptr<tagstream::testing::PgServer> own_postgres;
  /// The nodes' --store URL (a database of its own).
  std::string store_url;
  std::vector<std::unique_ptr<NodeProcess>> nodes;
  std::unique_ptr<Nginx> nginx;

  NodeProcess& node(std::size_t i) { return *nodes.at(i); }
  std::vector<unsigned short> node_ports() const;
};

}  // namespace tagstream::test
