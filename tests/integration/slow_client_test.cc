// A client that never reads must not delay other streams, nor grow the
// server's memory past its per-stream bound; it is dropped after the
// deadline.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store/store_writer.h"
#include "support.h"

namespace tagstream::test {
namespace {

constexpr TimeNs kT0 = 1'764'000'000LL * kNanosPerSecond;

TEST(SlowClient, NeverReadingClientIsBoundedCoalescedAndDropped) {
  auto config = test_config();
  config.client_buffer_bytes = 64 * 1024;
  config.slow_client_timeout = 8;
  config.replay_buffer = 1000;          // keep the replay ring out of the memory measurement
  config.data_check_interval = 0;       // every change is sent: the most pressure
  config.store_flush_samples = 10'000;  // keep the store's unflushed samples out of it too
  TestServer server(config);
  constexpr int kTags = 40;
  constexpr int kBatches = 3000;
  std::string tag_query;
  for (int t = 0; t < kTags; ++t) {
    server.tag("plant.area" + std::to_string(t) + ".a_rather_long_signal_name_to_make_frames_big");
    tag_query += (t ? "&" : "") + std::string("tags[]=plant.area") + std::to_string(t) + ".*";
  }

  // The slow client: a tiny receive buffer, and it never reads a byte.
  SseClient slow(server.port(), "/api/sse/stream?" + tag_query, {}, 4096);
  // Make sure the server has it subscribed before the flood.
  ASSERT_TRUE(eventually([&] { return server.app().stats().streams_opened.load() >= 1; }));
  ASSERT_EQ(server.app().stats().streams_opened.load(), 1u);

  // The good client reads everything on its own thread.
  SseClient good(server.port(), "/api/sse/stream?" + tag_query);
  ASSERT_TRUE(good.read_head());
  ASSERT_TRUE(good.next_of("connected"));
  good.forget_history();
  std::atomic<bool> saw_final{false};
  std::atomic<std::uint64_t> dropped_when_final_seen{0};
  std::thread reader([&] {
    const double final_value = kBatches - 1;
    int final_tags = 0;
    while (final_tags < kTags) {
      auto e = good.next_of("data", 20s);
      if (!e) return;
      for (const auto& p : points_of(*e))
        if (p.value == final_value) ++final_tags;
    }
    dropped_when_final_seen = server.app().stats().slow_streams_dropped.load();
    saw_final = true;
  });

  const std::size_t heap_before = heap_in_use_bytes();
  std::int64_t peak_queued = 0;
  std::vector<std::pair<std::string, double>> batch;
  for (int b = 0; b < kBatches; ++b) {
    batch.clear();
    for (int t = 0; t < kTags; ++t)
      batch.emplace_back("plant.area" + std::to_string(t) + ".a_rather_long_signal_name_to_make_frames_big",
                         b);
    server.push_many(batch, kT0 + b * kNanosPerMilli);
    peak_queued = std::max(peak_queued, server.app().stats().queued_bytes());
  }
  reader.join();
  // What the store has yet to write, and batches a shard has yet to take
  // in, are not the stream's: let them drain.
  ASSERT_TRUE(eventually([&] { return server.app().writer().pending_samples() == 0; }))
      << "the store never caught up";
  server.wait_for_hub();
  const std::size_t heap_after = heap_in_use_bytes();

  EXPECT_TRUE(saw_final) << "the reading client must get the latest values";
  EXPECT_EQ(dropped_when_final_seen.load(), 0u)
      << "the reading client got its data before the stalled one was even dropped: it was not held up by it";
  // Two streams, each bounded: what is queued never exceeds both bounds
  // plus one frame each.
  EXPECT_LE(peak_queued, static_cast<std::int64_t>(2 * (config.client_buffer_bytes + 16 * 1024)));
  // The flood was ~14 MB per stream: a server that queued it for the stalled
  // client holds that much more heap here; a bounded one its 64 KiB (the
  // rest, 1-3 MB, is the store and the hub).
  // (The sanitizers replace malloc: not measured under them.)
  if (!kSanitized) {
    const std::size_t growth = heap_after - std::min(heap_after, heap_before);
    RecordProperty("heap_growth_bytes", std::to_string(growth));
    EXPECT_LT(growth, 8u * 1024 * 1024);
  }

  // The stalled client is dropped once a write has been stuck past the
  // deadline. Keep values coming until the kernel's socket buffers are full
  // and its write stalls (how long that takes depends on the machine).
  const auto give_up = std::chrono::steady_clock::now() + 90s;
  for (int b = kBatches;
       server.app().stats().slow_streams_dropped.load() == 0 && std::chrono::steady_clock::now() < give_up;
       ++b) {
    batch.clear();
    for (int t = 0; t < kTags; ++t)
      batch.emplace_back("plant.area" + std::to_string(t) + ".a_rather_long_signal_name_to_make_frames_big",
                         b);
    server.push_many(batch, kT0 + b * kNanosPerMilli);
    peak_queued = std::max(peak_queued, server.app().stats().queued_bytes());
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(server.app().stats().slow_streams_dropped.load(), 1u) << "only the stalled stream is dropped";
  EXPECT_LE(peak_queued, static_cast<std::int64_t>(2 * (config.client_buffer_bytes + 16 * 1024)));
}

}  // namespace
}  // namespace tagstream::test
