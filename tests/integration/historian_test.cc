// Ingest over HTTP, history and polling endpoints, and persistence across
// restarts, against a real server and its SQLite store.
#include <gtest/gtest.h>
#include <zlib.h>

#include <boost/json.hpp>
#include <thread>

#include "support.h"

namespace tagstream::test {
namespace {

constexpr TimeNs kT0 = 1'764'000'000LL * kNanosPerSecond;  // 2025-11-24T16:00:00Z

HttpReply post(unsigned short port, const std::string& target, const std::string& body,
               const std::vector<std::string>& headers = {}) {
  std::string req =
      "POST " + target +
      " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  req += "\r\n" + body;
  return http_raw(port, req);
}

HttpReply put(unsigned short port, const std::string& target, const std::string& body) {
  return http_raw(port, "PUT " + target +
                            " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                            "Content-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body);
}

std::string gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(Historian, LineProtocolWriteIsStoredAndMappedToTagNames) {
  TestServer server;
  auto reply = post(server.port(), "/write?precision=ns",
                    "boiler1,unit=degC temperature=81.5 1764000000000000000\n"
                    "boiler1,unit=degC temperature=82.5 1764000001000000000\n");
  EXPECT_EQ(reply.status, 204) << reply.body;
  auto v2 = post(server.port(), "/api/v2/write?org=x&bucket=y&precision=s",
                 "pump1 running=true,flow=42i 1764000002\n");
  EXPECT_EQ(v2.status, 204) << v2.body;

  EXPECT_EQ(raw_history(server.port(), "boiler1.temperature"),
            (std::vector<std::pair<std::int64_t, double>>{{1764000000000, 81.5}, {1764000001000, 82.5}}));
  EXPECT_EQ(raw_history(server.port(), "pump1.running"),
            (std::vector<std::pair<std::int64_t, double>>{{1764000002000, 1}}));
  EXPECT_EQ(raw_history(server.port(), "pump1.flow"),
            (std::vector<std::pair<std::int64_t, double>>{{1764000002000, 42}}));

  auto tag = http_get(server.port(), "/api/tags/boiler1.temperature");
  ASSERT_EQ(tag.status, 200);
  const auto info = boost::json::parse(tag.body);
  EXPECT_EQ(info.at("unit").as_string(), "degC");
  EXPECT_EQ(info.at("value").to_number<double>(), 82.5);
  EXPECT_EQ(
      boost::json::parse(http_get(server.port(), "/api/tags/pump1.running").body).at("type").as_string(),
      "boolean");
}

TEST(Historian, PartialFailureKeepsTheGoodLinesAndNamesTheBadOnes) {
  TestServer server;
  auto reply = post(server.port(), "/write",
                    "m value=1 1764000000000000000\n"
                    "this is not line protocol\n"
                    "m value=2 1764000001000000000\n"
                    "m value=abc 1764000002000000000\n");
  EXPECT_EQ(reply.status, 400);
  const auto body = boost::json::parse(reply.body).as_object();
  EXPECT_EQ(body.at("written").to_number<int>(), 2);
  EXPECT_EQ(body.at("rejected").to_number<int>(), 2);
  const auto& errors = body.at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].at("line").to_number<int>(), 2);
  EXPECT_EQ(errors[1].at("line").to_number<int>(), 4);
  EXPECT_FALSE(body.at("error").as_string().empty()) << "InfluxDB 1.x clients read \"error\"";
  EXPECT_EQ(raw_history(server.port(), "m.value").size(), 2u);
}

