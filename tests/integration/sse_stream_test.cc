// /api/sse/stream against a real server on a loopback port, read by a
// raw-socket client.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <future>
#include <set>
#include <thread>

#include "support.h"

namespace tagstream::test {
namespace {

constexpr TimeNs kT0 = 1'764'000'000LL * kNanosPerSecond;  // 2025-11-24T16:00:00Z
TimeNs at(int second) {
  return kT0 + second * kNanosPerSecond;
}

std::uint64_t id_of(const SseEvent& e) {
  return std::stoull(e.id);
}

TEST(SseStream, ResponseHeadersAndConnectedEvent) {
  auto config = test_config();
  config.retry_ms = 1234;
  config.heartbeat_interval = 7;
  config.max_reconnect_attempts = 5;
  TestServer server(config);
  server.tag("boiler1.temperature", "degC");
  server.tag("boiler1.pressure", "bar");

  SseClient client(server.port(),
                   "/api/sse/stream?tags[]=boiler1.temperature&tags[]=boiler1.pressure&interval=minute");
  ASSERT_TRUE(client.read_head());
  EXPECT_EQ(client.status(), 200);
  EXPECT_EQ(client.header("content-type").rfind("text/event-stream", 0), 0u);
  EXPECT_EQ(client.header("cache-control"), "no-cache");
  EXPECT_EQ(client.header("x-accel-buffering"), "no");

  auto connected = client.next();
  ASSERT_TRUE(connected);
  EXPECT_EQ(connected->type, "connected");
  EXPECT_EQ(client.retry_ms(), 1234);
  EXPECT_TRUE(client.body_bytes().starts_with("retry: 1234\n"));
  const auto hello = boost::json::parse(connected->data).as_object();
  EXPECT_EQ(hello.at("interval").as_string(), "minute");
  EXPECT_EQ(hello.at("heartbeatInterval").to_number<double>(), 7.0);
  EXPECT_EQ(hello.at("maxReconnectAttempts").to_number<int>(), 5);
  EXPECT_EQ(hello.at("retry").to_number<int>(), 1234);
  const auto& tags = hello.at("tags").as_array();
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[0].at("name").as_string(), "boiler1.temperature");
  EXPECT_EQ(tags[0].at("unit").as_string(), "degC");
  EXPECT_EQ(tags[1].at("name").as_string(), "boiler1.pressure");
}

TEST(SseStream, DiagnosticStreamFramesMultiLineDataWithIdsAndRetry) {
  TestServer server;
  SseClient client(server.port(), "/api/sse/test");
  ASSERT_TRUE(client.read_head());
  EXPECT_EQ(client.status(), 200);
  ASSERT_TRUE(client.next_of("connected"));
  auto first = client.next_of("test", 5s);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->has_id_field);
  EXPECT_EQ(first->id, "1");
  // Two data lines on the wire, joined by the client with a newline.
  EXPECT_NE(client.body_bytes().find("id: 1\nevent: test\ndata: counter 1\ndata: time "), std::string::npos)
      << client.body_bytes();
  EXPECT_TRUE(first->data.starts_with("counter 1\ntime 20")) << first->data;
  EXPECT_EQ(std::count(first->data.begin(), first->data.end(), '\n'), 1);
  EXPECT_EQ(client.retry_ms(), 3000);

  // Resuming continues the counter.
  SseClient resumed(server.port(), "/api/sse/test", {"Last-Event-ID: 41"});
  ASSERT_TRUE(resumed.read_head());
  auto next = resumed.next_of("test", 5s);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->id, "42");
  EXPECT_TRUE(next->data.starts_with("counter 42\n"));
}

TEST(SseStream, BracketFormsCommaListsAndGlobsResolveTheSameTags) {
  TestServer server;
  for (auto name : {"boiler1.temperature", "boiler1.pressure", "boiler2.temperature", "tank1.level"})
    server.tag(name);
  const std::vector<std::string> targets = {
      "/api/sse/stream?tags[]=boiler1.temperature&tags[]=boiler1.pressure",
      "/api/sse/stream?tags%5B%5D=boiler1.temperature&tags%5B%5D=boiler1.pressure",
      "/api/sse/stream?tags=boiler1.temperature,boiler1.pressure",
      "/api/sse/stream?tags[]=boiler1.*",
  };
  for (const auto& target : targets) {
    SseClient client(server.port(), target);
    ASSERT_TRUE(client.read_head()) << target;
    ASSERT_EQ(client.status(), 200) << target;
    auto connected = client.next();
    ASSERT_TRUE(connected) << target;
    std::set<std::string> names;
    const auto hello = boost::json::parse(connected->data);
    for (const auto& t : hello.at("tags").as_array()) names.insert(std::string(t.at("name").as_string()));
    EXPECT_EQ(names, (std::set<std::string>{"boiler1.temperature", "boiler1.pressure"})) << target;
  }
}

