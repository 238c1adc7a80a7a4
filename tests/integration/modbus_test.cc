// The Modbus TCP connector against a real Modbus server (libmodbus's server
// side, integration/modbus_server.h) on a loopback port: decoding of every
// type and order against registers set by hand, request merging, bad quality
// on timeouts, exceptions and lost connections, reconnects, and operator
// writes with their read-back.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "app/config.h"
#include "connect/connector_set.h"
#include "connect/modbus_config.h"
#include "connect/modbus_connector.h"
#include "integration/modbus_server.h"
#include "integration/support.h"

namespace tagstream::test {
namespace {

/// What a connector delivers, kept per tag name.
class Collector {
 public:
  ConnectorContext context() {
    ConnectorContext c;
    c.registry = &registry_;
    c.ingest = [this](std::vector<TaggedSample> samples) {
      std::lock_guard lock(mutex_);
      for (const auto& s : samples) samples_.push_back(s);
      return true;
    };
    c.ingest_history = c.ingest;
    return c;
  }
  std::vector<Sample> of(const std::string& name) const {
    std::vector<Sample> out;
    auto id = registry_.find(name);
    if (!id) return out;
    std::lock_guard lock(mutex_);
    for (const auto& s : samples_)
      if (s.tag == *id) out.push_back(s.sample);
    return out;
  }
  std::optional<Sample> latest(const std::string& name) const {
    auto all = of(name);
    if (all.empty()) return std::nullopt;
    return all.back();
  }
  bool latest_is(const std::string& name, Quality q) const {
    auto s = latest(name);
    return s && s->quality == q;
  }
  bool latest_good(const std::string& name, double value) const {
    auto s = latest(name);
    return s && s->quality == Quality::good && s->value == value;
  }
  TagRegistry& registry() { return registry_; }

