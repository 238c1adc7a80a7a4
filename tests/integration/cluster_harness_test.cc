// The cluster test harness itself (cluster_support.h): Redis with the
// shipped persistence keeps what it acknowledged across a crash and a
// restart; three nodes on one PostgreSQL behind the shipped nginx config
// answer as themselves, share their history, and a node killed and started
// again comes back on its address; the default Cluster (with --cluster)
// carries a write through nginx to every node, and its nodes follow Redis
// down and up. The shipped cluster node config loads.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/json.hpp>
#include <set>
#include <string>

#include "app/config.h"
#include "cluster_support.h"
#include "core/time.h"

namespace tagstream::test {
namespace {

class ClusterHarnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = cluster_tools_missing(true);
    if (!missing.empty()) GTEST_SKIP() << missing;
  }
};

// The deploy file's persistence, as the harness runs it: a key and stream
// entries acknowledged just before a SIGKILL are there after a start on the
// same port and directory, and after a clean stop too. Without the AOF
// (appendonly no, or no RDB save either) the restarted server is empty.
TEST_F(ClusterHarnessTest, RedisKeepsWhatItAcknowledgedAcrossKillAndRestart) {
  RedisServer redis;
  EXPECT_EQ(redis.url(), "redis://127.0.0.1:" + std::to_string(redis.port()));
  // The shipped settings are the ones in force.
  EXPECT_EQ(redis.cli({"CONFIG", "GET", "appendonly"}), "appendonly\nyes");
  EXPECT_EQ(redis.cli({"CONFIG", "GET", "maxmemory-policy"}), "maxmemory-policy\nnoeviction");

  EXPECT_EQ(redis.cli({"SET", "tagstream:probe", "before-the-crash"}), "OK");
  std::string last_id;
  for (int i = 0; i < 50; ++i)
    last_id = redis.cli({"XADD", "tagstream:probe-stream", "*", "tag", "plant.temp", "v", std::to_string(i)});

  const unsigned short port = redis.port();
  redis.kill();
  EXPECT_FALSE(redis.running());
  redis.start();
  EXPECT_EQ(redis.port(), port);
  EXPECT_EQ(redis.cli({"GET", "tagstream:probe"}), "before-the-crash");
  EXPECT_EQ(redis.cli({"XLEN", "tagstream:probe-stream"}), "50");
  EXPECT_EQ(
      redis.cli({"XREVRANGE", "tagstream:probe-stream", "+", "-", "COUNT", "1"}).substr(0, last_id.size()),
      last_id);

  // A clean stop (SIGTERM) and start: the same again, plus what came after.
  EXPECT_EQ(redis.cli({"SET", "tagstream:probe", "after-the-crash"}), "OK");
  redis.stop();
  redis.start();
  EXPECT_EQ(redis.cli({"GET", "tagstream:probe"}), "after-the-crash");
  EXPECT_EQ(redis.cli({"XLEN", "tagstream:probe-stream"}), "50");
  EXPECT_NE(redis.log().find("Ready to accept connections"), std::string::npos) << redis.log();
}

// Three nodes on one PostgreSQL behind nginx, without --cluster: each
// answers /healthz with its own node id, straight and through nginx (which
// spreads requests over all three). A value written to node-a is in the
// shared database, so node-b, killed and started again on its port, lists
// it; nginx reaches node-b there again.
TEST_F(ClusterHarnessTest, ThreeNodesOnOnePostgresBehindNginx) {
  Cluster cluster({.nodes = 3, .cluster = false, .nginx = true});
  ASSERT_EQ(cluster.nodes.size(), 3u);
  EXPECT_FALSE(cluster.redis);

  const std::set<std::string> all{"node-a", "node-b", "node-c"};
  std::set<std::string> ids;
  for (auto& node : cluster.nodes) {
    const auto healthz = node->healthz();
    ASSERT_EQ(healthz.status, 200) << healthz.body;
    EXPECT_EQ(node_of(healthz.body), node->id());
    ids.insert(node->id());
    EXPECT_NE(node->log().find("listening on 127.0.0.1:" + std::to_string(node->port())), std::string::npos)
        << node->log_tail();
  }
  EXPECT_EQ(ids, all);

  auto through_nginx = [&] {
    std::set<std::string> seen;
    for (int i = 0; i < 60 && seen.size() < all.size(); ++i) {
      const auto healthz = curl_get(cluster.nginx->https("/healthz"));
      if (healthz.status != 200) throw std::runtime_error("healthz through nginx: " + healthz.body);
      seen.insert(node_of(healthz.body));
    }
    return seen;
  };
  EXPECT_EQ(through_nginx(), all) << cluster.nginx->error_log();

  const TimeNs t = now_ns();
  cluster.node(0).write("plant temp=21.5 " + std::to_string(t));
  ASSERT_TRUE(eventually([&] { return tagstream::testing::rows_in_database(cluster.store_url) >= 1; }, 30s))
      << "the sample never reached PostgreSQL";

  NodeProcess& b = cluster.node(1);
  const unsigned short port = b.port();
  b.kill9();
  EXPECT_FALSE(b.running());
  b.start();
  EXPECT_EQ(b.port(), port);
  const auto tags = http_get(b.port(), "/api/tags?q=plant.temp");
  ASSERT_EQ(tags.status, 200) << tags.body;
  const auto list = boost::json::parse(tags.body).at("tags").as_array();
  ASSERT_EQ(list.size(), 1u) << tags.body;
  EXPECT_EQ(list[0].at("name").as_string(), "plant.temp");
  EXPECT_EQ(list[0].at("value").to_number<double>(), 21.5) << tags.body;

  EXPECT_EQ(through_nginx(), all) << cluster.nginx->error_log();
}

