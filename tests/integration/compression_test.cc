// gzip on the wire: streams compressed for clients that accept it decode to
// exactly the events a plain stream carries, in far fewer bytes, and end as
// a complete gzip member on a graceful shutdown; the polling endpoint
// compresses too, with its own ETag; a refused or disabled gzip is plain.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "support.h"

namespace tagstream::test {
namespace {

const std::vector<std::string> kGzip = {"Accept-Encoding: gzip, deflate"};

std::vector<std::pair<std::string, std::string>> data_events(SseClient& client, std::size_t points,
                                                             std::chrono::milliseconds timeout) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t seen = 0;
  while (seen < points) {
    auto e = client.next_of("data", timeout);
    if (!e) break;
    seen += points_of(*e).size();
    out.emplace_back(e->id, e->data);
  }
  return out;
}

std::string gunzip(const std::string& body) {
  InflateResult r = inflate_body(body, 1 << 20);
  return r.error.empty() ? std::move(r.data) : "<bad gzip: " + r.error + ">";
}

TEST(Compression, GzipStreamCarriesTheSameEventsAsAPlainOneInFarFewerBytes) {
  TestServer server;
  server.tag("plant.boiler1.temperature");
  server.tag("plant.boiler1.pressure");
  const std::string target = "/api/sse/stream?tags[]=plant.boiler1.*";
  SseClient plain(server.port(), target);
  SseClient gzip(server.port(), target, kGzip);
  ASSERT_TRUE(plain.read_head());
  ASSERT_TRUE(gzip.read_head());
  EXPECT_EQ(plain.header("content-encoding"), "");
  EXPECT_EQ(gzip.header("content-encoding"), "gzip");
  EXPECT_EQ(gzip.header("vary"), "Accept-Encoding");
  EXPECT_EQ(gzip.header("content-type"), "text/event-stream; charset=utf-8");
  ASSERT_TRUE(plain.next_of("connected"));
  ASSERT_TRUE(gzip.next_of("connected"));

  // One change at a time, so each becomes its own event and write.
  constexpr int kChanges = 300;
  for (int i = 0; i < kChanges; ++i) {
    const std::string tag = i % 2 ? "plant.boiler1.pressure" : "plant.boiler1.temperature";
    server.push(tag, 80.0 + i * 0.25, now_ns());
    server.wait_for_hub();
  }
  const auto a = data_events(plain, kChanges, 10s);
  const auto b = data_events(gzip, kChanges, 10s);
  ASSERT_FALSE(gzip.gzip_failed());
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b) << "the same events, ids and data, in the same order";

  // A steady flow compresses to a fraction (a change is ~150 bytes plain).
  EXPECT_LT(gzip.wire_body_bytes() * 3, plain.wire_body_bytes())
      << "gzip " << gzip.wire_body_bytes() << " bytes vs plain " << plain.wire_body_bytes();
  EXPECT_FALSE(gzip.gzip_complete()) << "an open stream has no trailer yet";
}

TEST(Compression, GzipStreamEndsAsACompleteMemberOnShutdown) {
  TestServer server;
  server.tag("a");
  SseClient gzip(server.port(), "/api/sse/stream?tags[]=a", kGzip);
  ASSERT_TRUE(gzip.read_head());
  ASSERT_EQ(gzip.header("content-encoding"), "gzip");
  ASSERT_TRUE(gzip.next_of("connected"));
  server.push("a", 1.5, now_ns());
  ASSERT_TRUE(gzip.next_of("data"));
  std::thread stopper([&] { server.stop(); });
  auto final_event = gzip.next_of("error", 10s);
  ASSERT_TRUE(final_event);
  EXPECT_NE(final_event->data.find("server_shutdown"), std::string::npos);
  EXPECT_TRUE(gzip.wait_closed(10s));
  stopper.join();
  EXPECT_FALSE(gzip.gzip_failed());
  EXPECT_TRUE(gzip.gzip_complete()) << "final block, CRC and length arrived and check out";
}

TEST(Compression, DiagnosticStreamIsCompressedToo) {
  TestServer server;
  SseClient gzip(server.port(), "/api/sse/test", kGzip);
  ASSERT_TRUE(gzip.read_head());
  EXPECT_EQ(gzip.header("content-encoding"), "gzip");
  auto e = gzip.next_of("test", 5s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->data.substr(0, 10), "counter 1\n");
  EXPECT_FALSE(gzip.gzip_failed());
}

TEST(Compression, RefusedOrDisabledGzipIsPlain) {
  {
    TestServer server;
    server.tag("a");
    for (const std::string refusal :
         {"Accept-Encoding: gzip;q=0", "Accept-Encoding: identity", "Accept-Encoding: br, gzip;q=0, *;q=1"}) {
      SseClient client(server.port(), "/api/sse/stream?tags[]=a", {refusal});
      ASSERT_TRUE(client.read_head());
      EXPECT_EQ(client.header("content-encoding"), "") << refusal;
      EXPECT_TRUE(client.next_of("connected")) << refusal;
    }
    SseClient wildcard(server.port(), "/api/sse/stream?tags[]=a", {"Accept-Encoding: *"});
    ASSERT_TRUE(wildcard.read_head());
    EXPECT_EQ(wildcard.header("content-encoding"), "gzip");
  }
  ServerConfig config = test_config();
  config.sse_gzip = false;
  TestServer server(config);
  server.tag("a");
  SseClient client(server.port(), "/api/sse/stream?tags[]=a", kGzip);
  ASSERT_TRUE(client.read_head());
  EXPECT_EQ(client.header("content-encoding"), "");
  EXPECT_TRUE(client.next_of("connected"));
}

TEST(Compression, LatestAnswersGzipWithItsOwnEtag) {
  TestServer server;
  std::string target = "/api/data/latest?interval=raw";
  for (int i = 0; i < 20; ++i) {
    const std::string name = "plant.line" + std::to_string(i) + ".flow";
    server.tag(name);
    server.push(name, 10.0 + i, now_ns());
    target += "&tags[]=" + name;
  }
  const HttpReply plain = http_get(server.port(), target);
  const HttpReply gzip = http_get(server.port(), target, kGzip);
  ASSERT_EQ(plain.status, 200);
  ASSERT_EQ(gzip.status, 200);
  EXPECT_EQ(plain.header("content-encoding"), "");
  EXPECT_EQ(gzip.header("content-encoding"), "gzip");
  EXPECT_EQ(gzip.header("vary"), "Accept-Encoding");
  EXPECT_EQ(gunzip(gzip.body), plain.body);
  EXPECT_LT(gzip.body.size(), plain.body.size());
  ASSERT_NE(gzip.header("etag"), plain.header("etag")) << "two representations, two tags";

  std::vector<std::string> again = kGzip;
  again.push_back("If-None-Match: " + gzip.header("etag"));
  EXPECT_EQ(http_get(server.port(), target, again).status, 304);
  // The plain tag does not validate the compressed answer.
  again = kGzip;
  again.push_back("If-None-Match: " + plain.header("etag"));
  EXPECT_EQ(http_get(server.port(), target, again).status, 200);
}

}  // namespace
}  // namespace tagstream::test
