// Bounded ingest (issue 15): tag metadata is capped and UTF-8, tags are
// created within --max-tags, --max-new-tags-per-request and
// --max-new-tags-per-minute or not at all, /metrics stays small however many
// tags exist, and timestamps at the edges of the supported range neither
// overflow nor slip through.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/interval.h"
#include "support.h"

namespace tagstream::test {
namespace {

HttpReply post(unsigned short port, const std::string& target, const std::string& body,
               const std::string& source = "", const std::string& content_type = "text/plain") {
  return http_raw(port,
                  "POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: " +
                      content_type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body,
                  source);
}

HttpReply put(unsigned short port, const std::string& target, const std::string& body) {
  return http_raw(port, "PUT " + target +
                            " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                            "Content-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body);
}

std::string code_of(const HttpReply& r) {
  boost::system::error_code ec;
  const auto doc = boost::json::parse(r.body, ec);
  if (ec || !doc.is_object() || !doc.as_object().contains("code")) return "<no code: " + r.body + ">";
  return std::string(doc.at("code").as_string());
}

/// One line protocol line per new tag: `<prefix>.t<i> v=1`.
std::string lines_for(const std::string& prefix, int first, int count) {
  std::string body;
  for (int i = first; i < first + count; ++i) body += prefix + " t" + std::to_string(i) + "=1\n";
  return body;
}

// ------------------------------------------------------------ metadata

// Attack 1: a 100 KB unit on a line of 2,000 fields was accepted (204) and
// copied into every point, every tag and every stored row (+600 MB RSS).
TEST(IngestBounds, OversizedUnitOnAWideLineIsRefusedAndCreatesNothing) {
  TestServer server;
  std::string line = "boiler1,unit=" + std::string(100 * 1024, 'u') + " ";
  for (int i = 0; i < 2000; ++i) line += (i ? ",f" : "f") + std::to_string(i) + "=1";
  const auto r = post(server.port(), "/write", line);
  ASSERT_EQ(r.status, 400) << r.body.substr(0, 300);
  EXPECT_NE(r.body.find("unit is 102400 bytes long, at most 64 allowed"), std::string::npos)
      << r.body.substr(0, 300);
  EXPECT_EQ(server.app().registry().size(), 0u);

  // The same line with a unit of the longest allowed length is written, and
  // every field's tag carries it.
  std::string ok = "boiler1,unit=" + std::string(kMaxUnitLength, 'u') + " ";
  for (int i = 0; i < 2000; ++i) ok += (i ? ",f" : "f") + std::to_string(i) + "=1";
  ASSERT_EQ(post(server.port(), "/write", ok).status, 204);
  EXPECT_EQ(server.app().registry().size(), 2000u);
  const auto tag = http_get(server.port(), "/api/tags/boiler1.f1999");
  ASSERT_EQ(tag.status, 200);
  EXPECT_EQ(boost::json::parse(tag.body).at("unit").as_string(), std::string(kMaxUnitLength, 'u'));
}

TEST(IngestBounds, JsonSampleMetadataIsBoundedPerItem) {
  TestServer server;
  const std::string body = R"([{"tag":"a.v","value":1,"description":")" +
                           std::string(kMaxDescriptionLength + 1, 'd') +
                           R"("},{"tag":"b.v","value":2,"unit":"degC"}])";
  const auto r = post(server.port(), "/api/samples", body, "", "application/json");
  ASSERT_EQ(r.status, 400) << r.body;
  const auto doc = boost::json::parse(r.body);
  EXPECT_EQ(doc.at("written").to_number<int>(), 1);
  EXPECT_EQ(doc.at("errors").at(0).at("message").as_string(),
            "item 0: description is 1025 bytes long, at most 1024 allowed");
  EXPECT_FALSE(server.app().registry().find("a.v").has_value());
  EXPECT_TRUE(server.app().registry().find("b.v").has_value());
}

// Attack 3: PUT took a 15 MB description.
TEST(IngestBounds, TagPutBodyAndMetadataAreBounded) {
  TestServer server;
  const auto huge =
      put(server.port(), "/api/tags/a.v", R"({"description":")" + std::string(2 << 20, 'd') + "\"}");
  EXPECT_EQ(huge.status, 413) << huge.body.substr(0, 200);
  EXPECT_EQ(code_of(huge), "body_too_large");
  const auto long_desc = put(server.port(), "/api/tags/a.v",
                             R"({"description":")" + std::string(kMaxDescriptionLength + 1, 'd') + "\"}");
  EXPECT_EQ(long_desc.status, 400);
  EXPECT_NE(long_desc.body.find("description is 1025 bytes long, at most 1024 allowed"), std::string::npos)
      << long_desc.body;
  const auto long_unit = put(server.port(), "/api/tags/a.v", R"({"unit":")" + std::string(65, 'u') + "\"}");
  EXPECT_EQ(long_unit.status, 400);
  EXPECT_FALSE(server.app().registry().find("a.v").has_value());

  const auto ok = put(server.port(), "/api/tags/a.v",
                      R"({"unit":"degC","description":")" + std::string(kMaxDescriptionLength, 'd') + "\"}");
  EXPECT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(server.app().registry().info(*server.app().registry().find("a.v"))->description.size(),
            kMaxDescriptionLength);
}