/// The `status` of a node's /healthz ("" when it does not answer).
std::string health_of(const NodeProcess& node) {
  try {
    const auto reply = node.healthz();
    return std::string(boost::json::parse(reply.body).at("status").as_string());
  } catch (const std::exception&) {
    return {};
  }
}

/// Whether `node` lists tag `name` with `value` on /api/tags.
bool lists(const NodeProcess& node, const std::string& name, double value) {
  const auto reply = http_get(node.port(), "/api/tags?q=" + name);
  if (reply.status != 200) return false;
  const auto body = boost::json::parse(reply.body);
  for (const auto& tag : body.at("tags").as_array())
    if (tag.at("name").as_string() == name && tag.as_object().contains("value") &&
        tag.at("value").is_number() && tag.at("value").to_number<double>() == value)
      return true;
  return false;
}

// The Cluster as the cluster tests start it (--cluster on every node): a
// write through nginx reaches every node's tag list, whichever node nginx
// gave it to; with Redis killed every node reports degraded, and once Redis
// is started again (same port, same AOF) they are ok and carry writes again,
// to a stream opened through nginx's plain-HTTP port too.
TEST_F(ClusterHarnessTest, DefaultClusterCarriesAWriteThroughNginxToEveryNode) {
  Cluster cluster({.nginx = true});
  ASSERT_TRUE(cluster.redis);
  for (auto& node : cluster.nodes) EXPECT_EQ(health_of(*node), "ok") << node->id();

  const auto written = curl_send(cluster.nginx->https("/write?precision=ns"),
                                 "harness temp=31.25 " + std::to_string(now_ns()));
  ASSERT_EQ(written.status, 204) << written.body;
  for (auto& node : cluster.nodes)
    EXPECT_TRUE(eventually([&] { return lists(*node, "harness.temp", 31.25); }, 30s)) << node->id();

  // A stream through nginx's plain-HTTP port, on whichever node nginx picks.
  SseClient stream(cluster.nginx->plain_port(), "/api/sse/stream?tags[]=harness.temp&interval=raw");
  ASSERT_TRUE(stream.read_head(20s));
  ASSERT_EQ(stream.status(), 200);
  ASSERT_TRUE(stream.next_of("connected", 20s));

  cluster.redis->kill();
  for (auto& node : cluster.nodes)
    EXPECT_TRUE(eventually([&] { return health_of(*node) == "degraded"; }, 30s)) << node->id();
  cluster.redis->start();
  for (auto& node : cluster.nodes)
    EXPECT_TRUE(eventually([&] { return health_of(*node) == "ok"; }, 30s)) << node->id();
  cluster.node(2).write("harness temp=32.5 " + std::to_string(now_ns()));
  for (auto& node : cluster.nodes)
    EXPECT_TRUE(eventually([&] { return lists(*node, "harness.temp", 32.5); }, 30s)) << node->id();
  // The stream got it too, wherever it was written and whichever node
  // serves it.
  bool streamed = false;
  while (!streamed) {
    const auto event = stream.next_of("data", 20s);
    if (!event) break;
    for (const Point& p : points_of(*event))
      streamed = streamed || (p.tag == "harness.temp" && p.value == 32.5);
  }
  EXPECT_TRUE(streamed) << stream.raw();
}

// Redis at maxmemory (noeviction, as shipped) refuses every append: the
// node that takes a write reports degraded, and is ok again once there is
// room (README "Cluster", Sizing).
TEST_F(ClusterHarnessTest, FullRedisMakesTheWritingNodeDegradedUntilThereIsRoom) {
  Cluster cluster({.nodes = 2});
  cluster.node(0).write("harness fill=1 " + std::to_string(now_ns()));
  ASSERT_TRUE(eventually([&] { return lists(cluster.node(1), "harness.fill", 1); }, 30s));

  EXPECT_EQ(cluster.redis->cli({"CONFIG", "SET", "maxmemory", "1"}), "OK");
  cluster.node(0).write("harness fill=2 " + std::to_string(now_ns()));
  EXPECT_TRUE(eventually([&] { return health_of(cluster.node(0)) == "degraded"; }, 30s))
      << cluster.node(0).log_tail();
  EXPECT_FALSE(lists(cluster.node(1), "harness.fill", 2));

  EXPECT_EQ(cluster.redis->cli({"CONFIG", "SET", "maxmemory", "2gb"}), "OK");
  EXPECT_TRUE(eventually([&] { return health_of(cluster.node(0)) == "ok"; }, 30s))
      << cluster.node(0).log_tail();
  EXPECT_TRUE(eventually([&] { return lists(cluster.node(1), "harness.fill", 2); }, 30s));
}

// deploy/tagstream-cluster.example.toml is a config the server takes, with
// the three settings that make a node of a cluster.
TEST(ClusterDeployFiles, ExampleNodeConfigLoads) {
  const auto result = load_server_config(
      {"--config", std::string(TAGSTREAM_SOURCE_DIR) + "/deploy/tagstream-cluster.example.toml"},
      [](const char*) { return std::optional<std::string>(); });
  ASSERT_EQ(result.error, "");
  EXPECT_EQ(result.config.node_id, "node-a");
  EXPECT_TRUE(result.config.store_url.starts_with("postgres://")) << result.config.store_url;
  EXPECT_TRUE(result.config.cluster_url.starts_with("redis://")) << result.config.cluster_url;
  EXPECT_FALSE(result.config.simulator);
}

}  // namespace
}  // namespace tagstream::test
