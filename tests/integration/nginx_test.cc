// The shipped nginx config (deploy/nginx/tagstream.conf) in front of two
// real tagstream processes: real nginx on loopback ports, a self-signed
// certificate made by openssl, curl as the browser (TLS, HTTP/2). Only the
// node addresses, listen ports and certificate paths of the file are
// replaced; everything else is what operators install.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include "core/time.h"
#include "support.h"

namespace tagstream::test {
namespace {

constexpr const char* kNginx = "/usr/sbin/nginx";
constexpr const char* kCurl = "/usr/bin/curl";
constexpr const char* kOpenssl = "/usr/bin/openssl";

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

/// Replaces the one occurrence of `from`: a shipped file that no longer
/// has it (or has it twice) must fail the test, not test something else.
void replace_once(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos || text.find(from, at + 1) != std::string::npos)
    throw std::runtime_error("expected exactly one \"" + from + "\" in deploy/nginx/tagstream.conf");
  text.replace(at, from.size(), to);
}

/// A loopback port nothing listens on right now.
unsigned short free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
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

/// Everything left in a finished child's pipes.
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

/// A tagstream process on a free loopback port.
struct Node {
  std::string id;
  std::unique_ptr<Child> child;
  unsigned short port = 0;

  explicit Node(std::string node_id, const std::vector<std::string>& extra = {}) : id(std::move(node_id)) {
    std::vector<std::string> args{TAGSTREAM_BINARY,
                                  "serve",
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--no-simulator",
                                  "--data-dir",
                                  make_temp_dir(),
                                  "--node-id",
                                  id,
                                  "--trusted-proxies",
                                  "127.0.0.1",
                                  "--heartbeat-interval",
                                  "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    child = std::make_unique<Child>(args);
    auto listening = child->wait_for(std::regex("listening on 127\\.0\\.0\\.1:(\\d+)"), 60s);
    if (!listening) throw std::runtime_error(id + " did not start: " + child->err);
    port = static_cast<unsigned short>(std::stoi((*listening)[1]));
  }

  /// Writes plant.temp = value at `ts` straight to this node.
  void write_temp(double value, TimeNs ts) const {
    const auto reply = http_post(port, "/write?precision=ns",
                                 "plant temp=" + std::to_string(value) + " " + std::to_string(ts));
    if (reply.status != 204) throw std::runtime_error(id + " refused a write: " + reply.body);
  }
};

/// nginx running the shipped config from a prefix of its own.
class Nginx {
 public:
  Nginx(const std::vector<unsigned short>& upstreams) {
    prefix_ = make_temp_dir();
    http_port_ = free_port();
    https_port_ = free_port();
    make_certificate();

    std::string site = read_text(std::string(TAGSTREAM_SOURCE_DIR) + "/deploy/nginx/tagstream.conf");
    const char* shipped[] = {"10.0.0.11:8080", "10.0.0.12:8080", "10.0.0.13:8080"};
    for (std::size_t i = 0; i < 3; ++i)
      replace_once(site, shipped[i], "127.0.0.1:" + std::to_string(upstreams.at(i)));
    replace_once(site, "listen 80;", "listen 127.0.0.1:" + std::to_string(http_port_) + ";");
    replace_once(site, "listen 443 ssl http2;",
                 "listen 127.0.0.1:" + std::to_string(https_port_) + " ssl http2;");
    replace_once(site, "/etc/ssl/tagstream/fullchain.pem", prefix_ + "/cert.pem");
    replace_once(site, "/etc/ssl/tagstream/privkey.pem", prefix_ + "/key.pem");
    write_text(prefix_ + "/tagstream.conf", site);

    // The test's own main config: files in the prefix, one process (a
    // master killed with SIGKILL would leave its workers listening).
    write_text(prefix_ + "/nginx.conf", "pid " + prefix_ +
                                            "/nginx.pid;\n"
                                            "error_log " +
                                            prefix_ +
                                            "/error.log info;\n"
                                            "events { worker_connections 256; }\n"
                                            "http {\n"
                                            "  access_log " +
                                            prefix_ +
                                            "/access.log;\n"
                                            "  client_body_temp_path " +
                                            prefix_ +
                                            "/body;\n"
                                            "  proxy_temp_path " +
                                            prefix_ +
                                            "/proxy;\n"
                                            "  fastcgi_temp_path " +
                                            prefix_ +
                                            "/fastcgi;\n"
                                            "  uwsgi_temp_path " +
                                            prefix_ +
                                            "/uwsgi;\n"
                                            "  scgi_temp_path " +
                                            prefix_ +
                                            "/scgi;\n"
                                            "  include " +
                                            prefix_ +
                                            "/tagstream.conf;\n"
                                            "}\n");
    child_ = std::make_unique<Child>(
        std::vector<std::string>{kNginx, "-p", prefix_ + "/", "-e", prefix_ + "/error.log", "-c",
                                 prefix_ + "/nginx.conf", "-g", "daemon off; master_process off;"});
    const bool up = eventually(
        [&] {
          if (!still_running(*child_)) return true;
          try {
            http_get(http_port_, "/");
            return true;
          } catch (const std::runtime_error&) {
            return false;
          }
        },
        30s);
    if (!up || !still_running(*child_)) throw std::runtime_error("nginx did not start: " + error_log());
  }