// Issue 15, item 5: bad bytes used to be stored and shown as U+FFFD later.
TEST(IngestBounds, InvalidUtf8IsRefusedOnEveryWritePath) {
  TestServer server;
  const auto line = post(server.port(), "/write", "tank,unit=m\xb3 level=1\ntank flow=2\n");
  ASSERT_EQ(line.status, 400) << line.body;
  EXPECT_NE(line.body.find("is not valid UTF-8"), std::string::npos) << line.body;
  EXPECT_FALSE(server.app().registry().find("tank.level").has_value());
  EXPECT_TRUE(server.app().registry().find("tank.flow").has_value()) << "the good line is kept";

  const auto name = post(server.port(), "/write", "t\xe9mp v=1\n");
  EXPECT_EQ(name.status, 400) << name.body;
  EXPECT_EQ(server.app().registry().size(), 1u);

  const auto json = post(server.port(), "/api/samples", "{\"tag\":\"a.v\",\"value\":1,\"unit\":\"m\xb3\"}",
                         "", "application/json");
  EXPECT_EQ(json.status, 400) << json.body;
  const auto tag_put = put(server.port(), "/api/tags/a.v", "{\"description\":\"caf\xe9\"}");
  EXPECT_EQ(tag_put.status, 400) << tag_put.body;
  EXPECT_FALSE(server.app().registry().find("a.v").has_value());
}

// ------------------------------------------------------------ tag caps

ServerConfig capped(std::size_t max_tags, std::size_t per_request, std::size_t per_minute) {
  ServerConfig c = test_config();
  c.max_tags = max_tags;
  c.max_new_tags_per_request = per_request;
  c.max_new_tags_per_minute = per_minute;
  return c;
}

// Attack 2: 10 writes of 100,000 new names made 1 M tags and a 56 MB /metrics.
TEST(TagCaps, TotalCapRefusesAWholeRequestAndCreatesNoTagOfIt) {
  TestServer server(capped(50, 1000, 1000));
  const auto metrics_before = http_get(server.port(), "/metrics");
  ASSERT_EQ(post(server.port(), "/write", lines_for("plant", 0, 40)).status, 204);

  // 20 more would make 60: none is created, not even the first 10 that fit.
  const auto r = post(server.port(), "/write", lines_for("plant", 0, 40) + lines_for("extra", 0, 20));
  ASSERT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(code_of(r), "tag_limit_reached");
  EXPECT_FALSE(r.header("retry-after").empty());
  EXPECT_NE(r.body.find("at most 50 (--max-tags)"), std::string::npos) << r.body;
  EXPECT_EQ(server.app().registry().size(), 40u);
  EXPECT_EQ(http_get(server.port(), "/api/tags/extra.t0").status, 404);

  // JSON and PUT obey the same cap; tags that exist are still written.
  std::string items = "[";
  for (int i = 0; i < 11; ++i)
    items += (i ? ",{\"tag\":\"j.t" : "{\"tag\":\"j.t") + std::to_string(i) + "\",\"value\":1}";
  const auto json = post(server.port(), "/api/samples", items + "]", "", "application/json");
  EXPECT_EQ(json.status, 429) << json.body;
  ASSERT_EQ(post(server.port(), "/write", lines_for("more", 0, 10)).status, 204);
  const auto put_new = put(server.port(), "/api/tags/one.more", R"({"unit":"K"})");
  EXPECT_EQ(put_new.status, 429) << put_new.body;
  EXPECT_EQ(code_of(put_new), "tag_limit_reached");
  EXPECT_EQ(server.app().registry().size(), 50u);
  EXPECT_EQ(post(server.port(), "/write", lines_for("plant", 0, 40)).status, 204);

  // /metrics has no series per tag unless asked: 50 tags later it is as big
  // as it was with none (give or take the digits of its counters).
  const auto metrics_after = http_get(server.port(), "/metrics");
  ASSERT_EQ(metrics_after.status, 200);
  EXPECT_EQ(metrics_after.body.find("{tag="), std::string::npos);
  EXPECT_LT(metrics_after.body.size(), metrics_before.body.size() + 100);
  EXPECT_NE(metrics_after.body.find("tagstream_tags 50\n"), std::string::npos);
  const auto asked = http_get(server.port(), "/metrics?tags=plant.t1*");
  ASSERT_EQ(asked.status, 200);
  EXPECT_NE(asked.body.find("tagstream_tag_updates_per_second{tag=\"plant.t10\"}"), std::string::npos);
  EXPECT_EQ(asked.body.find("{tag=\"plant.t2"), std::string::npos);
  EXPECT_EQ(http_get(server.port(), "/metrics?tags=a%20b").status, 400);
}

