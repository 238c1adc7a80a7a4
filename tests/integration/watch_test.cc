// `tagstream watch` against a real server: prints events, reconnects and
// resumes across a server restart, and fails loudly on protocol errors.
#include <gtest/gtest.h>

#include <thread>

#include "support.h"

namespace tagstream::test {
namespace {

constexpr TimeNs kT0 = 1'764'000'000LL * kNanosPerSecond;

std::string url(unsigned short port, const std::string& target) {
  return "http://127.0.0.1:" + std::to_string(port) + target;
}

TEST(Watch, PrintsEventsAndStopsAfterCount) {
  TestServer server;
  server.tag("boiler1.temperature");
  server.push("boiler1.temperature", 80.5, kT0);
  Child watch(
      {TAGSTREAM_BINARY, "watch", url(server.port(), "/api/sse/stream?tags[]=boiler1.*"), "--count", "3"});
  ASSERT_TRUE(watch.wait_for(std::regex(" connected "), 10s, true)) << watch.out << watch.err;
  for (int i = 1; i <= 2; ++i) server.push("boiler1.temperature", 80.5 + i, kT0 + i * kNanosPerSecond);
  EXPECT_EQ(watch.wait_exit(10s), 0) << watch.err;
  EXPECT_NE(watch.out.find("\"v\":80.5"), std::string::npos) << watch.out;
  EXPECT_NE(watch.out.find("\"v\":82.5"), std::string::npos) << watch.out;
  EXPECT_TRUE(std::regex_search(watch.out, std::regex(" data id=\\d+ \\{")));
}

TEST(Watch, ReconnectsAfterRestartAndResumesWithLastEventId) {
  auto config = test_config();
  config.retry_ms = 100;
  auto first = std::make_unique<TestServer>(config);
  const unsigned short port = first->port();
  first->tag("a");
  first->push("a", 1, kT0);
  Child watch({TAGSTREAM_BINARY, "watch", url(port, "/api/sse/stream?tags[]=a"), "--count", "3"});
  auto printed = watch.wait_for(std::regex(" data id=(\\d+) "), 10s, true);
  ASSERT_TRUE(printed) << watch.out << watch.err;
  const std::string last_id = (*printed)[1];
  first.reset();  // graceful shutdown: watch is told to reconnect

  config.listen = "127.0.0.1:" + std::to_string(port);
  TestServer second(config);
  second.tag("a");
  second.push("a", 2, kT0 + kNanosPerSecond);
  // watch resumes from the last id it printed: the restarted server replays
  // what came after it from its store, and nothing twice.
  ASSERT_TRUE(watch.wait_for(std::regex("\"v\":2"), 20s, true)) << watch.out << watch.err;
  second.push("a", 3, kT0 + 2 * kNanosPerSecond);
  EXPECT_EQ(watch.wait_exit(10s), 0) << watch.err;
  EXPECT_NE(watch.err.find("reconnecting"), std::string::npos) << watch.err;
  EXPECT_EQ(watch.out.find("history_lost"), std::string::npos) << watch.out;
  const std::regex v1("\"v\":1[,}]");
  EXPECT_EQ(
      std::distance(std::sregex_iterator(watch.out.begin(), watch.out.end(), v1), std::sregex_iterator()), 1)
      << "the value seen before the restart is not sent again: " << watch.out;
  EXPECT_LT(watch.out.find("\"v\":2"), watch.out.find("\"v\":3"));
}

TEST(Watch, ExitsNonZeroOnRequestAndProtocolErrors) {
  TestServer server;
  server.tag("a");
  Child unknown({TAGSTREAM_BINARY, "watch", url(server.port(), "/api/sse/stream?tags[]=nope")});
  EXPECT_EQ(unknown.wait_exit(10s), 2);
  EXPECT_NE(unknown.err.find("unknown_tag"), std::string::npos) << unknown.err;

  Child not_a_stream({TAGSTREAM_BINARY, "watch", url(server.port(), "/healthz")});
  EXPECT_EQ(not_a_stream.wait_exit(10s), 3) << not_a_stream.err;
}

}  // namespace
}  // namespace tagstream::test