TEST(SseStream, SnapshotThenEveryChangeWithIncreasingIds) {
  TestServer server;
  server.push("a", 1.0, at(0));
  SseClient client(server.port(), "/api/sse/stream?tags[]=a&interval=raw");
  ASSERT_TRUE(client.read_head());
  ASSERT_TRUE(client.next_of("connected"));
  auto snapshot = client.next_of("data");
  ASSERT_TRUE(snapshot);
  ASSERT_TRUE(snapshot->has_id_field);
  auto points = points_of(*snapshot);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].value, 1.0);
  EXPECT_EQ(points[0].t, to_millis(at(0)));

  std::uint64_t last_id = id_of(*snapshot);
  for (int i = 1; i <= 5; ++i) {
    server.push("a", 1.0 + i, at(i));
    auto e = client.next_of("data");
    ASSERT_TRUE(e);
    ASSERT_TRUE(e->has_id_field);
    EXPECT_GT(id_of(*e), last_id);
    last_id = id_of(*e);
    auto p = points_of(*e);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].value, 1.0 + i);
    EXPECT_EQ(p[0].quality, "good");
  }
}

// A network thread writes to its streams once nothing else is ready to run:
// changes that reach it while it is busy leave together, one write per
// stream instead of one per change, so a loaded server spends less per
// event instead of letting a queue grow.
TEST(SseStream, ChangesThatArriveWhileTheThreadIsBusyLeaveInOneWrite) {
  ServerConfig config = test_config();
  config.threads = 1;
  TestServer server(config);
  server.push("a", 1.0, at(0));
  SseClient client(server.port(), "/api/sse/stream?tags[]=a&interval=raw");
  ASSERT_TRUE(client.read_head());
  ASSERT_TRUE(client.next_of("connected"));
  ASSERT_TRUE(client.next_of("data"));  // the snapshot
  server.wait_for_hub();
  const std::uint64_t writes_before = server.app().stats().writes();

  HubShard& shard = server.app().hub().shard(0);
  auto both_applied = std::make_shared<std::promise<void>>();
  boost::asio::post(shard.io(), [&server, &shard, both_applied] {
    // The first change reaches the stream's queue here...
    server.push("a", 2.0, at(1));
    shard.apply_queued();
    // ...and the second in a handler that is ready to run after this one.
    boost::asio::post(shard.io(), [&server, &shard, both_applied] {
      server.push("a", 3.0, at(2));
      shard.apply_queued();
      both_applied->set_value();
    });
  });
  ASSERT_EQ(both_applied->get_future().wait_for(10s), std::future_status::ready);
  for (double expected : {2.0, 3.0}) {
    auto e = client.next_of("data");
    ASSERT_TRUE(e);
    auto p = points_of(*e);
    ASSERT_EQ(p.size(), 1u) << "each change is its own event";
    EXPECT_EQ(p[0].value, expected);
  }
  server.wait_for_hub();
  EXPECT_EQ(server.app().stats().writes() - writes_before, 1u) << "both events left in one write";
}

