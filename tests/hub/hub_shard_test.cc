// HubShard on a test-driven io_context and a stepped clock: coalescing,
// heartbeats, late joiners, replay and back-pressure, without sockets or
// waiting.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "client/sse_parser.h"
#include "core/live_state.h"
#include "hub/hub.h"
#include "manual_clock.h"

namespace tagstream {
namespace {

using namespace std::chrono_literals;
constexpr TimeNs kT0 = 1'764'000'000LL * kNanosPerSecond;

/// Records what the shard queues; refuses past `bound` bytes like the real one.
struct RecordingSink : StreamSink {
  explicit RecordingSink(std::size_t bound = 1 << 30) : bound(bound) {}
  bool offer(const FramePtr& frame) override {
    if (!queue.empty() && queued + frame->size() > bound) return false;
    queue.push_back(frame);
    queued += frame->size();
    return true;
  }
  /// "Writes" everything queued: parses it into events.
  void drain() {
    for (const auto& f : queue) parser.feed(*f, [this](const SseEvent& e) { events.push_back(e); });
    queue.clear();
    queued = 0;
  }
  std::vector<std::pair<std::string, double>> values(const std::string& type = "data") const {
    std::vector<std::pair<std::string, double>> out;
    for (const auto& e : events) {
      if (e.type != type) continue;
      const auto doc = boost::json::parse(e.data);
      for (const auto& p : doc.at("points").as_array())
        out.emplace_back(std::string(p.at("tag").as_string()), p.at("v").to_number<double>());
    }
    return out;
  }
  std::size_t raw_errors() const {
    return static_cast<std::size_t>(
        std::count_if(events.begin(), events.end(), [](const SseEvent& e) { return e.type == "error"; }));
  }
  std::size_t bound;
  std::size_t queued = 0;
  std::vector<FramePtr> queue;
  SseParser parser;
  std::vector<SseEvent> events;
};

struct ShardFixture : ::testing::Test {
  void make(std::chrono::nanoseconds window, std::size_t replay = 1000,
            std::chrono::nanoseconds heartbeat = 0ns, std::chrono::milliseconds resume_wait = 0ms) {
    HubOptions options;
    options.resume_wait = resume_wait;
    options.coalesce_window = window;
    options.heartbeat_interval = heartbeat;
    options.clock = &clock;
    options.replay_capacity = replay;
    options.replay_chunk_points = 4;
    hub = std::make_unique<Hub>(std::vector<boost::asio::io_context*>{&io}, registry, options, 0);
    live = std::make_unique<LiveState>(0);
    live->set_publisher([this](ChangeBatchPtr b) { hub->publish(b); });
    a = registry.upsert({"a", "", "", DataType::number}).value();
    b = registry.upsert({"b", "", "", DataType::number}).value();
  }
  void push(TagId tag, double v, int second) {
    TaggedSample s{tag, Sample{kT0 + second * kNanosPerSecond, v, Quality::good}};
    live->apply(std::span<const TaggedSample>(&s, 1));
    io.restart();
    io.poll();  // deliver the posted batch
  }
  /// Moves the clock on, then runs what the timers that fell due posted.
  void step(std::chrono::nanoseconds d) {
    clock.advance(d);
    io.restart();
    io.poll();
  }
  StreamSpec spec(std::optional<Seq> resume = std::nullopt) {
    return StreamSpec{{a, b}, Interval::raw, resume, std::nullopt};
  }
  HubShard& shard() { return hub->shard(0); }

