// Several nodes on one Redis (--cluster) and one PostgreSQL (--store), as
// real processes (cluster_support.h): a sample written to any node reaches
// every node's streams under the same id, in the same order; a stream whose
// node is killed resumes on a survivor with no gap and no duplicate; Redis
// crashing and staying down loses no acknowledged sample; concurrent
// writers on every node leave one history, equal on every node.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "cluster_support.h"
#include "core/time.h"

namespace tagstream::test {
namespace {

/// Nodes that send every change at once (no coalescing window), so a
/// stream receives every point, one event per entry of the shared log.
ClusterOptions every_point(int nodes) {
  ClusterOptions o;
  o.nodes = nodes;
  o.node_args = {"--data-check-interval", "0"};
  return o;
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = cluster_tools_missing(false);
    if (!missing.empty()) GTEST_SKIP() << missing;
  }
  void TearDown() override {
    if (HasFailure() && cluster_)
      for (auto& n : cluster_->nodes) std::cerr << n->log_tail() << "\n";
  }
  Cluster& start(const ClusterOptions& options) {
    cluster_ = std::make_unique<Cluster>(options);
    return *cluster_;
  }
  std::unique_ptr<Cluster> cluster_;
};

/// One received point with the id of the event that carried it.
struct Seen {
  std::uint64_t id = 0;
  std::string tag;
  std::int64_t t = 0;
  double value = 0;
  friend bool operator==(const Seen&, const Seen&) = default;
};

/// Reads `data` events until `want` points arrived (or nothing came for a
/// while); skips the first snapshot when `skip_snapshot`.
std::vector<Seen> collect(SseClient& s, std::size_t want, std::vector<Seen> into = {}) {
  while (into.size() < want) {
    const auto e = s.next_of("data", 20s);
    if (!e) break;
    const std::uint64_t id = std::stoull(e->id);
    for (const Point& p : points_of(*e)) into.push_back({id, p.tag, p.t, p.value});
  }
  return into;
}

/// Opens a stream on `port` and waits for its `connected` event; the
/// snapshot that follows (if any) is read and dropped.
std::unique_ptr<SseClient> open_stream(unsigned short port, const std::string& tags,
                                       const std::vector<std::string>& extra = {}) {
  auto s = std::make_unique<SseClient>(port, "/api/sse/stream?" + tags + "&interval=raw", extra);
  EXPECT_TRUE(s->read_head());
  EXPECT_EQ(s->status(), 200) << s->raw();
  EXPECT_TRUE(s->next_of("connected"));
  return s;
}

/// Waits until `port` knows every tag of `names`.
void wait_for_tags(unsigned short port, const std::vector<std::string>& names) {
  for (const std::string& name : names)
    ASSERT_TRUE(eventually([&] { return http_get(port, "/api/tags/" + name).status == 200; }, 20s))
        << name << " never reached port " << port;
}

/// A line of line protocol writing `value` to `tag` at `ts`: the
/// measurement is the name up to its last dot, the field the rest.
std::string line(const std::string& tag, double value, TimeNs ts) {
  const auto dot = tag.rfind('.');
  return tag.substr(0, dot) + " " + tag.substr(dot + 1) + "=" + std::to_string(value) + " " +
         std::to_string(ts);
}

std::string tags_query(const std::vector<std::string>& names) {
  std::string q;
  for (const auto& n : names) q += (q.empty() ? "" : "&") + std::string("tags[]=") + n;
  return q;
}

TEST_F(ClusterTest, AWriteOnAnyNodeReachesEveryNodeUnderTheSameIdsInTheSameOrder) {
  Cluster& c = start(every_point(3));
  const std::vector<std::string> tags = {"line1.flow", "line1.temp", "line2.flow"};
  const TimeNs base = now_ns();
  for (const auto& t : tags) c.node(0).write(line(t, 0, base));
  for (auto& n : c.nodes) wait_for_tags(n->port(), tags);

  std::vector<std::unique_ptr<SseClient>> streams;
  for (auto& n : c.nodes) streams.push_back(open_stream(n->port(), tags_query(tags)));
  for (auto& s : streams) collect(*s, 3);  // the snapshot of the first writes

  // Writers on every node, interleaved: 150 points over three tags.
  constexpr int kPoints = 150;
  for (int i = 0; i < kPoints; ++i) {
    c.node(i % 3).write(line(tags[i % 3], i + 1, base + (i + 1) * 1'000'000LL));
  }
  std::vector<std::vector<Seen>> seen;
  for (auto& s : streams) seen.push_back(collect(*s, kPoints));
  ASSERT_EQ(seen[0].size(), static_cast<std::size_t>(kPoints));
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_EQ(seen[i], seen[0]) << "node " << i;
  // Ids only go up, and every point came once, in the order written.
  for (std::size_t i = 1; i < seen[0].size(); ++i) EXPECT_GT(seen[0][i].id, seen[0][i - 1].id);
  for (int i = 0; i < kPoints; ++i) EXPECT_EQ(seen[0][i].value, i + 1);
}

TEST_F(ClusterTest, TagMetadataChangedOnOneNodeReachesEveryNode) {
  Cluster& c = start(every_point(3));
  c.node(0).write(line("boiler9.temperature", 1, now_ns()));
  const auto put = http_post(c.node(1).port(), "/api/tags/boiler9.temperature",
                             R"({"unit":"degC","description":"outlet, after the economiser"})",
                             {"Content-Type: application/json"}, "PUT");
  ASSERT_TRUE(put.status == 200 || put.status == 201) << put.body;
  for (auto& n : c.nodes) {
    EXPECT_TRUE(eventually(
        [&] {
          const auto r = http_get(n->port(), "/api/tags/boiler9.temperature");
          return r.status == 200 && r.body.find("\"degC\"") != std::string::npos &&
                 r.body.find("economiser") != std::string::npos;
        },
        20s))
        << n->id();
  }
}

// The test is the browser: it follows the stream on node B, B dies with
// kill -9, it reconnects to node C with the last id it saw (what an
// EventSource sends), and must end with every point written on node A once,
// equal to what PostgreSQL holds.
TEST_F(ClusterTest, AStreamWhoseNodeIsKilledResumesOnASurvivorWithNoGapAndNoDuplicate) {
  Cluster& c = start(every_point(3));
  const std::string tag = "feed.pressure";
  const TimeNs base = now_ns();
  c.node(0).write(line(tag, 0, base));
  wait_for_tags(c.node(1).port(), {tag});
  wait_for_tags(c.node(2).port(), {tag});
  auto stream = open_stream(c.node(1).port(), "tags[]=" + tag);
  auto seen = collect(*stream, 1);  // the snapshot

  constexpr int kPoints = 400;
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 1; i <= kPoints; ++i) {
      c.node(0).write(line(tag, i, base + i * 1'000'000LL));
      written = i;
    }
  });
  seen = collect(*stream, 1 + 50, seen);
  c.node(1).kill9();
  EXPECT_TRUE(stream->wait_closed(10s));
  // Whatever arrived before the kill counts: it was on the screen.
  seen = collect(*stream, 1 + kPoints, seen);
  const std::string last_id = std::to_string(seen.back().id);
  stream = std::make_unique<SseClient>(c.node(2).port(), "/api/sse/stream?tags[]=" + tag + "&interval=raw",
                                       std::vector<std::string>{"Last-Event-ID: " + last_id});
  ASSERT_TRUE(stream->read_head());
  const auto connected = stream->next_of("connected");
  ASSERT_TRUE(connected);
  EXPECT_NE(connected->data.find("\"resumed\":true"), std::string::npos) << connected->data;
  seen = collect(*stream, 1 + kPoints, seen);
  writer.join();
  EXPECT_EQ(stream->raw().find("history_lost"), std::string::npos);

  ASSERT_EQ(seen.size(), static_cast<std::size_t>(1 + kPoints));
  for (int i = 0; i <= kPoints; ++i) EXPECT_EQ(seen[i].value, i) << "point " << i;
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_GE(seen[i].id, seen[i - 1].id);
  const auto stored = raw_history(c.node(2).port(), tag, std::to_string(base),
                                  std::to_string(base + (kPoints + 1) * 1'000'000LL));
  ASSERT_EQ(stored.size(), seen.size());
  for (std::size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(stored[i].first, seen[i].t);
    EXPECT_EQ(stored[i].second, seen[i].value);
  }
}

