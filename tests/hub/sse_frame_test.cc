// SSE framing and the JSON of data events: the exact bytes every browser and
// `tagstream watch` receive.
#include "hub/sse_frame.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "client/sse_parser.h"
#include "core/time.h"

namespace tagstream {
namespace {

// 2026-11-25T10:00:00.123Z
constexpr TimeNs kSomeInstant = 1'795'600'800'123 * kNanosPerMilli;

std::string event(std::string_view ev, std::string_view data, std::optional<Seq> id = std::nullopt,
                  std::optional<int> retry = std::nullopt) {
  std::string out;
  append_sse_event(out, ev, data, id, retry);
  return out;
}

std::vector<SseEvent> parse_all(std::string_view bytes, std::size_t chunk = 0) {
  SseParser parser;
  std::vector<SseEvent> events;
  auto sink = [&](const SseEvent& e) { events.push_back(e); };
  if (chunk == 0) {
    EXPECT_TRUE(parser.feed(bytes, sink));
  } else {
    for (std::size_t i = 0; i < bytes.size(); i += chunk)
      EXPECT_TRUE(parser.feed(bytes.substr(i, chunk), sink));
  }
  return events;
}

// What an EventSource reassembles: every CRLF, lone CR and LF becomes LF.
std::string normalise_newlines(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += '\n';
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

// ---------------------------------------------------------------- framing

TEST(SseFrame, FieldOrderRetryIdEventData) {
  EXPECT_EQ(event("data", "{\"a\":1}", 42, 3000), "retry: 3000\nid: 42\nevent: data\ndata: {\"a\":1}\n\n");
  EXPECT_EQ(event("heartbeat", "x", 7), "id: 7\nevent: heartbeat\ndata: x\n\n");
  EXPECT_EQ(event("connected", "x", std::nullopt, 5000), "retry: 5000\nevent: connected\ndata: x\n\n");
  EXPECT_EQ(event("", "hello"), "data: hello\n\n");  // no event line: the client's default "message"
  EXPECT_EQ(event("", "hello", 0), "id: 0\ndata: hello\n\n");
  EXPECT_EQ(event("e", "d", 18446744073709551615ull), "id: 18446744073709551615\nevent: e\ndata: d\n\n");
}

TEST(SseFrame, AppendsWithoutClearing) {
  std::string out = "retry: 1\n\n";
  append_sse_event(out, "a", "1", 1);
  append_sse_event(out, "b", "2", 2);
  EXPECT_EQ(out, "retry: 1\n\nid: 1\nevent: a\ndata: 1\n\nid: 2\nevent: b\ndata: 2\n\n");
}

TEST(SseFrame, MakeSseFrameEqualsAppend) {
  const FramePtr f = make_sse_frame("error", "{\"code\":\"bad\"}\nline2", 9, 250);
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, event("error", "{\"code\":\"bad\"}\nline2", 9, 250));
  EXPECT_EQ(*f, "retry: 250\nid: 9\nevent: error\ndata: {\"code\":\"bad\"}\ndata: line2\n\n");
}

TEST(SseFrame, MultiLineDataSplitsOnLfCrlfAndLoneCr) {
  EXPECT_EQ(event("", "a\nb"), "data: a\ndata: b\n\n");
  EXPECT_EQ(event("", "a\r\nb"), "data: a\ndata: b\n\n");
  EXPECT_EQ(event("", "a\rb"), "data: a\ndata: b\n\n");
  EXPECT_EQ(event("", "a\nb\r\nc\rd"), "data: a\ndata: b\ndata: c\ndata: d\n\n");
  // Consecutive breaks are empty lines, not merged: CR CR is two, LF CR is two,
  // CR LF is one.
  EXPECT_EQ(event("", "a\r\rb"), "data: a\ndata: \ndata: b\n\n");
  EXPECT_EQ(event("", "a\n\rb"), "data: a\ndata: \ndata: b\n\n");
  EXPECT_EQ(event("", "a\n\nb"), "data: a\ndata: \ndata: b\n\n");
  EXPECT_EQ(event("", "a\r\n\r\nb"), "data: a\ndata: \ndata: b\n\n");
  // Leading and trailing breaks keep their empty lines.
  EXPECT_EQ(event("", "a\n"), "data: a\ndata: \n\n");
  EXPECT_EQ(event("", "\na"), "data: \ndata: a\n\n");
  EXPECT_EQ(event("", "a\r"), "data: a\ndata: \n\n");
  EXPECT_EQ(event("", "a\r\n"), "data: a\ndata: \n\n");
  EXPECT_EQ(event("", "\r\n"), "data: \ndata: \n\n");
  // Every frame ends with exactly one blank line.
  const std::string f = event("x", "1\n2\r3\r\n");
  EXPECT_TRUE(f.ends_with("\n\n"));
  EXPECT_FALSE(f.ends_with("\n\n\n"));
}

TEST(SseFrame, EmptyDataGivesOneEmptyDataLine) {
  EXPECT_EQ(event("", ""), "data: \n\n");
  EXPECT_EQ(event("ping", "", 3), "id: 3\nevent: ping\ndata: \n\n");
  // ...which a browser dispatches as an event with empty data.
  const auto events = parse_all(event("ping", "", 3));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "ping");
  EXPECT_EQ(events[0].data, "");
  EXPECT_EQ(events[0].id, "3");
}

TEST(SseFrame, DataWithColonsAndLeadingSpacesSurvives) {
  // The parser strips exactly one space after "data:"; the frame always writes
  // one, so the payload's own leading spaces and colons are kept.
  for (std::string_view d :
       {" lead", "  two", ":colon", "a: b", ": comment-like", "data: nested", " ", ":"}) {
    const auto events = parse_all(event("m", d));
    ASSERT_EQ(events.size(), 1u) << d;
    EXPECT_EQ(events[0].data, d);
  }
}

TEST(SseFrame, PropertyParserGivesBackTheDataWithNewlinesNormalised) {
  std::mt19937_64 rng(424242);
  const std::string alphabet[] = {"a",  "b",  "Z",    "0",    " ",    " ", ":",  ":",
                                  "\r", "\r", "\n",   "\n",   "\r\n", "{", "\"", "\xC3\xA9" /* é */,
                                  "\t", "id", "data", "event"};
  std::uniform_int_distribution<std::size_t> pick(0, std::size(alphabet) - 1);
  for (int round = 0; round < 2000; ++round) {
    const std::size_t len = std::uniform_int_distribution<std::size_t>(0, 40)(rng);
    std::string data;
    for (std::size_t i = 0; i < len; ++i) data += alphabet[pick(rng)];
    const Seq id = rng() % 1'000'000;
    const bool with_retry = rng() % 4 == 0;
    std::string stream;
    append_sse_event(stream, "data", data, id, with_retry ? std::optional<int>(1500) : std::nullopt);
    // A second event right behind it: the first must end exactly where it should.
    append_sse_event(stream, "", "next", id + 1);
    for (std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{7}}) {
      SCOPED_TRACE("round " + std::to_string(round) + " chunk " + std::to_string(chunk));
      const auto events = parse_all(stream, chunk);
      ASSERT_EQ(events.size(), 2u) << stream;
      EXPECT_EQ(events[0].type, "data");
      EXPECT_EQ(events[0].data, normalise_newlines(data));
      EXPECT_EQ(events[0].id, std::to_string(id));
      EXPECT_TRUE(events[0].has_id_field);
      EXPECT_EQ(events[1].type, "message");
      EXPECT_EQ(events[1].data, "next");
      EXPECT_EQ(events[1].id, std::to_string(id + 1));
    }
    if (HasFailure()) break;
  }
}

