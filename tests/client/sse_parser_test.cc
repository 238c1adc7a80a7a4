#include "client/sse_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tagstream {
namespace {

// Collects what one parser dispatches, for exact comparisons.
struct Collector {
  SseParser parser;
  std::vector<SseEvent> events;

  explicit Collector(std::size_t max = 16 * 1024 * 1024) : parser(max) {}

  bool feed(std::string_view bytes) {
    return parser.feed(bytes, [this](const SseEvent& e) { events.push_back(e); });
  }
  bool feed_bytewise(std::string_view bytes) {
    for (char c : bytes) {
      if (!feed(std::string_view(&c, 1))) return false;
    }
    return true;
  }
};

void expect_event(const SseEvent& e, std::string_view type, std::string_view data, std::string_view id,
                  bool has_id_field) {
  EXPECT_EQ(e.type, type);
  EXPECT_EQ(e.data, data);
  EXPECT_EQ(e.id, id);
  EXPECT_EQ(e.has_id_field, has_id_field);
}

TEST(SseParser, SingleEventDefaultsToMessage) {
  Collector c;
  ASSERT_TRUE(c.feed("data: hello\n\n"));
  ASSERT_EQ(c.events.size(), 1u);
  expect_event(c.events[0], "message", "hello", "", false);
  EXPECT_EQ(c.parser.last_event_id(), "");
  EXPECT_EQ(c.parser.retry_ms(), std::nullopt);
  EXPECT_EQ(c.parser.comments(), 0u);
  EXPECT_EQ(c.parser.error(), "");
}

TEST(SseParser, MultiLineDataJoinedWithLf) {
  Collector c;
  ASSERT_TRUE(c.feed("event: data\ndata: {\"a\":\ndata:1}\ndata\ndata:  two spaces\n\n"));
  ASSERT_EQ(c.events.size(), 1u);
  // "data" without colon appends an empty line; only one leading space is removed.
  expect_event(c.events[0], "data", "{\"a\":\n1}\n\n two spaces", "", false);
}

TEST(SseParser, EventTypeAndDataResetAfterDispatch) {
  Collector c;
  ASSERT_TRUE(c.feed("event: heartbeat\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n"));
  ASSERT_EQ(c.events.size(), 3u);
  expect_event(c.events[0], "heartbeat", "1", "", false);
  expect_event(c.events[1], "message", "2", "", false);
  // An empty event type also means "message".
  expect_event(c.events[2], "message", "3", "", false);
}

TEST(SseParser, LfCrAndCrlfLineEndings) {
  for (std::string_view stream :
       {"event: e\ndata: a\ndata: b\n\n", "event: e\rdata: a\rdata: b\r\r",
        "event: e\r\ndata: a\r\ndata: b\r\n\r\n", "event: e\r\ndata: a\rdata: b\n\r\n"}) {
    Collector c;
    ASSERT_TRUE(c.feed(stream));
    ASSERT_EQ(c.events.size(), 1u) << testing::PrintToString(std::string(stream));
    expect_event(c.events[0], "e", "a\nb", "", false);
  }
}

TEST(SseParser, LfCrIsTwoLineEndings) {
  // "\n\r" is LF then CR: the CR ends an (empty) second line, which dispatches.
  Collector c;
  ASSERT_TRUE(c.feed("data: x\n\r"));
  ASSERT_EQ(c.events.size(), 1u);
  expect_event(c.events[0], "message", "x", "", false);
}

TEST(SseParser, CrlfSplitAcrossFeedsIsOneLineEnding) {
  Collector c;
  ASSERT_TRUE(c.feed("data: a\r"));
  ASSERT_TRUE(c.feed("\ndata: b\r"));
  ASSERT_TRUE(c.feed("\n"));
  // Had the LF counted as a second line ending, "a" would have been dispatched alone.
  EXPECT_TRUE(c.events.empty());
  ASSERT_TRUE(c.feed("\r"));
  ASSERT_TRUE(c.feed("\n"));
  ASSERT_EQ(c.events.size(), 1u);
  expect_event(c.events[0], "message", "a\nb", "", false);
}

TEST(SseParser, CrAtEndOfFeedThenOtherByteEndsTheLine) {
  Collector c;
  ASSERT_TRUE(c.feed("data: a\r"));
  ASSERT_TRUE(c.feed("\r"));
  ASSERT_EQ(c.events.size(), 1u);
  expect_event(c.events[0], "message", "a", "", false);
}

TEST(SseParser, ByteByByteFeedingMatchesOneFeed) {
  const std::string stream =
      "\xEF\xBB\xBF: hello\r\nretry: 2500\r\nevent: connected\r\ndata: {\"streamId\":\"s1\"}\r\n\r\n"
      "id: 7\rdata: line1\rdata: line2\r\r"
      ":keepalive\n\n"
      "event: data\nid: 8\ndata: {\"points\":[]}\n\n"
      "event: heartbeat\ndata: {}\n\n"
      "data: partial";  // never completed: must not be dispatched
  Collector whole;
  ASSERT_TRUE(whole.feed(stream));
  Collector bytewise;
  ASSERT_TRUE(bytewise.feed_bytewise(stream));

  ASSERT_EQ(whole.events.size(), 4u);
  expect_event(whole.events[0], "connected", "{\"streamId\":\"s1\"}", "", false);
  expect_event(whole.events[1], "message", "line1\nline2", "7", true);
  expect_event(whole.events[2], "data", "{\"points\":[]}", "8", true);
  expect_event(whole.events[3], "heartbeat", "{}", "8", false);
  EXPECT_EQ(whole.parser.retry_ms(), 2500);
  EXPECT_EQ(whole.parser.comments(), 2u);
  EXPECT_EQ(whole.parser.last_event_id(), "8");

  ASSERT_EQ(bytewise.events.size(), whole.events.size());
  for (std::size_t i = 0; i < whole.events.size(); ++i) {
    expect_event(bytewise.events[i], whole.events[i].type, whole.events[i].data, whole.events[i].id,
                 whole.events[i].has_id_field);
  }
  EXPECT_EQ(bytewise.parser.retry_ms(), 2500);
  EXPECT_EQ(bytewise.parser.comments(), 2u);
  EXPECT_EQ(bytewise.parser.last_event_id(), "8");
}

TEST(SseParser, EverySplitPointMatchesOneFeed) {
  const std::string stream = "id: 1\r\ndata: a\r\n\r\nevent: x\rdata: b\r\rdata: c\n\n";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    Collector c;
    ASSERT_TRUE(c.feed(std::string_view(stream).substr(0, cut)));
    ASSERT_TRUE(c.feed(std::string_view(stream).substr(cut)));
    ASSERT_EQ(c.events.size(), 3u) << "cut at " << cut;
    expect_event(c.events[0], "message", "a", "1", true);
    expect_event(c.events[1], "x", "b", "1", false);
    expect_event(c.events[2], "message", "c", "1", false);
  }
}

