#include "cluster_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tagstream::test {

namespace {

constexpr const char* kNginx = "/usr/sbin/nginx";
constexpr const char* kCurl = "/usr/bin/curl";
constexpr const char* kOpenssl = "/usr/bin/openssl";

/// The test binary's shared PostgreSQL (tests/store/pg_server.h), stopped
/// when the binary's tests are done.
[[maybe_unused]] ::testing::Environment* const kPgEnvironment =
    ::testing::AddGlobalTestEnvironment(new tagstream::testing::PgEnvironment);

std::string source_path(const std::string& relative) {
  return std::string(TAGSTREAM_SOURCE_DIR) + "/" + relative;
}

/// Replaces the one occurrence of `from` in the shipped file `what`: a file
/// that no longer has it (or has it twice) must fail the test, not test
/// something else.
void replace_once(std::string& text, const std::string& from, const std::string& to,
                  const std::string& what) {
  const auto at = text.find(from);
  if (at == std::string::npos || text.find(from, at + 1) != std::string::npos)
    throw std::runtime_error("expected exactly one \"" + from + "\" in " + what);
  text.replace(at, from.size(), to);
}

/// One round trip of PING on a fresh connection: "+PONG" once the server
/// serves ("-LOADING ..." while it replays its AOF), empty when refused.
std::string redis_ping(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  std::string reply;
  timeval timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    static constexpr char kPing[] = "*1\r\n$4\r\nPING\r\n";
    if (::send(fd, kPing, sizeof kPing - 1, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof kPing - 1)) {
      char buf[256];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) reply.assign(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return reply;
}

std::string node_name(int i) {
  return std::string("node-") + static_cast<char>('a' + i);
}

}  // namespace

unsigned short free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

void drain(Child& child) {
  char buf[4096];
  for (auto [fd, out] : {std::pair{child.out_fd, &child.out}, std::pair{child.err_fd, &child.err}}) {
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out->append(buf, static_cast<std::size_t>(n));
  }
}

bool still_running(const Child& child) {
  int status = 0;
  return ::waitpid(child.pid, &status, WNOHANG) == 0;
}

std::string cluster_tools_missing(bool nginx) {
  std::string why;
  if (RedisServer::bin_dir(&why).empty()) return why;
  if (tagstream::testing::PgServer::bin_dir(&why).empty()) return why;
  return nginx ? nginx_tools_missing() : std::string();
}

std::string nginx_tools_missing() {
  for (const char* tool : {kNginx, kCurl, kOpenssl})
    if (::access(tool, X_OK) != 0)
      return std::string(tool) + " is missing (nginx-light, curl, openssl: scripts/install-deps.sh)";
  return {};
}

// ---------------------------------------------------------------- Process

Process::Process(std::string name, std::vector<std::string> args, std::string log_path)
    : name_(std::move(name)), args_(std::move(args)), log_path_(std::move(log_path)) {}

Process::~Process() {
  if (pid_ > 0) stop(SIGKILL, 10s);
  if (::testing::Test::HasFailure()) std::cerr << log_tail() << "\n";
}

void Process::start() {
  if (running()) throw std::runtime_error(name_ + " is already running");
  {
    std::ofstream log(log_path_, std::ios::app);
    log << "---- " << name_ << ": start " << ++starts_ << " ----\n";
  }
  // Everything the child needs is made before fork: between fork and exec
  // only async-signal-safe calls (other threads of the test may hold
  // malloc's locks).
  std::vector<char*> argv;
  for (const std::string& a : args_) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const char* log = log_path_.c_str();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed for " + name_);
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(125);  // the parent died before prctl
    const int fd = ::open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) ::_exit(126);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    // The test holds servers' listening sockets and pipes: not the child.
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
}

bool Process::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int Process::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      pid_ = -1;
      if (r < 0) return -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(10ms);
  }
}

int Process::stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  const int status = wait_exit(timeout);
  if (status < 0 && pid_ > 0) {  // did not exit in time: no survivor either way
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  return status;
}

