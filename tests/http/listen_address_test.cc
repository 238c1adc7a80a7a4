#include "http/listen_address.h"

#include <gtest/gtest.h>

namespace tagstream {
namespace {

TEST(ListenAddress, SplitsHostAndPort) {
  auto a = split_listen("127.0.0.1:8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  auto b = split_listen("[::1]:0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
  auto c = split_listen("localhost:65535");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "localhost");
  EXPECT_EQ(c->port, 65535);
  auto z = split_listen("[fe80::1%eth0]:80");
  ASSERT_TRUE(z);
  EXPECT_EQ(z->host, "fe80::1%eth0");
  EXPECT_TRUE(split_listen("[::]:80"));
  EXPECT_TRUE(split_listen("0.0.0.0:80"));
  EXPECT_FALSE(split_listen("plant-gw.local:80"));
  EXPECT_FALSE(split_listen("300.1.1.1:80"));
  EXPECT_FALSE(split_listen("[1.2.3.4]:80"));
  EXPECT_FALSE(split_listen("::1:80"));
  EXPECT_FALSE(split_listen("127.0.0.1:65536"));
  EXPECT_FALSE(split_listen("h"));
  EXPECT_FALSE(split_listen("[]:80"));
}

TEST(ListenAddress, SaysWhatIsWrong) {
  ListenAddress out;
  EXPECT_EQ(check_listen("127.0.0.1:8080", &out), "");
  EXPECT_EQ(out.port, 8080);
  EXPECT_NE(check_listen(":8080", nullptr).find("missing host"), std::string::npos);
  EXPECT_NE(check_listen("::1:80", nullptr).find("needs brackets"), std::string::npos);
  EXPECT_NE(check_listen("[::1:80", nullptr).find("unclosed"), std::string::npos);
  EXPECT_NE(check_listen("127.0.0.1:99999999999999999999", nullptr).find("between 0 and 65535"),
            std::string::npos);
  EXPECT_NE(check_listen("127.0.0.1:-1", nullptr).find("port number"), std::string::npos);
  EXPECT_NE(check_listen("127.0.0.1:", nullptr).find("port number"), std::string::npos);
}

}  // namespace
}  // namespace tagstream
