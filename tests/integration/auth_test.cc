// Authentication end to end: a real server with a token file and a JWT
// secret, clients presenting credentials the way each kind of client does.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "auth/api_keys.h"
#include "auth/jwt.h"
#include "integration/support.h"

namespace tagstream::test {
namespace {

const std::string kSecret = "an-hs256-secret-of-at-least-32-bytes-for-tests";

std::string base64(const std::string& in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[v >> s & 63];
  }
  if (in.size() - i == 1) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += "==";
  } else if (in.size() - i == 2) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += '=';
  }
  return out;
}

HttpReply post(unsigned short port, const std::string& target, const std::string& body,
               const std::vector<std::string>& headers = {}, const std::string& method = "POST") {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : headers) raw += h + "\r\n";
  raw += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return http_raw(port, raw);
}

Principal grant(std::string id, std::vector<std::string> read, std::vector<std::string> write = {},
                std::vector<std::string> admin = {}) {
  Principal p;
  p.id = std::move(id);
  p.tags[Principal::index(Scope::read)] = std::move(read);
  p.tags[Principal::index(Scope::write)] = std::move(write);
  p.tags[Principal::index(Scope::admin)] = std::move(admin);
  return p;
}

/// A server with authentication on: a token file holding the keys the
/// tests add, a JWT secret, an audit log, and a clock the test steps.
class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir();
    token_file_ = dir_ + "/tokens.toml";
    std::ofstream(dir_ + "/secret") << kSecret << "\n";
    reader_ = add_key(grant("reader", {"*"}));
    writer_ = add_key(grant("writer", {}, {"*"}));
    area1_ = add_key(grant("area1-operator", {"area1.*"}, {"area1.*"}));
    admin_ = add_key(grant("admin", {}, {}, {"*"}));
  }

  std::string add_key(const Principal& who) {
    const std::string key = generate_api_key();
    std::ofstream(token_file_, std::ios::app) << api_key_entry(who, hash_api_key(key));
    return key;
  }

  void start(std::function<void(ServerConfig&)> adjust = {}) {
    ServerConfig c = test_config();
    c.token_file = token_file_;
    c.jwt_secret_file = dir_ + "/secret";
    c.audit_log = dir_ + "/audit.log";
    c.clock = [this] { return now_.load(); };
    if (adjust) adjust(c);
    server_ = std::make_unique<TestServer>(std::move(c));
    server_->push("area1.level", 1.5, now_ns());
    server_->push("area2.level", 2.5, now_ns());
  }

  unsigned short port() const { return server_->port(); }
  std::string audit() const {
    std::ifstream in(dir_ + "/audit.log");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string jwt(const Principal& who, TimeNs expires) {
    Principal p = who;
    p.expires = expires;
    auto token = sign_jwt(p, now_.load(), kSecret, false);
    EXPECT_TRUE(token) << token.error;
    return token ? *token : std::string();
  }

  std::string dir_, token_file_;
  std::string reader_, writer_, area1_, admin_;
  std::atomic<TimeNs> now_{now_ns()};
  std::unique_ptr<TestServer> server_;
};

std::string bearer(const std::string& token) {
  return "Authorization: Bearer " + token;
}

TEST_F(AuthTest, EveryDataEndpointAnswers401WithoutAToken) {
  start();
  for (const std::string target :
       {"/api/sse/stream?tags[]=area1.level", "/api/sse/test", "/api/data/latest?tags[]=area1.level",
        "/api/data/history?tags[]=area1.level", "/api/tags", "/api/tags/area1.level", "/api/stats",
        "/metrics"}) {
    HttpReply r = http_get(port(), target);
    EXPECT_EQ(r.status, 401) << target;
    EXPECT_NE(r.body.find(R"("code":"unauthorized")"), std::string::npos) << target << ": " << r.body;
    EXPECT_NE(r.header("www-authenticate").find("Bearer"), std::string::npos) << target;
  }
  EXPECT_EQ(post(port(), "/write", "area1.level value=3").status, 401);
  EXPECT_EQ(
      post(port(), "/api/samples", R"([{"tag":"area1.level","value":3}])", {"Content-Type: application/json"})
          .status,
      401);
  EXPECT_EQ(post(port(), "/api/tags/area1.level", R"({"unit":"PWNED"})", {}, "PUT").status, 401);
  EXPECT_EQ(http_get(port(), "/api/tags/area1.level", {bearer("tsk_not-a-key")}).status, 401);
}

TEST_F(AuthTest, HealthSignInAndTheDashboardsFilesNeedNoToken) {
  start();
  EXPECT_EQ(http_get(port(), "/healthz").status, 200);
  HttpReply status = http_get(port(), "/api/auth");
  EXPECT_EQ(status.status, 200);
  EXPECT_NE(status.body.find(R"("enabled":true)"), std::string::npos) << status.body;
  EXPECT_NE(status.body.find(R"("principal":null)"), std::string::npos) << status.body;
  // The sign-in page itself must load: it is the dashboard (or the page
  // saying it is not built), never a 401.
  EXPECT_NE(http_get(port(), "/").status, 401);
}