  ~Nginx() {
    if (child_ && child_->pid > 0) {
      ::kill(child_->pid, SIGTERM);
      child_->wait_exit(10s);
    }
  }

  unsigned short http_port() const { return http_port_; }
  std::string https(const std::string& target) const {
    return "https://127.0.0.1:" + std::to_string(https_port_) + target;
  }
  std::string error_log() const {
    try {
      return read_text(prefix_ + "/error.log");
    } catch (const std::runtime_error& e) {
      return e.what();
    }
  }

 private:
  void make_certificate() {
    Child openssl({kOpenssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                   "-nodes", "-keyout", prefix_ + "/key.pem", "-out", prefix_ + "/cert.pem", "-days", "1",
                   "-subj", "/CN=localhost"});
    if (openssl.wait_exit(30s) != 0) throw std::runtime_error("openssl req failed: " + openssl.err);
  }

  std::string prefix_;
  unsigned short http_port_ = 0, https_port_ = 0;
  std::unique_ptr<Child> child_;
};

struct CurlReply {
  int status = 0;
  std::string http_version;
  std::string body;
};

/// A GET through curl (TLS, certificate not checked: it is self-signed).
CurlReply curl_get(const std::string& url, const std::string& protocol = "--http2") {
  Child curl({kCurl, "-sS", "-k", protocol, "--max-time", "20", "-o", "-", "-w",
              "\n%{http_code} %{http_version}", url});
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

std::string node_of(const CurlReply& healthz) {
  return std::string(boost::json::parse(healthz.body).at("node").as_string());
}

/// An SSE stream through nginx: curl without output buffering (-N), with
/// its response head on stderr (-v). `source`: the loopback address curl
/// connects from, to be one of several browsers.
std::unique_ptr<Child> open_stream(const Nginx& nginx, const std::string& protocol,
                                   const std::string& source = "127.0.0.1") {
  return std::make_unique<Child>(
      std::vector<std::string>{kCurl, "-sS", "-N", "-k", "-v", "--interface", source, protocol,
                               nginx.https("/api/sse/stream?tags[]=plant.temp&interval=raw")});
}

class NginxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {kNginx, kCurl, kOpenssl})
      ASSERT_EQ(::access(tool, X_OK), 0) << tool << " is missing: run scripts/install-deps.sh";
  }
};

TEST_F(NginxTest, ShippedConfigStreamsUnbufferedOverHttp2AndFailsOver) {
  Node a("node-a"), b("node-b");
  const unsigned short nobody = free_port();  // the third upstream: a node that is down
  Nginx nginx({a.port, b.port, nobody});

  // Plain HTTP is sent to HTTPS.
  const auto redirect = http_get(nginx.http_port(), "/api/sse/stream?tags[]=plant.temp");
  EXPECT_EQ(redirect.status, 301);
  EXPECT_TRUE(redirect.header("location").starts_with("https://")) << redirect.header("location");

  // The nodes are independent here: the tag and every value go to both, so
  // a stream sees them whichever node nginx chose.
  const TimeNs t0 = now_ns();
  a.write_temp(1, t0);
  b.write_temp(1, t0);

  // One stream over HTTP/2, one over HTTP/1.1, both TLS.
  auto h2 = open_stream(nginx, "--http2");
  auto h1 = open_stream(nginx, "--http1.1");
  ASSERT_TRUE(h2->wait_for(std::regex("< HTTP/2 200"), 20s)) << h2->err << nginx.error_log();
  ASSERT_TRUE(h1->wait_for(std::regex("< HTTP/1.1 200"), 20s)) << h1->err << nginx.error_log();
  ASSERT_TRUE(h2->wait_for(std::regex("event: connected"), 20s, true)) << h2->out;
  ASSERT_TRUE(h1->wait_for(std::regex("event: connected"), 20s, true)) << h1->out;

  // An event written now arrives while the stream stays open: nginx passes
  // it on at once instead of holding it until a buffer fills or the
  // response ends.
  a.write_temp(42.5, t0 + 1'000'000);
  b.write_temp(42.5, t0 + 1'000'000);
  const std::regex pushed("event: data\\n(id: \\d+\\n)?data: .*\"v\":42\\.5");
  EXPECT_TRUE(h2->wait_for(pushed, 20s, true)) << h2->out;
  EXPECT_TRUE(h1->wait_for(pushed, 20s, true)) << h1->out;
  EXPECT_TRUE(still_running(*h2)) << "the stream ended: " << h2->err;
  EXPECT_TRUE(still_running(*h1)) << "the stream ended: " << h1->err;

  // Requests are spread over both live nodes (the third is down: nginx goes
  // on to the next one, the browser sees no error).
  std::set<std::string> seen;
  for (int i = 0; i < 30 && seen.size() < 2; ++i) {
    const auto healthz = curl_get(nginx.https("/healthz"));
    ASSERT_EQ(healthz.status, 200) << healthz.body;
    EXPECT_EQ(healthz.http_version, "2");
    seen.insert(node_of(healthz));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"node-a", "node-b"}));

  // Node A dies: every new request is answered by B.
  ::kill(a.child->pid, SIGKILL);
  ASSERT_EQ(a.child->wait_exit(10s), 128 + SIGKILL);
  for (int i = 0; i < 6; ++i) {
    const auto healthz = curl_get(nginx.https("/healthz"));
    ASSERT_EQ(healthz.status, 200) << healthz.body << nginx.error_log();
    EXPECT_EQ(node_of(healthz), "node-b");
  }
  // A new stream, too.
  auto after = open_stream(nginx, "--http2");
  ASSERT_TRUE(after->wait_for(std::regex("event: connected"), 20s, true)) << after->out << after->err;
  b.write_temp(7.25, t0 + 2'000'000);
  EXPECT_TRUE(after->wait_for(std::regex("\"v\":7\\.25"), 20s, true)) << after->out;
}

