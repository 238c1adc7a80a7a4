// /api/ws against a real server on a loopback port, read by a Beast
// WebSocket client (ws_client.h) and, to compare, the raw SSE client.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "auth/api_keys.h"
#include "connect/connector_spec.h"
#include "integration/support.h"
#include "integration/ws_client.h"

namespace tagstream::test {
namespace {

namespace json = boost::json;

constexpr TimeNs kT0 = 1'764'000'000LL * kNanosPerSecond;
TimeNs at(int second) {
  return kT0 + second * kNanosPerSecond;
}

/// The values of a data message's points, in order.
std::vector<double> values_of(const json::object& message) {
  std::vector<double> out;
  for (const auto& p : message.at("data").at("points").as_array()) {
    const auto& point = p.as_object();
    out.push_back(point.contains("v") ? point.at("v").to_number<double>()
                                      : point.at("last").to_number<double>());
  }
  return out;
}

std::string text_of(const json::value& v) {
  return json::serialize(v);
}

ServerConfig ws_config() {
  ServerConfig config = test_config();
  config.data_check_interval = 0;  // each change goes out at once: events are one per push
  return config;
}

TEST(WebSocket, SubscribeGetsConnectedThenSnapshotThenLiveData) {
  TestServer server(ws_config());
  server.tag("boiler1.temperature", "degC");
  server.push("boiler1.temperature", 20, at(0));
  WsClient ws;
  ASSERT_TRUE(ws.connect(server.port())) << ws.status() << " " << ws.body();
  ws.send(subscribe_message("s1", {"boiler1.*"}, R"("interval":"raw")"));
  auto connected = ws.next_of("connected", "s1");
  ASSERT_TRUE(connected);
  const auto& hello = connected->at("data").as_object();
  EXPECT_EQ(hello.at("interval").as_string(), "raw");
  EXPECT_EQ(hello.at("resumed").as_bool(), false);
  ASSERT_EQ(hello.at("tags").as_array().size(), 1u);
  EXPECT_EQ(hello.at("tags").as_array()[0].at("name").as_string(), "boiler1.temperature");
  EXPECT_EQ(hello.at("tags").as_array()[0].at("unit").as_string(), "degC");

  auto snapshot = ws.next_of("data", "s1");
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(values_of(*snapshot), std::vector<double>{20});
  ASSERT_TRUE(snapshot->at("id").is_string());

  server.push("boiler1.temperature", 21.5, at(1));
  auto live = ws.next_of("data", "s1");
  ASSERT_TRUE(live);
  EXPECT_EQ(values_of(*live), std::vector<double>{21.5});
  EXPECT_GT(std::stoull(std::string(live->at("id").as_string())),
            std::stoull(std::string(snapshot->at("id").as_string())));

  ws.send(R"({"type":"ping"})");
  EXPECT_TRUE(ws.next_of("pong"));
}

TEST(WebSocket, SubscriptionsChangeWithoutReconnecting) {
  TestServer server(ws_config());
  server.push_many({{"a", 0}, {"b", 0}}, at(0));
  WsClient ws;
  ASSERT_TRUE(ws.connect(server.port()));
  ws.send(subscribe_message("A", {"a"}));
  ws.send(subscribe_message("B", {"b"}));
  ASSERT_TRUE(ws.next_of("connected", "A"));
  ASSERT_TRUE(ws.next_of("connected", "B"));

  // Both receive while both are open.
  std::set<std::string> seen;
  server.push_many({{"a", 1}, {"b", 1}}, at(1));
  while (seen.size() < 2) {
    auto m = ws.next_of("data");
    ASSERT_TRUE(m);
    if (values_of(*m) == std::vector<double>{1}) seen.insert(std::string(m->at("sub").as_string()));
  }

  ws.send(R"({"type":"unsubscribe","id":"A"})");
  ASSERT_TRUE(ws.next_of("unsubscribed", "A"));
  // From here on only B hears: A's events, had any been queued after the
  // acknowledgement, would come before B's for the later change.
  for (int v = 2; v <= 3; ++v) {
    server.push_many({{"a", double(v)}, {"b", double(v)}}, at(v));
    while (true) {
      auto m = ws.next_of("data");
      ASSERT_TRUE(m);
      ASSERT_EQ(m->at("sub").as_string(), "B") << "an event for a removed subscription: " << text_of(*m);
      if (values_of(*m) == std::vector<double>{double(v)}) break;
    }
  }
  // An id can be used again once free, with other tags.
  ws.send(subscribe_message("A", {"b"}, R"("interval":"minute")"));
  auto again = ws.next_of("connected", "A");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->at("data").at("interval").as_string(), "minute");