  boost::asio::io_context io;
  ManualClock clock;
  TagRegistry registry;
  std::unique_ptr<Hub> hub;
  std::unique_ptr<LiveState> live;
  TagId a = 0, b = 0;
};

TEST_F(ShardFixture, LateJoinerInsideAWindowGetsNoDuplicate) {
  make(50ms);
  RecordingSink first, late;
  Member* m1 = shard().subscribe(&first, spec());
  push(a, 1, 1);                                  // leading edge: sent at once
  push(a, 2, 2);                                  // held for the window
  Member* m2 = shard().subscribe(&late, spec());  // snapshot already has a=2
  step(50ms);
  first.drain();
  late.drain();
  EXPECT_EQ(first.values(), (std::vector<std::pair<std::string, double>>{{"a", 1}, {"a", 2}}));
  EXPECT_EQ(late.values(), (std::vector<std::pair<std::string, double>>{{"a", 2}}))
      << "the window's flush must not repeat what the snapshot gave";
  push(a, 3, 3);
  step(50ms);
  first.drain();
  late.drain();
  EXPECT_EQ(first.values().back(), (std::pair<std::string, double>{"a", 3}));
  EXPECT_EQ(late.values().back(), (std::pair<std::string, double>{"a", 3}));
  shard().unsubscribe(m1);
  shard().unsubscribe(m2);
}

TEST_F(ShardFixture, ABatchInsideEveryOpenWindowWaitsForTheWindowInsteadOfWakingTheShard) {
  make(50ms);
  RecordingSink sink;
  Member* m = shard().subscribe(&sink, spec());
  push(a, 1, 1);  // leading edge: sent at once, the window opens
  ASSERT_EQ(sink.queue.size(), 1u);
  const Seq applied = shard().position();

  TaggedSample s{a, Sample{kT0 + 2 * kNanosPerSecond, 2, Quality::good}};
  live->apply(std::span<const TaggedSample>(&s, 1));
  io.restart();
  EXPECT_EQ(io.poll(), 0u) << "nothing can go out before the window ends: no wake-up for the batch";
  EXPECT_EQ(shard().position(), applied);

  step(50ms);  // the window's end applies the batch and sends it
  sink.drain();
  EXPECT_EQ(sink.values(), (std::vector<std::pair<std::string, double>>{{"a", 1}, {"a", 2}}));
  EXPECT_GT(shard().position(), applied);

  // The flush opened another window; once it has closed quietly, a change
  // is a leading edge again: it wakes the shard and goes out at once.
  step(50ms);
  push(b, 3, 3);
  ASSERT_EQ(sink.queue.size(), 1u);
  sink.drain();
  EXPECT_EQ(sink.values().back(), (std::pair<std::string, double>{"b", 3}));
  shard().unsubscribe(m);
}

TEST_F(ShardFixture, AChangeInsideTheWindowWaitsForItsEndAndOnlyTheLatestGoesOut) {
  make(100ms);
  RecordingSink sink;
  Member* m = shard().subscribe(&sink, spec());
  push(a, 1, 1);  // leading edge: sent at once, the window opens
  ASSERT_EQ(sink.queue.size(), 1u);
  push(a, 2, 2);
  push(a, 3, 3);
  step(100ms - 1ns);
  EXPECT_EQ(sink.queue.size(), 1u) << "nothing more before the window ends";
  step(1ns);
  ASSERT_EQ(sink.queue.size(), 2u) << "the window's end sends what it held";
  sink.drain();
  EXPECT_EQ(sink.values(), (std::vector<std::pair<std::string, double>>{{"a", 1}, {"a", 3}}))
      << "the latest value of the window, not every change";
  shard().unsubscribe(m);
}

TEST_F(ShardFixture, AStreamsDisplayRateIsItsOwnWindowBesideTheHubs) {
  make(0ns);  // the hub sends every change at once
  RecordingSink every, per_second;
  Member* m1 = shard().subscribe(&every, spec());
  StreamSpec slow = spec();
  slow.window = 1s;
  Member* m2 = shard().subscribe(&per_second, slow);
  for (int i = 1; i <= 5; ++i) {
    push(a, i, i);
    step(100ms);
  }
  // 500 ms in: the fast stream has every change, the slow one the leading
  // edge only.
  EXPECT_EQ(every.queue.size(), 5u);
  ASSERT_EQ(per_second.queue.size(), 1u);
  EXPECT_NE(every.queue[0].get(), per_second.queue[0].get()) << "another window is another group";
  step(500ms - 1ns);
  EXPECT_EQ(per_second.queue.size(), 1u) << "no event before the second is over";
  step(1ns);
  ASSERT_EQ(per_second.queue.size(), 2u);
  per_second.drain();
  EXPECT_EQ(per_second.values(), (std::vector<std::pair<std::string, double>>{{"a", 1}, {"a", 5}}))
      << "the window's end sends the latest value, none lost in value";
  // Changes that keep coming: one event per window, never more.
  for (int i = 6; i <= 25; ++i) {
    push(a, i, i);
    push(b, i, i);
    step(100ms);
  }
  per_second.drain();
  const auto values = per_second.values();
  EXPECT_EQ(per_second.events.size(), 4u) << "two seconds of changes: two more events";
  EXPECT_EQ(values.back(), (std::pair<std::string, double>{"b", 25})) << "each window's latest";
  EXPECT_EQ(values[values.size() - 3].second, 15) << "the window before: its latest of a and b";
  EXPECT_EQ(values[values.size() - 4].second, 15);
  shard().unsubscribe(m1);
  shard().unsubscribe(m2);
}

TEST_F(ShardFixture, StreamsWithTheSameRateShareAGroup) {
  make(50ms);
  RecordingSink s1, s2;
  StreamSpec slow = spec();
  slow.window = 1s;
  Member* m1 = shard().subscribe(&s1, slow);
  Member* m2 = shard().subscribe(&s2, slow);
  push(a, 1, 1);
  ASSERT_EQ(s1.queue.size(), 1u);
  ASSERT_EQ(s2.queue.size(), 1u);
  EXPECT_EQ(s1.queue[0].get(), s2.queue[0].get());
  shard().unsubscribe(m1);
  shard().unsubscribe(m2);
}

TEST_F(ShardFixture, AHeartbeatGoesOutEveryIntervalAndNotBefore) {
  make(0ns, 1000, /*heartbeat=*/30s);
  RecordingSink sink;
  Member* m = shard().subscribe(&sink, spec());  // no values yet: no snapshot
  const auto heartbeats = [&] {
    sink.drain();
    return std::count_if(sink.events.begin(), sink.events.end(),
                         [](const SseEvent& e) { return e.type == "heartbeat"; });
  };
  step(30s - 1ns);
  EXPECT_EQ(heartbeats(), 0);
  step(1ns);
  EXPECT_EQ(heartbeats(), 1);
  step(30s - 1ns);
  EXPECT_EQ(heartbeats(), 1);
  step(1ns);
  EXPECT_EQ(heartbeats(), 2);
  shard().unsubscribe(m);
}

TEST_F(ShardFixture, ParkedBatchesWakeTheShardPastABound) {
  make(10s);  // a window that will not end during the test
  RecordingSink sink;
  Member* m = shard().subscribe(&sink, spec());
  push(a, 0, 0);  // leading edge: the window opens
  std::size_t woken = 0;
  for (int i = 1; i <= 1000; ++i) {
    TaggedSample s{a, Sample{kT0 + i * kNanosPerSecond, static_cast<double>(i), Quality::good}};
    live->apply(std::span<const TaggedSample>(&s, 1));
    io.restart();
    woken += io.poll();
  }
  EXPECT_GE(woken, 1000u / 256) << "the inbox is bounded even while every window is open";
  EXPECT_LE(woken, 1000u / 256 + 1);
  shard().unsubscribe(m);
}

TEST_F(ShardFixture, SameTagsAndIntervalShareOneSerializedFrame) {
  make(0ns);
  RecordingSink s1, s2;
  Member* m1 = shard().subscribe(&s1, spec());
  Member* m2 = shard().subscribe(&s2, spec());
  push(b, 5, 1);
  ASSERT_EQ(s1.queue.size(), 1u);
  ASSERT_EQ(s2.queue.size(), 1u);
  EXPECT_EQ(s1.queue[0].get(), s2.queue[0].get()) << "one frame object for every member of the group";
  shard().unsubscribe(m1);
  shard().unsubscribe(m2);
}

TEST_F(ShardFixture, ResumeReplaysInChunksAsTheSinkDrains) {
  make(0ns);
  push(a, 0, 0);
  const Seq resume_from = live->last_seq();
  for (int i = 1; i <= 10; ++i) push(i % 2 ? a : b, i, i);
  RecordingSink sink;
  Member* m = shard().subscribe(&sink, spec(resume_from));
  std::vector<std::pair<std::string, double>> got;
  int rounds = 0;
  while (!sink.queue.empty() && rounds++ < 20) {
    sink.drain();
    shard().on_drained(m);
  }
  got = sink.values();
  ASSERT_EQ(got.size(), 10u);
  for (int i = 1; i <= 10; ++i) EXPECT_EQ(got[i - 1], (std::pair<std::string, double>{i % 2 ? "a" : "b", i}));
  EXPECT_EQ(sink.events.size(), 3u) << "10 points in chunks of 4";
  // Ids grow and the last one is the position reached.
  EXPECT_EQ(std::stoull(sink.events.back().id), live->last_seq());
  push(a, 99, 99);  // live again
  sink.drain();
  EXPECT_EQ(sink.values().back(), (std::pair<std::string, double>{"a", 99}));
  shard().unsubscribe(m);
}

TEST_F(ShardFixture, SlowSinkCoalescesToTheLatestValuesWhenItDrains) {
  make(0ns);
  RecordingSink sink(200);  // room for about two frames
  Member* m = shard().subscribe(&sink, spec());
  for (int i = 1; i <= 50; ++i) push(a, i, i);
  EXPECT_LE(sink.queued, 200u + 120u) << "the queue stays within its bound";
  sink.drain();
  shard().on_drained(m);  // queue empty: the shard sends the latest values
  sink.drain();
  const auto got = sink.values();
  ASSERT_GE(got.size(), 2u);
  EXPECT_LT(got.size(), 10u) << "not every change: they coalesced";
  EXPECT_EQ(got.back(), (std::pair<std::string, double>{"a", 50}));
  push(a, 51, 51);  // and it is live again
  sink.drain();
  EXPECT_EQ(sink.values().back(), (std::pair<std::string, double>{"a", 51}));
  shard().unsubscribe(m);
}

TEST_F(ShardFixture, ResumeOlderThanTheRingIsHistoryLostThenSnapshot) {
  make(0ns, /*replay=*/3);
  push(a, 0, 0);
  const Seq old = live->last_seq();
  for (int i = 1; i <= 10; ++i) push(a, i, i);
  RecordingSink sink;
  Member* m = shard().subscribe(&sink, spec(old));
  sink.drain();
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[0].type, "error");
  EXPECT_NE(sink.events[0].data.find("\"history_lost\""), std::string::npos);
  EXPECT_EQ(sink.values(), (std::vector<std::pair<std::string, double>>{{"a", 10}}));
  shard().unsubscribe(m);
}

// The snapshot reads a tag's latest change from the ring while its batch is
// there; once the batch leaves the ring, from a copy kept for it.
TEST_F(ShardFixture, SnapshotHasTheLatestValueOfATagWhoseBatchLeftTheRing) {
  make(0ns, /*replay=*/3);
  push(a, 7, 1);
  for (int i = 2; i <= 12; ++i) push(b, i, i);  // a's batch is long evicted
  push(a, 8, 13);
  push(a, 9, 14);  // a's latest is in the ring again, b's is not
  for (int i = 15; i <= 17; ++i) push(a, i, i);
  RecordingSink sink;
  Member* m = shard().subscribe(&sink, spec());
  sink.drain();
  EXPECT_EQ(sink.values(), (std::vector<std::pair<std::string, double>>{{"a", 17}, {"b", 12}}));
  shard().unsubscribe(m);

  make(0ns, /*replay=*/3);  // a fresh shard: a in an evicted batch, b in the ring
  push(a, 1, 1);
  for (int i = 2; i <= 6; ++i) push(b, i, i);
  RecordingSink sink2;
  Member* m2 = shard().subscribe(&sink2, spec());
  sink2.drain();
  EXPECT_EQ(sink2.values(), (std::vector<std::pair<std::string, double>>{{"a", 1}, {"b", 6}}));
  shard().unsubscribe(m2);

  // A batch with more changes than there are tags (found through the view
  // rather than the batch when it leaves the ring).
  make(0ns, /*replay=*/4);
  const std::vector<TaggedSample> many = {{a, Sample{kT0 + 1, 1, Quality::good}},
                                          {b, Sample{kT0 + 2, 2, Quality::good}},
                                          {a, Sample{kT0 + 3, 3, Quality::good}}};
  live->apply(many);
  push(b, 4, 10);
  push(b, 5, 11);  // the batch of three leaves the ring
  RecordingSink sink3;
  Member* m3 = shard().subscribe(&sink3, spec());
  sink3.drain();
  EXPECT_EQ(sink3.values(), (std::vector<std::pair<std::string, double>>{{"a", 3}, {"b", 5}}));
  shard().unsubscribe(m3);
}

}  // namespace
}  // namespace tagstream