TEST(SseParser, IdPersistsAndEmptyIdResets) {
  Collector c;
  ASSERT_TRUE(c.feed("id: 41\ndata: a\n\ndata: b\n\nid\ndata: c\n\ndata: d\n\n"));
  ASSERT_EQ(c.events.size(), 4u);
  expect_event(c.events[0], "message", "a", "41", true);
  expect_event(c.events[1], "message", "b", "41", false);
  expect_event(c.events[2], "message", "c", "", true);
  expect_event(c.events[3], "message", "d", "", false);
  EXPECT_EQ(c.parser.last_event_id(), "");
}

TEST(SseParser, IdContainingNulIsIgnored) {
  Collector c;
  ASSERT_TRUE(c.feed("id: 5\ndata: a\n\n"));
  ASSERT_TRUE(c.feed(std::string_view("id: 6\0x\ndata: b\n\n", 17)));
  ASSERT_EQ(c.events.size(), 2u);
  expect_event(c.events[0], "message", "a", "5", true);
  expect_event(c.events[1], "message", "b", "5", false);
  EXPECT_EQ(c.parser.last_event_id(), "5");
}

TEST(SseParser, IdTakesEffectEvenWithoutData) {
  // The spec sets the last event id at the blank line before checking for data.
  Collector c;
  ASSERT_TRUE(c.feed("id: 9\n\n"));
  EXPECT_TRUE(c.events.empty());
  EXPECT_EQ(c.parser.last_event_id(), "9");
  ASSERT_TRUE(c.feed("id: 10\ndata: x"));  // incomplete event: the id is not yet in force
  EXPECT_EQ(c.parser.last_event_id(), "9");
}

