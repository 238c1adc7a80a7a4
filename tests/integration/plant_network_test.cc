// Issue 15, "safe on a plant network": connection caps and running out of
// file descriptors, clients behind a trusted proxy, cross-site writes from
// browsers, and request-rate limits. Each test is an attack that worked on
// the server before.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <regex>

#include "support.h"

namespace tagstream::test {
namespace {

/// A connection that sends nothing, as an attacker's idle connections do.
class IdleConnection {
 public:
  IdleConnection(unsigned short port, const std::string& source) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("idle connection failed");
  }
  IdleConnection(IdleConnection&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  ~IdleConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  /// Whether the server has closed it (EOF or reset), without waiting.
  bool closed_by_server() const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
    }
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  int fd_ = -1;
};

std::string code_of(const HttpReply& reply) {
  try {
    return std::string(boost::json::parse(reply.body).at("code").as_string());
  } catch (const std::exception&) {
    return "(no JSON error: " + reply.body + ")";
  }
}

HttpReply post(unsigned short port, const std::string& path, const std::string& body,
               const std::vector<std::string>& extra = {}, const std::string& source = "",
               const std::string& method = "POST") {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& h : extra) req += h + "\r\n";
  return http_raw(port, req + "\r\n" + body, source);
}

// --- 1. Connection caps and EMFILE -----------------------------------------

TEST(PlantNetwork, OneAddressCannotHoldMoreThanItsConnections) {
  ServerConfig config = test_config();
  config.max_connections_per_client = 3;
  TestServer server(config);
  std::vector<IdleConnection> idle;
  for (int i = 0; i < 3; ++i) idle.emplace_back(server.port(), "127.0.0.2");
  ASSERT_TRUE(eventually([&] { return server.app().stats().open_connections.load() == 3; }));

  const HttpReply refused = http_get(server.port(), "/healthz", {}, "127.0.0.2");
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(code_of(refused), "too_many_connections_for_client");
  EXPECT_EQ(refused.header("retry-after"), "5");
  // Other addresses are served meanwhile.
  EXPECT_EQ(http_get(server.port(), "/healthz", {}, "127.0.0.3").status, 200);

  idle.pop_back();
  EXPECT_TRUE(eventually([&] { return http_get(server.port(), "/healthz", {}, "127.0.0.2").status == 200; }));
}

TEST(PlantNetwork, PastTheTotalCapConnectionsGet503AndTheServerRecovers) {
  ServerConfig config = test_config();
  config.max_connections = 4;
  TestServer server(config);
  std::vector<IdleConnection> idle;
  for (int i = 0; i < 4; ++i) idle.emplace_back(server.port(), "127.0.0." + std::to_string(10 + i));
  ASSERT_TRUE(eventually([&] { return server.app().stats().open_connections.load() == 4; }));

  const HttpReply refused = http_get(server.port(), "/healthz", {}, "127.0.0.20");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(code_of(refused), "too_many_connections");
  EXPECT_FALSE(refused.header("retry-after").empty());

  idle.clear();
  EXPECT_TRUE(
      eventually([&] { return http_get(server.port(), "/healthz", {}, "127.0.0.20").status == 200; }));
  // Operators see it.
  const auto stats = boost::json::parse(http_get(server.port(), "/api/stats").body).as_object();
  EXPECT_GE(stats.at("refused").at("connections").to_number<double>(), 1);
}

TEST(PlantNetwork, OutOfFileDescriptorsNewConnectionsAreClosedAndServingResumes) {
#if defined(__SANITIZE_ADDRESS__)
  // UBSan (built with ASan here) checks a vtable by probing the memory
  // through a pipe; with no descriptor left the probe fails and it aborts
  // the server, whatever the server does. The release build runs this test.
  GTEST_SKIP() << "a server built with UBSan cannot run out of descriptors";
#endif
  // A real server with 128 descriptors and a connection cap far above
  // them: accept fails with EMFILE, as with 20,000 idle connections. The
  // long header timeout keeps the accepted ones open for the whole test.
  const std::string binary = TAGSTREAM_BINARY;
  Child child({"/bin/sh", "-c",
               "ulimit -n 128 && exec " + binary +
                   " serve --listen 127.0.0.1:0 --no-simulator --threads 1 --max-connections 100000 "
                   "--header-timeout 3600 --data-dir " +
                   make_temp_dir()});
  auto listening = child.wait_for(std::regex("listening on 127\\.0\\.0\\.1:(\\d+)"), 20s);
  ASSERT_TRUE(listening) << "server did not start: " << child.err;
  const auto port = static_cast<unsigned short>(std::stoi((*listening)[1]));

  std::vector<IdleConnection> idle;
  for (int i = 0; i < 200; ++i) idle.emplace_back(port, "127.0.0.2");
  // Past the descriptors, connections are closed at once, not left
  // unanswered in the listen backlog.
  EXPECT_TRUE(eventually([&] {
    return std::ranges::any_of(idle, [](const IdleConnection& c) { return c.closed_by_server(); });
  })) << child.err;

  idle.clear();
  EXPECT_TRUE(eventually([&] { return http_get(port, "/healthz").status == 200; })) << child.err;
}