TEST(Historian, GzipBodiesOversizedBodiesAndBadRequests) {
  auto config = test_config();
  config.max_body_bytes = 64 * 1024;
  TestServer server(config);
  std::string lines;
  for (int i = 0; i < 2000; ++i)
    lines += "g v=" + std::to_string(i) + " " + std::to_string(kT0 + i * kNanosPerSecond) + "\n";
  ASSERT_GT(lines.size(), config.max_body_bytes / 2);
  auto gz = post(server.port(), "/write", gzip(lines), {"Content-Encoding: gzip"});
  EXPECT_EQ(gz.status, 204) << gz.body;
  EXPECT_EQ(raw_history(server.port(), "g.v").size(), 2000u);

  std::string huge;
  while (huge.size() <= config.max_body_bytes) huge += lines;
  EXPECT_EQ(post(server.port(), "/write", huge).status, 413);
  // A small gzip body that inflates past the limit is refused the same way.
  auto bomb = post(server.port(), "/write", gzip(std::string(10 * config.max_body_bytes, 'a')),
                   {"Content-Encoding: gzip"});
  EXPECT_EQ(bomb.status, 413);
  EXPECT_EQ(post(server.port(), "/write", "x", {"Content-Encoding: br"}).status, 415);
  EXPECT_EQ(post(server.port(), "/write?precision=fortnight", "m v=1").status, 400);
  EXPECT_EQ(post(server.port(), "/write", "").status, 400);
  EXPECT_EQ(http_get(server.port(), "/write").status, 405);
  EXPECT_EQ(boost::json::parse(http_get(server.port(), "/healthz").body).at("status").as_string(), "ok");
}

TEST(Historian, JsonSamplesWithPartialFailureAndContentTypeCheck) {
  TestServer server;
  auto ok =
      post(server.port(), "/api/samples",
           R"([{"tag":"boiler1.temperature","ts":"2025-11-24T16:00:00Z","value":81.5,"quality":"good"},)"
           R"({"tag":"boiler1.temperature","ts":"2025-11-24T16:00:01Z","value":"hot"}])",
           {"Content-Type: application/json"});
  EXPECT_EQ(ok.status, 400);
  EXPECT_EQ(boost::json::parse(ok.body).at("written").to_number<int>(), 1);
  EXPECT_EQ(raw_history(server.port(), "boiler1.temperature"),
            (std::vector<std::pair<std::int64_t, double>>{{1764000000000, 81.5}}));
  EXPECT_EQ(post(server.port(), "/api/samples", "[]", {"Content-Type: text/plain"}).status, 415);
  EXPECT_EQ(post(server.port(), "/api/samples", "[{", {"Content-Type: application/json"}).status, 400);
}

TEST(Historian, ASampleFromTheFarFutureIsRefusedAndNeverBecomesTheLiveValue) {
  TestServer server;
  const std::string now_ms = std::to_string(now_ns() / kNanosPerMilli);
  ASSERT_EQ(post(server.port(), "/api/samples",
                 R"([{"tag":"boiler1.temperature","ts":)" + now_ms + R"(,"value":80}])",
                 {"Content-Type: application/json"})
                .status,
            200);
  // The year 2200 by JSON, the year 2100 by line protocol: each refused with its reason.
  const auto json = post(server.port(), "/api/samples",
                         R"([{"tag":"boiler1.temperature","ts":"2200-01-01T00:00:00Z","value":999}])",
                         {"Content-Type: application/json"});
  EXPECT_EQ(json.status, 400);
  EXPECT_NE(json.body.find("outside the supported range"), std::string::npos) << json.body;
  const auto lp = post(server.port(), "/write?precision=s", "boiler1 temperature=999 4102444800");
  EXPECT_EQ(lp.status, 400);
  EXPECT_NE(lp.body.find("ahead of the server clock"), std::string::npos) << lp.body;
  // The live value is still the real one, and a newer real sample replaces it.
  const auto latest =
      boost::json::parse(http_get(server.port(), "/api/data/latest?tags[]=boiler1.temperature").body);
  ASSERT_EQ(latest.at("points").as_array().size(), 1u);
  EXPECT_EQ(latest.at("points").at(0).at("v").to_number<double>(), 80);
  ASSERT_EQ(post(server.port(), "/write", "boiler1 temperature=81").status, 204);
  EXPECT_EQ(boost::json::parse(http_get(server.port(), "/api/data/latest?tags[]=boiler1.temperature").body)
                .at("points")
                .at(0)
                .at("v")
                .to_number<double>(),
            81);
}

