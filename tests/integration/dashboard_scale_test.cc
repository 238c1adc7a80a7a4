// The server side of the dashboard at plant scale (issue 17), end to end on
// a real server: the tag list (natural order, q=, paging), the tag tree
// (counts and worst quality per branch), saved layouts (scopes, bounds)
// and the per-stream display rate (`rate=`).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "auth/api_keys.h"
#include "http/layout_store.h"
#include "integration/support.h"

namespace tagstream::test {
namespace {

namespace json = boost::json;

HttpReply send(unsigned short port, const std::string& method, const std::string& target,
               const std::string& body, const std::vector<std::string>& headers = {}) {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : headers) raw += h + "\r\n";
  raw +=
      "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return http_raw(port, raw);
}

std::vector<std::string> names_of(const json::value& doc) {
  std::vector<std::string> out;
  for (const auto& t : doc.at("tags").as_array()) out.emplace_back(t.at("name").as_string());
  return out;
}

json::value get_json(unsigned short port, const std::string& target, int status = 200) {
  HttpReply r = http_get(port, target);
  EXPECT_EQ(r.status, status) << target << ": " << r.body;
  if (r.status != 200) return json::value();
  return json::parse(r.body);
}

class DashboardScale : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>();
    const TimeNs now = now_ns();
    for (int i = 1; i <= 12; ++i) server_->push("area0.t" + std::to_string(i), i, now);
    server_->push("area10.flow", 1, now);
    server_->push("area2.flow", 1, now);
    server_->tag("area2.temp", "degC");  // no value yet
  }
  unsigned short port() const { return server_->port(); }
  std::unique_ptr<TestServer> server_;
};

TEST_F(DashboardScale, TagListIsInNaturalOrder) {
  const auto doc = get_json(port(), "/api/tags");
  const std::vector<std::string> want = {"area0.t1",  "area0.t2",  "area0.t3",   "area0.t4",   "area0.t5",
                                         "area0.t6",  "area0.t7",  "area0.t8",   "area0.t9",   "area0.t10",
                                         "area0.t11", "area0.t12", "area2.flow", "area2.temp", "area10.flow"};
  EXPECT_EQ(names_of(doc), want);
  EXPECT_EQ(doc.at("total").as_int64(), 15);

  // Tags created since take their places among the others.
  server_->push("area1.x", 1, now_ns());
  server_->push("area0.t0", 1, now_ns());
  const auto again = names_of(get_json(port(), "/api/tags"));
  ASSERT_EQ(again.size(), 17u);
  EXPECT_EQ(again.front(), "area0.t0");
  EXPECT_EQ(again[13], "area1.x");
  EXPECT_EQ(again[14], "area2.flow");
}

TEST_F(DashboardScale, SearchPagesThroughTheMatchesWithTheTotal) {
  // A substring: t1, t10, t11, t12.
  auto doc = get_json(port(), "/api/tags?q=area0.t1&limit=2");
  EXPECT_EQ(doc.at("total").as_int64(), 4);
  EXPECT_EQ(names_of(doc), (std::vector<std::string>{"area0.t1", "area0.t10"}));
  doc = get_json(port(), "/api/tags?q=area0.t1&limit=2&offset=2");
  EXPECT_EQ(names_of(doc), (std::vector<std::string>{"area0.t11", "area0.t12"}));
  doc = get_json(port(), "/api/tags?q=area0.t1&limit=2&offset=4");
  EXPECT_TRUE(names_of(doc).empty());
  EXPECT_EQ(doc.at("total").as_int64(), 4);

  // A glob (case-insensitive, like the substring): one character after t.
  doc = get_json(port(), "/api/tags?q=AREA0.T%3F&limit=100");
  EXPECT_EQ(doc.at("total").as_int64(), 9);
  EXPECT_EQ(names_of(doc).back(), "area0.t9");

  // The unit and the description are searched too.
  doc = get_json(port(), "/api/tags?q=degc");
  EXPECT_EQ(names_of(doc), (std::vector<std::string>{"area2.temp"}));
  EXPECT_TRUE(doc.at("tags").as_array()[0].at("value").is_null());

  EXPECT_EQ(http_get(port(), "/api/tags?limit=0").status, 400);
  EXPECT_EQ(http_get(port(), "/api/tags?limit=100001").status, 400);
  EXPECT_EQ(http_get(port(), "/api/tags?offset=-1").status, 400);
}