// Writers on several connections publish at once from both network threads
// (so a shard gets batches both from its own thread and from the other): a
// stream on every tag they write receives every update, none dropped between
// the ingest threads and the hub's shards.
TEST(SseStream, EveryUpdateFromConcurrentWritersArrives) {
  TestServer server;
  constexpr int kTagsPerWriter = 8;
  constexpr int kWriters = 6;
  constexpr int kRequests = 150;
  // Each writer has tags of its own, written in time order, so nothing is
  // late and every sample is a live update.
  const auto name = [](int w, int t) { return "race.w" + std::to_string(w) + "t" + std::to_string(t); };
  std::string tags;
  for (int w = 0; w < kWriters; ++w)
    for (int t = 0; t < kTagsPerWriter; ++t) {
      server.tag(name(w, t));
      tags += (tags.empty() ? "" : ",") + name(w, t);
    }
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int c = 0; c < 4; ++c) {  // streams on both threads
    clients.push_back(
        std::make_unique<SseClient>(server.port(), "/api/sse/stream?interval=raw&tags=" + tags));
    ASSERT_TRUE(clients.back()->read_head());
    ASSERT_TRUE(clients.back()->next_of("connected"));
  }

  std::atomic<int> failed{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int r = 0; r < kRequests; ++r) {
        std::string body;
        for (int t = 0; t < kTagsPerWriter; ++t)
          body += "race w" + std::to_string(w) + "t" + std::to_string(t) + "=" + std::to_string(r) + " " +
                  std::to_string(at(r)) + "\n";
        const auto reply = http_raw(server.port(),
                                    "POST /write?precision=ns HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                    "Content-Length: " +
                                        std::to_string(body.size()) + "\r\n\r\n" + body);
        if (reply.status != 204) ++failed;
      }
    });
  }
  for (auto& w : writers) w.join();
  ASSERT_EQ(failed.load(), 0);

  const std::size_t expected = static_cast<std::size_t>(kTagsPerWriter) * kWriters * kRequests;
  for (auto& client : clients) {
    std::size_t received = 0;
    while (received < expected) {
      auto e = client->next_of("data", 5s);
      if (!e) break;
      received += points_of(*e).size();
    }
    EXPECT_EQ(received, expected);
  }
}

TEST(SseStream, AggregatedIntervalCarriesBucketStatistics) {
  TestServer server;
  SseClient client(server.port(), "/api/sse/stream?tags[]=flow&interval=minute", {}, 0);
  server.tag("flow");
  // The tag must exist before the request: re-open after creating it.
  SseClient c2(server.port(), "/api/sse/stream?tags[]=flow&interval=minute");
  ASSERT_TRUE(c2.read_head());
  ASSERT_TRUE(c2.next_of("connected"));
  server.push("flow", 10, at(60));
  server.push("flow", 20, at(61), Quality::uncertain);
  auto e1 = c2.next_of("data");
  auto e2 = c2.next_of("data");
  ASSERT_TRUE(e1 && e2);
  const auto doc = boost::json::parse(e2->data).as_object();
  EXPECT_EQ(doc.at("interval").as_string(), "minute");
  const auto& p = doc.at("points").as_array().at(0).as_object();
  EXPECT_EQ(p.at("t").to_number<std::int64_t>(), to_millis(at(60)));
  EXPECT_EQ(p.at("avg").to_number<double>(), 15.0);
  EXPECT_EQ(p.at("min").to_number<double>(), 10.0);
  EXPECT_EQ(p.at("max").to_number<double>(), 20.0);
  EXPECT_EQ(p.at("first").to_number<double>(), 10.0);
  EXPECT_EQ(p.at("last").to_number<double>(), 20.0);
  EXPECT_EQ(p.at("count").to_number<int>(), 2);
  EXPECT_EQ(p.at("q").as_string(), "uncertain");
}

TEST(SseStream, SendsOnlyWhenTheDataChanged) {
  TestServer server;
  server.tag("a");
  SseClient client(server.port(), "/api/sse/stream?tags[]=a");
  ASSERT_TRUE(client.read_head());
  ASSERT_TRUE(client.next_of("connected"));
  server.push("a", 5, at(1));
  server.push("a", 5, at(1));  // the same sample again: nothing new to send
  server.push("a", 6, at(2));
  auto first = client.next_of("data");
  auto second = client.next_of("data");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(points_of(*first).at(0).value, 5);
  EXPECT_EQ(points_of(*second).at(0).value, 6) << "the repeated sample must not produce an event";
}

TEST(SseStream, HeartbeatAtTheConfiguredInterval) {
  auto config = test_config();
  config.heartbeat_interval = 0.2;
  TestServer server(config);
  server.tag("a");
  SseClient client(server.port(), "/api/sse/stream?tags[]=a");
  ASSERT_TRUE(client.read_head());
  ASSERT_TRUE(client.next_of("connected"));
  auto h1 = client.next_of("heartbeat", 20s);
  auto h2 = client.next_of("heartbeat", 20s);
  auto h3 = client.next_of("heartbeat", 20s);
  ASSERT_TRUE(h1 && h2 && h3);
  // The server stamps each heartbeat (ms): three are at least two intervals
  // apart by its own clock, however late they reach this client.
  auto stamp = [](const SseEvent& e) { return boost::json::parse(e.data).at("t").to_number<std::int64_t>(); };
  EXPECT_GE(stamp(*h3) - stamp(*h1), 390) << h1->data << " " << h3->data;
  EXPECT_FALSE(h1->has_id_field) << "heartbeats must not move the client's last event id";
  EXPECT_TRUE(boost::json::parse(h1->data).as_object().contains("t"));
}