  ws.send(R"({"type":"unsubscribe","id":"nope"})");
  auto unknown = ws.next_of("error", "nope");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->at("data").at("code").as_string(), "unknown_subscription");
}

TEST(WebSocket, SendsTheSameEventsAsAnSseStream) {
  TestServer server(ws_config());
  server.tag("line1.speed", "rpm");
  server.tag("line1.torque", "Nm");
  server.push_many({{"line1.speed", 100}, {"line1.torque", 5}}, at(0));
  int second = 0;
  for (const std::string interval : {"raw", "second"}) {
    SCOPED_TRACE(interval);
    SseClient sse(server.port(), "/api/sse/stream?tags[]=line1.*&interval=" + interval);
    ASSERT_TRUE(sse.read_head());
    WsClient ws;
    ASSERT_TRUE(ws.connect(server.port()));
    ws.send(subscribe_message("x", {"line1.*"}, "\"interval\":\"" + interval + "\""));

    auto sse_hello = sse.next_of("connected");
    auto ws_hello = ws.next_of("connected", "x");
    ASSERT_TRUE(sse_hello && ws_hello);
    auto sse_hello_json = json::parse(sse_hello->data).as_object();
    auto ws_hello_json = ws_hello->at("data").as_object();
    for (auto* o : {&sse_hello_json, &ws_hello_json}) {
      o->erase("streamId");
      o->erase("serverTime");
    }
    EXPECT_EQ(text_of(sse_hello_json), text_of(ws_hello_json));

    // The snapshot, then one event per push: ids and payloads alike.
    for (int i = 0; i <= 5; ++i) {
      // New times each round: a sample at a time already held is not news.
      if (i > 0) server.push_many({{"line1.speed", 100.0 + i}, {"line1.torque", 5.0 + i}}, at(++second));
      auto from_sse = sse.next_of("data");
      auto from_ws = ws.next_of("data", "x");
      ASSERT_TRUE(from_sse && from_ws);
      EXPECT_EQ(from_ws->at("id").as_string(), from_sse->id);
      EXPECT_EQ(text_of(from_ws->at("data")), text_of(json::parse(from_sse->data)));
    }
  }
}