TEST(SseFrame, RetryIsSeenByTheParser) {
  SseParser parser;
  ASSERT_TRUE(parser.feed(event("connected", "{}", 1, 2500), [](const SseEvent&) {}));
  EXPECT_EQ(parser.retry_ms(), 2500);
  EXPECT_EQ(parser.last_event_id(), "1");
}

// ---------------------------------------------------------------- JSON strings

std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(SseFrame, JsonStringEscapesExactly) {
  EXPECT_EQ(json_string(""), "\"\"");
  EXPECT_EQ(json_string("boiler1.temperature"), "\"boiler1.temperature\"");
  EXPECT_EQ(json_string("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(json_string("a\\b"), "\"a\\\\b\"");
  EXPECT_EQ(json_string("\\\""), "\"\\\\\\\"\"");
  EXPECT_EQ(json_string("l1\nl2"), "\"l1\\nl2\"");
  EXPECT_EQ(json_string("\r\t"), "\"\\r\\t\"");
  EXPECT_EQ(json_string(std::string_view("\0", 1)), "\"\\u0000\"");
  EXPECT_EQ(json_string("\x01\x1f\x1b"), "\"\\u0001\\u001f\\u001b\"");
  EXPECT_EQ(json_string("\b\f"), "\"\\u0008\\u000c\"");
  EXPECT_EQ(json_string("/ \x7f"), "\"/ \x7f\"");                              // neither needs escaping
  EXPECT_EQ(json_string("\xC3\xA9\xE2\x82\xAC"), "\"\xC3\xA9\xE2\x82\xAC\"");  // UTF-8 passes through
  // Never a raw line break: data events are a single data: line.
  const std::string all_controls = [] {
    std::string s;
    for (int c = 0; c < 0x20; ++c) s += static_cast<char>(c);
    return s;
  }();
  const std::string escaped = json_string(all_controls);
  for (char c : escaped) EXPECT_GE(static_cast<unsigned char>(c), 0x20u);
  EXPECT_EQ(boost::json::parse(escaped).as_string(), all_controls);
}

TEST(SseFrame, PropertyJsonStringParsesBackToTheOriginal) {
  std::mt19937_64 rng(777);
  const std::vector<std::string> pieces = [] {
    std::vector<std::string> p;
    for (int c = 0; c < 0x80; ++c) p.emplace_back(1, static_cast<char>(c));  // every ASCII byte, NUL included
    for (int i = 0; i < 20; ++i) {
      p.push_back("\"");
      p.push_back("\\");
    }
    p.push_back("\xC3\xA9");          // é
    p.push_back("\xE2\x82\xAC");      // €
    p.push_back("\xE2\x80\xA8");      // U+2028
    p.push_back("\xF0\x9F\x94\xA5");  // U+1F525, outside the BMP
    return p;
  }();
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    const std::size_t len = std::uniform_int_distribution<std::size_t>(0, 30)(rng);
    for (std::size_t i = 0; i < len; ++i) s += pieces[pick(rng)];
    const std::string j = json_string(s);
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(j, ec);
    ASSERT_FALSE(ec) << ec.message() << " for " << j;
    ASSERT_TRUE(v.is_string()) << j;
    ASSERT_EQ(std::string_view(v.as_string()), s) << j;
    ASSERT_EQ(j.find('\n'), std::string::npos);
    ASSERT_EQ(j.find('\r'), std::string::npos);
  }
}

