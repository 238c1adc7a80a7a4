// Graceful shutdown: open streams get a final event with a short retry and
// are closed; the real binary does the same on SIGTERM and exits 0.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <regex>
#include <thread>

#include "support.h"

namespace tagstream::test {
namespace {

void expect_final_event(SseClient& client) {
  std::optional<SseEvent> e;
  while ((e = client.next(10s)) && e->type != "error") {
  }
  ASSERT_TRUE(e) << "no final event before the connection closed";
  const auto err = boost::json::parse(e->data).as_object();
  EXPECT_EQ(err.at("code").as_string(), "server_shutdown");
  EXPECT_EQ(client.retry_ms(), 500) << "the final event carries a short retry";
  EXPECT_TRUE(client.wait_closed(10s));
}

TEST(Shutdown, OpenStreamsGetAFinalEventAndAreClosed) {
  TestServer server;
  server.tag("a");
  SseClient tags(server.port(), "/api/sse/stream?tags[]=a");
  SseClient diagnostic(server.port(), "/api/sse/test");
  ASSERT_TRUE(tags.read_head());
  ASSERT_TRUE(diagnostic.read_head());
  ASSERT_TRUE(tags.next_of("connected"));
  ASSERT_TRUE(diagnostic.next_of("connected"));
  const unsigned short port = server.port();

  std::thread stopper([&] { server.stop(); });
  expect_final_event(tags);
  expect_final_event(diagnostic);
  stopper.join();

  // Nothing listens any more.
  EXPECT_THROW(http_get(port, "/healthz"), std::runtime_error);
}

TEST(Shutdown, BinaryStopsGracefullyOnSigterm) {
  Child child({TAGSTREAM_BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", make_temp_dir(),
               "--heartbeat-interval", "1", "--simulator-rate", "5"});
  auto listening = child.wait_for(std::regex("listening on 127\\.0\\.0\\.1:(\\d+)"), 20s);
  ASSERT_TRUE(listening) << child.err;
  const auto port = static_cast<unsigned short>(std::stoi((*listening)[1]));

  SseClient client(port, "/api/sse/stream?tags[]=boiler1.*&interval=raw");
  ASSERT_TRUE(client.read_head());
  ASSERT_EQ(client.status(), 200);
  ASSERT_TRUE(client.next_of("connected"));
  auto data = client.next_of("data", 10s);
  ASSERT_TRUE(data) << "the simulator feeds live values";
  EXPECT_FALSE(points_of(*data).empty());

  ::kill(child.pid, SIGTERM);
  expect_final_event(client);
  EXPECT_EQ(child.wait_exit(15s), 0);
  child.wait_for(std::regex("tagstream stopped"), 2s);
  EXPECT_NE(child.err.find("SSE stream opened"), std::string::npos);
  EXPECT_TRUE(std::regex_search(child.err, std::regex("SSE stream closed .*reason=shutdown")));
}

}  // namespace
}  // namespace tagstream::test
