#include "http/stream_query.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace tagstream {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

ParsedTarget parse_ok(std::string_view target) {
  auto r = parse_target(target);
  EXPECT_TRUE(r) << target << ": " << r.error.code << ": " << r.error.message;
  return r ? *r : ParsedTarget{};
}

QueryError parse_err(std::string_view target) {
  auto r = parse_target(target);
  EXPECT_FALSE(r) << target;
  return r.error;
}

StreamQuery query_ok(std::string_view target) {
  auto t = parse_ok(target);
  auto r = parse_stream_query(t);
  EXPECT_TRUE(r) << target << ": " << r.error.code << ": " << r.error.message;
  return r ? *r : StreamQuery{};
}

QueryError query_err(std::string_view target) {
  auto t = parse_target(target);
  if (!t) return t.error;
  auto r = parse_stream_query(*t);
  EXPECT_FALSE(r) << target;
  return r.error;
}

using Tags = std::vector<std::string>;

// ---- parse_target ----------------------------------------------------------

TEST(ParseTarget, PathOnly) {
  auto t = parse_ok("/api/sse/test");
  EXPECT_EQ(t.path, "/api/sse/test");
  EXPECT_TRUE(t.params.empty());
}

TEST(ParseTarget, EmptyQuery) {
  auto t = parse_ok("/api/sse/stream?");
  EXPECT_EQ(t.path, "/api/sse/stream");
  EXPECT_TRUE(t.params.empty());
}

TEST(ParseTarget, SplitsAndKeepsOrderAndRepeats) {
  auto t = parse_ok("/x?a=1&b=2&a=3&flag");
  EXPECT_EQ(t.path, "/x");
  EXPECT_EQ(t.params, (Params{{"a", "1"}, {"b", "2"}, {"a", "3"}, {"flag", ""}}));
  EXPECT_EQ(t.get("a"), "3");
  EXPECT_EQ(t.get("flag"), "");
  EXPECT_EQ(t.get("missing"), std::nullopt);
}

TEST(ParseTarget, SkipsEmptyPairs) {
  auto t = parse_ok("/x?&a=1&&b=2&");
  EXPECT_EQ(t.params, (Params{{"a", "1"}, {"b", "2"}}));
}

TEST(ParseTarget, EmptyKeyWithValueKept) {
  auto t = parse_ok("/x?=v");
  EXPECT_EQ(t.params, (Params{{"", "v"}}));
}

TEST(ParseTarget, RawBrackets) {
  auto t = parse_ok("/api/sse/stream?tags[]=temperature&tags[]=pressure");
  EXPECT_EQ(t.params, (Params{{"tags[]", "temperature"}, {"tags[]", "pressure"}}));
}

TEST(ParseTarget, EncodedBracketsUpperAndLowerCase) {
  auto t = parse_ok("/s?tags%5B%5D=a&tags%5b%5d=b");
  EXPECT_EQ(t.params, (Params{{"tags[]", "a"}, {"tags[]", "b"}}));
}

TEST(ParseTarget, OtherRawCharactersBrowsersSend) {
  auto t = parse_ok("/s?a=x|y^z&b={\"q\"}&c=`t`&d=<>\\");
  EXPECT_EQ(t.params, (Params{{"a", "x|y^z"}, {"b", "{\"q\"}"}, {"c", "`t`"}, {"d", "<>\\"}}));
}

TEST(ParseTarget, RawSpaceAndUtf8) {
  auto t = parse_ok(
      "/s?a=b c&n=\xC2\xB0"
      "C");
  EXPECT_EQ(t.params, (Params{{"a", "b c"},
                              {"n",
                               "\xC2\xB0"
                               "C"}}));
}

TEST(ParseTarget, PlusIsSpaceInQueryOnly) {
  auto t = parse_ok("/a+b/c%20d?k+1=x+y&lit=%2B");
  EXPECT_EQ(t.path, "/a+b/c d");
  EXPECT_EQ(t.params, (Params{{"k 1", "x y"}, {"lit", "+"}}));
}