TEST(WebSocket, ResumeWithTheLastIdHasNoGapAndNoDuplicate) {
  TestServer server(ws_config());
  server.push("a", 0, at(0));
  std::string last_id;
  {
    WsClient ws;
    ASSERT_TRUE(ws.connect(server.port()));
    ws.send(subscribe_message("s", {"a"}));
    for (int i = 1; i <= 3; ++i) server.push("a", i, at(i));
    double last = -1;
    while (last < 3) {
      auto m = ws.next_of("data", "s");
      ASSERT_TRUE(m);
      last = values_of(*m).back();
      last_id = std::string(m->at("id").as_string());
    }
  }
  for (int i = 4; i <= 8; ++i) server.push("a", i, at(i));

  WsClient ws;
  ASSERT_TRUE(ws.connect(server.port()));
  ws.send(subscribe_message("s", {"a"}, "\"lastEventId\":\"" + last_id + "\""));
  auto hello = ws.next_of("connected", "s");
  ASSERT_TRUE(hello);
  EXPECT_TRUE(hello->at("data").at("resumed").as_bool());
  // What an SSE stream resuming from the same id gets.
  SseClient sse(server.port(), "/api/sse/stream?tags[]=a", {"Last-Event-ID: " + last_id});
  ASSERT_TRUE(sse.read_head());
  std::vector<double> values;
  while (values.size() < 5) {
    auto m = ws.next(5s);
    ASSERT_TRUE(m);
    ASSERT_EQ(m->at("event").as_string(), "data") << text_of(*m);
    auto from_sse = sse.next_of("data");
    ASSERT_TRUE(from_sse);
    EXPECT_EQ(m->at("id").as_string(), from_sse->id);
    EXPECT_EQ(text_of(m->at("data")), text_of(json::parse(from_sse->data)));
    for (double v : values_of(*m)) values.push_back(v);
  }
  EXPECT_EQ(values, (std::vector<double>{4, 5, 6, 7, 8}));

  // An id this store never held: history_lost, then a snapshot, as SSE says it.
  ws.send(subscribe_message("old", {"a"}, R"("lastEventId":5)"));
  ASSERT_TRUE(ws.next_of("connected", "old"));
  auto lost = ws.next(5s);
  ASSERT_TRUE(lost);
  EXPECT_EQ(lost->at("event").as_string(), "error");
  EXPECT_EQ(lost->at("sub").as_string(), "old");
  EXPECT_EQ(lost->at("data").at("code").as_string(), "history_lost");
  auto snapshot = ws.next_of("data", "old");
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(values_of(*snapshot), std::vector<double>{8});
}

TEST(WebSocket, BadMessagesGetClearErrors) {
  TestServer server(ws_config());
  server.tag("a");
  WsClient ws;
  ASSERT_TRUE(ws.connect(server.port()));
  struct Case {
    std::string message;
    std::string code;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"id":"s"})", "missing_type"},
           {R"({"type":"dance"})", "unknown_type"},
           {R"({"type":"subscribe","tags":["a"]})", "bad_id"},
           {R"({"type":"subscribe","id":"s","tags":["nope"]})", "unknown_tag"},
           {R"({"type":"subscribe","id":"s"})", "missing_tags"},
           {R"({"type":"subscribe","id":"s","tags":["bad tag!"]})", "bad_tag"},
           {R"({"type":"subscribe","id":"s","tags":["a"],"interval":"fortnight"})", "unknown_interval"},
           {R"({"type":"subscribe","id":"s","tags":["a"],"lastEventId":"x1"})", "bad_last_event_id"},
           {R"({"type":"subscribe","id":"s","tags":"a"})", "bad_field"},
           {R"({"type":"write","tag":"a","value":1})", "bad_request_id"},
       }) {
    SCOPED_TRACE(c.message);
    ws.send(c.message);
    auto e = ws.next_of("error");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->at("data").at("code").as_string(), c.code) << text_of(*e);
  }
  // Still open after all of that.
  ws.send(R"({"type":"ping"})");
  EXPECT_TRUE(ws.next_of("pong"));

  ws.send(subscribe_message("dup", {"a"}));
  ASSERT_TRUE(ws.next_of("connected", "dup"));
  ws.send(subscribe_message("dup", {"a"}));
  auto dup = ws.next_of("error", "dup");
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->at("data").at("code").as_string(), "duplicate_subscription");

  // Not JSON: an error, then the close (1008).
  ws.send("{\"type\":");
  auto garbage = ws.next_of("error");
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->at("data").at("code").as_string(), "bad_message");
  EXPECT_TRUE(ws.wait_closed());
  EXPECT_EQ(ws.close_code(), 1008);
}

TEST(WebSocket, OversizedAndBinaryMessagesCloseTheConnection) {
  TestServer server(ws_config());
  {
    WsClient ws;
    ASSERT_TRUE(ws.connect(server.port()));
    ws.send(R"({"type":"ping","pad":")" + std::string(70 * 1024, 'x') + "\"}");
    EXPECT_TRUE(ws.wait_closed());
    EXPECT_EQ(ws.close_code(), 1009);
  }
  {
    WsClient ws;
    ASSERT_TRUE(ws.connect(server.port()));
    ws.send_binary(std::string("\x01\x02\x03", 3));
    auto e = ws.next_of("error");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->at("data").at("code").as_string(), "bad_message");
    EXPECT_TRUE(ws.wait_closed());
    EXPECT_EQ(ws.close_code(), 1003);
  }
  EXPECT_TRUE(eventually([&] { return server.app().stats().streams_closed.load() == 2; }));
}

