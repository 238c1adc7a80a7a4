// The /api/ws messages without a socket: client messages parsed and bounded,
// SSE frames turned into WebSocket events.
#include "http/ws_protocol.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace tagstream {
namespace {

std::string code_of(std::string_view text) {
  WsParseResult r = parse_ws_message(text);
  return r ? std::string("ok") : r.error.code;
}

/// The whole message as a client receives it, with `sub` in its place.
std::string with_sub(const WsEvent& e, std::string_view sub) {
  return e.text->substr(0, e.split) + *ws_json_string(sub) + e.text->substr(e.split);
}

TEST(WsProtocol, ParsesEachMessageType) {
  WsParseResult sub = parse_ws_message(
      R"({"type":"subscribe","id":"trend-1","tags":["a.b","area1.*","a.b"],"interval":"minute","lastEventId":"42"})");
  ASSERT_TRUE(sub) << sub.error.message;
  const auto& s = std::get<WsSubscribe>(*sub);
  EXPECT_EQ(s.id, "trend-1");
  EXPECT_EQ(s.query.tags, (std::vector<std::string>{"a.b", "area1.*"}));  // deduplicated, as SSE does
  EXPECT_EQ(s.query.interval, Interval::minute);
  EXPECT_EQ(s.query.last_event_id, 42u);

  WsParseResult numeric = parse_ws_message(R"({"type":"subscribe","id":"x","tags":["a"],"lastEventId":7})");
  ASSERT_TRUE(numeric);
  EXPECT_EQ(std::get<WsSubscribe>(*numeric).query.last_event_id, 7u);
  EXPECT_EQ(std::get<WsSubscribe>(*numeric).query.interval, Interval::raw);

  WsParseResult unsub = parse_ws_message(R"({"type":"unsubscribe","id":"trend-1"})");
  ASSERT_TRUE(unsub);
  EXPECT_EQ(std::get<WsUnsubscribe>(*unsub).id, "trend-1");

  WsParseResult write =
      parse_ws_message(R"({"type":"write","requestId":"r1","tag":"valve.sp","value":12.5})");
  ASSERT_TRUE(write);
  EXPECT_EQ(std::get<WsWrite>(*write).tag, "valve.sp");
  EXPECT_EQ(std::get<WsWrite>(*write).value, 12.5);
  WsParseResult on = parse_ws_message(R"({"type":"write","requestId":"r2","tag":"pump.run","value":true})");
  ASSERT_TRUE(on);
  EXPECT_EQ(std::get<WsWrite>(*on).value, 1.0);

  EXPECT_TRUE(std::holds_alternative<WsPing>(*parse_ws_message(R"({"type":"ping"})")));
}

TEST(WsProtocol, RefusesMalformedMessagesWithTheSseCodes) {
  EXPECT_EQ(code_of("not json"), "bad_message");
  EXPECT_TRUE(parse_ws_message("not json").error.fatal);
  EXPECT_EQ(code_of("[1,2]"), "bad_message");
  EXPECT_EQ(code_of(R"({"type":1})"), "missing_type");
  EXPECT_EQ(code_of(R"({"type":"shout"})"), "unknown_type");
  EXPECT_FALSE(parse_ws_message(R"({"type":"shout"})").error.fatal);
  EXPECT_EQ(code_of(R"({"type":"subscribe","tags":["a"]})"), "bad_id");
  EXPECT_EQ(code_of(R"({"type":"subscribe","id":"","tags":["a"]})"), "bad_id");
  EXPECT_EQ(code_of(R"({"type":"subscribe","id":")" + std::string(65, 'x') + R"(","tags":["a"]})"), "bad_id");
  EXPECT_EQ(code_of(R"({"type":"subscribe","id":"a\u0001","tags":["a"]})"), "bad_id");
  EXPECT_EQ(code_of(R"({"type":"subscribe","id":"s"})"), "missing_tags");
  EXPECT_EQ(code_of(R"({"type":"subscribe","id":"s","tags":[]})"), "missing_tags");
  EXPECT_EQ(code_of(R"({"type":"subscribe","id":"s","tags":"a"})"), "bad_field");
  EXPECT_EQ(code_of(R"({"type":"subscribe","id":"s","tags":[1]})"), "bad_field");
  EXPECT_EQ(code_of(R"({"type":"subscribe","id":"s","tags":["a,b"]})"), "bad_tag");
  EXPECT_EQ(code_of(R"({"type":"subscribe","id":"s","tags":["no spaces"]})"), "bad_tag");
  EXPECT_EQ(code_of(R"({"type":"subscribe","id":"s","tags":["a"],"interval":"week"})"), "unknown_interval");
  EXPECT_EQ(code_of(R"({"type":"subscribe","id":"s","tags":["a"],"interval":5})"), "bad_field");
  EXPECT_EQ(code_of(R"({"type":"subscribe","id":"s","tags":["a"],"lastEventId":-1})"), "bad_last_event_id");
  EXPECT_EQ(code_of(R"({"type":"subscribe","id":"s","tags":["a"],"lastEventId":"1e3"})"),
            "bad_last_event_id");
  EXPECT_EQ(code_of(R"({"type":"write","tag":"a","value":1})"), "bad_request_id");
  EXPECT_EQ(code_of(R"({"type":"write","requestId":"r","value":1})"), "bad_field");
  EXPECT_EQ(code_of(R"({"type":"write","requestId":"r","tag":"a","value":"1"})"), "bad_field");
  EXPECT_EQ(code_of(R"({"type":"write","requestId":"r","tag":"a"})"), "bad_field");

  // The ids a refusal can name are echoed.
  WsParseResult bad = parse_ws_message(R"({"type":"subscribe","id":"mine","tags":["a"],"interval":"x"})");
  EXPECT_EQ(bad.error.subscription, "mine");
  WsParseResult bad_write = parse_ws_message(R"({"type":"write","requestId":"r9","tag":"a"})");
  EXPECT_EQ(bad_write.error.request_id, "r9");
}

TEST(WsProtocol, BoundsTagsAndNesting) {
  std::string many = R"({"type":"subscribe","id":"s","tags":[)";
  for (std::size_t i = 0; i <= kMaxStreamTags; ++i) many += (i ? ",\"t" : "\"t") + std::to_string(i) + "\"";
  many += "]}";
  EXPECT_EQ(code_of(many), "too_many_tags");
  std::string deep = R"({"type":"ping","x":)" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_EQ(code_of(deep), "bad_message");
}

TEST(WsProtocol, SseFramesBecomeTheSameEventsWithTheSubscriptionsId) {
  const FramePtr data = make_sse_frame("data", R"({"interval":"raw","points":[{"tag":"a","v":1}]})", 17);
  const WsEvent e = ws_event_from_sse(*data);
  const auto msg = boost::json::parse(with_sub(e, "s\"1")).as_object();
  EXPECT_EQ(msg.at("event").as_string(), "data");
  EXPECT_EQ(msg.at("sub").as_string(), "s\"1");
  EXPECT_EQ(msg.at("id").as_string(), "17");
  EXPECT_EQ(boost::json::serialize(msg.at("data")), R"({"interval":"raw","points":[{"tag":"a","v":1}]})");

  // Retry lines go; an event without an id has none.
  const FramePtr error = make_sse_frame("error", R"({"code":"history_lost"})", std::nullopt, 500);
  const auto err = boost::json::parse(with_sub(ws_event_from_sse(*error), "x")).as_object();
  EXPECT_EQ(err.at("event").as_string(), "error");
  EXPECT_FALSE(err.contains("id"));
  EXPECT_EQ(err.at("data").at("code").as_string(), "history_lost");

  // Converted once per frame: the same text for every subscriber.
  const WsEvent first = ws_event_of(data);
  const WsEvent again = ws_event_of(data);
  EXPECT_EQ(first.text.get(), again.text.get());
  EXPECT_NE(ws_event_of(error).text.get(), first.text.get());
}

TEST(WsProtocol, ConnectionMessages) {
  const auto pong = boost::json::parse(*ws_message("write_result", "{\"ok\":true}", "\"requestId\":\"r\""));
  EXPECT_EQ(pong.at("event").as_string(), "write_result");
  EXPECT_EQ(pong.at("requestId").as_string(), "r");
  EXPECT_EQ(pong.at("data").at("ok").as_bool(), true);
  const auto e = boost::json::parse(with_sub(ws_event("unsubscribed", "{}"), "s")).as_object();
  EXPECT_EQ(e.at("event").as_string(), "unsubscribed");
  EXPECT_EQ(e.at("sub").as_string(), "s");
}

}  // namespace
}  // namespace tagstream