TEST_F(AuthTest, EachScopeOpensOnlyItsEndpoints) {
  start();
  // read
  EXPECT_EQ(http_get(port(), "/api/data/latest?tags[]=area1.level", {bearer(reader_)}).status, 200);
  EXPECT_EQ(http_get(port(), "/api/tags", {bearer(reader_)}).status, 200);
  EXPECT_EQ(http_get(port(), "/api/stats", {bearer(reader_)}).status, 200);
  EXPECT_EQ(http_get(port(), "/metrics", {bearer(reader_)}).status, 200);
  EXPECT_EQ(post(port(), "/write", "area1.level value=3", {bearer(reader_)}).status, 403);
  EXPECT_EQ(post(port(), "/api/tags/area1.level", R"({"unit":"m"})", {bearer(reader_)}, "PUT").status, 403);
  // write
  EXPECT_EQ(post(port(), "/write", "area1 level=3", {bearer(writer_)}).status, 204);
  for (const std::string target : {"/api/data/latest?tags[]=area1.level", "/api/tags", "/api/stats",
                                   "/metrics", "/api/data/history?tags[]=area1.level"}) {
    HttpReply r = http_get(port(), target, {bearer(writer_)});
    EXPECT_EQ(r.status, 403) << target;
    EXPECT_NE(r.body.find(R"("code":"forbidden")"), std::string::npos) << r.body;
  }
  SseClient no_stream(port(), "/api/sse/stream?tags[]=area1.level", {bearer(writer_)});
  ASSERT_TRUE(no_stream.read_head());
  EXPECT_EQ(no_stream.status(), 403);
  // admin: metadata
  HttpReply described = post(port(), "/api/tags/area1.level", R"({"unit":"m"})", {bearer(admin_)}, "PUT");
  EXPECT_EQ(described.status, 200) << described.body;
  EXPECT_NE(http_get(port(), "/api/tags/area1.level", {bearer(admin_)}).body.find(R"("unit":"m")"),
            std::string::npos);
}

TEST_F(AuthTest, TagPatternsNarrowWhatAKeyReadsAndWrites) {
  start();
  const std::vector<std::string> key = {bearer(area1_)};
  // The list and patterns show only what the key may read.
  HttpReply list = http_get(port(), "/api/tags", key);
  EXPECT_NE(list.body.find("area1.level"), std::string::npos);
  EXPECT_EQ(list.body.find("area2.level"), std::string::npos) << list.body;
  HttpReply latest = http_get(port(), "/api/data/latest?tags[]=*.level", key);
  EXPECT_EQ(latest.status, 200);
  EXPECT_NE(latest.body.find("area1.level"), std::string::npos);
  EXPECT_EQ(latest.body.find("area2.level"), std::string::npos) << latest.body;
  // A tag asked for by name outside the grant is refused, not dropped.
  EXPECT_EQ(http_get(port(), "/api/data/latest?tags[]=area2.level", key).status, 403);
  EXPECT_EQ(http_get(port(), "/api/data/history?tags[]=area2.level", key).status, 403);
  EXPECT_EQ(http_get(port(), "/api/tags/area2.level", key).status, 403);
  SseClient stream(port(), "/api/sse/stream?tags[]=*", key);
  ASSERT_TRUE(stream.read_head());
  ASSERT_EQ(stream.status(), 200);
  auto connected = stream.next_of("connected");
  ASSERT_TRUE(connected);
  EXPECT_NE(connected->data.find("area1.level"), std::string::npos);
  EXPECT_EQ(connected->data.find("area2.level"), std::string::npos) << connected->data;

  // Writes: the lines for tags outside the grant are refused, the others kept.
  HttpReply mixed = post(port(), "/write", "area1 level=7\narea2 level=666\narea2 pwned=1", key);
  EXPECT_EQ(mixed.status, 400) << mixed.body;
  EXPECT_NE(mixed.body.find("may not write tag 'area2.level'"), std::string::npos) << mixed.body;
  HttpReply seen =
      http_get(port(), "/api/data/latest?tags[]=area1.level&tags[]=area2.level", {bearer(reader_)});
  EXPECT_NE(seen.body.find(R"("v":7)"), std::string::npos) << seen.body;
  EXPECT_EQ(seen.body.find("666"), std::string::npos) << seen.body;
  EXPECT_FALSE(server_->app().registry().find("area2.pwned")) << "a refused line must not create its tag";
  EXPECT_EQ(post(port(), "/write", "area2 level=666", key).status, 403);
}