TEST(Historian, HistoryInJsonAndCsvWithFunctionsAndMaxPoints) {
  TestServer server;
  std::string lines;
  // Two hours of one sample every 10 s: 720 samples, 120 minutes.
  for (int i = 0; i < 720; ++i)
    lines += "h v=" + std::to_string(i) + " " + std::to_string(kT0 + i * 10 * kNanosPerSecond) + "\n";
  ASSERT_EQ(post(server.port(), "/write", lines).status, 204);

  const std::string range = "&from=2025-11-24T16:00:00Z&to=2025-11-24T18:00:00Z";
  auto minute =
      http_get(server.port(), "/api/data/history?tags[]=h.v&interval=minute&fn=avg,max,count" + range);
  ASSERT_EQ(minute.status, 200);
  const auto doc = boost::json::parse(minute.body);
  const auto& points = doc.at("series").at(0).at("points").as_array();
  ASSERT_EQ(points.size(), 120u);
  EXPECT_EQ(points[0].at("t").to_number<std::int64_t>(), to_millis(kT0));
  EXPECT_EQ(points[0].at("avg").to_number<double>(), 2.5);  // 0..5
  EXPECT_EQ(points[0].at("max").to_number<double>(), 5);
  EXPECT_EQ(points[0].at("count").to_number<int>(), 6);
  EXPECT_FALSE(points[0].as_object().contains("min")) << "only the functions asked for";

  auto csv =
      http_get(server.port(), "/api/data/history?tags[]=h.v&interval=hour" + range, {"Accept: text/csv"});
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.header("content-type").rfind("text/csv", 0), 0u);
  EXPECT_EQ(csv.body,
            "tag,time,avg,min,max,first,last,count,quality\r\n"
            "h.v,2025-11-24T16:00:00.000Z,179.5,0,359,0,359,360,good\r\n"
            "h.v,2025-11-24T17:00:00.000Z,539.5,360,719,360,719,360,good\r\n");

  auto chart = http_get(server.port(), "/api/data/history?tags[]=h.v&maxPoints=50" + range);
  ASSERT_EQ(chart.status, 200);
  const auto chart_doc = boost::json::parse(chart.body);
  const auto& chart_points = chart_doc.at("series").at(0).at("points").as_array();
  EXPECT_LE(chart_points.size(), 50u);
  EXPECT_GE(chart_points.size(), 25u) << "the chart is still filled";
  std::uint64_t total = 0;
  for (const auto& p : chart_points) total += p.at("count").to_number<std::uint64_t>();
  EXPECT_EQ(total, 720u) << "grouping keeps every sample counted";

  EXPECT_EQ(http_get(server.port(), "/api/data/history?tags[]=h.v&from=yesterday").status, 400);
  EXPECT_EQ(http_get(server.port(), "/api/data/history?tags[]=h.v&fn=median").status, 400);
  EXPECT_EQ(http_get(server.port(), "/api/data/history?tags[]=nope").status, 400);
}