// --- 2. Clients behind a trusted proxy --------------------------------------

TEST(PlantNetwork, BehindATrustedProxyEachBrowserHasItsOwnStreamLimit) {
  ServerConfig config = test_config();
  config.max_streams_per_client = 1;
  config.trusted_proxies = *TrustedProxies::parse("127.0.0.1");
  TestServer server(config);

  // Two browsers through nginx on 127.0.0.1.
  SseClient first(server.port(), "/api/sse/test", {"X-Forwarded-For: 203.0.113.1"}, 0, "127.0.0.1");
  ASSERT_TRUE(first.read_head());
  EXPECT_EQ(first.status(), 200);
  SseClient second(server.port(), "/api/sse/test", {"X-Forwarded-For: 198.51.100.7, 203.0.113.2"}, 0,
                   "127.0.0.1");
  ASSERT_TRUE(second.read_head());
  EXPECT_EQ(second.status(), 200);
  // The same browser again is over its own limit.
  SseClient again(server.port(), "/api/sse/test", {"Forwarded: for=203.0.113.1"}, 0, "127.0.0.1");
  ASSERT_TRUE(again.read_head());
  EXPECT_EQ(again.status(), 429);

  // An untrusted peer's header is its own invention: it counts as itself.
  SseClient direct(server.port(), "/api/sse/test", {"X-Forwarded-For: 192.0.2.1"}, 0, "127.0.0.5");
  ASSERT_TRUE(direct.read_head());
  EXPECT_EQ(direct.status(), 200);
  SseClient spoofing(server.port(), "/api/sse/test", {"X-Forwarded-For: 192.0.2.2"}, 0, "127.0.0.5");
  ASSERT_TRUE(spoofing.read_head());
  EXPECT_EQ(spoofing.status(), 429);
}

// --- 3. Cross-site writes ---------------------------------------------------

TEST(PlantNetwork, AnotherSitesPageCannotWriteThroughTheBrowser) {
  TestServer server;
  const std::string line = "boiler1 temperature=95.5";
  // What a form or fetch(..., {mode: "no-cors"}) on any web page sends.
  const HttpReply refused =
      post(server.port(), "/write", line, {"Origin: https://evil.example", "Content-Type: text/plain"});
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(code_of(refused), "cross_origin");
  EXPECT_EQ(post(server.port(), "/api/samples", R"([{"tag":"x","value":1}])",
                 {"Sec-Fetch-Site: cross-site", "Content-Type: text/plain"})
                .status,
            403);
  EXPECT_FALSE(server.app().registry().find("boiler1.temperature"));

  // curl and Telegraf send no Origin; the server's own pages send their own.
  EXPECT_EQ(post(server.port(), "/write", line).status, 204);
  EXPECT_EQ(post(server.port(), "/write", line, {"Origin: http://127.0.0.1:" + std::to_string(server.port())})
                .status,
            204);
}