TEST(ParseTarget, DecodesValues) {
  auto t = parse_ok("/s?tags=boiler1%2Etemp&x=%41%62");
  EXPECT_EQ(t.params, (Params{{"tags", "boiler1.temp"}, {"x", "Ab"}}));
}

TEST(ParseTarget, EncodedAmpersandAndEqualsStayInValue) {
  auto t = parse_ok("/s?a=1%262%3D3");
  EXPECT_EQ(t.params, (Params{{"a", "1&2=3"}}));
}

TEST(ParseTarget, ValueMayContainRawEqualsAndQuestionMark) {
  auto t = parse_ok("/s?a=b=c?d");
  EXPECT_EQ(t.params, (Params{{"a", "b=c?d"}}));
}

TEST(ParseTarget, DecodesPath) {
  auto t = parse_ok("/api/sse/%73tream?x=1");
  EXPECT_EQ(t.path, "/api/sse/stream");
  EXPECT_EQ(t.params, (Params{{"x", "1"}}));
}

TEST(ParseTarget, RawBracketsInPathKept) {
  EXPECT_EQ(parse_ok("/a[1]").path, "/a[1]");
}

TEST(ParseTarget, DropsFragment) {
  auto t = parse_ok("/s?a=1#frag&b=2");
  EXPECT_EQ(t.path, "/s");
  EXPECT_EQ(t.params, (Params{{"a", "1"}}));
  EXPECT_EQ(parse_ok("/p#x").path, "/p");
}

TEST(ParseTarget, AbsoluteForm) {
  auto t = parse_ok("http://plant.local:8080/api/sse/stream?tags[]=a");
  EXPECT_EQ(t.path, "/api/sse/stream");
  EXPECT_EQ(t.params, (Params{{"tags[]", "a"}}));
  EXPECT_EQ(parse_ok("HTTPS://h").path, "/");
  auto q = parse_ok("http://h?x=1");
  EXPECT_EQ(q.path, "/");
  EXPECT_EQ(q.params, (Params{{"x", "1"}}));
}

TEST(ParseTarget, BadPercentEncodingInQuery) {
  auto e = parse_err("/s?tags=%zz");
  EXPECT_EQ(e.code, "bad_query");
  EXPECT_NE(e.message.find("\"%zz\""), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("query"), std::string::npos) << e.message;
}

TEST(ParseTarget, TruncatedPercentEncoding) {
  auto e = parse_err("/s?tags=%4");
  EXPECT_EQ(e.code, "bad_query");
  EXPECT_NE(e.message.find("\"%4\""), std::string::npos) << e.message;
  EXPECT_EQ(parse_err("/s?a=%").code, "bad_query");
  EXPECT_EQ(parse_err("/s?a%=1").code, "bad_query");
}

TEST(ParseTarget, BadPercentEncodingInPath) {
  auto e = parse_err("/a%g1");
  EXPECT_EQ(e.code, "bad_query");
  EXPECT_NE(e.message.find("path"), std::string::npos) << e.message;
}

TEST(ParseTarget, EncodedNulInPathRejected) {
  EXPECT_EQ(parse_err("/static/a%00.js").code, "bad_query");
}

TEST(ParseTarget, MustStartWithSlash) {
  EXPECT_EQ(parse_err("").code, "bad_query");
  EXPECT_EQ(parse_err("api/x").code, "bad_query");
  EXPECT_EQ(parse_err("*").code, "bad_query");
}

TEST(ParseTarget, LengthLimit) {
  std::string target = "/s?a=";
  target.append(kMaxTargetBytes - target.size(), 'x');
  EXPECT_TRUE(parse_target(target));
  target += 'x';
  auto e = parse_err(target);
  EXPECT_EQ(e.code, "bad_query");
  EXPECT_NE(e.message.find("8193"), std::string::npos) << e.message;
}

// ---- parse_stream_query ----------------------------------------------------