TEST_F(AuthTest, EachClientsWayOfSendingATokenIsAccepted) {
  start();
  // InfluxDB 2 clients and Telegraf's v2 output.
  EXPECT_EQ(post(port(), "/api/v2/write", "area1 level=1", {"Authorization: Token " + writer_}).status, 204);
  // InfluxDB 1 clients: u/p parameters or Basic.
  EXPECT_EQ(post(port(), "/write?u=telegraf&p=" + writer_, "area1 level=2").status, 204);
  EXPECT_EQ(post(port(), "/write", "area1 level=3", {"Authorization: Basic " + base64("telegraf:" + writer_)})
                .status,
            204);
  EXPECT_EQ(
      post(port(), "/write", "area1 level=3", {"Authorization: Basic " + base64("telegraf:wrong")}).status,
      401);
  // p is a /write parameter only: elsewhere it is not a credential.
  EXPECT_EQ(http_get(port(), "/api/tags?p=" + reader_).status, 401);
  // EventSource elsewhere than the dashboard: access_token on a GET.
  SseClient stream(port(), "/api/sse/stream?tags[]=area1.level&access_token=" + reader_);
  ASSERT_TRUE(stream.read_head());
  EXPECT_EQ(stream.status(), 200);
  // A JWT.
  EXPECT_EQ(
      http_get(port(), "/api/tags", {bearer(jwt(grant("sso", {"*"}), now_ + 3600 * kNanosPerSecond))}).status,
      200);
}

TEST_F(AuthTest, TheDashboardSignsInOnceAndUsesItsCookie) {
  start();
  HttpReply bad =
      post(port(), "/api/auth/login", R"({"token":"tsk_wrong"})", {"Content-Type: application/json"});
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.header("set-cookie"), "");
  HttpReply login = post(port(), "/api/auth/login", R"({"token":")" + reader_ + R"("})",
                         {"Content-Type: application/json"});
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string cookie = login.header("set-cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
  EXPECT_NE(login.body.find(R"("id":"reader")"), std::string::npos) << login.body;
  const std::string pair = cookie.substr(0, cookie.find(';'));
  EXPECT_EQ(http_get(port(), "/api/auth", {"Cookie: theme=dark; " + pair}).body.find(R"("principal":null)"),
            std::string::npos);
  SseClient stream(port(), "/api/sse/stream?tags[]=area1.level", {"Cookie: " + pair});
  ASSERT_TRUE(stream.read_head());
  EXPECT_EQ(stream.status(), 200);
  HttpReply logout = post(port(), "/api/auth/logout", "", {"Cookie: " + pair});
  EXPECT_EQ(logout.status, 204);
  EXPECT_NE(logout.header("set-cookie").find("Max-Age=0"), std::string::npos);
}

TEST_F(AuthTest, ARevokedKeyEndsItsOpenStreams) {
  start();
  SseClient stream(port(), "/api/sse/stream?tags[]=area1.level", {bearer(area1_)});
  ASSERT_TRUE(stream.read_head());
  ASSERT_EQ(stream.status(), 200);
  ASSERT_TRUE(stream.next_of("connected"));
  // The operator removes every key but the reader's: the file is re-read.
  { std::ofstream(token_file_, std::ios::trunc) << ""; }
  const std::string reader_only = add_key(grant("reader2", {"*"}));
  auto error = stream.next_of("error", 20s);
  ASSERT_TRUE(error) << "the stream must be told, not left open";
  EXPECT_NE(error->data.find(R"("code":"token_expired")"), std::string::npos) << error->data;
  EXPECT_TRUE(stream.wait_closed(10s));
  EXPECT_EQ(http_get(port(), "/api/tags", {bearer(area1_)}).status, 401);
  EXPECT_EQ(http_get(port(), "/api/tags", {bearer(reader_only)}).status, 200);
  EXPECT_TRUE(
      eventually([&] { return audit().find(R"("action":"token_file_reloaded")") != std::string::npos; }));
}

TEST_F(AuthTest, AStreamEndsWhenItsTokenExpires) {
  start();
  const TimeNs expires = now_ + 60 * kNanosPerSecond;
  SseClient stream(port(), "/api/sse/stream?tags[]=area1.level",
                   {bearer(jwt(grant("dash", {"*"}), expires))});
  ASSERT_TRUE(stream.read_head());
  ASSERT_EQ(stream.status(), 200);
  ASSERT_TRUE(stream.next_of("connected"));
  now_ = expires + kNanosPerSecond;  // a minute later, without waiting one
  auto error = stream.next_of("error", 20s);
  ASSERT_TRUE(error);
  EXPECT_NE(error->data.find(R"("code":"token_expired")"), std::string::npos) << error->data;
  EXPECT_TRUE(stream.wait_closed(10s));
  HttpReply again = http_get(port(), "/api/tags", {bearer(jwt(grant("dash", {"*"}), expires))});
  EXPECT_EQ(again.status, 401);
  EXPECT_NE(again.body.find("token_expired"), std::string::npos) << again.body;
}