TEST(SseParser, RetryOnlyAllDigits) {
  Collector c;
  ASSERT_TRUE(c.feed("retry: 3000\n"));
  EXPECT_EQ(c.parser.retry_ms(), 3000);
  for (std::string_view bad : {"retry: 12a\n", "retry: -5\n", "retry: 1.5\n", "retry:\n", "retry: \n",
                               "retry:  100\n", "retry: 100 \n", "retry\n"}) {
    ASSERT_TRUE(c.feed(bad));
    EXPECT_EQ(c.parser.retry_ms(), 3000) << testing::PrintToString(std::string(bad));
  }
  ASSERT_TRUE(c.feed("retry:0\n"));
  EXPECT_EQ(c.parser.retry_ms(), 0);
  ASSERT_TRUE(c.feed("retry: 99999999999999999999\n"));
  EXPECT_EQ(c.parser.retry_ms(), 2147483647);
  EXPECT_TRUE(c.events.empty());
}

TEST(SseParser, CommentsCountedAndIgnored) {
  Collector c;
  ASSERT_TRUE(c.feed(":\n: keep-alive\r\n:data: not a field\rdata: x\n: inside an event\n\n"));
  ASSERT_EQ(c.events.size(), 1u);
  expect_event(c.events[0], "message", "x", "", false);
  EXPECT_EQ(c.parser.comments(), 4u);
}

TEST(SseParser, EmptyDataNotDispatched) {
  Collector c;
  ASSERT_TRUE(c.feed("\n\nevent: x\n\nevent: y\nid: 3\n\n\r\n"));
  EXPECT_TRUE(c.events.empty());
  // The type does not leak into the next event.
  ASSERT_TRUE(c.feed("data: z\n\n"));
  ASSERT_EQ(c.events.size(), 1u);
  expect_event(c.events[0], "message", "z", "3", false);
}

TEST(SseParser, EmptyDataLineIsDispatched) {
  Collector c;
  ASSERT_TRUE(c.feed("data\n\ndata:\n\ndata:\ndata:\n\n"));
  ASSERT_EQ(c.events.size(), 3u);
  expect_event(c.events[0], "message", "", "", false);
  expect_event(c.events[1], "message", "", "", false);
  expect_event(c.events[2], "message", "\n", "", false);
}

TEST(SseParser, FieldWithoutColonAndUnknownFields) {
  Collector c;
  ASSERT_TRUE(c.feed("event\ndata: v\nfoo: bar\nData: no\n event: no\nevent \n\n"));
  ASSERT_EQ(c.events.size(), 1u);
  // "event" without a colon sets an empty type, so the event is a "message";
  // fields are case-sensitive and "event " (trailing space) is another field.
  expect_event(c.events[0], "message", "v", "", false);
}

TEST(SseParser, ColonsAfterTheFirstBelongToTheValue) {
  Collector c;
  ASSERT_TRUE(c.feed("data: a: b:c\nevent:type:x\n\n"));
  ASSERT_EQ(c.events.size(), 1u);
  expect_event(c.events[0], "type:x", "a: b:c", "", false);
}

TEST(SseParser, LeadingBomStrippedOnce) {
  Collector c;
  ASSERT_TRUE(
      c.feed("\xEF\xBB\xBF\xEF\xBB\xBF"
             "data: x\n\n"));
  // Only the first BOM is stripped; the second makes the field name "\uFEFFdata", unknown.
  EXPECT_TRUE(c.events.empty());

  Collector d;
  ASSERT_TRUE(
      d.feed("\xEF\xBB\xBF"
             "data: x\n\n"));
  ASSERT_EQ(d.events.size(), 1u);
  expect_event(d.events[0], "message", "x", "", false);
}