 private:
  TagRegistry registry_;
  mutable std::mutex mutex_;
  std::vector<TaggedSample> samples_;
};

ModbusConfig config_of(unsigned short port, const std::string& groups, const std::string& extra = "",
                       double timeout = 0.3) {
  const std::string text =
      "[[modbus]]\nname = \"plc\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(port) +
      "\ntimeout = " + std::to_string(timeout) + "\nreconnect_min = 0.01\nreconnect_max = 0.1\n" + extra +
      groups;
  auto root = toml::parse(text);
  auto parsed = parse_modbus_config(*root["modbus"][0].as_table(), {"test.toml", "modbus[0]"});
  EXPECT_TRUE(parsed) << parsed.error;
  return *parsed;
}

SetpointResult write_and_wait(ModbusConnector& c, const std::string& tag, double value) {
  auto promise = std::make_shared<std::promise<SetpointResult>>();
  auto future = promise->get_future();
  c.write({.tag = tag, .value = value, .who = "test"},
          [promise](SetpointResult r) { promise->set_value(r); });
  EXPECT_EQ(future.wait_for(20s), std::future_status::ready);
  return future.get();
}

std::vector<ModbusTestServer::Request> requests_of(const ModbusTestServer& server, int function) {
  std::vector<ModbusTestServer::Request> out;
  for (const auto& r : server.requests())
    if (r.function == function) out.push_back(r);
  return out;
}

TEST(Modbus, DecodesEveryTypeAndOrder) {
  ModbusTestServer server;
  server.set_holding(0, {0xFFFE});            // int16 -2
  server.set_holding(1, {0xFFFE});            // uint16 65534
  server.set_holding(2, {0xFFFF, 0xFFFE});    // int32 -2, ABCD
  server.set_holding(4, {0x5678, 0x1234});    // uint32 0x12345678, CDAB
  server.set_holding(6, {0xC03F, 0x0000});    // float32 1.5, BADC
  server.set_holding(8, {0x0000, 0xC03F});    // float32 1.5, DCBA
  server.set_holding(10, {0xC004, 0, 0, 0});  // float64 -2.5
  server.set_holding(14, {0x3412});           // uint16 0x1234, bytes swapped
  server.set_input(100, {250});               // int16 25.0 * 0.1 + 1
  server.set_input(101, {0, 0, 0, 0x3FF0});   // float64 1.0, word little
  server.set_coil(5, true);
  server.set_discrete(7, true);

  Collector out;
  ModbusConnector connector(config_of(server.port(), R"(
[[modbus.group]]
period = 0.02
tags = [
  { name = "h.i16", address = 0, type = "int16" },
  { name = "h.u16", address = 1, type = "uint16" },
  { name = "h.i32", address = 2, type = "int32" },
  { name = "h.u32", address = 4, type = "uint32", word_order = "little" },
  { name = "h.f32badc", address = 6, type = "float32", byte_order = "little" },
  { name = "h.f32dcba", address = 8, type = "float32", word_order = "little", byte_order = "little" },
  { name = "h.f64", address = 10, type = "float64" },
  { name = "h.swapped", address = 14, byte_order = "little" },
  { name = "i.scaled", area = "input", address = 100, type = "int16", scale = 0.1, offset = 1 },
  { name = "i.f64", area = "input", address = 101, type = "float64", word_order = "little" },
  { name = "c.run", area = "coil", address = 5 },
  { name = "d.alarm", area = "discrete", address = 7 },
]
)"),
                            out.context());
  connector.start();
  const std::vector<std::pair<std::string, double>> expected = {
      {"h.i16", -2},      {"h.u16", 65534},   {"h.i32", -2},   {"h.u32", 0x12345678},
      {"h.f32badc", 1.5}, {"h.f32dcba", 1.5}, {"h.f64", -2.5}, {"h.swapped", 0x1234},
      {"i.scaled", 26.0}, {"i.f64", 1.0},     {"c.run", 1},    {"d.alarm", 1}};
  EXPECT_TRUE(eventually([&] {
    for (const auto& [name, value] : expected) {
      auto s = out.latest(name);
      if (!s || s->quality != Quality::good) return false;
    }
    return true;
  }));
  for (const auto& [name, value] : expected) {
    auto s = out.latest(name);
    ASSERT_TRUE(s) << name;
    EXPECT_NEAR(s->value, value, 1e-9) << name;
  }
  // Values that read the same are delivered on every poll.
  EXPECT_TRUE(eventually([&] { return out.of("h.i16").size() >= 3; }));
  EXPECT_EQ(out.registry().info(*out.registry().find("c.run"))->type, DataType::boolean);
  EXPECT_EQ(out.registry().info(*out.registry().find("h.i32"))->type, DataType::integer);

  // Fifteen contiguous holding registers are one read per poll.
  connector.stop();
  auto holding = requests_of(server, ModbusTestServer::kReadHolding);
  ASSERT_FALSE(holding.empty());
  for (const auto& r : holding) {
    EXPECT_EQ(r.address, 0);
    EXPECT_EQ(r.count, 15);
  }
  EXPECT_EQ(requests_of(server, ModbusTestServer::kReadInput).front().count, 5);

  auto status = connector.status();
  EXPECT_EQ(status.kind, "modbus");
  EXPECT_EQ(status.endpoint, "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_GE(status.messages, 4u);
  EXPECT_GT(status.samples, 12u);
  EXPECT_EQ(status.errors, 0u);
  EXPECT_EQ(status.state, "stopped");
}

TEST(Modbus, GapSplitsReadsAndRefusedGapIsNeverRead) {
  ModbusTestServer server;
  server.set_holding(0, {1, 2, 3});
  server.set_holding(10, {4});
  server.set_exception(5);  // the device refuses the gap
  const std::string groups = R"(
[[modbus.group]]
period = 0.02
tags = [ { name = "a", address = 0 }, { name = "b", address = 1 }, { name = "c", address = 2 },
         { name = "d", address = 10 } ]
)";
  Collector out;
  ModbusConnector connector(config_of(server.port(), groups), out.context());
  connector.start();
  EXPECT_TRUE(eventually([&] { return out.of("d").size() >= 3 && out.of("a").size() >= 3; }));
  connector.stop();
  for (const auto& name : {"a", "b", "c", "d"}) EXPECT_TRUE(out.latest_is(name, Quality::good)) << name;
  auto holding = requests_of(server, ModbusTestServer::kReadHolding);
  ASSERT_GE(holding.size(), 4u);
  for (const auto& r : holding) {
    const bool first = r.address == 0 && r.count == 3;
    const bool second = r.address == 10 && r.count == 1;
    EXPECT_TRUE(first || second) << r.address << "+" << r.count;
  }

  // Across the gap (max_gap 8), one read covers the refused address: every
  // tag of it turns bad.
  server.clear_requests();
  Collector merged;
  ModbusConnector across(config_of(server.port(), groups, "max_gap = 8\n"), merged.context());
  across.start();
  EXPECT_TRUE(
      eventually([&] { return merged.latest_is("a", Quality::bad) && merged.latest_is("d", Quality::bad); }));
  across.stop();
  for (const auto& r : requests_of(server, ModbusTestServer::kReadHolding)) {
    EXPECT_EQ(r.address, 0);
    EXPECT_EQ(r.count, 11);
  }
  EXPECT_NE(across.status().last_error.find("Illegal data address"), std::string::npos)
      << across.status().last_error;
}

TEST(Modbus, ExceptionTurnsThatReadBad) {
  ModbusTestServer server;
  server.set_holding(2, {7, 8});
  server.set_holding(20, {9});
  Collector out;
  ModbusConnector connector(config_of(server.port(), R"(
[[modbus.group]]
period = 0.02
tags = [ { name = "x", address = 2 }, { name = "y", address = 3 }, { name = "z", address = 20 } ]
)"),
                            out.context());
  connector.start();
  EXPECT_TRUE(eventually([&] { return out.latest_good("x", 7) && out.latest_good("z", 9); }));
  server.set_exception(3);
  EXPECT_TRUE(
      eventually([&] { return out.latest_is("x", Quality::bad) && out.latest_is("y", Quality::bad); }));
  // Bad quality keeps the last value read; the other read stays good.
  EXPECT_EQ(out.latest("x")->value, 7);
  EXPECT_TRUE(eventually([&] { return out.of("z").size() > 3; }));
  EXPECT_TRUE(out.latest_is("z", Quality::good));
  auto status = connector.status();
  EXPECT_GE(status.errors, 1u);
  EXPECT_NE(status.last_error.find("Illegal data address"), std::string::npos) << status.last_error;
  EXPECT_TRUE(status.connected);  // an exception is an answer: the connection stays
  server.set_exception(3, 0);
  server.set_holding(2, {70});
  EXPECT_TRUE(eventually([&] { return out.latest_good("x", 70); }));
}

TEST(Modbus, TimeoutTurnsTagsBad) {
  ModbusTestServer server;
  server.set_holding(0, {11});
  Collector out;
  ModbusConnector connector(config_of(server.port(), R"(
[[modbus.group]]
period = 0.02
tags = [ { name = "t", address = 0 } ]
)"),
                            out.context());
  connector.start();
  EXPECT_TRUE(eventually([&] { return out.latest_good("t", 11); }));
  server.set_silent(true);
  EXPECT_TRUE(eventually([&] { return out.latest_is("t", Quality::bad); }));
  auto status = connector.status();
  EXPECT_NE(status.last_error.find("timed out"), std::string::npos) << status.last_error;
  EXPECT_GE(status.errors, 1u);
  server.set_holding(0, {12});
  server.set_silent(false);
  EXPECT_TRUE(eventually([&] { return out.latest_good("t", 12); }));
}

TEST(Modbus, ReconnectsAfterServerRestart) {
  auto server = std::make_unique<ModbusTestServer>();
  server->set_holding(0, {1});
  Collector out;
  ModbusConnector connector(config_of(server->port(), R"(
[[modbus.group]]
period = 0.02
tags = [ { name = "r", address = 0, writable = true }, { name = "s", area = "coil", address = 0 } ]
)"),
                            out.context());
  connector.start();
  EXPECT_TRUE(eventually([&] { return out.latest_good("r", 1) && connector.status().connected; }));
  server->stop();
  EXPECT_TRUE(
      eventually([&] { return out.latest_is("r", Quality::bad) && out.latest_is("s", Quality::bad); }));
  EXPECT_TRUE(eventually([&] { return !connector.status().connected; }));
  // Nothing is sent while disconnected.
  EXPECT_EQ(write_and_wait(connector, "r", 1).outcome, SetpointOutcome::unavailable);
  server->set_holding(0, {2});
  server->start();
  EXPECT_TRUE(eventually([&] { return out.latest_good("r", 2); }));
  auto status = connector.status();
  EXPECT_TRUE(status.connected);
  EXPECT_EQ(status.state, "connected");
  EXPECT_EQ(status.reconnects, 1u);
  EXPECT_EQ(server->connections(), 2u);
}

TEST(Modbus, DownAtStartIsBadAndConnectsLater) {
  unsigned short port;
  {
    ModbusTestServer probe;
    port = probe.port();
  }
  Collector out;
  ModbusConnector connector(config_of(port, R"(
[[modbus.group]]
tags = [ { name = "late", address = 3 } ]
)"),
                            out.context());
  connector.start();
  EXPECT_TRUE(eventually([&] { return out.latest_is("late", Quality::bad); }));
  EXPECT_FALSE(connector.status().last_error.empty());
  ModbusTestServer server(port);
  server.set_holding(3, {33});
  EXPECT_TRUE(eventually([&] { return out.latest_good("late", 33); }));
}

const std::string kWritable = R"(
[[modbus.group]]
period = 0.05
tags = [
  { name = "sp.temp", address = 40, type = "int16", scale = 0.1, writable = true },
  { name = "sp.flow", address = 41, type = "float32", word_order = "little", writable = true },
  { name = "sp.big", address = 43, type = "uint32", writable = true, unit_id = 4 },
  { name = "sp.run", area = "coil", address = 3, writable = true },
  { name = "sp.ro", address = 50 },
]
)";

TEST(Modbus, WritesHoldingRegistersAndCoilsWithReadBack) {
  ModbusTestServer server;
  Collector out;
  ModbusConnector connector(config_of(server.port(), kWritable), out.context());
  EXPECT_FALSE(connector.writable("sp.ro"));
  ASSERT_TRUE(connector.writable("sp.run"));
  EXPECT_TRUE(connector.writable("sp.run")->boolean);
  EXPECT_FALSE(connector.writable("sp.temp")->boolean);
  connector.start();
  EXPECT_TRUE(eventually([&] { return connector.status().connected; }));

  auto r = write_and_wait(connector, "sp.temp", 12.3);
  EXPECT_EQ(r.outcome, SetpointOutcome::accepted) << r.message;
  ASSERT_TRUE(r.readback);
  EXPECT_NEAR(*r.readback, 12.3, 1e-9);
  EXPECT_EQ(server.holding(40, 1), (std::vector<std::uint16_t>{123}));

  r = write_and_wait(connector, "sp.flow", -2.5);
  EXPECT_EQ(r.outcome, SetpointOutcome::accepted) << r.message;
  EXPECT_EQ(r.readback, -2.5);
  EXPECT_EQ(server.holding(41, 2), (std::vector<std::uint16_t>{0x0000, 0xC020}));

  r = write_and_wait(connector, "sp.big", 0x12345678);
  EXPECT_EQ(r.outcome, SetpointOutcome::accepted) << r.message;
  EXPECT_EQ(server.holding(43, 2), (std::vector<std::uint16_t>{0x1234, 0x5678}));

  r = write_and_wait(connector, "sp.run", 1);
  EXPECT_EQ(r.outcome, SetpointOutcome::accepted) << r.message;
  EXPECT_EQ(r.readback, 1);
  EXPECT_TRUE(server.coil(3));
  r = write_and_wait(connector, "sp.run", 0);
  EXPECT_EQ(r.readback, 0);
  EXPECT_FALSE(server.coil(3));

  bool single = false, multiple = false, coil = false, unit4 = false;
  for (const auto& q : server.requests()) {
    single |= q.function == ModbusTestServer::kWriteRegister && q.address == 40;
    multiple |= q.function == ModbusTestServer::kWriteRegisters && q.address == 41 && q.count == 2;
    coil |= q.function == ModbusTestServer::kWriteCoil && q.address == 3;
    unit4 |= q.function == ModbusTestServer::kWriteRegisters && q.address == 43 && q.unit_id == 4;
  }
  EXPECT_TRUE(single && multiple && coil && unit4);
  // The read-back value is delivered as a sample too.
  EXPECT_TRUE(eventually([&] { return out.latest_good("sp.flow", -2.5); }));
}

TEST(Modbus, WriteRefusedTimedOutOrOutOfRange) {
  ModbusTestServer server;
  Collector out;
  ModbusConnector connector(config_of(server.port(), kWritable), out.context());
  connector.start();
  EXPECT_TRUE(eventually([&] { return connector.status().connected; }));

  server.set_exception(3, 1);  // illegal function, for the coil
  auto r = write_and_wait(connector, "sp.run", 1);
  EXPECT_EQ(r.outcome, SetpointOutcome::refused);
  EXPECT_NE(r.message.find("Illegal function"), std::string::npos) << r.message;
  EXPECT_FALSE(server.coil(3));
  server.set_exception(3, 0);

  // The raw value of an int16 with scale 0.1 ends at 3276.7.
  const auto before = server.request_count();
  r = write_and_wait(connector, "sp.temp", 3276.8);
  EXPECT_EQ(r.outcome, SetpointOutcome::out_of_range);
  EXPECT_NE(r.message.find("int16"), std::string::npos) << r.message;
  for (const auto& q : server.requests())
    EXPECT_NE(q.function, ModbusTestServer::kWriteRegister) << "nothing was sent " << before;

  server.set_silent_writes(true);
  r = write_and_wait(connector, "sp.temp", 1);
  EXPECT_EQ(r.outcome, SetpointOutcome::timeout) << r.message;
  server.set_silent_writes(false);
  // The connection is still usable after a timeout.
  r = write_and_wait(connector, "sp.temp", 2);
  EXPECT_EQ(r.outcome, SetpointOutcome::accepted) << r.message;
  EXPECT_EQ(r.readback, 2);
}

TEST(Modbus, FullWriteQueueAnswersBusy) {
  ModbusTestServer server;
  server.set_silent_writes(true);
  Collector out;
  ModbusConnector connector(config_of(server.port(), kWritable, "", 0.01), out.context());
  connector.start();
  EXPECT_TRUE(eventually([&] { return connector.status().connected; }));
  constexpr int kWrites = ModbusConnector::kMaxQueuedWrites + 20;
  std::mutex mutex;
  std::vector<SetpointResult> results;
  for (int i = 0; i < kWrites; ++i)
    connector.write({.tag = "sp.temp", .value = 1, .who = "test"}, [&](SetpointResult r) {
      std::lock_guard lock(mutex);
      results.push_back(r);
    });
  EXPECT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return results.size() == kWrites;
  }));
  connector.stop();
  std::lock_guard lock(mutex);
  EXPECT_EQ(results.size(), static_cast<std::size_t>(kWrites));
  std::size_t busy = 0;
  for (const auto& r : results)
    if (r.outcome == SetpointOutcome::unavailable && r.message.find("busy") != std::string::npos) ++busy;
  EXPECT_GE(busy, 1u);
}