TEST_F(AuthTest, WritesMetadataChangesAndRefusalsAreAuditedWithoutTheCredential) {
  start();
  ASSERT_EQ(post(port(), "/write", "area1 level=1,flow=2", {bearer(writer_)}).status, 204);
  ASSERT_EQ(post(port(), "/api/tags/area1.level", R"({"unit":"m"})", {bearer(admin_)}, "PUT").status, 200);
  ASSERT_EQ(http_get(port(), "/api/tags", {bearer("tsk_guess")}).status, 401);
  const std::string log = audit();
  std::istringstream lines(log);
  std::vector<boost::json::object> events;
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << "each line is one JSON object: " << line;
    events.push_back(v.as_object());
  }
  ASSERT_EQ(events.size(), 3u) << log;
  EXPECT_EQ(events[0].at("action"), "write");
  EXPECT_EQ(events[0].at("token"), "writer");
  EXPECT_EQ(events[0].at("client"), "127.0.0.1");
  EXPECT_EQ(events[0].at("tags"), 2);
  EXPECT_EQ(events[0].at("samples"), 2);
  EXPECT_EQ(events[0].at("outcome"), "ok");
  EXPECT_EQ(events[1].at("action"), "tag_metadata");
  EXPECT_EQ(events[1].at("token"), "admin");
  EXPECT_EQ(events[2].at("status"), 401);
  EXPECT_EQ(events[2].at("outcome"), "denied");
  for (const std::string& secret : {writer_, admin_, std::string("tsk_guess")})
    EXPECT_EQ(log.find(secret), std::string::npos);
}

TEST(TokenCommand, AKeyItCreatesOpensTheServerAndTheFileHoldsOnlyItsHash) {
  const std::string dir = make_temp_dir();
  const std::string file = dir + "/tokens.toml";
  Child made({TAGSTREAM_BINARY, "token", "new", "--id", "telegraf", "--write", "area1.*", "--read", "*",
              "--file", file});
  ASSERT_EQ(made.wait_exit(10s), 0) << made.err;
  std::string key = made.out;
  while (!key.empty() && key.back() == '\n') key.pop_back();
  ASSERT_TRUE(key.starts_with("tsk_")) << made.out;
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the token file is the operator's alone";
  std::ifstream in(file);
  std::ostringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().find(key), std::string::npos);

  Child bad({TAGSTREAM_BINARY, "token", "new", "--id", "x", "--write", "bad pattern!", "--file", file});
  EXPECT_EQ(bad.wait_exit(10s), 2);
  EXPECT_NE(bad.err.find("neither a tag name nor a tag pattern"), std::string::npos) << bad.err;

  ServerConfig c = test_config();
  c.token_file = file;
  TestServer server(std::move(c));
  EXPECT_EQ(post(server.port(), "/write", "area1 level=1", {bearer(key)}).status, 204);
  EXPECT_EQ(post(server.port(), "/write", "area2 level=1", {bearer(key)}).status, 403);
  EXPECT_EQ(http_get(server.port(), "/api/tags", {bearer(key)}).status, 200);
}

TEST(ProtectedMode, ListeningBeyondLoopbackWithoutAuthenticationIsRefused) {
  for (const std::string listen : {"0.0.0.0:0", "[::]:0", "192.0.2.10:8080"}) {
    ServerConfig c = test_config();
    c.listen = listen;
    try {
      App app(c);
      ADD_FAILURE() << listen << " was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("--allow-unauthenticated"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("--token-file"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace tagstream::test

namespace tagstream::test {
namespace {

TEST_F(AuthTest, ACorsPreflightNeedsNoTokenAndAnotherSitesPageCannotWriteWithOne) {
  start([](ServerConfig& c) { c.cors_origins = {"https://hmi.example"}; });
  // A browser sends its preflight without the Authorization header it asks about.
  const HttpReply preflight = post(port(), "/write", "",
                                   {"Origin: https://hmi.example", "Access-Control-Request-Method: POST",
                                    "Access-Control-Request-Headers: authorization"},
                                   "OPTIONS");
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.header("access-control-allow-origin"), "https://hmi.example");

  EXPECT_EQ(post(port(), "/write", "area1 level=9", {bearer(writer_), "Origin: https://hmi.example"}).status,
            204);
  // A cookie or a token the browser attaches by itself must not let another site's page write.
  EXPECT_EQ(post(port(), "/write", "area1 level=9", {bearer(writer_), "Origin: https://evil.example"}).status,
            403);
}

}  // namespace
}  // namespace tagstream::test
