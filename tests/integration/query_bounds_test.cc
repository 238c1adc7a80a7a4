// Issue 15 ("safe on a plant network"): a wide tag pattern, a stream that
// does not read its `connected` event, a commit the store refuses and a big
// back-fill must not cost other clients their service.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "ingest/ingestor.h"
#include "store/store_writer.h"
#include "support.h"

namespace tagstream::test {
namespace {

namespace json = boost::json;

HttpReply post_lines(unsigned short port, const std::string& body) {
  return http_raw(port, "POST /write HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body);
}

std::string code_of(const HttpReply& reply) {
  return std::string(json::parse(reply.body).as_object().at("code").as_string());
}

/// Occupies every thread of the reader pool until release() (or the end).
class PoolGate {
 public:
  PoolGate(boost::asio::thread_pool& pool, int threads) : released_(promise_.get_future().share()) {
    for (int i = 0; i < threads; ++i) {
      // The future by value: a thread returning from wait() must not touch
      // the gate, which the test may destroy as soon as it is released.
      boost::asio::post(pool, [released = released_, started = &started_] {
        started->fetch_add(1);
        released.wait();
      });
    }
    eventually([&] { return started_.load() == threads; });
  }
  ~PoolGate() { release(); }
  void release() {
    if (!done_) promise_.set_value();
    done_ = true;
  }

 private:
  std::promise<void> promise_;
  std::shared_future<void> released_;
  std::atomic<int> started_{0};
  bool done_ = false;
};

/// A second connection to the server's database holding its write lock:
/// the store's writer waits for it (SQLite's busy timeout, 5 s) and then
/// fails its commit, as on a disk that refuses writes.
class WriteLock {
 public:
  explicit WriteLock(const std::string& data_dir) {
    const std::string path = data_dir + "/tagstream.db";
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) throw std::runtime_error("cannot open " + path);
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
      throw std::runtime_error("cannot take the write lock");
  }
  ~WriteLock() { release(); }
  void release() {
    if (!db_) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }

 private:
  sqlite3* db_ = nullptr;
};

/// Sends a request on a new connection and returns the socket, whose
/// answer the caller looks for with readable_now().
int send_request(unsigned short port, const std::string& raw) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("cannot connect");
  for (std::size_t sent = 0; sent < raw.size();) {
    const ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("cannot send");
    sent += static_cast<std::size_t>(n);
  }
  return fd;
}

/// The status of the answer on `fd`, read to the end.
int status_of(int fd) {
  std::string got;
  char buf[4096];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 30000) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return got.size() > 12 ? std::stoi(got.substr(9, 3)) : 0;
}

