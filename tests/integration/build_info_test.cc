// What runs where: the version and node id in /healthz, /api/stats and the
// tagstream_build_info metric, and `tagstream --version` of the real binary.
#include "core/build_info.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <regex>

#include "support.h"

namespace tagstream::test {
namespace {

std::string hostname() {
  char host[256] = {};
  EXPECT_EQ(::gethostname(host, sizeof host - 1), 0);
  return host;
}

TEST(BuildInfo, VersionLineNamesVersionRevisionDateAndType) {
  const BuildInfo& b = build_info();
  EXPECT_TRUE(std::regex_match(std::string(b.version), std::regex("\\d+\\.\\d+\\.\\d+"))) << b.version;
  // A git checkout's short sha (possibly -dirty), or "unknown" outside git.
  EXPECT_TRUE(std::regex_match(std::string(b.revision), std::regex("[0-9a-f]{7,40}(-dirty)?|unknown")))
      << b.revision;
  EXPECT_TRUE(std::regex_match(std::string(b.date), std::regex("\\d{4}-\\d{2}-\\d{2}"))) << b.date;
  EXPECT_FALSE(b.build_type.empty());
  EXPECT_EQ(version_line(), "tagstream " + std::string(b.version) + " (git " + std::string(b.revision) +
                                ", built " + std::string(b.date) + ", " + std::string(b.build_type) + ")");
}

TEST(BuildInfo, BinaryPrintsItsVersion) {
  for (const char* form : {"--version", "version"}) {
    Child child({TAGSTREAM_BINARY, form});
    ASSERT_EQ(child.wait_exit(20s), 0) << child.err;
    child.wait_for(std::regex("\n"), 2s, true);
    EXPECT_EQ(child.out, version_line() + "\n") << form;
  }
}

TEST(BuildInfo, HealthzStatsAndMetricsNameVersionAndNode) {
  ServerConfig config = test_config();
  config.node_id = "plant-a";
  TestServer server(config);

  const auto healthz = http_get(server.port(), "/healthz");
  ASSERT_EQ(healthz.status, 200);
  const auto h = boost::json::parse(healthz.body).as_object();
  EXPECT_EQ(h.at("version").as_string(), build_info().version);
  EXPECT_EQ(h.at("node").as_string(), "plant-a");

  const auto stats = boost::json::parse(http_get(server.port(), "/api/stats").body).as_object();
  EXPECT_EQ(stats.at("version").as_string(), build_info().version);
  EXPECT_EQ(stats.at("revision").as_string(), build_info().revision);
  EXPECT_EQ(stats.at("node").as_string(), "plant-a");

  const auto metrics = http_get(server.port(), "/metrics").body;
  const std::string series = "tagstream_build_info{version=\"" + std::string(build_info().version) +
                             "\",revision=\"" + std::string(build_info().revision) +
                             "\",node=\"plant-a\"} 1\n";
  EXPECT_NE(metrics.find("# TYPE tagstream_build_info gauge\n" + series), std::string::npos) << metrics;
}

TEST(BuildInfo, NodeIdDefaultsToHostnameAndPort) {
  TestServer server;
  const std::string expected = hostname() + ":" + std::to_string(server.port());
  EXPECT_EQ(server.app().node_id(), expected);
  const auto h = boost::json::parse(http_get(server.port(), "/healthz").body);
  EXPECT_EQ(h.at("node").as_string(), expected);
}

}  // namespace
}  // namespace tagstream::test
