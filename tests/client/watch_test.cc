#include "client/watch.h"

#include <gtest/gtest.h>

#include <chrono>

namespace tagstream {
namespace {

using std::chrono::milliseconds;

TEST(SseWatchContentType, Accepted) {
  EXPECT_TRUE(is_event_stream_content_type("text/event-stream"));
  EXPECT_TRUE(is_event_stream_content_type("Text/Event-Stream"));
  EXPECT_TRUE(is_event_stream_content_type("text/event-stream; charset=utf-8"));
  EXPECT_TRUE(is_event_stream_content_type(" text/event-stream ;charset=UTF-8"));
  EXPECT_FALSE(is_event_stream_content_type(""));
  EXPECT_FALSE(is_event_stream_content_type("application/json"));
  EXPECT_FALSE(is_event_stream_content_type("text/event-streams"));
  EXPECT_FALSE(is_event_stream_content_type("text/plain; x=text/event-stream"));
}

TEST(SseWatchBackoff, DoublesFromRetryToCap) {
  // random01 = 0.5 is a jitter factor of exactly 1.
  EXPECT_EQ(reconnect_delay(1, 1000, 0.5), milliseconds(1000));
  EXPECT_EQ(reconnect_delay(2, 1000, 0.5), milliseconds(2000));
  EXPECT_EQ(reconnect_delay(3, 1000, 0.5), milliseconds(4000));
  EXPECT_EQ(reconnect_delay(5, 1000, 0.5), milliseconds(16000));
  EXPECT_EQ(reconnect_delay(6, 1000, 0.5), milliseconds(30000));
  EXPECT_EQ(reconnect_delay(1000, 1000, 0.5), milliseconds(30000));
  EXPECT_EQ(reconnect_delay(1, 2500, 0.5), milliseconds(2500));
  EXPECT_EQ(reconnect_delay(2, 2500, 0.5), milliseconds(5000));
  EXPECT_EQ(reconnect_delay(1, 60000, 0.5), milliseconds(30000));
  // A retry of 0 would make a busy loop.
  EXPECT_EQ(reconnect_delay(1, 0, 0.5), milliseconds(100));
  EXPECT_EQ(reconnect_delay(2, 0, 0.5), milliseconds(200));
}

TEST(SseWatchBackoff, JitterIsPlusMinusTwentyPercentUnderTheCap) {
  EXPECT_EQ(reconnect_delay(1, 1000, 0.0), milliseconds(800));
  EXPECT_EQ(reconnect_delay(1, 1000, 0.999999), milliseconds(1200));
  EXPECT_EQ(reconnect_delay(3, 1000, 0.25), milliseconds(3600));
  EXPECT_EQ(reconnect_delay(6, 1000, 0.0), milliseconds(24000));
  EXPECT_EQ(reconnect_delay(6, 1000, 0.999999), milliseconds(30000));
}

}  // namespace
}  // namespace tagstream
