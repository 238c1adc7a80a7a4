// Deadbands configured in the server's TOML file, applied to what a client
// writes; and the write-back endpoint's answers when no device can take the
// write (the devices' own answers are tested with each connector).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "integration/support.h"
#include "store/store_writer.h"

namespace tagstream::test {
namespace {

ServerConfig config_with(const std::string& toml) {
  const std::string path = make_temp_dir() + "/tagstream.toml";
  std::ofstream(path) << toml;
  auto loaded =
      load_server_config({"--config", path}, [](const char*) -> std::optional<std::string> { return {}; });
  EXPECT_EQ(loaded.error, "");
  ServerConfig config = test_config();
  config.connectors = loaded.config.connectors;
  return config;
}

std::string load_error(const std::string& toml) {
  const std::string path = make_temp_dir() + "/tagstream.toml";
  std::ofstream(path) << toml;
  return load_server_config({"--config", path}, [](const char*) -> std::optional<std::string> { return {}; })
      .error;
}

TEST(Deadband, ConfiguredRulesFilterWhatClientsWrite) {
  TestServer server(config_with(R"(
[[deadband]]
tags = "plant.flow*"
absolute = 0.5
max_silent = 60
)"));
  // flow: 10, 10.2 (in), 10.6 (out), 10.7 (in), then 61 s later 10.7 (max silent);
  // other: every sample.
  const std::string lines =
      "plant flow=10,other=1 1700000000\n"
      "plant flow=10.2,other=1 1700000001\n"
      "plant flow=10.6,other=1 1700000002\n"
      "plant flow=10.7,other=1 1700000003\n"
      "plant flow=10.7,other=1 1700000063\n";
  ASSERT_EQ(http_post(server.port(), "/write?precision=s", lines).status, 204);
  ASSERT_TRUE(eventually([&] { return server.app().writer().pending_samples() == 0; }));

  const auto history = http_get(server.port(),
                                "/api/data/history?tags[]=plant.flow&tags[]=plant.other&interval=raw"
                                "&from=1700000000&to=1700000100");
  ASSERT_EQ(history.status, 200) << history.body;
  const auto doc = boost::json::parse(history.body);
  std::map<std::string, std::vector<double>> values;
  for (const auto& series : doc.at("series").as_array())
    for (const auto& p : series.at("points").as_array())
      values[std::string(series.at("tag").as_string())].push_back(boost::json::value_to<double>(p.at("v")));
  EXPECT_EQ(values["plant.flow"], (std::vector<double>{10, 10.6, 10.7}));
  EXPECT_EQ(values["plant.other"].size(), 5u);

  const auto stats = boost::json::parse(http_get(server.port(), "/api/stats").body);
  EXPECT_EQ(stats.at("deadband").at("suppressedTotal").as_int64(), 2);
  EXPECT_EQ(stats.at("deadband").at("tags").at(0).at("name").as_string(), "plant.flow");
  EXPECT_EQ(stats.at("deadband").at("tags").at(0).at("suppressed").as_int64(), 2);
  EXPECT_NE(http_get(server.port(), "/metrics").body.find("tagstream_deadband_suppressed_total 2\n"),
            std::string::npos);
}

TEST(Deadband, BadRulesStopTheServerFromStartingWithTheLine) {
  EXPECT_NE(load_error("[[deadband]]\ntags = \"a.*\"\nabsolute = -1\n").find("tagstream.toml:1: deadband[0]"),
            std::string::npos);
  EXPECT_NE(load_error("[[deadband]]\ntags = \"a.*\"\npercent = 5\n").find("span"), std::string::npos);
  EXPECT_NE(load_error("[[deadband]]\ntags = \"a.*\"\nabsolut = 1\n").find("did you mean \"absolute\""),
            std::string::npos);
  EXPECT_NE(load_error("deadband = 1\n").find("array of tables"), std::string::npos);
}

TEST(Setpoint, AnswersClearlyWhenNoDeviceCanTakeTheWrite) {
  TestServer server;
  server.push("plant.valve", 20, now_ns());
  const auto not_writable = http_post(server.port(), "/api/tags/plant.valve/value", R"({"value": 42})");
  EXPECT_EQ(not_writable.status, 409) << not_writable.body;
  const auto body = boost::json::parse(not_writable.body);
  EXPECT_EQ(body.at("code").as_string(), "not_writable");
  EXPECT_EQ(body.at("outcome").as_string(), "not_writable");
  EXPECT_EQ(boost::json::value_to<double>(body.at("previous")), 20);

  EXPECT_EQ(http_post(server.port(), "/api/tags/plant.nothing/value", R"({"value": 1})").status, 404);
  EXPECT_EQ(http_post(server.port(), "/api/tags/plant.valve/value", "42").status, 400);
  EXPECT_EQ(http_post(server.port(), "/api/tags/plant.valve/value", R"({"value": "high"})").status, 400);
  EXPECT_EQ(http_post(server.port(), "/api/tags/plant.valve/value", R"({"value": 1, "force": true})").status,
            400);
  EXPECT_EQ(http_post(server.port(), "/api/tags/plant.valve/value", R"({"value": 1e999})").status, 400);
  EXPECT_EQ(http_post(server.port(), "/api/tags/plant.valve/value",
                      R"({"value": 1, "pad": ")" + std::string(2000, 'x') + "\"}")
                .status,
            413);
  EXPECT_EQ(http_post(server.port(), "/api/tags/plant.valve/value", "", {}, "GET").status, 405);
}

TEST(Setpoint, HealthAndStatsListNoConnectorsWhenNoneIsConfigured) {
  TestServer server;
  const auto health = boost::json::parse(http_get(server.port(), "/healthz").body);
  EXPECT_EQ(health.at("status").as_string(), "ok");
  EXPECT_TRUE(health.at("connectors").as_array().empty());
  const auto stats = boost::json::parse(http_get(server.port(), "/api/stats").body);
  EXPECT_TRUE(stats.at("connectors").as_array().empty());
}

}  // namespace
}  // namespace tagstream::test
