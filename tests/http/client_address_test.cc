#include "http/client_address.h"

#include <gtest/gtest.h>

namespace tagstream {
namespace {

namespace ip = boost::asio::ip;

TrustedProxies trusted(std::string_view list) {
  auto parsed = TrustedProxies::parse(list);
  EXPECT_TRUE(parsed) << parsed.error;
  return parsed ? *parsed : TrustedProxies{};
}

std::string client(std::string_view peer, std::string_view xff, std::string_view forwarded = "",
                   std::string_view proxies = "127.0.0.1,10.0.0.0/8,::1") {
  return forwarded_client(ip::make_address(std::string(peer)), xff, forwarded, trusted(proxies)).to_string();
}

TEST(TrustedProxies, MatchesAddressesAndRanges) {
  const auto t = trusted("127.0.0.1, 10.0.0.0/8,fd00::/8,::1");
  EXPECT_TRUE(t.contains(ip::make_address("127.0.0.1")));
  EXPECT_FALSE(t.contains(ip::make_address("127.0.0.2")));
  EXPECT_TRUE(t.contains(ip::make_address("10.255.1.2")));
  EXPECT_FALSE(t.contains(ip::make_address("11.0.0.1")));
  EXPECT_TRUE(t.contains(ip::make_address("fd12::5")));
  EXPECT_TRUE(t.contains(ip::make_address("::1")));
  EXPECT_FALSE(t.contains(ip::make_address("2001:db8::1")));
  // What a dual-stack socket reports for an IPv4 peer.
  EXPECT_TRUE(t.contains(ip::make_address("::ffff:10.1.2.3")));
  EXPECT_TRUE(trusted("").empty());
}

TEST(TrustedProxies, RejectsWhatIsNoAddressOrRange) {
  for (std::string_view bad : {"nginx", "10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0.0/x",
                               "1.2.3.4,,5.6.7.8", "1.2.3.4,", "localhost"}) {
    auto parsed = TrustedProxies::parse(bad);
    EXPECT_FALSE(parsed) << bad;
    EXPECT_FALSE(parsed.error.empty()) << bad;
  }
}

TEST(ClientAddress, UntrustedPeerIsTheClientWhateverItsHeadersSay) {
  EXPECT_EQ(client("192.0.2.7", "203.0.113.9"), "192.0.2.7");
  EXPECT_EQ(client("192.0.2.7", "", "for=203.0.113.9"), "192.0.2.7");
  EXPECT_EQ(client("127.0.0.1", "203.0.113.9", "", ""), "127.0.0.1");  // no proxy trusted
}

TEST(ClientAddress, TrustedPeerWithoutHeadersIsTheClient) {
  EXPECT_EQ(client("127.0.0.1", ""), "127.0.0.1");
}

TEST(ClientAddress, RightMostUntrustedAddressOfTheChainIsTheClient) {
  EXPECT_EQ(client("127.0.0.1", "203.0.113.9"), "203.0.113.9");
  // The client wrote the left part itself: only what trusted hops added counts.
  EXPECT_EQ(client("127.0.0.1", "1.1.1.1, 203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(client("127.0.0.1", "1.1.1.1, 203.0.113.9, 10.0.0.2"), "203.0.113.9");
  EXPECT_EQ(client("::ffff:127.0.0.1", "203.0.113.9,10.0.0.2"), "203.0.113.9");
  // Only trusted hops: the farthest of them.
  EXPECT_EQ(client("127.0.0.1", "10.0.0.3, 10.0.0.2"), "10.0.0.3");
}

TEST(ClientAddress, ForwardedForWithPortsAndIpv6) {
  EXPECT_EQ(client("127.0.0.1", "203.0.113.9:51234"), "203.0.113.9");
  EXPECT_EQ(client("127.0.0.1", "2001:db8::7"), "2001:db8::7");
  EXPECT_EQ(client("127.0.0.1", "[2001:db8::7]:443"), "2001:db8::7");
}

TEST(ClientAddress, Rfc7239Forwarded) {
  EXPECT_EQ(client("127.0.0.1", "", "for=192.0.2.60;proto=http;by=203.0.113.43"), "192.0.2.60");
  EXPECT_EQ(client("127.0.0.1", "", "For=\"[2001:db8:cafe::17]:4711\""), "2001:db8:cafe::17");
  EXPECT_EQ(client("127.0.0.1", "", "for=\"192.0.2.43:47011\""), "192.0.2.43");
  EXPECT_EQ(client("127.0.0.1", "", "for=198.51.100.17, for=192.0.2.60;proto=https, for=10.0.0.2"),
            "192.0.2.60");
  // A quoted comma or semicolon does not split elements or pairs.
  EXPECT_EQ(client("127.0.0.1", "", "for=192.0.2.60;host=\"a,b;c\""), "192.0.2.60");
}

TEST(ClientAddress, XForwardedForWinsOverForwarded) {
  // nginx appends to X-Forwarded-For and passes a client's Forwarded on as written.
  EXPECT_EQ(client("127.0.0.1", "203.0.113.9", "for=6.6.6.6"), "203.0.113.9");
}

TEST(ClientAddress, GarbageStopsAtTheProxyThatForwardedIt) {
  EXPECT_EQ(client("127.0.0.1", "not-an-ip"), "127.0.0.1");
  EXPECT_EQ(client("127.0.0.1", "203.0.113.9, unknown"), "127.0.0.1");
  EXPECT_EQ(client("127.0.0.1", "unknown, 10.0.0.2"), "10.0.0.2");
  EXPECT_EQ(client("127.0.0.1", "", "for=unknown"), "127.0.0.1");
  EXPECT_EQ(client("127.0.0.1", "", "for=_hidden, for=10.0.0.2"), "10.0.0.2");
  EXPECT_EQ(client("127.0.0.1", "", "proto=https"), "127.0.0.1");
  EXPECT_EQ(client("127.0.0.1", "", "for=\"[2001:db8::1\""), "127.0.0.1");
  EXPECT_EQ(client("127.0.0.1", ",,,"), "127.0.0.1");
  EXPECT_EQ(client("127.0.0.1", std::string(10000, '9')), "127.0.0.1");
}

}  // namespace
}  // namespace tagstream