std::string Process::log() const {
  try {
    return read_text(log_path_);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
}

std::string Process::log_tail(std::size_t bytes) const {
  const std::string all = log();
  return "---- the end of " + name_ + "'s log (" + log_path_ + ") ----\n" +
         (all.size() > bytes ? all.substr(all.size() - bytes) : all);
}

// ------------------------------------------------------------ RedisServer

std::string RedisServer::bin_dir(std::string* why) {
  const char* env = std::getenv("TAGSTREAM_REDIS_BIN");
  const std::string dir = env && *env ? env : "/usr/bin";
  for (const char* tool : {"redis-server", "redis-cli"}) {
    if (::access((dir + "/" + tool).c_str(), X_OK) != 0) {
      if (why)
        *why = std::string(tool) + " is not in " + dir +
               " (install Debian's redis-server package: scripts/install-deps.sh)";
      return {};
    }
  }
  return dir;
}

RedisServer::RedisServer() : bin_(bin_dir()), dir_(make_temp_dir()) {
  if (bin_.empty()) throw std::runtime_error("redis-server is missing");
  // A port bound to 0 and released, then taken by redis-server: another
  // process could take it in between, then the start is tried again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = free_port();
    // The shipped settings, then what makes this instance private: later
    // directives win.
    std::string conf = "include " + source_path("deploy/redis/tagstream-redis.conf") + "\n";
    conf += "bind 127.0.0.1\nport " + std::to_string(port_) + "\ndir " + dir_ + "\n";
    conf += "daemonize no\nsupervised no\nlogfile \"\"\npidfile \"\"\n";
    write_text(dir_ + "/redis.conf", conf);
    process_ = std::make_unique<Process>(
        "redis-server", std::vector<std::string>{bin_ + "/redis-server", dir_ + "/redis.conf"},
        dir_ + "/redis.log");
    process_->start();
    if (wait_ready(60s)) return;
    process_->stop(SIGKILL);
    if (process_->log().find("Address already in use") == std::string::npos) break;
  }
  throw std::runtime_error("redis-server did not start:\n" + process_->log_tail());
}

RedisServer::~RedisServer() {
  if (process_ && process_->running()) process_->stop(SIGTERM);
}

void RedisServer::start() {
  process_->start();
  if (!wait_ready(60s))
    throw std::runtime_error("redis-server did not start again on port " + std::to_string(port_) + ":\n" +
                             process_->log_tail());
}

void RedisServer::stop() {
  const int status = process_->stop(SIGTERM);
  if (status != 0)
    throw std::runtime_error("redis-server did not shut down cleanly: exit " + std::to_string(status));
}

void RedisServer::kill() {
  process_->stop(SIGKILL);
}

void RedisServer::pause() {
  ::kill(process_->pid(), SIGSTOP);
}

void RedisServer::resume() {
  ::kill(process_->pid(), SIGCONT);
}

std::string RedisServer::url() const {
  return "redis://127.0.0.1:" + std::to_string(port_);
}

std::string RedisServer::cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{bin_ + "/redis-cli", "-h", "127.0.0.1", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  Child cli(argv);
  const int rc = cli.wait_exit(30s);
  drain(cli);
  if (rc != 0) throw std::runtime_error("redis-cli failed (" + std::to_string(rc) + "): " + cli.err);
  std::string out = cli.out;
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool RedisServer::wait_ready(std::chrono::milliseconds timeout) {
  return eventually([&] { return !process_->running() || redis_ping(port_).starts_with("+PONG"); },
                    timeout) &&
         process_->running();
}

// ------------------------------------------------------------ NodeProcess

NodeProcess::NodeProcess(NodeOptions options) : options_(std::move(options)), data_dir_(make_temp_dir()) {
  // The port is chosen once, for every restart. Lost to another process
  // before the first start, the node exits at once: a new port is tried.
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = free_port();
    std::vector<std::string> args{TAGSTREAM_BINARY,
                                  "serve",
                                  "--listen",
                                  "127.0.0.1:" + std::to_string(port_),
                                  options_.simulator ? "--simulator" : "--no-simulator",
                                  "--data-dir",
                                  data_dir_,
                                  "--node-id",
                                  options_.id,
                                  "--trusted-proxies",
                                  "127.0.0.1",
                                  "--heartbeat-interval",
                                  "1"};
    if (!options_.store.empty()) args.insert(args.end(), {"--store", options_.store});
    if (!options_.cluster.empty()) args.insert(args.end(), {"--cluster", options_.cluster});
    args.insert(args.end(), options_.extra.begin(), options_.extra.end());
    process_ =
        std::make_unique<Process>(options_.id, std::move(args), data_dir_ + "/" + options_.id + ".log");
    process_->start();
    if (wait_healthy(60s)) return;
    process_->stop(SIGKILL);
    if (process_->log().find("in use") == std::string::npos) break;
  }
  throw std::runtime_error(options_.id + " did not start:\n" + process_->log_tail());
}