TEST_F(DashboardScale, TreeCountsAndWorstQualityAgreeWithTheTagList) {
  server_->push("area2.flow", 2, now_ns(), Quality::bad);
  server_->push("area0.t3", 2, now_ns(), Quality::uncertain);
  ASSERT_TRUE(eventually([&] {
    const auto root = get_json(port(), "/api/tree");
    return root.at("worst").as_string() == "bad";
  }));
  const auto root = get_json(port(), "/api/tree");
  EXPECT_EQ(root.at("count").as_int64(), 15);
  EXPECT_EQ(root.at("noValue").as_int64(), 1);
  const auto& children = root.at("children").as_array();
  ASSERT_EQ(children.size(), 3u);
  const std::vector<std::string> labels = {"area0", "area2", "area10"};  // natural order
  for (std::size_t i = 0; i < children.size(); ++i) {
    const auto& c = children[i].as_object();
    EXPECT_EQ(c.at("label").as_string(), labels[i]);
    // The count is what the list says is under the branch.
    const auto listed = get_json(port(), "/api/tags?q=" + labels[i] + ".*");
    EXPECT_EQ(c.at("count").as_int64(), listed.at("total").as_int64()) << labels[i];
    EXPECT_TRUE(c.at("branch").as_bool());
  }
  EXPECT_EQ(children[0].at("worst").as_string(), "uncertain");
  EXPECT_EQ(children[1].at("worst").as_string(), "bad");
  EXPECT_EQ(children[2].at("worst").as_string(), "good");

  const auto area2 = get_json(port(), "/api/tree?prefix=area2");
  const auto& leaves = area2.at("children").as_array();
  ASSERT_EQ(leaves.size(), 2u);
  EXPECT_EQ(leaves[0].at("name").as_string(), "area2.flow");
  EXPECT_TRUE(leaves[0].at("tag").as_bool());
  EXPECT_FALSE(leaves[0].at("branch").as_bool());
  EXPECT_EQ(leaves[1].at("name").as_string(), "area2.temp");
  EXPECT_TRUE(leaves[1].at("worst").is_null()) << "a tag without a value has no quality";
  EXPECT_EQ(leaves[1].at("noValue").as_int64(), 1);

  EXPECT_EQ(get_json(port(), "/api/tree?prefix=nothing").at("count").as_int64(), 0);
  EXPECT_EQ(http_get(port(), "/api/tree?prefix=a*").status, 400);
  const auto limited = get_json(port(), "/api/tree?prefix=area0&limit=5");
  EXPECT_EQ(limited.at("children").as_array().size(), 5u);
  EXPECT_EQ(limited.at("childCount").as_int64(), 12);
}

TEST_F(DashboardScale, LayoutsAreSavedLoadedListedAndRemoved) {
  const std::string layout = R"({"title":"Boilers","panels":["raw~15m~area0.t1,area0.t2"]})";
  EXPECT_EQ(send(port(), "PUT", "/api/layouts/boilers", layout).status, 201);
  EXPECT_EQ(http_get(port(), "/api/layouts/boilers").body, layout);
  EXPECT_EQ(send(port(), "PUT", "/api/layouts/boilers", R"({"panels":[]})").status, 200);
  EXPECT_EQ(http_get(port(), "/api/layouts/boilers").body, R"({"panels":[]})");
  const auto list = get_json(port(), "/api/layouts");
  ASSERT_EQ(list.at("layouts").as_array().size(), 1u);
  EXPECT_EQ(list.at("layouts").as_array()[0].at("name").as_string(), "boilers");
  EXPECT_EQ(send(port(), "DELETE", "/api/layouts/boilers", "").status, 204);
  EXPECT_EQ(http_get(port(), "/api/layouts/boilers").status, 404);
  EXPECT_EQ(send(port(), "DELETE", "/api/layouts/boilers", "").status, 404);
}