TEST(WebSocket, SubscriptionsAndTagsAreBoundedPerConnection) {
  auto config = ws_config();
  config.max_tags_per_query = 3;
  TestServer server(config);
  server.push_many({{"t.a", 1}, {"t.b", 1}, {"u.a", 1}, {"u.b", 1}}, at(0));
  WsClient ws;
  ASSERT_TRUE(ws.connect(server.port()));
  ws.send(subscribe_message("one", {"t.*"}));
  ASSERT_TRUE(ws.next_of("connected", "one"));
  ws.send(subscribe_message("two", {"u.*"}));  // 2 + 2 > 3
  auto refused = ws.next_of("error", "two");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->at("data").at("code").as_string(), "too_many_tags");

  ws.send(subscribe_message("three", {"u.a"}));  // 2 + 1: within
  ASSERT_TRUE(ws.next_of("connected", "three"));
  ws.send(R"({"type":"unsubscribe","id":"one"})");
  ASSERT_TRUE(ws.next_of("unsubscribed", "one"));
  ws.send(subscribe_message("two", {"u.*"}));  // 1 + 2 once "one" let go of its tags
  ASSERT_TRUE(ws.next_of("connected", "two"));

  // 16 subscriptions of one tag each at most, whatever the tag budget.
  config.max_tags_per_query = 1000;
  TestServer roomy(config);
  roomy.push("a", 1, at(0));
  WsClient many;
  ASSERT_TRUE(many.connect(roomy.port()));
  for (int i = 0; i < 17; ++i) many.send(subscribe_message("s" + std::to_string(i), {"a"}));
  auto over = many.next_of("error", "s16");
  ASSERT_TRUE(over);
  EXPECT_EQ(over->at("data").at("code").as_string(), "too_many_subscriptions");
}

TEST(WebSocket, CountsAgainstTheStreamLimitsWithSse) {
  auto config = ws_config();
  config.max_streams_per_client = 2;
  TestServer server(config);
  server.tag("a");
  SseClient sse(server.port(), "/api/sse/stream?tags[]=a");
  ASSERT_TRUE(sse.read_head());
  ASSERT_EQ(sse.status(), 200);
  WsClient first;
  ASSERT_TRUE(first.connect(server.port()));
  WsClient second;
  EXPECT_FALSE(second.connect(server.port()));
  EXPECT_EQ(second.status(), 429);
  EXPECT_NE(second.body().find("too_many_streams_for_client"), std::string::npos) << second.body();
  first.close();
  EXPECT_TRUE(eventually([&] {
    WsClient third;
    return third.connect(server.port());
  }));
}

TEST(WebSocket, PlainGetIsAskedToUpgrade) {
  TestServer server;
  HttpReply r = http_get(server.port(), "/api/ws");
  EXPECT_EQ(r.status, 426);
  EXPECT_NE(r.body.find("websocket_upgrade_required"), std::string::npos) << r.body;
}

TEST(WebSocket, PermessageDeflateWhenTheClientOffersIt) {
  TestServer server(ws_config());
  server.push("a", 1, at(0));
  {
    WsClient plain;
    ASSERT_TRUE(plain.connect(server.port()));
    EXPECT_EQ(plain.header("sec-websocket-extensions"), "");
  }
  WsClient ws;
  WsClient::Options options;
  options.deflate = true;
  ASSERT_TRUE(ws.connect(server.port(), "/api/ws", options));
  EXPECT_NE(ws.header("sec-websocket-extensions").find("permessage-deflate"), std::string::npos);
  ws.send(subscribe_message("s", {"a"}));
  ASSERT_TRUE(ws.next_of("connected", "s"));
  for (int i = 2; i <= 4; ++i) server.push("a", i, at(i));
  double last = 0;
  while (last < 4) {
    auto m = ws.next_of("data", "s");
    ASSERT_TRUE(m);
    last = values_of(*m).back();
  }
}

