// The server side of the dashboard: static files (gzip, ETag, caching),
// /api/stats and /metrics.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "support.h"

namespace tagstream::test {
namespace {

std::string gunzip(const std::string& body) {
  InflateResult r = inflate_body(body, 1 << 20);
  return r.error.empty() ? std::move(r.data) : "<bad gzip: " + r.error + ">";
}

TEST(Web, ServesTheDashboardWithGzipEtagsAndCaching) {
  const std::string root = make_temp_dir();
  std::filesystem::create_directories(root + "/assets");
  const std::string index =
      "<!doctype html><title>tagstream</title><script src=\"/assets/app-1a2b.js\"></script>";
  const std::string script(4000, 'x');
  std::ofstream(root + "/index.html") << index;
  std::ofstream(root + "/assets/app-1a2b.js") << script;
  auto config = test_config();
  config.web_root = root;
  TestServer server(config);

  auto page = http_get(server.port(), "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.body, index);
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(page.header("cache-control"), "no-cache");

  auto gz = http_get(server.port(), "/assets/app-1a2b.js", {"Accept-Encoding: gzip, br"});
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(gz.header("content-encoding"), "gzip");
  EXPECT_LT(gz.body.size(), script.size());
  EXPECT_EQ(gunzip(gz.body), script);
  EXPECT_EQ(gz.header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(gz.header("content-type"), "text/javascript; charset=utf-8");

  auto again = http_get(server.port(), "/assets/app-1a2b.js", {"If-None-Match: " + gz.header("etag")});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(http_get(server.port(), "/nope.js").status, 404);
  EXPECT_EQ(http_get(server.port(), "/../etc/passwd").status, 404);
}

TEST(Web, SaysSoWhenTheDashboardIsNotBuilt) {
  auto config = test_config();
  config.web_root = make_temp_dir() + "/missing";
  TestServer server(config);
  auto page = http_get(server.port(), "/");
  EXPECT_EQ(page.status, 503);
  EXPECT_NE(page.body.find("make build"), std::string::npos);
}

TEST(Stats, CountersAndRatesFollowTheTraffic) {
  TestServer server;
  server.tag("a.v");
  SseClient client(server.port(), "/api/sse/stream?tags[]=a.v");
  ASSERT_TRUE(client.read_head());
  ASSERT_TRUE(client.next_of("connected"));
  for (int i = 0; i < 5; ++i) {
    const std::string body = "a v=" + std::to_string(i) + "\n";
    auto r =
        http_raw(server.port(), "POST /write HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                                    std::to_string(body.size()) + "\r\n\r\n" + body);
    ASSERT_EQ(r.status, 204);
    ASSERT_TRUE(client.next_of("data"));
  }
  // Rates, per tag too, come from the last two of the samples taken once a
  // second: the tag is listed once two were taken after it was created.
  auto lists_the_tag = [](const boost::json::value& doc) {
    for (const auto& t : doc.at("tags").as_array())
      if (t.at("name").as_string() == "a.v") return true;
    return false;
  };
  boost::json::value doc;
  ASSERT_TRUE(eventually([&] {
    auto stats = http_get(server.port(), "/api/stats");
    doc = boost::json::parse(stats.status == 200 ? stats.body : "{\"tags\":[]}");
    return lists_the_tag(doc);
  })) << "a.v never listed with its rate: "
      << boost::json::serialize(doc);
  EXPECT_EQ(doc.at("streams").at("open").to_number<int>(), 1);
  EXPECT_EQ(doc.at("ingest").at("samplesTotal").to_number<int>(), 5);
  EXPECT_EQ(doc.at("ingest").at("requestsTotal").to_number<int>(), 5);
  EXPECT_GE(doc.at("events").at("total").to_number<int>(), 2);

  auto metrics = http_get(server.port(), "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.header("content-type").rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_NE(metrics.body.find("# TYPE tagstream_streams_open gauge\ntagstream_streams_open 1\n"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("tagstream_ingest_samples_total 5\n"), std::string::npos);
  // A series per tag only when asked for (a plant's 100,000 tags would be megabytes).
  EXPECT_EQ(metrics.body.find("tagstream_tag_updates_per_second{"), std::string::npos);
  auto per_tag = http_get(server.port(), "/metrics?tags=a.*");
  EXPECT_NE(per_tag.body.find("tagstream_tag_updates_per_second{tag=\"a.v\"}"), std::string::npos);
}

}  // namespace
}  // namespace tagstream::test
