#include "client/watch_args.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "client/watch.h"

namespace tagstream {
namespace {

TEST(SseWatchArgs, UrlOnlyGivesDefaults) {
  WatchArgsResult r = parse_watch_args({"http://localhost:8080/api/sse/test"});
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->url, "http://localhost:8080/api/sse/test");
  EXPECT_EQ(r->max_reconnects, std::nullopt);
  EXPECT_EQ(r->count, std::nullopt);
  EXPECT_EQ(r->timeout_s, std::nullopt);
  EXPECT_FALSE(r->quiet);
  EXPECT_FALSE(r->raw);
  EXPECT_FALSE(r->help);
}

TEST(SseWatchArgs, AllOptionsInBothForms) {
  WatchArgsResult r = parse_watch_args(
      {"--max-reconnects", "0", "--count=5", "http://h/x", "--timeout", "2.5", "--quiet", "--raw"});
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->url, "http://h/x");
  EXPECT_EQ(r->max_reconnects, 0u);
  EXPECT_EQ(r->count, 5u);
  EXPECT_EQ(r->timeout_s, 2.5);
  EXPECT_TRUE(r->quiet);
  EXPECT_TRUE(r->raw);

  r = parse_watch_args({"--max-reconnects=7", "--count", "1", "--timeout=10", "http://h/"});
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->max_reconnects, 7u);
  EXPECT_EQ(r->count, 1u);
  EXPECT_EQ(r->timeout_s, 10.0);
}

TEST(SseWatchArgs, Help) {
  for (const char* flag : {"-h", "--help"}) {
    WatchArgsResult r = parse_watch_args({flag});
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->help);
  }
  // Help wins even over otherwise bad arguments after it.
  WatchArgsResult r = parse_watch_args({"--help", "--bogus"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->help);
}

TEST(SseWatchArgs, DoubleDashEndsOptions) {
  WatchArgsResult r = parse_watch_args({"--", "-weird-but-a-url"});
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->url, "-weird-but-a-url");
}

TEST(SseWatchArgs, Errors) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{}, "missing URL"},
      {{"--quiet"}, "missing URL"},
      {{"http://a/", "http://b/"}, "unexpected argument http://b/ (only one URL)"},
      {{"--bogus", "http://a/"}, "unknown option --bogus"},
      {{"--quiet=1", "http://a/"}, "unknown option --quiet=1"},
      {{"http://a/", "--count"}, "--count needs a value"},
      {{"--count", "0", "http://a/"}, "--count must be at least 1"},
      {{"--count", "-1", "http://a/"}, "--count needs a non-negative integer, got \"-1\""},
      {{"--count", "3x", "http://a/"}, "--count needs a non-negative integer, got \"3x\""},
      {{"--max-reconnects", "", "http://a/"}, "--max-reconnects needs a non-negative integer, got \"\""},
      {{"--timeout", "0", "http://a/"}, "--timeout needs a positive number of seconds, got \"0\""},
      {{"--timeout", "nan", "http://a/"}, "--timeout needs a positive number of seconds, got \"nan\""},
      {{"--timeout", "1s", "http://a/"}, "--timeout needs a positive number of seconds, got \"1s\""},
  };
  for (const Case& c : cases) {
    WatchArgsResult r = parse_watch_args(c.args);
    EXPECT_FALSE(r) << testing::PrintToString(c.args);
    EXPECT_EQ(r.error, c.error) << testing::PrintToString(c.args);
  }
}

TEST(SseWatchArgs, RunWatchExitCodesWithoutNetwork) {
  EXPECT_EQ(run_watch({}), kWatchExitRequestError);
  EXPECT_EQ(run_watch({"https://localhost/"}), kWatchExitRequestError);
}

TEST(SseWatchUrl, RawBracketsAreEncoded) {
  WatchUrlResult r = parse_watch_url("http://localhost:8080/api/sse/stream?tags[]=boiler1.*&interval=minute");
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->host, "localhost");
  EXPECT_EQ(r->port, "8080");
  EXPECT_EQ(r->host_header, "localhost:8080");
  EXPECT_EQ(r->target, "/api/sse/stream?tags%5B%5D=boiler1.*&interval=minute");
}

TEST(SseWatchUrl, EncodedBracketsKept) {
  WatchUrlResult r = parse_watch_url("http://127.0.0.1:9/api/sse/stream?tags%5B%5D=a&tags%5b%5d=b");
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->host, "127.0.0.1");
  EXPECT_EQ(r->port, "9");
  EXPECT_EQ(r->target, "/api/sse/stream?tags%5B%5D=a&tags%5b%5d=b");
}

TEST(SseWatchUrl, DefaultsPortAndPath) {
  WatchUrlResult r = parse_watch_url("http://example.com");
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->host, "example.com");
  EXPECT_EQ(r->port, "80");
  EXPECT_EQ(r->host_header, "example.com");
  EXPECT_EQ(r->target, "/");

  r = parse_watch_url("HTTP://example.com?x=1#frag");
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->target, "/?x=1");
}

TEST(SseWatchUrl, Ipv6HostKeepsBracketsOnlyInHostHeader) {
  WatchUrlResult r = parse_watch_url("http://[::1]:8080/api/sse/stream?tags[]=a");
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->host, "::1");
  EXPECT_EQ(r->port, "8080");
  EXPECT_EQ(r->host_header, "[::1]:8080");
  EXPECT_EQ(r->target, "/api/sse/stream?tags%5B%5D=a");
}

TEST(SseWatchUrl, OtherInvalidCharactersEncoded) {
  WatchUrlResult r = parse_watch_url("http://h/a b?q={x}|y&p=100%&e=%41");
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->target, "/a%20b?q=%7Bx%7D%7Cy&p=100%25&e=%41");
}

TEST(SseWatchUrl, Errors) {
  EXPECT_EQ(parse_watch_url("https://h/").error, "only http:// URLs are supported, got \"https://h/\"");
  EXPECT_EQ(parse_watch_url("ws://h/").error, "only http:// URLs are supported, got \"ws://h/\"");
  EXPECT_EQ(parse_watch_url("http://user:pw@h/").error,
            "user names and passwords in the URL are not supported");
  EXPECT_EQ(parse_watch_url("http:///path").error, "the URL has no host: \"http:///path\"");
  EXPECT_EQ(parse_watch_url("http://h:99999/").error, "invalid port \"99999\"");
  WatchUrlResult r = parse_watch_url("localhost:8080/x");
  EXPECT_FALSE(r);
  r = parse_watch_url("not a url");
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error.rfind("invalid URL \"not a url\": ", 0), 0u) << r.error;
}

}  // namespace
}  // namespace tagstream