TEST_F(DashboardScale, LayoutsAreBoundedInSizeCountAndName) {
  const std::string big = R"({"x":")" + std::string(kMaxLayoutBytes, 'a') + R"("})";
  HttpReply r = send(port(), "PUT", "/api/layouts/big", big);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(send(port(), "PUT", "/api/layouts/x", "[1,2]").status, 400) << "not an object";
  EXPECT_EQ(send(port(), "PUT", "/api/layouts/x", "{").status, 400);
  EXPECT_EQ(send(port(), "PUT", "/api/layouts/..secret", "{}").status, 400);
  EXPECT_EQ(send(port(), "PUT", "/api/layouts/a%2Fb", "{}").status, 400);
  EXPECT_EQ(send(port(), "PUT", "/api/layouts/" + std::string(kMaxLayoutNameLength + 1, 'n'), "{}").status,
            400);

  for (std::size_t i = 0; i < kMaxLayouts; ++i)
    ASSERT_EQ(send(port(), "PUT", "/api/layouts/l" + std::to_string(i), "{}").status, 201) << i;
  r = send(port(), "PUT", "/api/layouts/one-too-many", "{}");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("too_many_layouts"), std::string::npos);
  EXPECT_EQ(send(port(), "PUT", "/api/layouts/l0", R"({"again":true})").status, 200)
      << "replacing is not adding";
  EXPECT_EQ(get_json(port(), "/api/layouts").at("layouts").as_array().size(), kMaxLayouts);
}

TEST(DashboardLayouts, SavingTakesAdminLoadingTakesRead) {
  const std::string dir = make_temp_dir();
  const std::string token_file = dir + "/tokens.toml";
  const auto add_key = [&](const std::string& id, Scope scope) {
    Principal p;
    p.id = id;
    p.tags[Principal::index(scope)] = {"*"};
    const std::string key = generate_api_key();
    std::ofstream(token_file, std::ios::app) << api_key_entry(p, hash_api_key(key));
    return "Authorization: Bearer " + key;
  };
  const std::string reader = add_key("reader", Scope::read);
  const std::string admin = add_key("admin", Scope::admin);
  ServerConfig c = test_config();
  c.token_file = token_file;
  TestServer server(std::move(c));
  const unsigned short port = server.port();

  EXPECT_EQ(send(port, "PUT", "/api/layouts/ops", "{}").status, 401);
  EXPECT_EQ(send(port, "PUT", "/api/layouts/ops", "{}", {reader}).status, 403);
  EXPECT_EQ(send(port, "PUT", "/api/layouts/ops", R"({"panels":[]})", {admin}).status, 201);
  EXPECT_EQ(http_get(port, "/api/layouts/ops").status, 401);
  EXPECT_EQ(http_get(port, "/api/layouts/ops", {reader}).body, R"({"panels":[]})");
  EXPECT_EQ(send(port, "DELETE", "/api/layouts/ops", "", {reader}).status, 403);
  EXPECT_EQ(send(port, "DELETE", "/api/layouts/ops", "", {admin}).status, 204);
  EXPECT_EQ(http_get(port, "/api/tree", {reader}).status, 200);
  EXPECT_EQ(http_get(port, "/api/tree").status, 401);
}