TEST(SseStream, CoalescingWindowSendsLeadingEdgeThenLatestValues) {
  auto config = test_config();
  config.data_check_interval = 0.3;
  TestServer server(config);
  server.tag("a");
  server.tag("b");
  SseClient client(server.port(), "/api/sse/stream?tags[]=a&tags[]=b");
  ASSERT_TRUE(client.read_head());
  ASSERT_TRUE(client.next_of("connected"));

  server.push("a", 1, at(1));  // after a quiet window: goes out at once
  server.push("a", 2, at(2));  // inside the window: wait, latest wins
  server.push("b", 7, at(2));
  server.push("a", 3, at(3));
  auto lead = client.next_of("data");
  ASSERT_TRUE(lead);
  auto lead_points = points_of(*lead);
  ASSERT_EQ(lead_points.size(), 1u);
  EXPECT_EQ(lead_points[0].value, 1);

  // The changes inside the window wait for its end and leave as one event
  // that carries only the latest value of each tag.
  auto trailing = client.next_of("data");
  ASSERT_TRUE(trailing);
  auto points = points_of(*trailing);
  ASSERT_EQ(points.size(), 2u) << trailing->data;
  std::map<std::string, double> latest;
  for (const auto& p : points) latest[p.tag] = p.value;
  EXPECT_EQ(latest["a"], 3);
  EXPECT_EQ(latest["b"], 7);

  // Nothing else was sent for the burst: the next event is the next change.
  server.push("a", 4, at(4));
  auto after = client.next_of("data");
  ASSERT_TRUE(after);
  auto after_points = points_of(*after);
  ASSERT_EQ(after_points.size(), 1u) << after->data;
  EXPECT_EQ(after_points[0].value, 4);
}

TEST(SseStream, ZeroWindowSendsEveryChange) {
  TestServer server;  // data_check_interval 0
  server.tag("a");
  SseClient client(server.port(), "/api/sse/stream?tags[]=a");
  ASSERT_TRUE(client.read_head());
  ASSERT_TRUE(client.next_of("connected"));
  for (int i = 0; i < 20; ++i) server.push("a", i, at(i));
  std::vector<double> seen;
  while (seen.size() < 20) {
    auto e = client.next_of("data");
    ASSERT_TRUE(e);
    for (const auto& p : points_of(*e)) seen.push_back(p.value);
  }
  for (int i = 0; i < 20; ++i) EXPECT_EQ(seen[i], i);
}

TEST(SseStream, ResumeWithLastEventIdHasNoGapAndNoDuplicate) {
  TestServer server;
  server.tag("a");
  server.tag("b");
  std::string last_id;
  std::vector<double> received;
  {
    SseClient client(server.port(), "/api/sse/stream?tags[]=a&tags[]=b");
    ASSERT_TRUE(client.read_head());
    ASSERT_TRUE(client.next_of("connected"));
    for (int i = 0; i < 5; ++i) server.push("a", i, at(i));
    while (received.size() < 5) {
      auto e = client.next_of("data");
      ASSERT_TRUE(e);
      for (const auto& p : points_of(*e)) received.push_back(p.value);
      last_id = e->id;
    }
  }
  // Missed while disconnected: a and b interleaved, plus a tag not subscribed.
  for (int i = 5; i < 15; ++i) {
    server.push("a", i, at(i));
    server.push("other", -1, at(i));
    if (i % 3 == 0) server.push("b", 100 + i, at(i));
  }
  std::vector<double> expected_a, expected_b;
  for (int i = 5; i < 15; ++i) expected_a.push_back(i);
  for (int i : {6, 9, 12}) expected_b.push_back(100 + i);
  double live_value = 99;
  for (const std::string how : {"header", "query"}) {
    SCOPED_TRACE(how);
    std::unique_ptr<SseClient> client;
    if (how == "header")
      client = std::make_unique<SseClient>(server.port(), "/api/sse/stream?tags[]=a&tags[]=b",
                                           std::vector<std::string>{"Last-Event-ID: " + last_id});
    else
      client = std::make_unique<SseClient>(server.port(),
                                           "/api/sse/stream?tags[]=a&tags[]=b&lastEventId=" + last_id);
    ASSERT_TRUE(client->read_head());
    auto connected = client->next_of("connected");
    ASSERT_TRUE(connected);
    EXPECT_TRUE(boost::json::parse(connected->data).at("resumed").as_bool());
    std::vector<double> a_values, b_values;
    while (a_values.size() < expected_a.size()) {
      auto e = client->next();
      ASSERT_TRUE(e);
      ASSERT_NE(e->type, "error") << e->data;
      if (e->type != "data") continue;
      for (const auto& p : points_of(*e)) (p.tag == "a" ? a_values : b_values).push_back(p.value);
    }
    EXPECT_EQ(a_values, expected_a);
    EXPECT_EQ(b_values, expected_b);
    // Live changes continue after the replay, exactly once.
    server.push("a", live_value, at(static_cast<int>(live_value)));
    auto live = client->next_of("data");
    ASSERT_TRUE(live);
    auto p = points_of(*live);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].value, live_value);
    // The next resume from the same id also misses this one.
    expected_a.push_back(live_value++);
  }
}