/// Whether `fd` has something to read (or was closed) right now.
bool readable_now(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

TEST(QueryBounds, APatternWiderThanTheCapIsRefusedWithHowToNarrowIt) {
  ServerConfig config = test_config();
  config.max_tags_per_query = 1000;
  TestServer server(config);
  for (int i = 0; i < 1500; ++i) server.tag("area1.pump" + std::to_string(i) + ".flow");

  for (const std::string target : {"/api/data/latest?tags[]=area1.*", "/api/data/history?tags[]=*.flow",
                                   "/api/sse/stream?tags[]=area1.*"}) {
    const HttpReply reply = http_get(server.port(), target);
    EXPECT_EQ(reply.status, 400) << target;
    EXPECT_EQ(code_of(reply), "too_many_tags") << target;
    EXPECT_NE(reply.body.find("narrow"), std::string::npos) << reply.body;
  }
  // Under the cap the same kind of query works (pump1, pump10..19, pump100..199, pump1000..1499).
  EXPECT_EQ(http_get(server.port(), "/api/data/latest?tags[]=area1.pump1*").status, 200);
}

TEST(QueryBounds, MoreThanAHundredPatternsInOneRequestAreRefused) {
  TestServer server;
  server.tag("boiler1.temperature");
  std::string target = "/api/data/latest?tags[]=boiler1.temperature";
  for (int i = 0; i < 101; ++i) target += "&tags[]=*" + std::to_string(i) + "*";
  const HttpReply reply = http_get(server.port(), target);
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(code_of(reply), "too_many_patterns");
}

TEST(QueryBounds, HealthzIsAnsweredWhileAPatternResolutionIsPending) {
  ServerConfig config = test_config();
  config.threads = 1;  // the big request and /healthz share the one network thread
  TestServer server(config);
  // A leading wildcard reads every name. The gate, not the amount of work,
  // makes the resolution wait: a few thousand tags are enough, and keep the
  // test quick in the sanitizer builds.
  for (int i = 0; i < 3'000; ++i)
    server.app().registry().ensure(
        TagInfo{"s" + std::to_string(i % 97) + ".k" + std::to_string(i), "", "", DataType::number});
  std::string target = "/api/data/latest?tags[]=*.k1";
  for (int i = 2; i <= 10; ++i) target += "&tags[]=*.k" + std::to_string(i);

  // The resolution cannot run until the gate opens: whatever the machine's
  // speed, /healthz comes first only if resolution is off the network thread.
  PoolGate gate(server.app().readers(), 2);
  SseClient big(server.port(), target);  // a raw GET; its answer is read below
  const HttpReply health = http_get(server.port(), "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_FALSE(readable_now(big.fd())) << "the pattern request was answered before its resolution could run";
  gate.release();
  ASSERT_TRUE(big.read_head(20s));
  EXPECT_EQ(big.status(), 200);
}

TEST(ConnectedFrame, NonReadingStreamsOverAWidePatternHoldOnlyTheirBuffer) {
  ServerConfig config = test_config();
  config.sse_gzip = false;
  TestServer server(config);
  // 40,000 tags with long descriptions: a `connected` event of ~16 MB.
  const std::string description(300, 'd');
  for (int i = 0; i < 40'000; ++i)
    server.app().registry().upsert(TagInfo{"line" + std::to_string(i % 7) + ".sensor" + std::to_string(i),
                                           "degC", description, DataType::number});
  constexpr int kStreams = 8;
  std::vector<std::unique_ptr<SseClient>> streams;
  for (int i = 0; i < kStreams; ++i)
    streams.push_back(std::make_unique<SseClient>(server.port(), "/api/sse/stream?tags[]=line*",
                                                  std::vector<std::string>{}, 4096));
  ASSERT_TRUE(eventually([&] { return server.app().stats().streams_opened.load() == kStreams; }));
  // Each stream may queue its buffer plus one piece of the event, not the
  // event (the sockets themselves take a few MB of it at most, uncounted).
  const auto bound = static_cast<std::int64_t>(kStreams * (config.client_buffer_bytes + 64 * 1024 + 4096));
  EXPECT_LE(server.app().stats().queued_bytes(), bound);

  // A client that reads gets the whole event, in one piece to its parser
  // (plain and gzip), then data.
  for (const bool gzip : {false, true}) {
    SseClient reader(server.port(), "/api/sse/stream?tags[]=line3.*",
                     gzip ? std::vector<std::string>{"Accept-Encoding: gzip"} : std::vector<std::string>{});
    ASSERT_TRUE(reader.read_head());
    auto connected = reader.next_of("connected", 20s);
    ASSERT_TRUE(connected);
    const json::object hello = json::parse(connected->data).as_object();
    const json::array& tags = hello.at("tags").as_array();
    ASSERT_EQ(tags.size(), 40'000u / 7);
    EXPECT_EQ(tags[0].as_object().at("description").as_string(), description);
    EXPECT_TRUE(hello.contains("streamId"));
    const double value = gzip ? 2 : 1;
    server.push("line3.sensor3", value, now_ns());
    bool seen = false;
    for (int i = 0; i < 5 && !seen; ++i) {
      auto data = reader.next_of("data", 10s);
      ASSERT_TRUE(data);
      for (const Point& p : points_of(*data)) seen = seen || (p.tag == "line3.sensor3" && p.value == value);
    }
    EXPECT_TRUE(seen) << "gzip=" << gzip;
  }
}

TEST(FailedCommit, ItsSamplesStopBeingLiveValuesAndTheStoredOneIsPublishedAgain) {
  ServerConfig config = test_config();
  TestServer server(config);
  const TimeNs t0 = now_ns() - 10 * kNanosPerSecond;
  ASSERT_EQ(post_lines(server.port(), "boiler,unit=degC temperature=80 " + std::to_string(t0) + "\n").status,
            204);
  SseClient stream(server.port(), "/api/sse/stream?tags[]=boiler.temperature");
  ASSERT_TRUE(stream.read_head());
  ASSERT_TRUE(stream.next_of("data"));  // the snapshot: 80

  WriteLock lock(config.data_dir);
  const HttpReply refused = post_lines(
      server.port(), "boiler,unit=degC temperature=95 " + std::to_string(t0 + kNanosPerSecond) + "\n");
  EXPECT_EQ(refused.status, 500) << refused.body;
  lock.release();

  // The stream saw 95 go live, then 80 again: what history holds.
  std::vector<double> seen;
  while (seen.empty() || seen.back() != 80) {
    auto data = stream.next_of("data", 10s);
    ASSERT_TRUE(data) << "the stored value was never published again";
    for (const Point& p : points_of(*data)) seen.push_back(p.value);
  }
  EXPECT_EQ(seen.front(), 95);
  const HttpReply latest = http_get(server.port(), "/api/data/latest?tags[]=boiler.temperature");
  const json::object point = json::parse(latest.body).at("points").as_array().at(0).as_object();
  EXPECT_EQ(point.at("v").to_number<double>(), 80);
  const json::value stats = json::parse(http_get(server.port(), "/api/stats").body);
  EXPECT_EQ(stats.at("ingest").at("retractedLiveValues").to_number<std::uint64_t>(), 1u);

  // The store works again: a newer value is accepted and live.
  ASSERT_EQ(post_lines(server.port(),
                       "boiler,unit=degC temperature=90 " + std::to_string(t0 + 2 * kNanosPerSecond) + "\n")
                .status,
            204);
  const HttpReply after = http_get(server.port(), "/api/data/latest?tags[]=boiler.temperature");
  EXPECT_EQ(json::parse(after.body).at("points").at(0).at("v").to_number<double>(), 90);
}

TEST(LateBackfill, ASmallWriteIsAnsweredWhileABigBackfillIsStillBeingCommitted) {
  ServerConfig config = test_config();
  config.threads = 1;  // answers leave in the order the store reported them
  TestServer server(config);
  constexpr int kTags = 10'000;
  const TimeNs now = now_ns();
  // Created (and their records committed with the write below) before the
  // lock, so that the writer waits only where the test means it to.
  server.tag("gate.one");
  server.tag("gate.two");
  server.tag("tank9.level");
  {
    std::string current;
    for (int i = 0; i < kTags; ++i)
      current += "unit" + std::to_string(i) + " v=1 " + std::to_string(now) + "\n";
    ASSERT_EQ(post_lines(server.port(), current).status, 204);
  }
  // 100,000 samples of the last hour, all older than the live values.
  std::string backfill;
  for (int i = 0; i < 100'000; ++i)
    backfill += "unit" + std::to_string(i % kTags) + " v=" + std::to_string(i) + " " +
                std::to_string(now - kNanosPerSecond * 3600 + static_cast<TimeNs>(i) * 36 * kNanosPerMilli) +
                "\n";

  // The writer waits on the lock while both requests queue behind it.
  WriteLock lock(config.data_dir);
  server.push("gate.one", 1, now);
  ASSERT_TRUE(eventually([&] { return server.app().writer().pending_samples() == 0; }));
  const int big =
      send_request(server.port(), "POST /write HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                                      std::to_string(backfill.size()) + "\r\n\r\n" + backfill);
  ASSERT_TRUE(eventually([&] { return server.app().writer().pending_samples() == 100'000; }));
  auto small = std::async(std::launch::async, [&] { return post_lines(server.port(), "tank9 level=42\n"); });
  ASSERT_TRUE(eventually([&] { return server.app().writer().pending_samples() == 100'001; }));
  // Reporting stops at this marker until the test has looked.
  std::promise<void> looked;
  std::shared_future<void> looked_future = looked.get_future().share();
  TaggedSample marker{*server.app().registry().find("gate.two"), Sample{now, 2, Quality::good}};
  ASSERT_TRUE(server.app()
                  .ingestor()
                  .ingest(std::span<const TaggedSample>(&marker, 1),
                          [looked_future](const std::string&) { looked_future.wait(); })
                  .queued);
  lock.release();

  // One network thread writes answers in the order the store reported
  // them: had the back-fill been reported first, its answer would be here.
  EXPECT_EQ(small.get().status, 204);
  EXPECT_FALSE(readable_now(big)) << "the back-fill was answered before the small write";
  looked.set_value();
  EXPECT_EQ(status_of(big), 204);
}

}  // namespace
}  // namespace tagstream::test