TEST(WebSocket, GracefulShutdownSendsAnEventAndACloseFrame) {
  TestServer server(ws_config());
  server.tag("a");
  WsClient ws;
  ASSERT_TRUE(ws.connect(server.port()));
  ws.send(subscribe_message("s", {"a"}));
  ASSERT_TRUE(ws.next_of("connected", "s"));
  // The client reads while the server stops: the close handshake completes
  // within the grace period instead of being cut by it.
  std::thread stopper([&] { server.stop(); });
  auto e = ws.next_of("error");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->at("data").at("code").as_string(), "server_shutdown");
  EXPECT_TRUE(ws.wait_closed());
  EXPECT_EQ(ws.close_code(), 1001);
  stopper.join();
}

TEST(WebSocket, NeverReadingClientIsBoundedAndDropped) {
  auto config = ws_config();
  config.client_buffer_bytes = 16 * 1024;
  config.slow_client_timeout = 2;
  TestServer server(config);
  std::vector<std::pair<std::string, double>> batch;
  for (int t = 0; t < 20; ++t) batch.emplace_back("plant.signal_with_a_long_name_" + std::to_string(t), 0);
  server.push_many(batch, at(0));
  WsClient::Options tiny;
  tiny.receive_buffer = 4096;
  WsClient slow;
  ASSERT_TRUE(slow.connect(server.port(), "/api/ws", tiny));
  slow.send(subscribe_message("s", {"plant.*"}));
  ASSERT_TRUE(eventually([&] { return server.app().stats().events_sent() >= 2; }));
  std::int64_t peak = 0;
  // Changes until the socket's buffers are full and a write stalls; the
  // pushes wait for the hub now and then, so the stall is the client's and
  // not a shard kept busy by the flood.
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  for (int b = 1;
       !server.app().stats().slow_streams_dropped.load() && std::chrono::steady_clock::now() < give_up; ++b) {
    for (auto& [name, value] : batch) value = b;
    server.push_many(batch, at(0) + b * kNanosPerMilli);
    if (b % 64 == 0) server.wait_for_hub();
    peak = std::max(peak, server.app().stats().queued_bytes());
  }
  EXPECT_EQ(server.app().stats().slow_streams_dropped.load(), 1u) << server.app().stats().events_sent();
  // The queue's bound, plus the one message an empty queue always takes.
  EXPECT_LE(peak, static_cast<std::int64_t>(config.client_buffer_bytes + 4096));
  EXPECT_TRUE(eventually([&] { return server.app().stats().streams_closed.load() == 1; }));
}

/// A device the test plays: `plant.valve` is writable between 0 and 100 and
/// reads back what was written; a write of 13 is refused by the device.
class ValveConnector final : public Connector {
 public:
  const std::string& name() const override { return name_; }
  ~ValveConnector() override { stop(); }
  void start() override {}
  void stop() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }
  ConnectorStatus status() const override {
    ConnectorStatus s;
    s.name = name_;
    s.kind = "test";
    s.connected = true;
    s.state = "connected";
    return s;
  }
  std::optional<WritableTag> writable(std::string_view tag) const override {
    if (tag != "plant.valve") return std::nullopt;
    return WritableTag{name_, SetpointLimits{0.0, 100.0}, false};
  }
  void write(SetpointWrite request, FieldDevices::WriteDone done) override {
    // Answered from another thread, as a device's connector would.
    std::lock_guard lock(mutex_);
    threads_.emplace_back([request, done = std::move(done)] {
      if (request.value == 13)
        done({SetpointOutcome::refused, "the device refused the value", std::nullopt});
      else
        done({SetpointOutcome::accepted, "written", request.value});
    });
  }

 private:
  std::string name_ = "valves";
  std::mutex mutex_;
  std::vector<std::thread> threads_;  // joined by stop(): none outlives the server
};