/// Redis goes away (`down`) while node A keeps taking writes: A says
/// degraded and streams them itself; when Redis is back (`up`), B's stream
/// gets every one of them once, A's none twice, and both nodes' history
/// holds all.
void writes_survive_an_outage(Cluster& c, const std::function<void()>& down,
                              const std::function<void()>& up) {
  const std::string tag = "tank3.level";
  const TimeNs base = now_ns();
  c.node(0).write(line(tag, 0, base));
  wait_for_tags(c.node(1).port(), {tag});
  auto on_a = open_stream(c.node(0).port(), "tags[]=" + tag);
  auto on_b = open_stream(c.node(1).port(), "tags[]=" + tag);
  auto seen_a = collect(*on_a, 1);
  auto seen_b = collect(*on_b, 1);

  int value = 0;
  const auto write_some = [&](int n) {
    for (int i = 0; i < n; ++i) {
      ++value;
      c.node(0).write(line(tag, value, base + value * 1'000'000LL));  // throws unless acknowledged (204)
    }
  };
  write_some(50);
  down();
  write_some(100);
  EXPECT_TRUE(eventually(
      [&] { return c.node(0).healthz().body.find("\"status\":\"degraded\"") != std::string::npos; }, 20s));
  EXPECT_NE(http_get(c.node(0).port(), "/metrics").body.find("tagstream_cluster_up 0"), std::string::npos);
  seen_a = collect(*on_a, 1 + 150, seen_a);  // A streamed its own writes meanwhile
  EXPECT_EQ(seen_a.size(), 151u);

  up();
  write_some(50);
  seen_b = collect(*on_b, 1 + 200, seen_b);
  seen_a = collect(*on_a, 1 + 200, seen_a);
  EXPECT_TRUE(eventually(
      [&] { return c.node(0).healthz().body.find("\"status\":\"ok\"") != std::string::npos; }, 30s));
  EXPECT_FALSE(on_a->next_of("data", 1s)) << "a point came twice";

  for (const auto* seen : {&seen_a, &seen_b}) {
    ASSERT_EQ(seen->size(), 201u);
    for (int i = 0; i <= 200; ++i) EXPECT_EQ((*seen)[i].value, i);
  }
  for (auto& n : c.nodes)
    EXPECT_EQ(
        raw_history(n->port(), tag, std::to_string(base), std::to_string(base + 201 * 1'000'000LL)).size(),
        201u);
}