TEST(StreamQuery, SpecExample) {
  auto q = query_ok("/api/sse/stream?tags[]=temperature&tags[]=pressure&interval=minute");
  EXPECT_EQ(q.tags, (Tags{"temperature", "pressure"}));
  EXPECT_EQ(q.interval, Interval::minute);
  EXPECT_EQ(q.last_event_id, std::nullopt);
}

TEST(StreamQuery, Defaults) {
  auto q = query_ok("/s?tags=a");
  EXPECT_EQ(q.tags, (Tags{"a"}));
  EXPECT_EQ(q.interval, Interval::raw);
  EXPECT_EQ(q.last_event_id, std::nullopt);
}

TEST(StreamQuery, EncodedBrackets) {
  EXPECT_EQ(query_ok("/s?tags%5B%5D=a&tags%5B%5D=b").tags, (Tags{"a", "b"}));
}

TEST(StreamQuery, MixedForms) {
  auto q = query_ok("/s?tags[]=a&tags%5B%5D=b&tags=c,d&tags=e&tags[0]=f&tags%5B1%5D=g");
  EXPECT_EQ(q.tags, (Tags{"a", "b", "c", "d", "e", "f", "g"}));
}

TEST(StreamQuery, CommaListInBracketForm) {
  EXPECT_EQ(query_ok("/s?tags[]=a,b&tags[]=c").tags, (Tags{"a", "b", "c"}));
}

TEST(StreamQuery, EncodedComma) {
  EXPECT_EQ(query_ok("/s?tags=a%2Cb").tags, (Tags{"a", "b"}));
}

TEST(StreamQuery, EmptyEntriesSkipped) {
  EXPECT_EQ(query_ok("/s?tags=a,,b,&tags=,c&tags[]=").tags, (Tags{"a", "b", "c"}));
}

TEST(StreamQuery, SpacesAroundEntriesTrimmed) {
  EXPECT_EQ(query_ok("/s?tags=a,+b+,%20c").tags, (Tags{"a", "b", "c"}));
}

TEST(StreamQuery, Dedup) {
  EXPECT_EQ(query_ok("/s?tags=b,a,b&tags[]=a&tags[]=c&tags=b").tags, (Tags{"b", "a", "c"}));
}

TEST(StreamQuery, Globs) {
  auto q = query_ok("/s?tags[]=boiler1.*&tags[]=pump?.flow&tags=*");
  EXPECT_EQ(q.tags, (Tags{"boiler1.*", "pump?.flow", "*"}));
}

TEST(StreamQuery, PercentDecodedValues) {
  EXPECT_EQ(query_ok("/s?tags=boiler1%2Etemp&tags[]=area%3Aunit-1%2A").tags,
            (Tags{"boiler1.temp", "area:unit-1*"}));
}

TEST(StreamQuery, DottedColonDashUnderscoreNames) {
  EXPECT_EQ(query_ok("/s?tags=site:a.unit_1.temp-2").tags, (Tags{"site:a.unit_1.temp-2"}));
}

TEST(StreamQuery, AllIntervals) {
  EXPECT_EQ(query_ok("/s?tags=a&interval=raw").interval, Interval::raw);
  EXPECT_EQ(query_ok("/s?tags=a&interval=second").interval, Interval::second);
  EXPECT_EQ(query_ok("/s?tags=a&interval=minute").interval, Interval::minute);
  EXPECT_EQ(query_ok("/s?tags=a&interval=hour").interval, Interval::hour);
  EXPECT_EQ(query_ok("/s?tags=a&interval=day").interval, Interval::day);
}

TEST(StreamQuery, LastIntervalWins) {
  EXPECT_EQ(query_ok("/s?interval=bogus&tags=a&interval=hour").interval, Interval::hour);
}

TEST(StreamQuery, EmptyIntervalIsDefault) {
  EXPECT_EQ(query_ok("/s?tags=a&interval=").interval, Interval::raw);
}