TEST(TagCaps, NewTagsPerRequestAreCapped) {
  TestServer server(capped(1000, 10, 1000));
  const auto r = post(server.port(), "/write", lines_for("m", 0, 11));
  ASSERT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(code_of(r), "too_many_new_tags_per_request");
  EXPECT_NE(r.body.find("the request needs 11 new tags"), std::string::npos) << r.body;
  EXPECT_EQ(server.app().registry().size(), 0u);
  // The same name on many lines is one new tag.
  ASSERT_EQ(post(server.port(), "/write", lines_for("m", 0, 10) + lines_for("m", 0, 10)).status, 204);
  EXPECT_EQ(server.app().registry().size(), 10u);
}

TEST(TagCaps, NewTagsPerMinuteAreCappedPerClient) {
  TestServer server(capped(1000, 1000, 30));
  ASSERT_EQ(post(server.port(), "/write", lines_for("a", 0, 20), "127.0.0.2").status, 204);
  const auto r = post(server.port(), "/write", lines_for("a", 20, 20), "127.0.0.2");
  ASSERT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(code_of(r), "too_many_new_tags_per_minute");
  const int retry = std::stoi(r.header("retry-after"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 60);
  EXPECT_EQ(server.app().registry().size(), 20u);
  // Known tags keep flowing from that client; another client has its own budget.
  EXPECT_EQ(post(server.port(), "/write", lines_for("a", 0, 20), "127.0.0.2").status, 204);
  EXPECT_EQ(post(server.port(), "/write", lines_for("b", 0, 20), "127.0.0.3").status, 204);
  EXPECT_EQ(post(server.port(), "/write", lines_for("a", 20, 10), "127.0.0.2").status, 204) << "10 fit";
  EXPECT_EQ(server.app().registry().size(), 50u);
}

// ------------------------------------------------------------ timestamps

ServerConfig any_clock_skew() {
  ServerConfig c = test_config();
  c.max_clock_skew = 1e10;  // ~300 years: only the supported range bounds sample times here
  return c;
}

TEST(TimestampBounds, SamplesAtTheEdgesOfTheSupportedRangeRollUpExactly) {
  TestServer server(any_clock_skew());
  const std::string at_max = std::to_string(kMaxSampleTime);
  const std::string at_min = std::to_string(kMinSampleTime);
  ASSERT_EQ(post(server.port(), "/write", "edge v=2 " + at_max + "\nedge v=1 " + at_min + "\n").status, 204);
  const auto past_max = post(server.port(), "/write", "edge v=3 " + std::to_string(kMaxSampleTime + 1));
  EXPECT_EQ(past_max.status, 400);
  EXPECT_NE(past_max.body.find("outside the supported range"), std::string::npos) << past_max.body;
  const auto before_min = post(server.port(), "/write", "edge v=3 " + std::to_string(kMinSampleTime - 1));
  EXPECT_EQ(before_min.status, 400);

  // The day buckets of both edges start on their own days; a history range
  // that reaches past the supported one (from just after the earliest time
  // int64 holds to the latest date a URL can give) reads them without its
  // bucket arithmetic overflowing (it used to find nothing at all).
  const auto day_point = [](TimeNs t) {
    return "{\"t\":" + std::to_string(to_millis(bucket_start(t, Interval::day))) + ",";
  };
  const std::string everything = "/api/data/history?tags[]=edge.v&from=1677-09-21T00:12:44Z&to=2262-04-11";
  HttpReply days;
  ASSERT_TRUE(eventually([&] {
    days = http_get(server.port(), everything + "&interval=day");
    return days.status == 200 && days.body.find(day_point(kMinSampleTime)) != std::string::npos &&
           days.body.find(day_point(kMaxSampleTime)) != std::string::npos;
  })) << days.status
      << " " << days.body;

  // Grouped into at most N points over the whole range.
  const auto grouped = http_get(server.port(), everything + "&maxPoints=10");
  ASSERT_EQ(grouped.status, 200) << grouped.body;
  const auto doc = boost::json::parse(grouped.body);
  const auto& points = doc.at("series").at(0).at("points").as_array();
  EXPECT_LE(points.size(), 10u);
  double count = 0;
  for (const auto& p : points) count += p.at("count").to_number<double>();
  EXPECT_EQ(count, 2) << grouped.body;

  // The default window (the hour before `to`) of a `to` in the first hour
  // int64 holds is empty, not a range error.
  const auto first_hour = http_get(server.port(), "/api/data/history?tags[]=edge.v&to=1677-09-21T00:30:00Z");
  EXPECT_EQ(first_hour.status, 200) << first_hour.body;
}

}  // namespace
}  // namespace tagstream::test