TEST_F(ClusterTest, WritesWhileRedisIsKilledAreAcknowledgedStreamedAndReachEveryNodeWhenItRestarts) {
  Cluster& c = start(every_point(2));
  writes_survive_an_outage(
      c, [&] { c.redis->kill(); }, [&] { c.redis->start(); });
}

// A Redis that hangs (SIGSTOP: connections stay open, nothing answers) is
// told from a slow one by the timeouts, and costs ingest no more than one.
TEST_F(ClusterTest, WritesWhileRedisHangsAreAcknowledgedStreamedAndReachEveryNodeWhenItAnswersAgain) {
  Cluster& c = start(every_point(2));
  writes_survive_an_outage(
      c, [&] { c.redis->pause(); }, [&] { c.redis->resume(); });
}

// Three writers, one per node, to the same tags with interleaved
// timestamps: every node answers the same per-second history, equal to the
// aggregation of every sample computed here.
TEST_F(ClusterTest, ConcurrentWritersOnEveryNodeLeaveOneHistoryEqualToABruteForceAggregation) {
  Cluster& c = start(every_point(3));
  const std::vector<std::string> tags = {"mix.a", "mix.b"};
  const TimeNs base = (now_ns() / 1'000'000'000 - 600) * 1'000'000'000;  // whole seconds, in the past
  std::map<std::pair<std::string, TimeNs>, std::vector<double>> by_second;
  std::mutex m;
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      for (int k = 0; k < 120; ++k) {
        // Writer w owns the timestamps k*3+w (10 ms apart): overlapping
        // ranges, distinct points.
        const TimeNs ts = base + (k * 3 + w) * 10'000'000LL;
        const std::string& tag = tags[k % 2];
        const double v = w * 1000 + k;
        c.node(w).write(line(tag, v, ts));
        std::lock_guard lock(m);
        by_second[{tag, ts / 1'000'000'000 * 1'000'000'000}].push_back(v);
      }
    });
  }
  for (auto& t : writers) t.join();

  for (auto& n : c.nodes) {
    for (const auto& tag : tags) {
      const auto reply = http_get(n->port(), "/api/data/history?tags[]=" + tag +
                                                 "&interval=second&from=" + std::to_string(base) +
                                                 "&to=" + std::to_string(base + 10'000'000'000LL));
      ASSERT_EQ(reply.status, 200) << reply.body;
      std::size_t buckets = 0;
      // Held in a variable: a range-for over a temporary's member would
      // walk a destroyed document.
      const auto doc = boost::json::parse(reply.body);
      for (const auto& s : doc.at("series").as_array()) {
        for (const auto& p : s.at("points").as_array()) {
          const TimeNs start = p.at("t").to_number<TimeNs>() * 1'000'000;
          const auto& values = by_second.at({tag, start});
          ++buckets;
          EXPECT_EQ(p.at("count").to_number<std::size_t>(), values.size()) << n->id() << " " << tag;
          EXPECT_EQ(p.at("min").to_number<double>(), *std::min_element(values.begin(), values.end()));
          EXPECT_EQ(p.at("max").to_number<double>(), *std::max_element(values.begin(), values.end()));
        }
      }
      std::size_t expected = 0;
      for (const auto& [key, values] : by_second) expected += key.first == tag;
      EXPECT_EQ(buckets, expected) << n->id() << " " << tag;
    }
  }
}

}  // namespace
}  // namespace tagstream::test

namespace tagstream::test {
namespace {

// A screen saved on one node is there on every other: layouts live in the
// shared database, not in a node's data directory.
TEST_F(ClusterTest, ALayoutSavedOnOneNodeIsListedAndLoadedOnEveryNode) {
  Cluster& c = start(every_point(2));
  const auto put =
      http_post(c.node(0).port(), "/api/layouts/control-room", R"({"title":"Control room","panels":[]})",
                {"Content-Type: application/json"}, "PUT");
  ASSERT_TRUE(put.status == 200 || put.status == 201) << put.body;
  const auto list = http_get(c.node(1).port(), "/api/layouts");
  EXPECT_NE(list.body.find("control-room"), std::string::npos) << list.body;
  const auto got = http_get(c.node(1).port(), "/api/layouts/control-room");
  EXPECT_EQ(got.status, 200);
  EXPECT_NE(got.body.find("Control room"), std::string::npos) << got.body;
  EXPECT_EQ(http_post(c.node(1).port(), "/api/layouts/control-room", "", {}, "DELETE").status, 204);
  EXPECT_EQ(http_get(c.node(0).port(), "/api/layouts/control-room").status, 404);
}

}  // namespace
}  // namespace tagstream::test