void NodeProcess::start() {
  process_->start();
  if (!wait_healthy(60s))
    throw std::runtime_error(options_.id + " did not start again on port " + std::to_string(port_) + ":\n" +
                             process_->log_tail());
}

void NodeProcess::kill9() {
  process_->stop(SIGKILL);
}

int NodeProcess::terminate() {
  return process_->stop(SIGTERM);
}

void NodeProcess::write(const std::string& lines) const {
  const auto reply = http_post(port_, "/write?precision=ns", lines);
  if (reply.status != 204)
    throw std::runtime_error(options_.id + " refused a write (" + std::to_string(reply.status) +
                             "): " + reply.body);
}

bool NodeProcess::wait_healthy(std::chrono::milliseconds timeout) {
  return eventually(
             [&] {
               if (!process_->running()) return true;
               try {
                 return healthz().status != 0;
               } catch (const std::runtime_error&) {
                 return false;  // not listening yet
               }
             },
             timeout) &&
         process_->running();
}

// ------------------------------------------------------------------ Nginx

Nginx::Nginx(const std::vector<unsigned short>& upstreams) {
  if (upstreams.empty()) throw std::runtime_error("nginx needs at least one upstream");
  prefix_ = make_temp_dir();
  http_port_ = free_port();
  https_port_ = free_port();
  plain_port_ = free_port();
  make_certificate();

  const std::string shipped_path = source_path("deploy/nginx/tagstream.conf");
  std::string site = read_text(shipped_path);
  // The shipped upstream lists example nodes, one `server` line each: they
  // become one line per given port, with the shipped parameters.
  const std::regex server_line("\\n([ \\t]*)server 10\\.0\\.0\\.\\d+:8080([^;\\n]*);");
  std::vector<std::smatch> shipped(std::sregex_iterator(site.begin(), site.end(), server_line),
                                   std::sregex_iterator());
  if (shipped.empty())
    throw std::runtime_error("no `server 10.0.0.x:8080 ...;` upstream line in " + shipped_path);
  std::string servers;
  for (unsigned short port : upstreams)
    servers +=
        "\n" + shipped[0][1].str() + "server 127.0.0.1:" + std::to_string(port) + shipped[0][2].str() + ";";
  const auto first = static_cast<std::size_t>(shipped.front().position(0));
  const auto last = static_cast<std::size_t>(shipped.back().position(0) + shipped.back().length(0));
  site.replace(first, last - first, servers);
  replace_once(site, "listen 80;", "listen 127.0.0.1:" + std::to_string(http_port_) + ";", shipped_path);
  // The HTTPS server also listens in plain HTTP on a port of its own: the
  // same locations for clients without TLS (SseClient, tagstream watch).
  replace_once(site, "listen 443 ssl http2;",
               "listen 127.0.0.1:" + std::to_string(https_port_) +
                   " ssl http2;\n    listen 127.0.0.1:" + std::to_string(plain_port_) + ";",
               shipped_path);
  replace_once(site, "/etc/ssl/tagstream/fullchain.pem", prefix_ + "/cert.pem", shipped_path);
  replace_once(site, "/etc/ssl/tagstream/privkey.pem", prefix_ + "/key.pem", shipped_path);
  write_text(prefix_ + "/tagstream.conf", site);

  // The test's own main config: every file in the prefix.
  std::string main = "pid " + prefix_ + "/nginx.pid;\n";
  main += "error_log " + prefix_ + "/error.log info;\n";
  main += "events { worker_connections 256; }\n";
  main += "http {\n";
  main += "  access_log " + prefix_ + "/access.log;\n";
  for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
    main += "  " + std::string(temp) + "_temp_path " + prefix_ + "/" + temp + ";\n";
  main += "  include " + prefix_ + "/tagstream.conf;\n";
  main += "}\n";
  write_text(prefix_ + "/nginx.conf", main);

  process_ = std::make_unique<Process>(
      "nginx",
      std::vector<std::string>{kNginx, "-p", prefix_ + "/", "-e", prefix_ + "/error.log", "-c",
                               prefix_ + "/nginx.conf", "-g", "daemon off; master_process off;"},
      prefix_ + "/nginx.out");
  process_->start();
  const bool up = eventually(
      [&] {
        if (!process_->running()) return true;
        try {
          http_get(http_port_, "/");
          return true;
        } catch (const std::runtime_error&) {
          return false;
        }
      },
      30s);
  if (!up || !process_->running())
    throw std::runtime_error("nginx did not start: " + process_->log() + error_log());
}