// ---------------------------------------------------------------- JSON numbers

std::string json_number(double v) {
  std::string out;
  append_json_number(out, v);
  return out;
}

TEST(SseFrame, JsonNumberShortestRoundTrip) {
  EXPECT_EQ(json_number(0.1), "0.1");
  EXPECT_EQ(json_number(30), "30");
  EXPECT_EQ(json_number(30.0), "30");
  EXPECT_EQ(json_number(0), "0");
  EXPECT_EQ(json_number(-0.0), "-0");
  EXPECT_EQ(json_number(-1.5), "-1.5");
  EXPECT_EQ(json_number(21.5), "21.5");
  EXPECT_EQ(json_number(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(json_number(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(json_number(1e21), "1e+21");
  EXPECT_EQ(json_number(1e-7), "1e-07");
  EXPECT_EQ(json_number(123456.789), "123456.789");
  EXPECT_EQ(json_number(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
  EXPECT_EQ(json_number(std::numeric_limits<double>::denorm_min()), "5e-324");
  EXPECT_EQ(json_number(-std::numeric_limits<double>::max()), "-1.7976931348623157e+308");
  // Every one of them is valid JSON.
  for (double v : {0.1, 30.0, -0.0, 1e21, 1e-7, 5e-324, 1.7976931348623157e308}) {
    boost::system::error_code ec;
    boost::json::parse(json_number(v), ec);
    EXPECT_FALSE(ec) << json_number(v);
  }
}

TEST(SseFrame, JsonNumberNonFiniteIsNull) {
  EXPECT_EQ(json_number(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(json_number(-std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(json_number(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(json_number(-std::numeric_limits<double>::infinity()), "null");
}

TEST(SseFrame, PropertyJsonNumberRoundTripsBitExactly) {
  std::mt19937_64 rng(99);
  for (int i = 0; i < 20000; ++i) {
    std::uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    if (!std::isfinite(v)) continue;
    const std::string s = json_number(v);
    ASSERT_LE(s.size(), 24u) << s;
    const double back = std::strtod(s.c_str(), nullptr);
    ASSERT_EQ(std::memcmp(&back, &v, sizeof v), 0) << s;
    // Shortest: never longer than the fewest-digits scientific form that
    // round-trips (fixed wins ties, e.g. "89925708033096400896" over
    // "8.99257080330964e+19").
    std::string sci;
    for (int prec = 0; prec <= 17; ++prec) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.*e", prec, v);
      if (std::strtod(buf, nullptr) == v) {
        sci = buf;
        break;
      }
    }
    ASSERT_FALSE(sci.empty());
    ASSERT_LE(s.size(), sci.size()) << s << " vs " << sci;
  }
}

TEST(SseFrame, JsonInteger) {
  auto j = [](std::int64_t v) {
    std::string out;
    append_json_integer(out, v);
    return out;
  };
  EXPECT_EQ(j(0), "0");
  EXPECT_EQ(j(-1), "-1");
  EXPECT_EQ(j(1795600800123), "1795600800123");
  EXPECT_EQ(j(std::numeric_limits<std::int64_t>::min()), "-9223372036854775808");
  EXPECT_EQ(j(std::numeric_limits<std::int64_t>::max()), "9223372036854775807");
}

// ---------------------------------------------------------------- points

std::vector<std::string> keys_in_order(const boost::json::object& o) {
  std::vector<std::string> out;
  for (const auto& kv : o) out.emplace_back(kv.key());
  return out;
}

TEST(SseFrame, RawPointJsonExactFields) {
  std::string out;
  append_point_json(out, "boiler1.temperature", Sample{kSomeInstant + 999'999, 21.5, Quality::uncertain});
  EXPECT_EQ(out, R"({"tag":"boiler1.temperature","t":1795600800123,"v":21.5,"q":"uncertain"})");

  std::string neg;
  append_point_json(neg, "a\"b", Sample{-1, std::numeric_limits<double>::quiet_NaN(), Quality::bad});
  EXPECT_EQ(neg, R"({"tag":"a\"b","t":-1,"v":null,"q":"bad"})");

  const auto v = boost::json::parse(out).as_object();
  EXPECT_EQ(keys_in_order(v), (std::vector<std::string>{"tag", "t", "v", "q"}));
}

TEST(SseFrame, AggregatePointJsonExactFields) {
  Aggregate a;
  a.start = bucket_start(kSomeInstant, Interval::minute);
  a.add(Sample{kSomeInstant + 5 * kNanosPerSecond, 3.0, Quality::good});
  a.add(Sample{kSomeInstant, 1.0, Quality::uncertain});  // earlier, arrives later: becomes first
  a.add(Sample{kSomeInstant + 9 * kNanosPerSecond, 8.0, Quality::good});
  std::string out;
  append_point_json(out, "boiler1.temperature", a);
  EXPECT_EQ(out, R"({"tag":"boiler1.temperature","t":1795600800000,"avg":4,"min":1,"max":8,)"
                 R"("first":1,"last":8,"count":3,"q":"uncertain"})");
  const auto v = boost::json::parse(out).as_object();
  EXPECT_EQ(keys_in_order(v),
            (std::vector<std::string>{"tag", "t", "avg", "min", "max", "first", "last", "count", "q"}));

  Aggregate b;
  b.start = -60 * kNanosPerSecond;
  b.add(Sample{-1, 0.1, Quality::bad});
  b.add(Sample{-2, 0.2, Quality::good});
  std::string out_b;
  append_point_json(out_b, "x", b);
  EXPECT_EQ(out_b, R"({"tag":"x","t":-60000,"avg":0.15000000000000002,"min":0.1,"max":0.2,)"
                   R"("first":0.2,"last":0.1,"count":2,"q":"bad"})");
}

// ---------------------------------------------------------------- data events

TEST(SseFrame, DataEventBuilderFrame) {
  DataEventBuilder builder(Interval::minute);
  EXPECT_EQ(builder.points(), 0u);
  append_point_json(builder.next_point(), "a.t", Sample{kSomeInstant, 1.5, Quality::good});
  EXPECT_EQ(builder.points(), 1u);
  Aggregate agg;
  agg.start = bucket_start(kSomeInstant, Interval::minute);
  agg.add(Sample{kSomeInstant, 2.0, Quality::good});
  append_point_json(builder.next_point(), "b\nweird\"name", agg);
  EXPECT_EQ(builder.points(), 2u);
  EXPECT_GT(builder.bytes(), 0u);
  const FramePtr frame = builder.finish(42);
  ASSERT_TRUE(frame);
  const std::string& f = *frame;

  EXPECT_TRUE(f.starts_with("id: 42\nevent: data\ndata: {")) << f;
  EXPECT_TRUE(f.ends_with("}\n\n")) << f;
  // Exactly one data line: the JSON never carries a raw newline.
  EXPECT_EQ(std::count(f.begin(), f.end(), '\n'), 4);
  EXPECT_EQ(f.find('\r'), std::string::npos);
  EXPECT_EQ(f,
            "id: 42\nevent: data\ndata: "
            R"({"interval":"minute","points":[{"tag":"a.t","t":1795600800123,"v":1.5,"q":"good"},)"
            R"({"tag":"b\nweird\"name","t":1795600800000,"avg":2,"min":2,"max":2,"first":2,"last":2,)"
            R"("count":1,"q":"good"}]})"
            "\n\n");

  const auto events = parse_all(f);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "data");
  EXPECT_EQ(events[0].id, "42");
  const auto doc = boost::json::parse(events[0].data).as_object();
  EXPECT_EQ(doc.at("interval").as_string(), "minute");
  const auto& points = doc.at("points").as_array();
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].as_object().at("tag").as_string(), "a.t");
  EXPECT_EQ(points[1].as_object().at("tag").as_string(), "b\nweird\"name");
  EXPECT_EQ(points[1].as_object().at("count").as_int64(), 1);
}

TEST(SseFrame, DataEventBuilderResetsAfterFinish) {
  DataEventBuilder builder(Interval::raw);
  append_point_json(builder.next_point(), "a", Sample{0, 1, Quality::good});
  const FramePtr first = builder.finish(1);
  EXPECT_EQ(builder.points(), 0u);
  append_point_json(builder.next_point(), "b", Sample{kNanosPerMilli, 2, Quality::good});
  const FramePtr second = builder.finish(2);
  EXPECT_EQ(*first,
            "id: 1\nevent: data\ndata: "
            R"({"interval":"raw","points":[{"tag":"a","t":0,"v":1,"q":"good"}]})"
            "\n\n");
  // Nothing of the first event leaks into the second.
  EXPECT_EQ(*second,
            "id: 2\nevent: data\ndata: "
            R"({"interval":"raw","points":[{"tag":"b","t":1,"v":2,"q":"good"}]})"
            "\n\n");
}

TEST(SseFrame, DataEventBuilderWithoutPointsIsStillValidJson) {
  DataEventBuilder builder(Interval::hour);
  const FramePtr frame = builder.finish(5);
  EXPECT_EQ(*frame, "id: 5\nevent: data\ndata: {\"interval\":\"hour\",\"points\":[]}\n\n");
  const auto events = parse_all(*frame);
  ASSERT_EQ(events.size(), 1u);
  boost::system::error_code ec;
  boost::json::parse(events[0].data, ec);
  EXPECT_FALSE(ec) << events[0].data;
}

}  // namespace
}  // namespace tagstream
