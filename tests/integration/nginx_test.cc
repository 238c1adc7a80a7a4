// The shipped nginx config (deploy/nginx/tagstream.conf) in front of two
// real tagstream processes: real nginx on loopback ports, a self-signed
// certificate made by openssl, curl as the browser (TLS, HTTP/2). Only the
// node addresses, listen ports and certificate paths of the file are
// replaced; everything else is what operators install.
#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <set>

#include "cluster_support.h"
#include "core/time.h"

namespace tagstream::test {
namespace {

constexpr const char* kCurl = "/usr/bin/curl";

/// Writes plant.temp = value at `ts` straight to `node`.
void write_temp(const NodeProcess& node, double value, TimeNs ts) {
  node.write("plant temp=" + std::to_string(value) + " " + std::to_string(ts));
}

/// A node on its own (SQLite in its data directory), as the nginx tests
/// need: they check the proxy, not the cluster.
std::unique_ptr<NodeProcess> node(const std::string& id, std::vector<std::string> extra = {}) {
  return std::make_unique<NodeProcess>(NodeOptions{.id = id, .extra = std::move(extra)});
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
    const std::string missing = nginx_tools_missing();
    if (!missing.empty()) GTEST_SKIP() << missing;
  }
};

TEST_F(NginxTest, ShippedConfigStreamsUnbufferedOverHttp2AndFailsOver) {
  auto a = node("node-a"), b = node("node-b");
  const unsigned short nobody = free_port();  // the third upstream: a node that is down
  Nginx nginx({a->port(), b->port(), nobody});

  // Plain HTTP is sent to HTTPS.
  const auto redirect = http_get(nginx.http_port(), "/api/sse/stream?tags[]=plant.temp");
  EXPECT_EQ(redirect.status, 301);
  EXPECT_TRUE(redirect.header("location").starts_with("https://")) << redirect.header("location");

  // The nodes are independent here: the tag and every value go to both, so
  // a stream sees them whichever node nginx chose.
  const TimeNs t0 = now_ns();
  write_temp(*a, 1, t0);
  write_temp(*b, 1, t0);

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
  write_temp(*a, 42.5, t0 + 1'000'000);
  write_temp(*b, 42.5, t0 + 1'000'000);
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
    seen.insert(node_of(healthz.body));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"node-a", "node-b"}));

  // Node A dies: every new request is answered by B.
  a->kill9();
  for (int i = 0; i < 6; ++i) {
    const auto healthz = curl_get(nginx.https("/healthz"));
    ASSERT_EQ(healthz.status, 200) << healthz.body << nginx.error_log();
    EXPECT_EQ(node_of(healthz.body), "node-b");
  }
  // A new stream, too.
  auto after = open_stream(nginx, "--http2");
  ASSERT_TRUE(after->wait_for(std::regex("event: connected"), 20s, true)) << after->out << after->err;
  write_temp(*b, 7.25, t0 + 2'000'000);
  EXPECT_TRUE(after->wait_for(std::regex("\"v\":7\\.25"), 20s, true)) << after->out;
}

// Each browser is counted as itself behind nginx: the shipped config appends
// it to X-Forwarded-For, and the nodes trust nginx (--trusted-proxies), so
// a per-client cap of one stream lets three browsers stream through one
// nginx address to two nodes. Counted as nginx's address, the third would
// be refused on either node.
TEST_F(NginxTest, EachBrowserIsCountedByTheAddressNginxForwards) {
  auto a = node("node-a", {"--max-streams-per-client", "1"}),
       b = node("node-b", {"--max-streams-per-client", "1"});
  Nginx nginx({a->port(), b->port(), free_port()});
  const TimeNs t0 = now_ns();
  write_temp(*a, 1, t0);
  write_temp(*b, 1, t0);

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
  auto a = node("node-a"), b = node("node-b");
  Nginx nginx({a->port(), b->port(), free_port()});
  const TimeNs t0 = now_ns();
  write_temp(*a, 1, t0);
  write_temp(*b, 1, t0);

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
  auto a = node("node-a"), b = node("node-b");
  Nginx nginx({a->port(), b->port(), free_port()});
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
