#include "connect/modbus_config.h"

#include <gtest/gtest.h>

#include <string>

#include "connect/connectors_config.h"

namespace tagstream {
namespace {

Parsed<ConnectorsConfig> parse(const std::string& text) {
  return parse_connectors_config(toml::parse(text), "plant.toml");
}

Parsed<ModbusConfig> parse_modbus(const std::string& text) {
  auto root = toml::parse(text);
  const auto* table = root["modbus"][0].as_table();
  EXPECT_NE(table, nullptr);
  return parse_modbus_config(*table, {"plant.toml", "modbus[0]"});
}

std::string error_of(const std::string& text) {
  auto parsed = parse(text);
  EXPECT_FALSE(parsed) << text;
  return parsed.error;
}

const std::string kHead = R"(
[[modbus]]
name = "plc1"
host = "127.0.0.1"
[[modbus.group]]
)";

TEST(ModbusConfig, FullExampleAndDefaults) {
  auto c = parse_modbus(R"(
[[modbus]]
name = "plc1"
host = "10.0.0.5"
port = 1502
unit_id = 3
timeout = 0.25
reconnect_min = 0.1
reconnect_max = 5
max_gap = 2

[[modbus.group]]
period = 0.5
[[modbus.group.tag]]
name = "line1.temperature"
area = "input"
address = 100
type = "float32"
word_order = "little"
byte_order = "little"
scale = 0.1
offset = -40
unit = "degC"
description = "Oven temperature"

[[modbus.group.tag]]
name = "line1.setpoint"
address = 200
type = "int16"
writable = true
min = -10
max = 300
unit_id = 7

[[modbus.group]]
tags = [ { name = "line1.run", area = "coil", address = 5, writable = true },
         { name = "line1.alarm", area = "discrete", address = 6 } ]
)");
  ASSERT_TRUE(c) << c.error;
  EXPECT_EQ(c->name, "plc1");
  EXPECT_EQ(c->port, 1502);
  EXPECT_EQ(c->timeout, 0.25);
  EXPECT_EQ(c->max_gap, 2);
  ASSERT_EQ(c->groups.size(), 2u);
  EXPECT_EQ(c->groups[0].period, 0.5);
  EXPECT_EQ(c->groups[1].period, 1.0);
  ASSERT_EQ(c->tags.size(), 4u);
  const auto& temp = c->tags[0];
  EXPECT_EQ(temp.area, ModbusArea::input);
  EXPECT_EQ(temp.type, ModbusType::float32);
  EXPECT_EQ(temp.word_order, ModbusOrder::little);
  EXPECT_EQ(temp.byte_order, ModbusOrder::little);
  EXPECT_EQ(temp.scale, 0.1);
  EXPECT_EQ(temp.offset, -40);
  EXPECT_EQ(temp.unit_id, 3);  // the connector's
  EXPECT_EQ(temp.unit, "degC");
  const auto& sp = c->tags[1];
  EXPECT_EQ(sp.area, ModbusArea::holding);
  EXPECT_EQ(sp.unit_id, 7);
  EXPECT_TRUE(sp.writable);
  EXPECT_EQ(sp.min, -10);
  EXPECT_EQ(sp.max, 300);
  EXPECT_EQ(c->tags[2].type, ModbusType::boolean);
  EXPECT_EQ(c->tags[3].area, ModbusArea::discrete);
  EXPECT_EQ(c->groups[1].tags, (std::vector<std::size_t>{2, 3}));

  auto minimal = parse_modbus(kHead + "[[modbus.group.tag]]\nname = \"a\"\naddress = 0\n");
  ASSERT_TRUE(minimal) << minimal.error;
  EXPECT_EQ(minimal->port, 502);
  EXPECT_EQ(minimal->unit_id, 1);
  EXPECT_EQ(minimal->timeout, 1.0);
  EXPECT_EQ(minimal->max_gap, 0);
  EXPECT_EQ(minimal->tags[0].type, ModbusType::uint16);
  EXPECT_EQ(minimal->tags[0].area, ModbusArea::holding);
}

TEST(ModbusConfig, RegisteredAsAConnectorKind) {
  auto c = parse(kHead + "[[modbus.group.tag]]\nname = \"a\"\naddress = 0\n");
  ASSERT_TRUE(c) << c.error;
  ASSERT_EQ(c->connectors.size(), 1u);
  EXPECT_EQ(c->connectors[0].kind, "modbus");
  EXPECT_EQ(c->connectors[0].name, "plc1");
  EXPECT_TRUE(is_connectors_key("modbus"));
}

TEST(ModbusConfig, ErrorsNameTheFieldAndLine) {
  auto tag = [](const std::string& body) { return kHead + "[[modbus.group.tag]]\n" + body; };
  // Line 7 is the first line of the tag table's body.
  EXPECT_EQ(error_of(tag("name = \"a\"\naddress = 65535\ntype = \"float32\"\n")),
            "plant.toml:8: modbus[0].group[0].tag[0].address: a float32 spans past register 65535");
  EXPECT_EQ(error_of(tag("name = \"a\"\naddress = 65536\n")),
            "plant.toml:8: modbus[0].group[0].tag[0].address: must be from 0 to 65535");
  EXPECT_NE(error_of(tag("name = \"a\"\n")).find("address: is required"), std::string::npos);
  EXPECT_NE(error_of(tag("name = \"a\"\narea = \"input\"\naddress = 1\nwritable = true\n"))
                .find("writable: only holding registers and coils can be written"),
            std::string::npos);
  EXPECT_NE(error_of(tag("name = \"a\"\narea = \"discrete\"\naddress = 1\nwritable = true\n"))
                .find("only holding registers and coils"),
            std::string::npos);
  EXPECT_NE(error_of(tag("name = \"a\"\naddress = 1\nmin = 3\n")).find("limits apply to writable tags"),
            std::string::npos);
  EXPECT_NE(error_of(tag("name = \"a\"\naddress = 1\nwritable = true\nmin = 3\nmax = 1\n"))
                .find("min: must not be above max"),
            std::string::npos);
  EXPECT_NE(error_of(tag("name = \"a\"\naddress = 1\ntype = \"bool\"\n")).find("registers hold"),
            std::string::npos);
  EXPECT_NE(error_of(tag("name = \"a\"\narea = \"coil\"\naddress = 1\ntype = \"int16\"\n"))
                .find("coils and discrete inputs are bool"),
            std::string::npos);
  EXPECT_NE(error_of(tag("name = \"a\"\narea = \"coils\"\naddress = 1\n")).find("area: must be holding"),
            std::string::npos);
  EXPECT_NE(error_of(tag("name = \"a\"\naddress = 1\ntype = \"int64\"\n")).find("type: must be int16"),
            std::string::npos);
  EXPECT_NE(
      error_of(tag("name = \"a\"\naddress = 1\nword_order = \"middle\"\n")).find("must be big or little"),
      std::string::npos);
  EXPECT_NE(error_of(tag("name = \"a\"\naddress = 1\nscale = 0\n")).find("scale: must not be 0"),
            std::string::npos);
  EXPECT_NE(error_of(tag("name = \"a\"\naddress = 1\nadress = 2\n")).find("did you mean \"address\""),
            std::string::npos);
  EXPECT_NE(error_of(tag("name = \"bad name\"\naddress = 1\n")).find("is not a tag name"), std::string::npos);
  EXPECT_NE(error_of(tag("name = \"a\"\naddress = 1\n[[modbus.group.tag]]\nname = \"a\"\naddress = 2\n"))
                .find("\"a\" is mapped twice"),
            std::string::npos);
  for (const auto* unit : {"256", "250"})
    EXPECT_NE(error_of(tag("name = \"a\"\naddress = 1\nunit_id = " + std::string(unit) + "\n"))
                  .find("unit_id: must be from 0 to 247, or 255"),
              std::string::npos);
  EXPECT_TRUE(parse(tag("name = \"a\"\naddress = 1\nunit_id = 255\n")));
}

TEST(ModbusConfig, ConnectorErrors) {
  EXPECT_NE(error_of("[[modbus]]\nhost = \"h\"\n[[modbus.group]]\n").find("modbus[0].name: is required"),
            std::string::npos);
  EXPECT_NE(error_of("[[modbus]]\nname = \"p\"\n").find("modbus[0].host: is required"), std::string::npos);
  EXPECT_NE(error_of("[[modbus]]\nname = \"p\"\nhost = \"h\"\n").find("needs at least one poll group"),
            std::string::npos);
  EXPECT_NE(error_of(kHead + "period = 1\n").find("needs at least one tag"), std::string::npos);
  EXPECT_NE(error_of(kHead + "period = 0\n").find("period: must be from"), std::string::npos);
  EXPECT_NE(
      error_of("[[modbus]]\nname = \"p\"\nhost = \"h\"\nport = 0\n").find("port: must be from 1 to 65535"),
      std::string::npos);
  EXPECT_NE(error_of("[[modbus]]\nname = \"p\"\nhost = \"h\"\nreconnect_min = 5\nreconnect_max = 1\n")
                .find("must not be below reconnect_min"),
            std::string::npos);
  EXPECT_NE(
      error_of("[[modbus]]\nname = \"p\"\nhost = \"h\"\ngroup = 3\n").find("must be an array of tables"),
      std::string::npos);
  const std::string one = "[[modbus.group.tag]]\nname = \"a\"\naddress = 0\n";
  EXPECT_NE(error_of(kHead + one + kHead + "[[modbus.group.tag]]\nname = \"b\"\naddress = 0\n")
                .find("names another connector already"),
            std::string::npos);
}

TEST(ModbusConfig, TagCountIsBounded) {
  std::string text = kHead + "tags = [";
  for (std::size_t i = 0; i <= kMaxModbusTags; ++i)
    text += "{name = \"t" + std::to_string(i) + "\", address = " + std::to_string(i % 60000) + "},";
  text += "]\n";
  EXPECT_NE(error_of(text).find("at most " + std::to_string(kMaxModbusTags) + " tags"), std::string::npos);
}

}  // namespace
}  // namespace tagstream