Nginx::~Nginx() {
  if (process_ && process_->running()) process_->stop(SIGTERM, 10s);
  if (::testing::Test::HasFailure()) std::cerr << "---- nginx error log ----\n" << error_log() << "\n";
}

std::string Nginx::https(const std::string& target) const {
  return "https://127.0.0.1:" + std::to_string(https_port_) + target;
}

std::string Nginx::plain(const std::string& target) const {
  return "http://127.0.0.1:" + std::to_string(plain_port_) + target;
}

std::string Nginx::error_log() const {
  try {
    return read_text(prefix_ + "/error.log");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
}

void Nginx::make_certificate() {
  Child openssl({kOpenssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", prefix_ + "/key.pem", "-out", prefix_ + "/cert.pem", "-days", "1",
                 "-subj", "/CN=localhost"});
  if (openssl.wait_exit(30s) != 0) throw std::runtime_error("openssl req failed: " + openssl.err);
}

// ------------------------------------------------------------------- curl

namespace {

CurlReply run_curl(std::vector<std::string> args, const std::string& url) {
  args.insert(args.begin(),
              {kCurl, "-sS", "-k", "--max-time", "20", "-o", "-", "-w", "\n%{http_code} %{http_version}"});
  args.push_back(url);
  Child curl(args);
  const int rc = curl.wait_exit(30s);
  drain(curl);
  if (rc != 0) throw std::runtime_error("curl " + url + " failed (" + std::to_string(rc) + "): " + curl.err);
  CurlReply reply;
  const auto nl = curl.out.rfind('\n');
  reply.body = curl.out.substr(0, nl);
  std::istringstream tail(curl.out.substr(nl + 1));
  tail >> reply.status >> reply.http_version;
  return reply;
}

}  // namespace

CurlReply curl_get(const std::string& url, const std::string& protocol) {
  return run_curl({protocol}, url);
}

CurlReply curl_send(const std::string& url, const std::string& body, const std::string& method) {
  return run_curl({"-X", method, "--data-binary", body}, url);
}

std::string node_of(const std::string& healthz_body) {
  return std::string(boost::json::parse(healthz_body).at("node").as_string());
}

// ---------------------------------------------------------------- Cluster

Cluster::Cluster(const ClusterOptions& options) {
  if (options.nodes < 1 || options.nodes > 26) throw std::runtime_error("a Cluster has 1 to 26 nodes");
  if (options.cluster) redis = std::make_unique<RedisServer>();
  if (options.own_postgres) {
    own_postgres = std::make_unique<tagstream::testing::PgServer>();
    store_url = own_postgres->create_database();
  } else {
    std::string why;
    auto* shared = tagstream::testing::PgEnvironment::server(&why);
    if (!shared) throw std::runtime_error(why);
    store_url = shared->create_database();
  }
  for (int i = 0; i < options.nodes; ++i) {
    NodeOptions node{.id = node_name(i),
                     .store = store_url,
                     .cluster = redis ? redis->url() : std::string(),
                     .simulator = i == options.simulator_node,
                     .extra = options.node_args};
    nodes.push_back(std::make_unique<NodeProcess>(std::move(node)));
  }
  if (options.nginx) nginx = std::make_unique<Nginx>(node_ports());
}

Cluster::~Cluster() {
  // In reverse: nothing in front of a node that is gone, no node without
  // its Redis and database.
  nginx.reset();
  while (!nodes.empty()) nodes.pop_back();
  redis.reset();
  own_postgres.reset();
}

std::vector<unsigned short> Cluster::node_ports() const {
  std::vector<unsigned short> ports;
  for (const auto& n : nodes) ports.push_back(n->port());
  return ports;
}

}  // namespace tagstream::test