ServerConfig with_valve(ServerConfig config) {
  config.connectors.connectors.push_back(ConnectorSpec{
      "test", "valves", [](const ConnectorContext&) { return std::make_unique<ValveConnector>(); }});
  return config;
}

TEST(WebSocket, WritesGoToTheDeviceAndAreAnsweredLikeThePostEndpoint) {
  TestServer server(with_valve(ws_config()));
  server.push("plant.valve", 20, now_ns());
  server.push("plant.level", 3, now_ns());
  WsClient ws;
  ASSERT_TRUE(ws.connect(server.port()));
  auto write = [&](const std::string& id, const std::string& tag, const std::string& value) {
    ws.send(R"({"type":"write","requestId":")" + id + R"(","tag":")" + tag + R"(","value":)" + value + "}");
    std::optional<json::object> result;
    while (true) {
      result = ws.next_of("write_result");
      if (!result || result->at("requestId") == id.c_str()) break;
    }
    return result;
  };
  auto ok = write("r1", "plant.valve", "42.5");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->at("status").as_int64(), 200) << text_of(*ok);
  EXPECT_EQ(ok->at("data").at("outcome").as_string(), "accepted") << text_of(*ok);
  // The same body as POST /api/tags/{name}/value answers.
  HttpReply post = http_post(server.port(), "/api/tags/plant.valve/value", R"({"value":42.5})");
  EXPECT_EQ(post.status, 200);
  auto posted = json::parse(post.body).as_object();
  auto sent = ok->at("data").as_object();
  for (auto* o : {&posted, &sent}) o->erase("previous");  // the first write changed it
  EXPECT_EQ(text_of(sent), text_of(posted));

  auto refused = write("r2", "plant.valve", "13");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->at("data").at("outcome").as_string(), "refused") << text_of(*refused);
  EXPECT_GE(refused->at("status").as_int64(), 400);
  auto out_of_range = write("r3", "plant.valve", "150");
  ASSERT_TRUE(out_of_range);
  EXPECT_EQ(out_of_range->at("data").at("outcome").as_string(), "out_of_range") << text_of(*out_of_range);
  auto not_writable = write("r4", "plant.level", "1");
  ASSERT_TRUE(not_writable);
  EXPECT_EQ(not_writable->at("status").as_int64(), 409);
  auto unknown = write("r5", "plant.nothing", "1");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->at("status").as_int64(), 404);
}

/// Authentication on: a token file with a reader of area1 only.
class WsAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir();
    token_file_ = dir_ + "/tokens.toml";
    Principal area1;
    area1.id = "area1-reader";
    area1.tags[Principal::index(Scope::read)] = {"area1.*"};
    key_ = generate_api_key();
    std::ofstream(token_file_) << api_key_entry(area1, hash_api_key(key_));
    Principal operator_;
    operator_.id = "operator";
    operator_.tags[Principal::index(Scope::read)] = {"*"};
    operator_.tags[Principal::index(Scope::write)] = {"plant.*"};
    operator_key_ = generate_api_key();
    std::ofstream(token_file_, std::ios::app) << api_key_entry(operator_, hash_api_key(operator_key_));
    ServerConfig c = with_valve(ws_config());
    c.audit_log = dir_ + "/audit.log";
    c.token_file = token_file_;
    c.cors_origins = {"https://hmi.example"};
    server_ = std::make_unique<TestServer>(std::move(c));
    server_->push("area1.level", 1.5, now_ns());
    server_->push("area2.level", 2.5, now_ns());
    server_->push("plant.valve", 20, now_ns());
  }
  unsigned short port() const { return server_->port(); }

  std::string dir_, token_file_, key_, operator_key_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(WsAuthTest, UpgradeNeedsAReadCredential) {
  WsClient none;
  EXPECT_FALSE(none.connect(port()));
  EXPECT_EQ(none.status(), 401);
  WsClient wrong;
  WsClient::Options bad_key;
  bad_key.headers = {"Authorization: Bearer tsk_not-a-key"};
  EXPECT_FALSE(wrong.connect(port(), "/api/ws", bad_key));
  EXPECT_EQ(wrong.status(), 401);

  WsClient by_query;
  ASSERT_TRUE(by_query.connect(port(), "/api/ws?access_token=" + key_));
  WsClient ws;
  WsClient::Options bearer;
  bearer.headers = {"Authorization: Bearer " + key_};
  ASSERT_TRUE(ws.connect(port(), "/api/ws", bearer));
  // The token's tags bound what a subscription may read.
  ws.send(subscribe_message("2", {"area2.level"}));
  auto refused = ws.next_of("error", "2");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->at("data").at("code").as_string(), "forbidden");
  ws.send(subscribe_message("all", {"area*"}));
  auto hello = ws.next_of("connected", "all");
  ASSERT_TRUE(hello);
  ASSERT_EQ(hello->at("data").at("tags").as_array().size(), 1u);
  EXPECT_EQ(hello->at("data").at("tags").as_array()[0].at("name").as_string(), "area1.level");
}

