// kill -9 during sustained writes: every sample that was acknowledged is in
// the store after a restart.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "support.h"

namespace tagstream::test {
namespace {

constexpr TimeNs kT0 = 1'764'000'000LL * kNanosPerSecond;

TEST(Durability, KillDashNineLosesNothingAcknowledged) {
  const std::string dir = make_temp_dir();
  Child child({TAGSTREAM_BINARY, "serve", "--listen", "127.0.0.1:0", "--no-simulator", "--data-dir", dir,
               "--sync", "full"});
  auto listening =
      child.wait_for(std::regex("listening on 127\\.0\\.0\\.1:(\\d+)"), std::chrono::seconds(20));
  if (!listening) {
    FAIL() << "server did not start: " << child.err;
  }
  const auto port = static_cast<unsigned short>(std::stoi((*listening)[1]));

  constexpr int kWriters = 3;
  constexpr int kLinesPerRequest = 200;
  std::mutex mutex;
  std::set<std::pair<int, int>> acknowledged;  // (writer, sample index)
  std::atomic<bool> stop{false};
  std::atomic<int> requests{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int batch = 0; !stop.load(); ++batch) {
        std::string body;
        for (int i = 0; i < kLinesPerRequest; ++i) {
          const int index = batch * kLinesPerRequest + i;
          body += "durable,writer=w" + std::to_string(w) + " v=" + std::to_string(index) + " " +
                  std::to_string(kT0 + static_cast<TimeNs>(index) * kNanosPerMilli) + "\n";
        }
        HttpReply reply;
        try {
          reply = http_raw(port, "POST /write HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                                     std::to_string(body.size()) + "\r\n\r\n" + body);
        } catch (const std::exception&) {
          return;  // the server is gone
        }
        if (reply.status != 204) return;
        ++requests;
        std::lock_guard lock(mutex);
        for (int i = 0; i < kLinesPerRequest; ++i) acknowledged.emplace(w, batch * kLinesPerRequest + i);
      }
    });
  }
  // Let writes run, then kill the server in the middle of them.
  const bool wrote_enough = eventually([&] { return requests.load() >= 30; });
  ::kill(child.pid, SIGKILL);
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_EQ(child.wait_exit(std::chrono::seconds(10)), 128 + SIGKILL);
  ASSERT_TRUE(wrote_enough) << "only " << requests.load() << " writes acknowledged in 20 s";
  ASSERT_GE(acknowledged.size(), static_cast<std::size_t>(30 * kLinesPerRequest / kWriters))
      << "the test must have written a fair amount before the kill";

  auto config = test_config();
  config.data_dir = dir;
  TestServer restarted(config);
  std::set<std::pair<int, int>> stored;
  for (int w = 0; w < kWriters; ++w) {
    auto reply =
        http_get(restarted.port(), "/api/data/history?tags[]=durable.w" + std::to_string(w) +
                                       ".v&interval=raw&from=2025-11-24T00:00:00Z&to=2025-11-26T00:00:00Z");
    if (reply.status == 400) continue;  // no acknowledged write made the tag: checked below
    ASSERT_EQ(reply.status, 200) << reply.body;
    const auto doc = boost::json::parse(reply.body);
    for (const auto& p : doc.at("series").at(0).at("points").as_array())
      stored.emplace(w, static_cast<int>(p.at("v").to_number<double>()));
  }
  std::size_t missing = 0;
  for (const auto& a : acknowledged)
    if (!stored.count(a)) ++missing;
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged samples";
  EXPECT_GE(stored.size(), acknowledged.size());
}

}  // namespace
}  // namespace tagstream::test