TEST(DashboardLayouts, TheSimulatorGetsAPlantLayoutUnlessOneIsSaved) {
  ServerConfig c = test_config();
  c.simulator = true;
  const std::string data_dir = c.data_dir;
  {
    TestServer server(c);
    const auto doc = json::parse(http_get(server.port(), "/api/layouts/default").body);
    const auto& panels = doc.at("panels").as_array();
    ASSERT_GE(panels.size(), 3u);
    std::string all;
    for (const auto& p : panels) all += std::string(p.as_string()) + " ";
    for (const char* tag : {"boiler1.temperature", "tank1.level", "pump1.flow"})
      EXPECT_NE(all.find(tag), std::string::npos) << tag;
    EXPECT_EQ(
        send(server.port(), "PUT", "/api/layouts/default", R"({"panels":["raw~1h~tank1.level"]})").status,
        200);
  }
  TestServer again(c);  // same data directory: the saved default stays
  EXPECT_EQ(http_get(again.port(), "/api/layouts/default").body, R"({"panels":["raw~1h~tank1.level"]})");
}

TEST(DashboardDisplayRate, TheRateIsTheStreamsWindowBoundedBelowByTheServers) {
  ServerConfig c = test_config();
  c.data_check_interval = 0.05;
  TestServer server(std::move(c));
  server.push("a", 1, now_ns());
  const auto rate_of = [&](const std::string& query) -> std::int64_t {
    SseClient client(server.port(), "/api/sse/stream?tags[]=a" + query);
    EXPECT_TRUE(client.read_head());
    auto connected = client.next_of("connected");
    if (!connected) return -1;
    return json::parse(connected->data).at("rate").as_int64();
  };
  EXPECT_EQ(rate_of(""), 50);
  EXPECT_EQ(rate_of("&rate=1000"), 1000);
  EXPECT_EQ(rate_of("&rate=1"), 50) << "never faster than the server's data check interval";
  EXPECT_EQ(http_get(server.port(), "/api/sse/stream?tags[]=a&rate=fast").status, 400);
  EXPECT_EQ(http_get(server.port(), "/api/sse/stream?tags[]=a&rate=60001").status, 400);
}

TEST(DashboardDisplayRate, ARateStreamSendsTheLatestValueOncePerWindowAndKeepsItOnResume) {
  TestServer server;  // data check interval 0: every change goes out at once without a rate
  const TimeNs t0 = now_ns();
  server.push("a", 0, t0);
  SseClient fast(server.port(), "/api/sse/stream?tags[]=a");
  SseClient slow(server.port(), "/api/sse/stream?tags[]=a&rate=60000");
  ASSERT_TRUE(fast.read_head());
  ASSERT_TRUE(slow.read_head());
  ASSERT_TRUE(fast.next_of("connected"));
  ASSERT_TRUE(slow.next_of("connected"));
  ASSERT_TRUE(fast.next_of("data"));  // the snapshot
  auto snapshot = slow.next_of("data");
  ASSERT_TRUE(snapshot);
  // The first change is a leading edge: it goes out at once on both; the
  // rest fall inside the slow stream's minute-long window.
  for (int i = 1; i <= 5; ++i) {
    server.push("a", i, t0 + i * 1'000'000);
    auto e = fast.next_of("data");
    ASSERT_TRUE(e) << i;
    EXPECT_EQ(points_of(*e).back().value, i);
  }
  auto first = slow.next_of("data");
  ASSERT_TRUE(first);
  EXPECT_EQ(points_of(*first).back().value, 1);
  // (That nothing more comes inside the window, and that the window's end
  // sends the latest value, is tested with a stepped clock: tests/hub.)

  // A resume with the same rate keeps it: the stream says so.
  SseClient resumed(server.port(), "/api/sse/stream?tags[]=a&rate=60000&lastEventId=" + first->id);
  ASSERT_TRUE(resumed.read_head());
  auto hello = resumed.next_of("connected");
  ASSERT_TRUE(hello);
  const auto info = json::parse(hello->data);
  EXPECT_EQ(info.at("rate").as_int64(), 60000);
  EXPECT_TRUE(info.at("resumed").as_bool());
}

}  // namespace
}  // namespace tagstream::test
