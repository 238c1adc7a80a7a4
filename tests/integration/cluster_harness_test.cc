// The cluster test harness itself (cluster_support.h) on what runs without
// the Redis bus between nodes: Redis with the shipped persistence keeps
// what it acknowledged across a crash and a restart; three nodes on one
// PostgreSQL behind the shipped nginx config answer as themselves, share
// their history, and a node killed and started again comes back on its
// address.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/json.hpp>
#include <set>
#include <string>

#include "cluster_support.h"
#include "core/time.h"

namespace tagstream::test {
namespace {

/// Rows in the database's samples table, read with libpq directly (-1
/// when the query fails, e.g. before a node created the schema).
long long rows_in_database(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  long long n = -1;
  if (PQstatus(c) == CONNECTION_OK) {
    PGresult* r = PQexec(c, "SELECT count(*) FROM samples");
    if (PQresultStatus(r) == PGRES_TUPLES_OK) n = std::stoll(PQgetvalue(r, 0, 0));
    PQclear(r);
  }
  PQfinish(c);
  return n;
}

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
  ASSERT_TRUE(eventually([&] { return rows_in_database(cluster.store_url) >= 1; }, 30s))
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

}  // namespace
}  // namespace tagstream::test
