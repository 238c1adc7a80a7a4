#include "http/cross_site.h"

#include <gtest/gtest.h>

namespace tagstream {
namespace {

namespace http = boost::beast::http;

HttpRequest request(http::verb method, std::vector<std::pair<http::field, std::string>> headers) {
  HttpRequest req{method, "/write", 11};
  req.set(http::field::host, "scada.plant:8080");
  for (auto& [name, value] : headers) req.set(name, value);
  return req;
}

HttpOptions with_origins(std::string_view list) {
  HttpOptions config;
  auto parsed = parse_cors_origins(list);
  EXPECT_TRUE(parsed) << parsed.error;
  if (parsed) config.cors_origins = *parsed;
  return config;
}

TEST(CrossSite, RefusesAWriteFromAnotherSitesPage) {
  const auto refused = check_cross_site(
      request(http::verb::post, {{http::field::origin, "https://evil.example"}}), HttpOptions{});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->result(), http::status::forbidden);
  EXPECT_NE(refused->body().find("\"cross_origin\""), std::string::npos);
  EXPECT_TRUE(check_cross_site(request(http::verb::put, {{http::field::origin, "null"}}), HttpOptions{}));
  EXPECT_TRUE(check_cross_site(request(http::verb::delete_, {{http::field::sec_fetch_site, "cross-site"}}),
                               HttpOptions{}));
}

TEST(CrossSite, LetsThroughToolsSameOriginReadsAndTheAllowList) {
  EXPECT_FALSE(check_cross_site(request(http::verb::post, {}), HttpOptions{}));  // curl, Telegraf
  EXPECT_FALSE(check_cross_site(request(http::verb::get, {{http::field::origin, "https://evil.example"}}),
                                HttpOptions{}));
  // Same host and port, whatever the scheme (TLS may end at a proxy).
  EXPECT_FALSE(check_cross_site(
      request(http::verb::post, {{http::field::origin, "https://SCADA.plant:8080"}}), HttpOptions{}));
  EXPECT_TRUE(check_cross_site(request(http::verb::post, {{http::field::origin, "http://scada.plant:9090"}}),
                               HttpOptions{}));
  EXPECT_FALSE(check_cross_site(request(http::verb::post, {{http::field::origin, "https://hmi.example"}}),
                                with_origins("https://hmi.example")));
  EXPECT_FALSE(check_cross_site(request(http::verb::post, {{http::field::sec_fetch_site, "same-origin"}}),
                                HttpOptions{}));
}

TEST(CrossSite, ParsesOriginLists) {
  auto ok = parse_cors_origins(" https://HMI.example , http://10.0.0.5:3000");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, (std::vector<std::string>{"https://hmi.example", "http://10.0.0.5:3000"}));
  EXPECT_TRUE(parse_cors_origins(""));
  for (std::string_view bad : {"hmi.example", "https://hmi.example/", "ftp://x", "https://", "*"})
    EXPECT_FALSE(parse_cors_origins(bad)) << bad;
}

TEST(CrossSite, PreflightAnsweredOnlyForAllowListedOrigins) {
  const auto config = with_origins("https://hmi.example");
  auto allowed = options_response(
      request(http::verb::options, {{http::field::origin, "https://hmi.example"}}), "POST, OPTIONS", config);
  EXPECT_EQ(allowed.result(), http::status::no_content);
  EXPECT_EQ(allowed[http::field::access_control_allow_origin], "https://hmi.example");
  EXPECT_EQ(allowed[http::field::access_control_allow_methods], "POST, OPTIONS");
  EXPECT_NE(allowed[http::field::access_control_allow_headers].find("Authorization"), std::string::npos);
  EXPECT_NE(allowed[http::field::access_control_allow_headers].find("Content-Type"), std::string::npos);
  EXPECT_EQ(allowed[http::field::vary], "Origin");
  auto other = options_response(request(http::verb::options, {{http::field::origin, "https://evil.example"}}),
                                "POST, OPTIONS", config);
  EXPECT_EQ(other.result(), http::status::no_content);
  EXPECT_EQ(other[http::field::allow], "POST, OPTIONS");
  EXPECT_EQ(other.find(http::field::access_control_allow_origin), other.end());
}

}  // namespace
}  // namespace tagstream
