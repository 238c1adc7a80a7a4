#include "connect/mqtt_config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "connect/connectors_config.h"

namespace tagstream {
namespace {

Parsed<ConnectorsConfig> parse(const std::string& text) {
  return parse_connectors_config(toml::parse(text), "test.toml");
}

std::string error_of(const std::string& text) {
  auto c = parse(text);
  EXPECT_FALSE(c) << "accepted: " << text;
  return c.error;
}

TEST(MqttConfig, FullExampleParses) {
  const std::string ca = ::testing::TempDir() + "mqtt_config_test_ca.pem";
  std::ofstream(ca) << "not checked at load, only read\n";
  auto t = toml::parse(R"(
[[mqtt]]
name = "plant"
host = "broker.local"
port = 8883
client_id = "tagstream-1"
clean_session = false
qos = 1
keepalive = 20
reconnect_min = 0.2
reconnect_max = 10
username = "ts"
password = "secret"
max_payload = 1024
[mqtt.tls]
ca_file = ")" + ca + R"("
[[mqtt.subscription]]
topic = "plant/+/temperature"
tag = "{1}.temperature"
unit = "degC"
[[mqtt.subscription]]
topic = "json/#"
tag = "j.{1}"
format = "json"
value_field = "v"
ts_unit = "ns"
[[mqtt.subscription]]
format = "sparkplug"
tag_prefix = "sp."
writable = ["sp.G.E.*.Setpoint"]
min = 0
max = 100
[[mqtt.command]]
tag = "boiler1.setpoint"
topic = "plant/boiler1/setpoint/set"
format = "json"
max = 120
)");
  auto c = parse_mqtt_config(*t["mqtt"].as_array()->get(0)->as_table(), {"test.toml", "mqtt[0]"});
  ASSERT_TRUE(c) << c.error;
  EXPECT_EQ(c->port, 8883);
  EXPECT_FALSE(c->clean_session);
  EXPECT_EQ(c->tls->ca_file, ca);
  ASSERT_EQ(c->subscriptions.size(), 3u);
  EXPECT_EQ(c->subscriptions[1].json.value, "v");
  EXPECT_EQ(c->subscriptions[1].json.ts_unit, mqtt::EpochUnit::nanoseconds);
  EXPECT_EQ(c->subscriptions[2].topic, "spBv1.0/#");
  EXPECT_EQ(c->subscriptions[2].limits.max, 100);
  ASSERT_EQ(c->commands.size(), 1u);
  EXPECT_EQ(c->commands[0].limits.max, 120);
  EXPECT_EQ(c->max_payload, 1024u);
}

TEST(MqttConfig, ErrorsNameTheFieldAndLine) {
  const std::string head = "[[mqtt]]\nname = \"m\"\n";
  EXPECT_EQ(error_of(head + "port = 70000\n[[mqtt.subscription]]\ntopic = \"a\"\ntag = \"a\"\n"),
            "test.toml:3: mqtt[0].port: must be from 1 to 65535");
  EXPECT_NE(error_of(head + "prot = 1\n").find("unknown field (did you mean \"port\"?)"), std::string::npos);
  EXPECT_NE(error_of(head + "[[mqtt.subscription]]\ntopic = \"a/#/b\"\ntag = \"x\"\n")
                .find("mqtt[0].subscription[0].topic: \"a/#/b\" '#' must be the last level"),
            std::string::npos);
  EXPECT_NE(error_of(head + "[[mqtt.subscription]]\ntopic = \"a/+\"\ntag = \"{2}.x\"\n")
                .find("subscription[0].tag: \"{2}.x\": {2} but the topic filter has 1 wildcard"),
            std::string::npos);
  EXPECT_NE(error_of(head + "[[mqtt.subscription]]\ntopic = \"a/+\"\n").find("tag: is required"),
            std::string::npos);
  EXPECT_NE(error_of(head + "[[mqtt.subscription]]\ntopic = \"a\"\ntag = \"a\"\nformat = \"xml\"\n")
                .find("format: must be \"number\", \"json\" or \"sparkplug\""),
            std::string::npos);
  EXPECT_NE(
      error_of(head + "[[mqtt.subscription]]\ntopic = \"a\"\ntag = \"a\"\nts_unit = \"h\"\n").find("ts_unit"),
      std::string::npos);
  EXPECT_NE(error_of(head + "clean_session = false\n[[mqtt.subscription]]\ntopic = \"a\"\ntag = \"a\"\n")
                .find("client_id: is required when clean_session = false"),
            std::string::npos);
  EXPECT_NE(error_of(head + "password = \"p\"\n[[mqtt.subscription]]\ntopic = \"a\"\ntag = \"a\"\n")
                .find("username: is required with a password"),
            std::string::npos);
  EXPECT_NE(error_of(head).find("at least one"), std::string::npos);
  EXPECT_NE(error_of(head + "[[mqtt.command]]\ntag = \"a\"\ntopic = \"cmd/+\"\n")
                .find("must not contain wildcards"),
            std::string::npos);
  EXPECT_NE(error_of(head + "[[mqtt.command]]\ntag = \"a\"\ntopic = \"c\"\nmin = 5\nmax = 1\n")
                .find("min: must not be above max"),
            std::string::npos);
  EXPECT_NE(
      error_of(head + "[[mqtt.subscription]]\nformat = \"sparkplug\"\ntag = \"x\"\n").find("tag_prefix"),
      std::string::npos);
  EXPECT_NE(error_of(head + "[[mqtt.subscription]]\nformat = \"sparkplug\"\nwritable = [\"a b\"]\n")
                .find("not a tag pattern"),
            std::string::npos);
  EXPECT_NE(error_of(head + "password_file = \"/nonexistent/pw\"\nusername = \"u\"\n[[mqtt.command]]\ntag = "
                            "\"a\"\ntopic = \"c\"\n")
                .find("cannot read /nonexistent/pw"),
            std::string::npos);
  EXPECT_NE(
      error_of(
          head +
          "[mqtt.tls]\nca_file = \"/nonexistent/ca.pem\"\n[[mqtt.command]]\ntag = \"a\"\ntopic = \"c\"\n")
          .find("mqtt[0].tls.ca_file: cannot read /nonexistent/ca.pem"),
      std::string::npos);
  EXPECT_NE(error_of(head + "[[mqtt.subscription]]\ntopic = \"a\"\ntag = \"a\"\n" + head +
                     "[[mqtt.subscription]]\ntopic = \"a\"\ntag = \"a\"\n")
                .find("names another connector"),
            std::string::npos);
}

TEST(MqttConfig, MakesAConnectorSpec) {
  auto c = parse("[[mqtt]]\nname = \"m\"\n[[mqtt.subscription]]\ntopic = \"a/+\"\ntag = \"{1}\"\n");
  ASSERT_TRUE(c) << c.error;
  ASSERT_EQ(c->connectors.size(), 1u);
  EXPECT_EQ(c->connectors[0].kind, "mqtt");
  EXPECT_EQ(c->connectors[0].name, "m");
}

}  // namespace
}  // namespace tagstream
