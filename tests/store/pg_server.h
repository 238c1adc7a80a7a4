#pragma once
// A private PostgreSQL server for tests: initdb into a temporary directory,
// postgres on 127.0.0.1 on a free port with its unix socket in that
// directory, stopped and removed when the PgServer is destroyed.
//
// initdb and postgres refuse to run as root. Run as root (CI), the server
// runs as `nobody`: the child drops to that user (setgroups, setgid,
// setuid) before it execs, and the temporary directory is handed to it. Run
// as an ordinary user, it runs as that user. Either way the child gets
// PR_SET_PDEATHSIG, so a test process that dies does not leave a server
// behind. The binaries are looked up in $TAGSTREAM_PG_BIN, else in
// /usr/lib/postgresql/15/bin (Debian 12's `postgresql` package).
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tagstream::testing {

class PgServer {
 public:
  /// Where the binaries are; empty (and `why`) when they are missing.
  static std::string bin_dir(std::string* why = nullptr) {
    const char* env = std::getenv("TAGSTREAM_PG_BIN");
    const std::string dir = env && *env ? env : "/usr/lib/postgresql/15/bin";
    for (const char* tool : {"initdb", "postgres"}) {
      if (::access((dir + "/" + tool).c_str(), X_OK) != 0) {
        if (why)
          *why = "PostgreSQL's " + std::string(tool) + " is not in " + dir +
                 " (install Debian's postgresql package: scripts/install-deps.sh)";
        return {};
      }
    }
    return dir;
  }

  /// Starts the server. Throws std::runtime_error when it cannot.
  PgServer() {
    const std::string bin = bin_dir();
    if (bin.empty()) throw std::runtime_error("PostgreSQL binaries are missing");
    std::string tmpl = (std::filesystem::temp_directory_path() / "tagstream-pg.XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("nobody");
      if (!pw) throw std::runtime_error("running as root and there is no user `nobody` to run PostgreSQL as");
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
      if (::chown(dir_.c_str(), uid_, gid_) != 0) throw std::runtime_error("chown of " + dir_ + " failed");
    }
    const int rc = wait_for(spawn({bin + "/initdb", "-D", dir_ + "/data", "-U", "tagstream", "-A", "trust",
                                   "-E", "UTF8", "--no-sync", "--no-instructions"},
                                  dir_ + "/initdb.log"));
    if (rc != 0)
      throw std::runtime_error("initdb failed (exit " + std::to_string(rc) + "), see " + dir_ +
                               "/initdb.log");
    // A free port: bound to 0 and released, then taken by postgres. Another
    // process could take it in between; then the start is tried again.
    for (int attempt = 0; attempt < 3 && pid_ <= 0; ++attempt) {
      port_ = free_port();
      pid_ = spawn({bin + "/postgres", "-D", dir_ + "/data", "-h", "127.0.0.1", "-p", std::to_string(port_),
                    "-k", dir_, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c",
                    "full_page_writes=off", "-c", "max_connections=100"},
                   dir_ + "/postgres.log");
      if (!wait_until_ready()) {
        stop();
        pid_ = -1;
      }
    }
    if (pid_ <= 0) throw std::runtime_error("postgres did not start, see " + dir_ + "/postgres.log");
  }

  ~PgServer() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int port() const { return port_; }
  /// A libpq URI for a database on this server.
  std::string url(const std::string& db) const {
    return "postgres://tagstream@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }

  /// Creates a new, empty database and returns its URI.
  std::string create_database() {
    const std::string name = "t" + std::to_string(::getpid()) + "_" + std::to_string(++databases_);
    PGconn* c = PQconnectdb(url("postgres").c_str());
    std::string error;
    if (PQstatus(c) != CONNECTION_OK) {
      error = PQerrorMessage(c);
    } else {
      PGresult* r = PQexec(c, ("CREATE DATABASE " + name).c_str());
      if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
      PQclear(r);
    }
    PQfinish(c);
    if (!error.empty()) throw std::runtime_error("CREATE DATABASE failed: " + error);
    return url(name);
  }

 private:
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(fd);
      throw std::runtime_error("cannot find a free port");
    }
    ::close(fd);
    return ntohs(a.sin_port);
  }

  /// Runs argv as the server's user, output to `log`; returns the pid.
  pid_t spawn(const std::vector<std::string>& args, const std::string& log) const {
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid > 0) return pid;
    // The child: async-signal-safe calls only until exec.
    if (uid_ != 0 && (::setgroups(0, nullptr) != 0 || ::setgid(gid_) != 0 || ::setuid(uid_) != 0))
      ::_exit(126);
    ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
    if (::getppid() != parent) ::_exit(125);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    if (::chdir(dir_.c_str()) != 0) ::_exit(124);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }

  static int wait_for(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  /// Polls until the server accepts connections, or it exits, or 60 s pass.
  bool wait_until_ready() {
    const std::string info =
        "host=127.0.0.1 port=" + std::to_string(port_) + " user=tagstream dbname=postgres";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (PQping(info.c_str()) == PQPING_OK) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGINT);  // fast shutdown: ends sessions, no checkpoint wait for clients
    wait_for(pid_);
    pid_ = -1;
  }

  std::string dir_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  int port_ = 0;
  pid_t pid_ = -1;
  int databases_ = 0;
};

/// The test binary's one PostgreSQL server, started on first use (tests of
/// the SQLite store alone never start it) and stopped by the environment at
/// exit. Register PgEnvironment once per binary.
class PgEnvironment : public ::testing::Environment {
 public:
  /// The server, or nullptr (and `why`) when PostgreSQL is not installed.
  static PgServer* server(std::string* why) {
    std::lock_guard lock(mutex());
    if (!slot() && bin_dir_ok(why)) slot() = std::make_unique<PgServer>();
    return slot().get();
  }
  void TearDown() override {
    std::lock_guard lock(mutex());
    slot().reset();
  }

 private:
  static bool bin_dir_ok(std::string* why) { return !PgServer::bin_dir(why).empty(); }
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static std::unique_ptr<PgServer>& slot() {
    static std::unique_ptr<PgServer> s;
    return s;
  }
};

/// Rows in a database's samples table, read with libpq directly (-1 when
/// the query fails, e.g. before a node created the schema).
inline long long rows_in_database(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  long long n = -1;
  if (PQstatus(c) == CONNECTION_OK) {
    PGresult* r = PQexec(c, "SELECT count(*) FROM samples");
    if (PQresultStatus(r) == PGRES_TUPLES_OK) n = std::stoll(PQgetvalue(r, 0, 0));
    PQclear(r);
  }
  PQfinish(c);
  return n;
}

}  // namespace tagstream::testing