TEST(SseStream, ResumeReplaysLargeBacklogsInChunksInOrder) {
  auto config = test_config();
  config.replay_buffer = 100000;
  TestServer server(config);
  server.tag("a");
  const std::string last = std::to_string(server.app().live().last_seq());
  for (int i = 0; i < 3000; ++i) server.push("a", i, at(i));
  SseClient client(server.port(), "/api/sse/stream?tags[]=a", {"Last-Event-ID: " + last});
  ASSERT_TRUE(client.read_head());
  std::vector<double> values;
  int events = 0;
  while (values.size() < 3000) {
    auto e = client.next_of("data");
    ASSERT_TRUE(e) << "after " << values.size();
    ++events;
    for (const auto& p : points_of(*e)) values.push_back(p.value);
  }
  ASSERT_EQ(values.size(), 3000u);
  for (int i = 0; i < 3000; ++i) ASSERT_EQ(values[i], i);
  EXPECT_GT(events, 1) << "a backlog is sent in bounded chunks";
}

TEST(SseStream, ResumeOlderThanTheMemoryRingIsServedFromTheStore) {
  auto config = test_config();
  config.replay_buffer = 10;
  TestServer server(config);
  server.push("a", 0, at(0));
  const std::string old_id = std::to_string(server.app().live().last_seq());
  for (int i = 1; i <= 50; ++i) server.push("a", i, at(i));
  SseClient client(server.port(), "/api/sse/stream?tags[]=a", {"Last-Event-ID: " + old_id});
  ASSERT_TRUE(client.read_head());
  std::vector<double> values;
  while (values.size() < 50) {
    auto e = client.next(5s);
    ASSERT_TRUE(e);
    ASSERT_NE(e->type, "error") << e->data;
    if (e->type == "data")
      for (const auto& p : points_of(*e)) values.push_back(p.value);
  }
  for (int i = 1; i <= 50; ++i) ASSERT_EQ(values[i - 1], i);
}

TEST(SseStream, ResumeFromAnIdNeverStoredSaysHistoryWasLost) {
  TestServer server;
  server.tag("a");
  server.push("a", 50, at(0));
  // "5": older than anything this store holds (as after a crash that lost
  // the end of a run); the other is an id this server never gave out.
  for (const std::string& id : {std::string("5"), std::string("99999999999999999")}) {
    SCOPED_TRACE(id);
    SseClient client(server.port(), "/api/sse/stream?tags[]=a", {"Last-Event-ID: " + id});
    ASSERT_TRUE(client.read_head());
    ASSERT_TRUE(client.next_of("connected"));
    auto lost = client.next();
    ASSERT_TRUE(lost);
    ASSERT_EQ(lost->type, "error");
    const auto err = boost::json::parse(lost->data).as_object();
    EXPECT_EQ(err.at("code").as_string(), "history_lost");
    auto snapshot = client.next();
    ASSERT_TRUE(snapshot);
    ASSERT_EQ(snapshot->type, "data");
    auto p = points_of(*snapshot);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].value, 50);
  }
}