TEST(SseParser, BomSplitAcrossFeeds) {
  Collector c;
  ASSERT_TRUE(c.feed("\xEF"));
  ASSERT_TRUE(c.feed("\xBB"));
  ASSERT_TRUE(
      c.feed("\xBF"
             "data: x\n\n"));
  ASSERT_EQ(c.events.size(), 1u);
  expect_event(c.events[0], "message", "x", "", false);
}

TEST(SseParser, NotABomIsKept) {
  // A prefix of the BOM followed by something else is ordinary data.
  Collector c;
  ASSERT_TRUE(c.feed("\xEF"));
  ASSERT_TRUE(
      c.feed("\xBB"
             "data: x\n\ndata: y\n\n"));
  ASSERT_EQ(c.events.size(), 1u);
  expect_event(c.events[0], "message", "y", "", false);

  Collector d;
  ASSERT_TRUE(d.feed("d"));
  ASSERT_TRUE(d.feed("ata: \xEF\xBB\xBF\n\n"));
  ASSERT_EQ(d.events.size(), 1u);
  expect_event(d.events[0], "message", "\xEF\xBB\xBF", "", false);
}

TEST(SseParser, MaxEventBytesExceededReturnsFalse) {
  Collector c(16);
  // "data: 0123456789" is exactly 16 bytes: allowed.
  ASSERT_TRUE(c.feed("data: 0123456789\n\n"));
  ASSERT_EQ(c.events.size(), 1u);
  expect_event(c.events[0], "message", "0123456789", "", false);
  // Two lines of one event add up: 8 + 9 > 16.
  EXPECT_FALSE(c.feed("data: ab\ndata: abc\n\n"));
  EXPECT_EQ(c.parser.error(), "event larger than 16 bytes");
  EXPECT_EQ(c.events.size(), 1u);
  // The error is sticky.
  EXPECT_FALSE(c.feed("data: z\n\n"));
  EXPECT_EQ(c.events.size(), 1u);
}

TEST(SseParser, MaxEventBytesCatchesAnUnendedLine) {
  Collector c(16);
  ASSERT_TRUE(c.feed("data: 0123456789"));
  EXPECT_FALSE(c.feed("a"));
  EXPECT_EQ(c.parser.error(), "event larger than 16 bytes");
  EXPECT_TRUE(c.events.empty());
}

TEST(SseParser, CommentsDoNotCountTowardsTheBound) {
  Collector c(16);
  std::string comment = ":" + std::string(1000, 'x') + "\n";
  ASSERT_TRUE(c.feed(comment));
  ASSERT_TRUE(c.feed("data: 0123456789\n" + comment + "\n"));
  ASSERT_EQ(c.events.size(), 1u);
  expect_event(c.events[0], "message", "0123456789", "", false);
  EXPECT_EQ(c.parser.comments(), 2u);
}

TEST(SseParser, BoundIsPerEvent) {
  Collector c(16);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(c.feed("data: 0123456789\n\n"));
  EXPECT_EQ(c.events.size(), 100u);
}

TEST(SseParser, ResetStreamDiscardsPartialEventKeepsIdAndRetry) {
  Collector c;
  ASSERT_TRUE(c.feed("retry: 500\nid: 3\ndata: a\n\nid: 4\nevent: x\ndata: partial\r"));
  ASSERT_EQ(c.events.size(), 1u);
  c.parser.reset_stream();
  // The pending CR is forgotten too: this LF is a blank line of the new stream,
  // with nothing to dispatch. A BOM is stripped again.
  ASSERT_TRUE(c.feed("\xEF\xBB\xBF\ndata: b\n\n"));
  ASSERT_EQ(c.events.size(), 2u);
  expect_event(c.events[1], "message", "b", "3", false);
  EXPECT_EQ(c.parser.last_event_id(), "3");
  EXPECT_EQ(c.parser.retry_ms(), 500);
}

TEST(SseParser, ResetStreamClearsError) {
  Collector c(8);
  EXPECT_FALSE(c.feed("data: 0123456789\n\n"));
  c.parser.reset_stream();
  EXPECT_EQ(c.parser.error(), "");
  ASSERT_TRUE(c.feed("data: 1\n\n"));
  ASSERT_EQ(c.events.size(), 1u);
  expect_event(c.events[0], "message", "1", "", false);
}

}  // namespace
}  // namespace tagstream
