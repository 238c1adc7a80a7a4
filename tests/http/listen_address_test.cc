#include "http/listen_address.h"

#include <gtest/gtest.h>

namespace tagstream {
namespace {

TEST(ListenAddress, SplitsHostAndPort) {
  auto a = parse_listen("127.0.0.1:8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  auto b = parse_listen("[::1]:0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
  auto c = parse_listen("localhost:65535");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "localhost");
  EXPECT_EQ(c->port, 65535);
  auto z = parse_listen("[fe80::1%eth0]:80");
  ASSERT_TRUE(z);
  EXPECT_EQ(z->host, "fe80::1%eth0");
  EXPECT_TRUE(parse_listen("[::]:80"));
  EXPECT_TRUE(parse_listen("0.0.0.0:80"));
  EXPECT_FALSE(parse_listen("plant-gw.local:80"));
  EXPECT_FALSE(parse_listen("300.1.1.1:80"));
  EXPECT_FALSE(parse_listen("[1.2.3.4]:80"));
  EXPECT_FALSE(parse_listen("::1:80"));
  EXPECT_FALSE(parse_listen("127.0.0.1:65536"));
  EXPECT_FALSE(parse_listen("h"));
  EXPECT_FALSE(parse_listen("[]:80"));
}

TEST(ListenAddress, SaysWhatIsWrong) {
  const auto ok = parse_listen("127.0.0.1:8080");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->port, 8080);
  EXPECT_EQ(ok.error, "");
  EXPECT_NE(parse_listen(":8080").error.find("missing host"), std::string::npos);
  EXPECT_NE(parse_listen("::1:80").error.find("needs brackets"), std::string::npos);
  EXPECT_NE(parse_listen("[::1:80").error.find("unclosed"), std::string::npos);
  EXPECT_NE(parse_listen("127.0.0.1:99999999999999999999").error.find("between 0 and 65535"),
            std::string::npos);
  EXPECT_NE(parse_listen("127.0.0.1:-1").error.find("port number"), std::string::npos);
  EXPECT_NE(parse_listen("127.0.0.1:").error.find("port number"), std::string::npos);
}

}  // namespace
}  // namespace tagstream