TEST(StreamQuery, LastEventId) {
  EXPECT_EQ(query_ok("/s?tags=a&lastEventId=42").last_event_id, 42u);
  EXPECT_EQ(query_ok("/s?tags=a&lastEventId=0").last_event_id, 0u);
  EXPECT_EQ(query_ok("/s?tags=a&lastEventId=18446744073709551615").last_event_id, 18446744073709551615ull);
  EXPECT_EQ(query_ok("/s?tags=a&lastEventId=").last_event_id, std::nullopt);
}

TEST(StreamQuery, UnknownParamsIgnored) {
  auto q = query_ok("/s?_=1712345678&tags=a&cachebuster=x&Tags=zz&tag=yy&utm_source=%7A");
  EXPECT_EQ(q.tags, (Tags{"a"}));
}

TEST(StreamQuery, ErrorMissingTags) {
  EXPECT_EQ(query_err("/s").code, "missing_tags");
  EXPECT_EQ(query_err("/s?interval=minute").code, "missing_tags");
  EXPECT_EQ(query_err("/s?tags[]=").code, "missing_tags");
  EXPECT_EQ(query_err("/s?tags=,,&tags").code, "missing_tags");
}

TEST(StreamQuery, ErrorBadTag) {
  auto e = query_err("/s?tags=good&tags[]=bad%20name");
  EXPECT_EQ(e.code, "bad_tag");
  EXPECT_NE(e.message.find("\"bad name\""), std::string::npos) << e.message;
  EXPECT_EQ(query_err("/s?tags=a..b").code, "bad_tag");
  EXPECT_EQ(query_err("/s?tags=.a").code, "bad_tag");
  EXPECT_EQ(query_err("/s?tags=a/b").code, "bad_tag");
  EXPECT_EQ(query_err("/s?tags=" + std::string(201, 'a')).code, "bad_tag");
}

TEST(StreamQuery, BadTagMessageHidesControlCharacters) {
  auto e = query_err("/s?tags=a%0Ab");
  EXPECT_EQ(e.code, "bad_tag");
  EXPECT_NE(e.message.find("\"a?b\""), std::string::npos) << e.message;
}

TEST(StreamQuery, ErrorUnknownInterval) {
  auto e = query_err("/s?tags=a&interval=week");
  EXPECT_EQ(e.code, "unknown_interval");
  EXPECT_NE(e.message.find("\"week\""), std::string::npos) << e.message;
  for (const char* name : {"raw", "second", "minute", "hour", "day"})
    EXPECT_NE(e.message.find(name), std::string::npos) << e.message;
  EXPECT_EQ(query_err("/s?tags=a&interval=Minute").code, "unknown_interval");
}

TEST(StreamQuery, ErrorBadLastEventId) {
  for (const char* id : {"abc", "-1", "12x", "1.5", "+3", "18446744073709551616", "%20"}) {
    auto e = query_err(std::string("/s?tags=a&lastEventId=") + id);
    EXPECT_EQ(e.code, "bad_last_event_id") << id;
  }
}

TEST(StreamQuery, TooManyTags) {
  std::string target = "/s?tags=";
  for (std::size_t i = 0; i < kMaxStreamTags; ++i) target += "t" + std::to_string(i) + ",";
  auto q = query_ok(target);
  EXPECT_EQ(q.tags.size(), kMaxStreamTags);
  EXPECT_EQ(q.tags.front(), "t0");
  EXPECT_EQ(q.tags.back(), "t999");
  EXPECT_EQ(query_err(target + "t1000").code, "too_many_tags");
  // Repeats do not count towards the limit.
  EXPECT_TRUE(parse_stream_query(parse_ok(target + "t0,t1,t2")));
}

TEST(StreamQuery, ErrorOrderTagsBeforeInterval) {
  EXPECT_EQ(query_err("/s?interval=week").code, "missing_tags");
  EXPECT_EQ(query_err("/s?tags=a&interval=week&lastEventId=x").code, "unknown_interval");
}

}  // namespace
}  // namespace tagstream
