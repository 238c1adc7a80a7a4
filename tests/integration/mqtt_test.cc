// The MQTT connector against a real mosquitto broker started by each test:
// plain and JSON topics into the live state and SSE, a Sparkplug B edge node
// played by the test (births, aliases, historical metrics, sequence gaps
// answered by rebirth requests, deaths), no sample lost across a broker
// restart at QoS 1 with a persistent session, and operator writes out as
// command publishes and Sparkplug DCMDs.
#include <gtest/gtest.h>
#include <mosquitto.h>

#include <boost/json.hpp>
#include <future>
#include <set>

#include "connect/connector_set.h"
#include "connect/connectors_config.h"
#include "connect/sparkplug_codec.h"
#include "mosquitto_broker.h"
#include "support.h"

namespace tagstream::test {
namespace {

namespace sp = sparkplug;

ServerConfig config_with(const std::string& toml_text) {
  auto c = test_config();
  auto parsed = parse_connectors_config(toml::parse(toml_text), "test.toml");
  EXPECT_TRUE(parsed) << parsed.error;
  if (parsed) c.connectors = std::move(*parsed);
  return c;
}

std::string broker_table(const MosquittoBroker& broker, const std::string& extra = "",
                         const std::string& backoff = "reconnect_min = 0.05\nreconnect_max = 0.2\n") {
  return "[[mqtt]]\nname = \"plant\"\nport = " + std::to_string(broker.port()) + "\n" + backoff + extra;
}

ConnectorStatus status_of(TestServer& s) {
  return s.app().connectors()->status().at(0);
}

bool connected(TestServer& s) {
  return eventually([&] { return status_of(s).connected; });
}

std::optional<Sample> live(TestServer& s, const std::string& tag) {
  auto id = s.app().registry().find(tag);
  if (!id) return std::nullopt;
  auto current = s.app().live().current(std::span(&*id, 1));
  if (current.empty() || !current[0].present) return std::nullopt;
  return current[0].latest;
}

bool live_is(TestServer& s, const std::string& tag, double value, Quality q = Quality::good) {
  return eventually([&] {
    auto v = live(s, tag);
    return v && v->value == value && v->quality == q;
  });
}

SetpointResult write(TestServer& s, const std::string& tag, double value) {
  auto promise = std::make_shared<std::promise<SetpointResult>>();
  auto future = promise->get_future();
  s.app().connectors()->write(SetpointWrite{tag, value, "test"},
                              [promise](SetpointResult r) { promise->set_value(std::move(r)); });
  if (future.wait_for(std::chrono::seconds(20)) != std::future_status::ready)
    return SetpointResult{SetpointOutcome::timeout, "the test gave up", std::nullopt};
  return future.get();
}

sp::Metric metric(std::string name, std::optional<std::uint64_t> alias, std::uint32_t type,
                  std::optional<double> value) {
  sp::Metric m;
  m.name = std::move(name);
  m.alias = alias;
  m.datatype = type;
  m.value = value;
  return m;
}

std::string payload(std::optional<std::uint64_t> seq, std::vector<sp::Metric> metrics) {
  sp::Payload p;
  p.timestamp = static_cast<std::uint64_t>(now_ns() / kNanosPerMilli);
  p.seq = seq;
  p.metrics = std::move(metrics);
  return sp::encode(p);
}

sp::Payload decoded(const std::string& bytes) {
  auto p = sp::decode(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), {});
  EXPECT_TRUE(p) << p.error;
  return p ? *p : sp::Payload{};
}

TEST(Mqtt, PlainAndJsonTopicsReachTheLiveStateAndTheStream) {
  MosquittoBroker broker;
  TestServer server(config_with(broker_table(broker, "max_payload = 1024\n") + R"(
[[mqtt.subscription]]
topic = "plant/+/temperature"
tag = "{1}.temperature"
unit = "degC"
[[mqtt.subscription]]
topic = "json/+/level"
tag = "{1}.level"
format = "json"
value_field = "v"
ts_field = "time"
ts_unit = "ms"
)"));
  ASSERT_TRUE(connected(server));
  MqttClient device(broker.port());
  ASSERT_TRUE(device.publish("plant/boiler1/temperature", "21.5"));
  ASSERT_TRUE(live_is(server, "boiler1.temperature", 21.5));
  EXPECT_EQ(server.app().registry().info(*server.app().registry().find("boiler1.temperature"))->unit, "degC");

  SseClient sse(server.port(), "/api/sse/stream?tags[]=boiler1.temperature&interval=raw");
  ASSERT_TRUE(sse.read_head());
  ASSERT_TRUE(sse.next_of("connected"));
  ASSERT_TRUE(device.publish("plant/boiler1/temperature", "22.5"));
  bool seen = false;
  while (!seen) {
    auto e = sse.next_of("data");
    ASSERT_TRUE(e) << "no data event with 22.5";
    for (const auto& p : points_of(*e)) seen = seen || (p.tag == "boiler1.temperature" && p.value == 22.5);
  }

  const TimeNs ts = (now_ns() / kNanosPerMilli - 5000) * kNanosPerMilli;
  ASSERT_TRUE(device.publish(
      "json/tank1/level",
      R"({"v": 3.25, "time": )" + std::to_string(ts / kNanosPerMilli) + R"(, "quality": "uncertain"})"));
  ASSERT_TRUE(live_is(server, "tank1.level", 3.25, Quality::uncertain));
  EXPECT_EQ(live(server, "tank1.level")->ts, ts);

  // Hostile or broken payloads: counted, logged, never a crash, and the
  // next good message still flows.
  const auto errors = status_of(server).errors;
  ASSERT_TRUE(device.publish("plant/boiler2/temperature", std::string(100 * 1024, '9')));
  ASSERT_TRUE(device.publish("plant/boiler2/temperature", "hot"));
  ASSERT_TRUE(device.publish("json/tank1/level", R"({"value": 1})"));
  ASSERT_TRUE(device.publish("plant/boiler1/temperature", "23.5"));
  ASSERT_TRUE(live_is(server, "boiler1.temperature", 23.5));
  const auto st = status_of(server);
  EXPECT_EQ(st.errors, errors + 3);
  EXPECT_NE(st.last_error.find("no \"v\" field"), std::string::npos) << st.last_error;
  EXPECT_FALSE(server.app().registry().find("boiler2.temperature"));
  EXPECT_EQ(st.state, "connected");
  EXPECT_EQ(st.endpoint, "127.0.0.1:" + std::to_string(broker.port()));
  EXPECT_GT(st.last_message, 0);
  EXPECT_GE(st.messages, 7u);
  // Counted once ingest returned, just after the value went live.
  EXPECT_TRUE(eventually([&] { return status_of(server).samples == 4; })) << status_of(server).samples;
}

TEST(Mqtt, SparkplugEdgeNodeBirthDataHistoryGapRebirthAndDeath) {
  MosquittoBroker broker;
  TestServer server(config_with(broker_table(broker) + R"(
[[mqtt.subscription]]
format = "sparkplug"
topic = "spBv1.0/G/#"
writable = ["G.E.D.*"]
min = 0
max = 100
)"));
  ASSERT_TRUE(connected(server));
  MqttClient host_watch(broker.port());
  ASSERT_TRUE(host_watch.subscribe("spBv1.0/G/NCMD/#"));
  ASSERT_TRUE(host_watch.subscribe("spBv1.0/G/DCMD/#"));
  MqttClient edge(broker.port());

  // Data from a node this host never saw born: ask it for a birth.
  ASSERT_TRUE(edge.publish("spBv1.0/G/NDATA/E2", payload(5, {metric("", 1, sp::kDouble, 1)})));
  auto rebirth = host_watch.wait_message("spBv1.0/G/NCMD/E2");
  ASSERT_TRUE(rebirth);
  auto request = decoded(*rebirth);
  ASSERT_EQ(request.metrics.size(), 1u);
  EXPECT_EQ(request.metrics[0].name, "Node Control/Rebirth");
  EXPECT_EQ(request.metrics[0].value, 1);

  auto temperature = metric("Temperature", 1, sp::kDouble, 20.5);
  temperature.unit = "degC";
  ASSERT_TRUE(
      edge.publish("spBv1.0/G/NBIRTH/E", payload(0, {metric("bdSeq", std::nullopt, sp::kInt64, 0),
                                                     temperature, metric("Counter", 2, sp::kInt32, -5)})));
  ASSERT_TRUE(edge.publish("spBv1.0/G/DBIRTH/E/D", payload(1, {metric("Setpoint", 10, sp::kFloat, 50)})));
  ASSERT_TRUE(live_is(server, "G.E.Temperature", 20.5));
  ASSERT_TRUE(live_is(server, "G.E.Counter", -5));
  ASSERT_TRUE(live_is(server, "G.E.D.Setpoint", 50));
  EXPECT_EQ(server.app().registry().info(*server.app().registry().find("G.E.Temperature"))->unit, "degC");

  // Data by alias.
  ASSERT_TRUE(edge.publish("spBv1.0/G/NDATA/E", payload(2, {metric("", 1, sp::kUnknown, 21.5)})));
  ASSERT_TRUE(live_is(server, "G.E.Temperature", 21.5));

  // A historical metric goes to history, not to the live value.
  const std::uint64_t past_ms = static_cast<std::uint64_t>(now_ns() / kNanosPerMilli) - 60'000;
  auto historical = metric("", 1, sp::kUnknown, 99);
  historical.is_historical = true;
  historical.timestamp = past_ms;
  ASSERT_TRUE(edge.publish("spBv1.0/G/NDATA/E", payload(3, {historical})));
  ASSERT_TRUE(edge.publish("spBv1.0/G/NDATA/E", payload(4, {metric("", 2, sp::kUnknown, 6)})));
  ASSERT_TRUE(live_is(server, "G.E.Counter", 6));
  EXPECT_EQ(live(server, "G.E.Temperature")->value, 21.5);
  EXPECT_TRUE(eventually([&] {
    for (const auto& [t, v] : raw_history(server.port(), "G.E.Temperature"))
      if (v == 99 && t == static_cast<std::int64_t>(past_ms)) return true;
    return false;
  }));

  // An operator write to a device metric goes out as a DCMD.
  const auto result = write(server, "G.E.D.Setpoint", 42);
  EXPECT_EQ(result.outcome, SetpointOutcome::accepted) << result.message;
  auto dcmd = host_watch.wait_message("spBv1.0/G/DCMD/E/D");
  ASSERT_TRUE(dcmd);
  auto command = decoded(*dcmd);
  ASSERT_EQ(command.metrics.size(), 1u);
  EXPECT_EQ(command.metrics[0].name, "Setpoint");
  EXPECT_EQ(command.metrics[0].datatype, sp::kFloat);
  EXPECT_EQ(command.metrics[0].value, 42);
  EXPECT_EQ(write(server, "G.E.D.Setpoint", 420).outcome, SetpointOutcome::out_of_range);

  // A sequence gap (5 is missing): the data is dropped and a rebirth asked.
  ASSERT_TRUE(edge.publish("spBv1.0/G/NDATA/E", payload(6, {metric("", 1, sp::kUnknown, 55)})));
  auto gap = host_watch.wait_message("spBv1.0/G/NCMD/E");
  ASSERT_TRUE(gap);
  EXPECT_EQ(decoded(*gap).metrics.at(0).name, "Node Control/Rebirth");
  ASSERT_TRUE(edge.publish("spBv1.0/G/NDATA/E", payload(7, {metric("", 2, sp::kUnknown, 77)})));
  // The rebirth: data flows again.
  ASSERT_TRUE(edge.publish("spBv1.0/G/NBIRTH/E", payload(0, {metric("bdSeq", std::nullopt, sp::kInt64, 1),
                                                             metric("Temperature", 1, sp::kDouble, 30),
                                                             metric("Counter", 2, sp::kInt32, 7)})));
  ASSERT_TRUE(edge.publish("spBv1.0/G/DBIRTH/E/D", payload(1, {metric("Setpoint", 10, sp::kFloat, 42)})));
  ASSERT_TRUE(live_is(server, "G.E.Temperature", 30));
  ASSERT_TRUE(live_is(server, "G.E.D.Setpoint", 42));
  EXPECT_EQ(live(server, "G.E.Temperature")->value, 30);
  for (const auto& [t, v] : raw_history(server.port(), "G.E.Temperature")) EXPECT_NE(v, 55);
  for (const auto& [t, v] : raw_history(server.port(), "G.E.Counter")) EXPECT_NE(v, 77);

  // The death of the previous session (its will, bdSeq 0) changes nothing;
  // this session's death turns every tag of the node and its devices bad.
  ASSERT_TRUE(edge.publish("spBv1.0/G/NDEATH/E",
                           payload(std::nullopt, {metric("bdSeq", std::nullopt, sp::kInt64, 0)})));
  ASSERT_TRUE(edge.publish("spBv1.0/G/NDEATH/E",
                           payload(std::nullopt, {metric("bdSeq", std::nullopt, sp::kInt64, 1)})));
  EXPECT_TRUE(live_is(server, "G.E.Temperature", 30, Quality::bad));
  EXPECT_TRUE(live_is(server, "G.E.Counter", 7, Quality::bad));
  EXPECT_TRUE(live_is(server, "G.E.D.Setpoint", 42, Quality::bad));
}

TEST(Mqtt, BrokerWillIsTheNodeDeath) {
  MosquittoBroker broker;
  TestServer server(config_with(broker_table(broker) + "[[mqtt.subscription]]\nformat = \"sparkplug\"\n"));
  ASSERT_TRUE(connected(server));
  {
    // An edge node whose will is its NDEATH; it goes away without a
    // DISCONNECT (its socket is shut), so the broker publishes the will.
    mosquitto* edge = mosquitto_new("edge-will", true, nullptr);
    const std::string will = payload(std::nullopt, {metric("bdSeq", std::nullopt, sp::kInt64, 4)});
    ASSERT_EQ(
        mosquitto_will_set(edge, "spBv1.0/W/NDEATH/E", static_cast<int>(will.size()), will.data(), 1, false),
        MOSQ_ERR_SUCCESS);
    ASSERT_EQ(mosquitto_connect(edge, "127.0.0.1", broker.port(), 30), MOSQ_ERR_SUCCESS);
    const std::string birth =
        payload(0, {metric("bdSeq", std::nullopt, sp::kInt64, 4), metric("Level", 1, sp::kDouble, 12)});
    int mid = 0;
    ASSERT_EQ(mosquitto_publish(edge, &mid, "spBv1.0/W/NBIRTH/E", static_cast<int>(birth.size()),
                                birth.data(), 1, false),
              MOSQ_ERR_SUCCESS);
    for (int i = 0; i < 100 && !live(server, "W.E.Level"); ++i) mosquitto_loop(edge, 50, 1);
    ASSERT_TRUE(live_is(server, "W.E.Level", 12));
    ::shutdown(mosquitto_socket(edge), SHUT_RDWR);
    mosquitto_destroy(edge);
  }
  EXPECT_TRUE(live_is(server, "W.E.Level", 12, Quality::bad));
}

TEST(Mqtt, PersistentSessionLosesNoSampleAcrossABrokerRestart) {
  MosquittoBroker broker;
  // A backoff of 1 s: the broker is back and the second half published
  // while the connector is still away, so only the session the broker kept
  // (and restored from its persistence file) can deliver it.
  TestServer server(
      config_with(broker_table(broker, "client_id = \"tagstream-test\"\nclean_session = false\nqos = 1\n",
                               "reconnect_min = 1\nreconnect_max = 1\n") +
                  "[[mqtt.subscription]]\ntopic = \"line/+\"\ntag = \"line.{1}\"\nformat = \"json\"\n"));
  ASSERT_TRUE(connected(server));
  constexpr int kPerPhase = 100;
  const TimeNs base = (now_ns() / kNanosPerMilli - 10'000) * kNanosPerMilli;
  auto message = [&](int i) {
    return R"({"value": )" + std::to_string(i) + R"(, "ts": )" + std::to_string(base / kNanosPerMilli + i) +
           "}";
  };
  {
    MqttClient publisher(broker.port());
    for (int i = 0; i < kPerPhase; ++i) ASSERT_TRUE(publisher.publish("line/count", message(i), 1));
  }
  broker.stop();
  EXPECT_TRUE(eventually([&] { return !status_of(server).connected; }));
  broker.start();
  {
    // Published while the connector may still be away: the broker queues
    // them for its session, kept across the restart.
    MqttClient publisher(broker.port());
    ASSERT_TRUE(publisher.connected());
    for (int i = kPerPhase; i < 2 * kPerPhase; ++i)
      ASSERT_TRUE(publisher.publish("line/count", message(i), 1));
  }
  ASSERT_TRUE(live_is(server, "line.count", 2 * kPerPhase - 1));
  std::set<double> values;
  EXPECT_TRUE(eventually([&] {
    values.clear();
    for (const auto& [t, v] : raw_history(server.port(), "line.count")) {
      EXPECT_EQ(t, base / kNanosPerMilli + static_cast<std::int64_t>(v));
      values.insert(v);
    }
    return values.size() == 2 * kPerPhase;
  }));
  EXPECT_EQ(values.size(), 2u * kPerPhase);
  EXPECT_GE(status_of(server).reconnects, 1u);
}

TEST(Mqtt, WritesPublishToTheCommandTopicAndAreUnavailableWithoutTheBroker) {
  MosquittoBroker broker;
  TestServer server(config_with(broker_table(broker) + R"(
[[mqtt.command]]
tag = "boiler1.setpoint"
topic = "plant/boiler1/setpoint/set"
min = 0
max = 120
[[mqtt.command]]
tag = "pump1.run"
topic = "plant/pump1/run/set"
format = "json"
boolean = true
)"));
  ASSERT_TRUE(connected(server));
  MqttClient device(broker.port());
  ASSERT_TRUE(device.subscribe("plant/+/+/set"));
  auto result = write(server, "boiler1.setpoint", 42.5);
  EXPECT_EQ(result.outcome, SetpointOutcome::accepted) << result.message;
  EXPECT_EQ(device.wait_message("plant/boiler1/setpoint/set"), "42.5");
  result = write(server, "pump1.run", 1);
  EXPECT_EQ(result.outcome, SetpointOutcome::accepted) << result.message;
  auto json = device.wait_message("plant/pump1/run/set");
  ASSERT_TRUE(json);
  EXPECT_EQ(boost::json::parse(*json).at("value"), true);
  EXPECT_EQ(write(server, "boiler1.setpoint", 130).outcome, SetpointOutcome::out_of_range);
  EXPECT_EQ(write(server, "pump1.run", 0.5).outcome, SetpointOutcome::out_of_range);
  EXPECT_EQ(write(server, "boiler9.setpoint", 1).outcome, SetpointOutcome::not_writable);

  broker.stop();
  ASSERT_TRUE(eventually([&] { return !status_of(server).connected; }));
  result = write(server, "boiler1.setpoint", 40);
  EXPECT_EQ(result.outcome, SetpointOutcome::unavailable) << result.message;
  const auto st = status_of(server);
  EXPECT_TRUE(st.state == "backoff" || st.state == "connecting") << st.state;
  EXPECT_FALSE(st.last_error.empty());
}

}  // namespace
}  // namespace tagstream::test

namespace tagstream::test {
namespace {

TEST(Mqtt, WriteTimesOutWhenTheBrokerNeverAcknowledges) {
  MosquittoBroker broker;
  TestServer server(
      config_with(broker_table(broker, "command_timeout = 0.3\n") +
                  "[[mqtt.command]]\ntag = \"valve1.position\"\ntopic = \"plant/valve1/set\"\n"));
  ASSERT_TRUE(connected(server));
  // A stopped broker keeps the connection open and answers nothing.
  broker.pause();
  const auto result = write(server, "valve1.position", 12);
  broker.resume();
  EXPECT_EQ(result.outcome, SetpointOutcome::timeout) << result.message;
  EXPECT_NE(result.message.find("did not acknowledge"), std::string::npos) << result.message;
}

}  // namespace
}  // namespace tagstream::test