TEST(Historian, LatestPollingWithEtagAnd304) {
  TestServer server;
  ASSERT_EQ(post(server.port(), "/write", "p v=1 1764000000000000000\n").status, 204);
  auto first = http_get(server.port(), "/api/data/latest?tags[]=p.v&interval=minute");
  ASSERT_EQ(first.status, 200);
  const std::string etag = first.header("etag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(boost::json::parse(first.body).at("points").at(0).at("last").to_number<double>(), 1);

  auto same =
      http_get(server.port(), "/api/data/latest?tags[]=p.v&interval=minute", {"If-None-Match: " + etag});
  EXPECT_EQ(same.status, 304);
  EXPECT_TRUE(same.body.empty());

  ASSERT_EQ(post(server.port(), "/write", "p v=2 1764000001000000000\n").status, 204);
  auto changed =
      http_get(server.port(), "/api/data/latest?tags[]=p.v&interval=minute", {"If-None-Match: " + etag});
  EXPECT_EQ(changed.status, 200);
  EXPECT_NE(changed.header("etag"), etag);
  EXPECT_EQ(boost::json::parse(changed.body).at("points").at(0).at("count").to_number<int>(), 2);
}

TEST(Historian, TagsAreListedSearchedAndDescribed) {
  TestServer server;
  ASSERT_EQ(post(server.port(), "/write", "boiler1 temperature=80\nboiler2 temperature=70\ntank1 level=50\n")
                .status,
            204);
  auto created =
      put(server.port(), "/api/tags/boiler1.temperature", R"({"unit":"degC","description":"Supply water"})");
  EXPECT_EQ(created.status, 200);
  auto fresh = put(server.port(), "/api/tags/line1.flow", R"({"unit":"m3/h","type":"number"})");
  EXPECT_EQ(fresh.status, 201);
  EXPECT_EQ(put(server.port(), "/api/tags/line1.flow", R"({"colour":"red"})").status, 400);
  EXPECT_EQ(put(server.port(), "/api/tags/bad..name", R"({})").status, 400);

  auto list = http_get(server.port(), "/api/tags?q=boiler");
  ASSERT_EQ(list.status, 200);
  const auto doc = boost::json::parse(list.body);
  const auto& tags = doc.at("tags").as_array();
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[0].at("name").as_string(), "boiler1.temperature");
  EXPECT_EQ(tags[0].at("unit").as_string(), "degC");
  EXPECT_EQ(tags[0].at("value").to_number<double>(), 80);
  EXPECT_EQ(tags[0].at("quality").as_string(), "good");
  auto by_description = boost::json::parse(http_get(server.port(), "/api/tags?q=SUPPLY").body);
  EXPECT_EQ(by_description.at("tags").as_array().size(), 1u);
  auto glob = boost::json::parse(http_get(server.port(), "/api/tags?q=*.temperature").body);
  EXPECT_EQ(glob.at("total").to_number<int>(), 2);
  EXPECT_EQ(http_get(server.port(), "/api/tags/nope").status, 404);
}

TEST(Historian, LateSamplesGoToHistoryNotToTheLiveStream) {
  TestServer server;
  ASSERT_EQ(post(server.port(), "/write", "late v=10 1764000010000000000\n").status, 204);
  SseClient client(server.port(), "/api/sse/stream?tags[]=late.v");
  ASSERT_TRUE(client.read_head());
  ASSERT_TRUE(client.next_of("connected"));
  auto snapshot = client.next_of("data");
  ASSERT_TRUE(snapshot);
  ASSERT_EQ(post(server.port(), "/write", "late v=5 1764000005000000000\n").status, 204);  // back-filled
  ASSERT_EQ(post(server.port(), "/write", "late v=11 1764000011000000000\n").status, 204);
  auto next = client.next_of("data");
  ASSERT_TRUE(next);
  auto p = points_of(*next);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].value, 11) << "the back-filled sample is never shown as the live value";
  EXPECT_EQ(raw_history(server.port(), "late.v"),
            (std::vector<std::pair<std::int64_t, double>>{
                {1764000005000, 5}, {1764000010000, 10}, {1764000011000, 11}}));
  auto minute = boost::json::parse(
      http_get(
          server.port(),
          "/api/data/history?tags[]=late.v&interval=minute&from=2025-11-24T16:00:00Z&to=2025-11-24T16:01:00Z")
          .body);
  EXPECT_EQ(minute.at("series").at(0).at("points").at(0).at("count").to_number<int>(), 3);
  EXPECT_EQ(minute.at("series").at(0).at("points").at(0).at("first").to_number<double>(), 5);
}