namespace tagstream {
namespace {

// A cluster node: a browser failing over from a node that had read further
// resumes from an id this node has not read yet. It waits for it (no
// history_lost), then sends what follows it, once.
TEST_F(ShardFixture, AResumeFromAnIdNotReadYetWaitsForItOnAClusterNode) {
  make(0ns, 1000, 0ns, 2000ms);
  push(a, 1, 1);  // id 1
  RecordingSink sink;
  Member* m = shard().subscribe(&sink, spec(Seq{2}));
  step(100ms);
  sink.drain();
  EXPECT_TRUE(sink.values().empty());
  EXPECT_TRUE(sink.values("error").empty()) << "not history_lost while the id may still come";
  push(b, 2, 2);  // id 2: what the client saw last
  push(a, 3, 3);  // id 3
  step(20ms);
  sink.drain();
  EXPECT_TRUE(sink.values("error").empty());
  EXPECT_EQ(sink.values(), (std::vector<std::pair<std::string, double>>{{"a", 3}}));
  shard().unsubscribe(m);
}

TEST_F(ShardFixture, AResumeFromAnIdNeverHandedOutIsHistoryLostOnceTheWaitIsOver) {
  make(0ns, 1000, 0ns, 200ms);
  push(a, 1, 1);
  RecordingSink sink;
  Member* m = shard().subscribe(&sink, spec(Seq{50}));
  for (int i = 0; i < 9; ++i) step(20ms);
  sink.drain();
  EXPECT_EQ(sink.raw_errors(), 0u);
  for (int i = 0; i < 3; ++i) step(20ms);
  sink.drain();
  EXPECT_EQ(sink.raw_errors(), 1u);
  EXPECT_EQ(sink.values(), (std::vector<std::pair<std::string, double>>{{"a", 1}})) << "then a snapshot";
  shard().unsubscribe(m);
}

TEST_F(ShardFixture, OnOneNodeAResumeFromAnIdNeverHandedOutIsHistoryLostAtOnce) {
  make(0ns);
  push(a, 1, 1);
  RecordingSink sink;
  Member* m = shard().subscribe(&sink, spec(Seq{50}));
  sink.drain();
  EXPECT_EQ(sink.raw_errors(), 1u);
  shard().unsubscribe(m);
}

}  // namespace
}  // namespace tagstream