TEST(Modbus, EndToEndThroughTheServer) {
  ModbusTestServer device;
  device.set_input(7, {0x4049, 0x0FDB});  // float32 3.1415927
  device.set_holding(8, {5});
  // Through the server's own config loader, as `tagstream serve --config FILE`.
  const std::string path = make_temp_dir() + "/plant.toml";
  std::ofstream(path) << "[[modbus]]\nname = \"plc\"\nhost = \"127.0.0.1\"\nport = " << device.port() << R"(
[[modbus.group]]
period = 0.05
tags = [ { name = "plant.pi", area = "input", address = 7, type = "float32", unit = "rad" },
         { name = "plant.sp", address = 8, writable = true, max = 10 } ]
)";
  auto loaded =
      load_server_config({"--config", path}, [](const char*) { return std::optional<std::string>(); });
  ASSERT_TRUE(loaded.error.empty()) << loaded.error;
  auto config = test_config();
  config.connectors = loaded.config.connectors;
  TestServer server(config);
  auto& registry = server.app().registry();
  EXPECT_TRUE(eventually([&] {
    auto id = registry.find("plant.pi");
    if (!id) return false;
    auto current = server.app().live().current(std::span<const TagId>(&*id, 1));
    return current[0].present && current[0].latest.quality == Quality::good;
  }));
  auto id = *registry.find("plant.pi");
  EXPECT_NEAR(server.app().live().current(std::span<const TagId>(&id, 1))[0].latest.value, 3.1415927, 1e-6);
  EXPECT_EQ(registry.info(id)->unit, "rad");

  auto* devices = server.app().connectors();
  ASSERT_NE(devices, nullptr);
  auto promise = std::make_shared<std::promise<SetpointResult>>();
  devices->write({.tag = "plant.sp", .value = 11, .who = "test"},
                 [promise](SetpointResult r) { promise->set_value(r); });
  EXPECT_EQ(promise->get_future().get().outcome, SetpointOutcome::out_of_range);
  promise = std::make_shared<std::promise<SetpointResult>>();
  auto future = promise->get_future();
  devices->write({.tag = "plant.sp", .value = 9, .who = "test"},
                 [promise](SetpointResult r) { promise->set_value(r); });
  ASSERT_EQ(future.wait_for(20s), std::future_status::ready);
  auto r = future.get();
  EXPECT_EQ(r.outcome, SetpointOutcome::accepted) << r.message;
  EXPECT_EQ(device.holding(8, 1), (std::vector<std::uint16_t>{9}));
  auto statuses = devices->status();
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_TRUE(statuses[0].connected);
  EXPECT_EQ(statuses[0].name, "plc");
}

}  // namespace
}  // namespace tagstream::test