// Each browser is counted as itself behind nginx: the shipped config appends
// it to X-Forwarded-For, and the nodes trust nginx (--trusted-proxies), so
// a per-client cap of one stream lets three browsers stream through one
// nginx address to two nodes. Counted as nginx's address, the third would
// be refused on either node.
TEST_F(NginxTest, EachBrowserIsCountedByTheAddressNginxForwards) {
  Node a("node-a", {"--max-streams-per-client", "1"}), b("node-b", {"--max-streams-per-client", "1"});
  Nginx nginx({a.port, b.port, free_port()});
  const TimeNs t0 = now_ns();
  a.write_temp(1, t0);
  b.write_temp(1, t0);

  std::vector<std::unique_ptr<Child>> browsers;
  for (const char* source : {"127.0.0.2", "127.0.0.3", "127.0.0.4"}) {
    browsers.push_back(open_stream(nginx, "--http2", source));
    ASSERT_TRUE(browsers.back()->wait_for(std::regex("event: connected"), 20s, true))
        << source << ": " << browsers.back()->err << browsers.back()->out;
  }
  // The cap itself holds: a second stream of one browser is refused (by
  // whichever node; nginx does not pass a 429 on to the other).
  auto second = open_stream(nginx, "--http2", "127.0.0.2");
  EXPECT_TRUE(second->wait_for(std::regex("< HTTP/2 429"), 20s)) << second->err;
}

// HTTP/2 to the browser: many streams share one TLS connection (over
// HTTP/1.1 a browser stops at six per origin), each relayed to a node over
// HTTP/1.1.
TEST_F(NginxTest, Http2CarriesManyStreamsOnOneConnection) {
  Node a("node-a"), b("node-b");
  Nginx nginx({a.port, b.port, free_port()});
  const TimeNs t0 = now_ns();
  a.write_temp(1, t0);
  b.write_temp(1, t0);

  constexpr int kStreams = 8;
  std::vector<std::string> args{
      kCurl, "-sS", "-N", "-k", "-v", "--http2", "--parallel", "--parallel-max", std::to_string(kStreams)};
  for (int i = 0; i < kStreams; ++i)
    args.push_back(nginx.https("/api/sse/stream?tags[]=plant.temp&interval=raw"));
  Child curl(args);
  std::string connected;
  for (int i = 0; i < kStreams; ++i) connected += "[^]*event: connected";
  ASSERT_TRUE(curl.wait_for(std::regex(connected), 30s, true)) << curl.out << curl.err;
  EXPECT_TRUE(still_running(curl));
  // One TCP connection made, the others multiplexed on it.
  const std::regex connect("\\* Connected to ");
  const auto made =
      std::distance(std::sregex_iterator(curl.err.begin(), curl.err.end(), connect), std::sregex_iterator());
  EXPECT_EQ(made, 1) << curl.err;
}

// WebSocket through nginx: the /api/ws location passes the Upgrade
// handshake on (HTTP/1.1 from the browser: nginx does not take WebSockets
// over HTTP/2), with the browser's Host, so the dashboard's own Origin is
// accepted as same-origin.
TEST_F(NginxTest, WebSocketUpgradePassesThrough) {
  Node a("node-a"), b("node-b");
  Nginx nginx({a.port, b.port, free_port()});
  const std::string url = nginx.https("/api/ws");
  const std::string origin = url.substr(0, url.find("/api/ws"));
  Child curl({kCurl, "-sS", "-N", "-k", "-v", "--http1.1", "-H", "Connection: Upgrade", "-H",
              "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13", "-H",
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "-H", "Origin: " + origin, url});
  ASSERT_TRUE(curl.wait_for(std::regex("< HTTP/1.1 101"), 20s)) << curl.err << nginx.error_log();
  EXPECT_TRUE(
      curl.wait_for(std::regex("< [Ss]ec-[Ww]eb[Ss]ocket-[Aa]ccept: s3pPLMBiTxaQ9kYGzzhZRbK\\+xOo="), 5s))
      << curl.err;
}

}  // namespace
}  // namespace tagstream::test