TEST(PlantNetwork, AllowListedOriginsGetCors) {
  ServerConfig config = test_config();
  config.cors_origins = {"https://hmi.example"};
  TestServer server(config);

  const HttpReply preflight = post(server.port(), "/write", "",
                                   {"Origin: https://hmi.example", "Access-Control-Request-Method: POST",
                                    "Access-Control-Request-Headers: authorization, content-type"},
                                   "", "OPTIONS");
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.header("access-control-allow-origin"), "https://hmi.example");
  EXPECT_NE(preflight.header("access-control-allow-methods").find("POST"), std::string::npos);
  EXPECT_NE(preflight.header("access-control-allow-headers").find("Authorization"), std::string::npos);
  EXPECT_FALSE(preflight.header("access-control-max-age").empty());
  EXPECT_EQ(preflight.header("vary"), "Origin");

  const HttpReply written =
      post(server.port(), "/write", "boiler1 temperature=95.5", {"Origin: https://hmi.example"});
  EXPECT_EQ(written.status, 204);
  EXPECT_EQ(written.header("access-control-allow-origin"), "https://hmi.example");
  EXPECT_NE(written.header("vary").find("Origin"), std::string::npos);

  // A page there may read history and the live stream too.
  server.tag("a");
  const HttpReply history =
      http_get(server.port(), "/api/data/history?tags[]=a&from=now-1h", {"Origin: https://hmi.example"});
  EXPECT_EQ(history.status, 200);
  EXPECT_EQ(history.header("access-control-allow-origin"), "https://hmi.example");
  SseClient stream(server.port(), "/api/sse/test", {"Origin: https://hmi.example"});
  ASSERT_TRUE(stream.read_head());
  EXPECT_EQ(stream.status(), 200);
  EXPECT_EQ(stream.header("access-control-allow-origin"), "https://hmi.example");
  ASSERT_TRUE(stream.next_of("connected"));

  // Other origins get no CORS header, and their writes are refused.
  const HttpReply other_preflight =
      post(server.port(), "/write", "",
           {"Origin: https://evil.example", "Access-Control-Request-Method: POST"}, "", "OPTIONS");
  EXPECT_TRUE(other_preflight.header("access-control-allow-origin").empty());
  const HttpReply other_read = http_get(server.port(), "/api/tags", {"Origin: https://evil.example"});
  EXPECT_EQ(other_read.status, 200);
  EXPECT_TRUE(other_read.header("access-control-allow-origin").empty());
  EXPECT_EQ(post(server.port(), "/write", "a v=1", {"Origin: https://evil.example"}).status, 403);
}

// --- 4. Request rates --------------------------------------------------------

TEST(PlantNetwork, AClientWritingTooFastGets429WithRetryAfter) {
  ServerConfig config = test_config();
  // One token per thousand seconds: the burst is all there is, however slow the machine.
  config.write_rate_limit = 0.001;
  config.write_rate_burst = 2;
  TestServer server(config);
  EXPECT_EQ(post(server.port(), "/write", "a v=1", {}, "127.0.0.2").status, 204);
  EXPECT_EQ(post(server.port(), "/api/samples", R"([{"tag":"a.v","value":2}])",
                 {"Content-Type: application/json"}, "127.0.0.2")
                .status,
            200);
  const HttpReply limited = post(server.port(), "/api/v2/write", "a v=3", {}, "127.0.0.2");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(code_of(limited), "rate_limited");
  const int retry_after = std::stoi(limited.header("retry-after"));
  EXPECT_GE(retry_after, 1);
  EXPECT_EQ(post(server.port(), "/api/tags/a.v", R"({"unit":"m"})", {"Content-Type: application/json"},
                 "127.0.0.2", "PUT")
                .status,
            429);
  // Reads are not writes, and other clients have their own budget.
  EXPECT_EQ(http_get(server.port(), "/api/tags", {}, "127.0.0.2").status, 200);
  EXPECT_EQ(post(server.port(), "/write", "a v=4", {}, "127.0.0.3").status, 204);
}

TEST(PlantNetwork, AClientQueryingHistoryTooFastGets429) {
  ServerConfig config = test_config();
  config.history_rate_limit = 0.001;
  config.history_rate_burst = 1;
  TestServer server(config);
  server.tag("a");
  const std::string query = "/api/data/history?tags[]=a&from=now-1h";
  EXPECT_EQ(http_get(server.port(), query, {}, "127.0.0.2").status, 200);
  const HttpReply limited = http_get(server.port(), query, {}, "127.0.0.2");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(code_of(limited), "rate_limited");
  EXPECT_GE(std::stoi(limited.header("retry-after")), 1);
  EXPECT_EQ(http_get(server.port(), query, {}, "127.0.0.3").status, 200);
}

}  // namespace
}  // namespace tagstream::test