TEST(SseStream, BadQueriesGet400WithAJsonError) {
  TestServer server;
  server.tag("a");
  struct Case {
    std::string target;
    std::vector<std::string> headers;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"/api/sse/stream?tags[]=nope", {}, "unknown_tag"},
      {"/api/sse/stream?tags[]=zz.*", {}, "unknown_tag"},
      {"/api/sse/stream?tags[]=a&interval=fortnight", {}, "unknown_interval"},
      {"/api/sse/stream", {}, "missing_tags"},
      {"/api/sse/stream?tags[]=a%zz", {}, "bad_query"},
      {"/api/sse/stream?tags[]=a%20b", {}, "bad_tag"},
      {"/api/sse/stream?tags[]=a&lastEventId=abc", {}, "bad_last_event_id"},
      {"/api/sse/stream?tags[]=a", {"Last-Event-ID: 12x"}, "bad_last_event_id"},
      {"/api/sse/test?lastEventId=abc", {}, "bad_last_event_id"},
      {"/api/sse/test?lastEventId=-1", {}, "bad_last_event_id"},
      {"/api/sse/test", {"Last-Event-ID: x7"}, "bad_last_event_id"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.target);
    auto reply = http_get(server.port(), c.target, c.headers);
    EXPECT_EQ(reply.status, 400);
    EXPECT_EQ(reply.header("content-type"), "application/json");
    auto err = boost::json::parse(reply.body).as_object();
    EXPECT_EQ(err.at("code").as_string(), c.code);
    EXPECT_FALSE(err.at("message").as_string().empty());
  }
}

TEST(SseStream, PerClientLimitAnswers429AndCountsEachAddressApart) {
  auto config = test_config();
  config.max_streams_per_client = 2;
  TestServer server(config);
  server.tag("a");
  std::vector<std::unique_ptr<SseClient>> open;
  for (int i = 0; i < 2; ++i) {
    open.push_back(std::make_unique<SseClient>(server.port(), "/api/sse/stream?tags[]=a",
                                               std::vector<std::string>{}, 0, "127.0.0.1"));
    ASSERT_TRUE(open.back()->read_head());
    ASSERT_TRUE(open.back()->next_of("connected"));
  }
  auto refused = http_get(server.port(), "/api/sse/stream?tags[]=a", {}, "127.0.0.1");
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.header("content-type"), "application/json");
  EXPECT_EQ(boost::json::parse(refused.body).at("code").as_string(), "too_many_streams_for_client");
  EXPECT_FALSE(refused.header("retry-after").empty());
  // The diagnostic stream counts too.
  EXPECT_EQ(http_get(server.port(), "/api/sse/test", {}, "127.0.0.1").status, 429);

  // Another address has its own allowance.
  SseClient other(server.port(), "/api/sse/stream?tags[]=a", {}, 0, "127.0.0.2");
  ASSERT_TRUE(other.read_head());
  EXPECT_EQ(other.status(), 200);

  // Closing a stream frees its slot.
  open.pop_back();
  ASSERT_TRUE(eventually([&] { return server.app().stats().streams_closed.load() >= 1; }))
      << "the server never noticed the closed stream";
  SseClient again(server.port(), "/api/sse/stream?tags[]=a", {}, 0, "127.0.0.1");
  ASSERT_TRUE(again.read_head());
  EXPECT_EQ(again.status(), 200);
}

TEST(SseStream, TotalLimitAnswers503) {
  auto config = test_config();
  config.max_streams = 2;
  TestServer server(config);
  server.tag("a");
  SseClient s1(server.port(), "/api/sse/stream?tags[]=a", {}, 0, "127.0.0.3");
  SseClient s2(server.port(), "/api/sse/stream?tags[]=a", {}, 0, "127.0.0.4");
  ASSERT_TRUE(s1.read_head() && s2.read_head());
  ASSERT_EQ(s1.status(), 200);
  ASSERT_EQ(s2.status(), 200);
  auto refused = http_get(server.port(), "/api/sse/stream?tags[]=a", {}, "127.0.0.5");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(boost::json::parse(refused.body).at("code").as_string(), "too_many_streams");
  EXPECT_FALSE(refused.header("retry-after").empty());
  // Plain requests are not streams and still work.
  EXPECT_EQ(http_get(server.port(), "/healthz").status, 200);
}

TEST(SseStream, UnknownPathsAndMethodsGetJsonErrors) {
  TestServer server;
  auto missing = http_get(server.port(), "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(boost::json::parse(missing.body).at("code").as_string(), "not_found");
  auto post =
      http_raw(server.port(),
               "POST /api/sse/stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(post.status, 405);
  auto health = http_get(server.port(), "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(boost::json::parse(health.body).at("status").as_string(), "ok");
  auto garbage = http_raw(server.port(), "HELLO THERE\r\n\r\n");
  EXPECT_EQ(garbage.status, 400);
  auto huge = http_raw(server.port(),
                       "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(40000, 'a') + "\r\n\r\n");
  EXPECT_EQ(huge.status, 431);
}

}  // namespace
}  // namespace tagstream::test