TEST(Historian, EverythingSurvivesARestartAndEventIdsKeepIncreasing) {
  auto config = test_config();
  std::uint64_t last_id = 0;
  std::string history_before;
  {
    TestServer server(config);
    ASSERT_EQ(post(server.port(), "/write",
                   "r,unit=bar v=1 1764000000000000000\nr,unit=bar v=2 1764000061000000000\n")
                  .status,
              204);
    ASSERT_EQ(put(server.port(), "/api/tags/r.v", R"({"description":"restart probe"})").status, 200);
    SseClient client(server.port(), "/api/sse/stream?tags[]=r.v");
    ASSERT_TRUE(client.read_head());
    auto data = client.next_of("data");
    ASSERT_TRUE(data);
    last_id = std::stoull(data->id);
    history_before =
        http_get(
            server.port(),
            "/api/data/history?tags[]=r.v&interval=minute&from=2025-11-24T00:00:00Z&to=2025-11-25T00:00:00Z")
            .body;
  }
  TestServer server(config);
  auto tag = boost::json::parse(http_get(server.port(), "/api/tags/r.v").body);
  EXPECT_EQ(tag.at("unit").as_string(), "bar");
  EXPECT_EQ(tag.at("description").as_string(), "restart probe");
  EXPECT_EQ(tag.at("value").to_number<double>(), 2) << "the live state is restored";
  EXPECT_EQ(
      http_get(
          server.port(),
          "/api/data/history?tags[]=r.v&interval=minute&from=2025-11-24T00:00:00Z&to=2025-11-25T00:00:00Z")
          .body,
      history_before);

  SseClient client(server.port(), "/api/sse/stream?tags[]=r.v&interval=minute");
  ASSERT_TRUE(client.read_head());
  auto snapshot = client.next_of("data");
  ASSERT_TRUE(snapshot) << "the first snapshot after a restart has the stored values";
  EXPECT_EQ(points_of(*snapshot).at(0).value, 2);
  ASSERT_EQ(post(server.port(), "/write", "r v=3 1764000062000000000\n").status, 204);
  auto live = client.next_of("data");
  ASSERT_TRUE(live);
  EXPECT_GT(std::stoull(live->id), last_id) << "ids continue upwards across a restart";
  EXPECT_EQ(points_of(*live).at(0).count, 2u) << "the open minute bucket continued from the stored one";
}

}  // namespace
}  // namespace tagstream::test

namespace tagstream::test {
namespace {

TEST(Historian, ResumeAcrossARestartHasNoGapAndNoDuplicate) {
  auto config = test_config();
  config.replay_buffer = 5;  // small: most of the replay must come from the store
  std::string last_id;
  {
    TestServer server(config);
    ASSERT_EQ(post(server.port(), "/write", "x v=0 1764000000000000000\n").status, 204);
    SseClient client(server.port(), "/api/sse/stream?tags[]=x.v");
    ASSERT_TRUE(client.read_head());
    auto seen = client.next_of("data");
    ASSERT_TRUE(seen);
    last_id = seen->id;
    client.close();
    for (int i = 1; i <= 20; ++i)  // missed while away, before the restart
      ASSERT_EQ(post(server.port(), "/write",
                     "x v=" + std::to_string(i) + " " +
                         std::to_string(1764000000000000000LL + i * kNanosPerSecond) + "\n")
                    .status,
                204);
  }
  TestServer server(config);
  for (int i = 21; i <= 30; ++i)  // and after it
    ASSERT_EQ(post(server.port(), "/write",
                   "x v=" + std::to_string(i) + " " +
                       std::to_string(1764000000000000000LL + i * kNanosPerSecond) + "\n")
                  .status,
              204);
  SseClient client(server.port(), "/api/sse/stream?tags[]=x.v", {"Last-Event-ID: " + last_id});
  ASSERT_TRUE(client.read_head());
  ASSERT_TRUE(client.next_of("connected"));
  std::vector<double> values;
  std::uint64_t previous_id = std::stoull(last_id);
  while (values.size() < 30) {
    auto e = client.next(5s);
    ASSERT_TRUE(e) << "after " << values.size() << " values";
    ASSERT_NE(e->type, "error") << e->data;
    if (e->type != "data") continue;
    EXPECT_GT(std::stoull(e->id), previous_id);
    previous_id = std::stoull(e->id);
    for (const auto& p : points_of(*e)) values.push_back(p.value);
  }
  std::vector<double> expected;
  for (int i = 1; i <= 30; ++i) expected.push_back(i);
  EXPECT_EQ(values, expected);
  ASSERT_EQ(post(server.port(), "/write", "x v=31 1764000031000000000\n").status, 204);
  auto live = client.next_of("data");
  ASSERT_TRUE(live);
  EXPECT_EQ(points_of(*live).at(0).value, 31);
}

}  // namespace
}  // namespace tagstream::test