TEST_F(WsAuthTest, ACrossSitePageCannotUseTheSessionCookie) {
  const std::string cookie = "Cookie: tagstream_session=" + key_;
  WsClient evil;
  WsClient::Options from_evil;
  from_evil.headers = {cookie, "Origin: https://evil.example"};
  EXPECT_FALSE(evil.connect(port(), "/api/ws", from_evil));
  EXPECT_EQ(evil.status(), 403);
  EXPECT_NE(evil.body().find("cross_origin"), std::string::npos) << evil.body();

  for (const std::string& origin :
       {"http://127.0.0.1:" + std::to_string(port()), std::string("https://hmi.example")}) {
    SCOPED_TRACE(origin);
    WsClient ok;
    WsClient::Options options;
    options.headers = {cookie, "Origin: " + origin};
    EXPECT_TRUE(ok.connect(port(), "/api/ws", options)) << ok.status() << " " << ok.body();
  }
  EXPECT_EQ(server_->app().stats().requests_cross_origin.load(), 1u);
}

TEST_F(WsAuthTest, WritesNeedTheWriteScopeOnTheTagAndAreAudited) {
  for (const auto& [key, status] : {std::pair{key_, 403}, std::pair{operator_key_, 200}}) {
    WsClient ws;
    WsClient::Options bearer;
    bearer.headers = {"Authorization: Bearer " + key};
    ASSERT_TRUE(ws.connect(port(), "/api/ws", bearer));
    ws.send(R"({"type":"write","requestId":"w","tag":"plant.valve","value":55})");
    auto result = ws.next_of("write_result");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->at("status").as_int64(), status) << text_of(*result);
  }
  EXPECT_TRUE(eventually([&] {
    std::ifstream in(dir_ + "/audit.log");
    std::string audit((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return audit.find("\"operator\"") != std::string::npos && audit.find("plant.valve") != std::string::npos;
  }));
}

TEST_F(WsAuthTest, RevokingTheKeyClosesTheConnection) {
  WsClient ws;
  WsClient::Options bearer;
  bearer.headers = {"Authorization: Bearer " + key_};
  ASSERT_TRUE(ws.connect(port(), "/api/ws", bearer));
  ws.send(subscribe_message("s", {"area1.level"}));
  ASSERT_TRUE(ws.next_of("connected", "s"));
  { std::ofstream(token_file_, std::ios::trunc) << ""; }
  auto e = ws.next_of("error", "", 20s);
  ASSERT_TRUE(e) << "the connection must be told, not left open";
  EXPECT_EQ(e->at("data").at("code").as_string(), "token_expired");
  EXPECT_TRUE(ws.wait_closed(10s));
  EXPECT_EQ(ws.close_code(), 1008);
}

}  // namespace
}  // namespace tagstream::test
