#pragma once
// The proxies whose forwarding headers (X-Forwarded-For, Forwarded) are
// believed: a list of addresses and CIDR ranges, parsed once from the
// configuration. Anyone else could write any address into those headers.
#include <boost/asio/ip/address.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/parsed.h"

namespace tagstream {

class TrustedProxies {
 public:
  /// "127.0.0.1,10.0.0.0/8,::1,fd00::/8": addresses (a whole address is a
  /// /32 or /128) separated by commas, spaces allowed; "" trusts no one.
  static Parsed<TrustedProxies> parse(std::string_view list);

  [[nodiscard]] bool contains(const boost::asio::ip::address& a) const;
  [[nodiscard]] bool empty() const { return ranges_.empty(); }
  /// The list as configured, for --help and logs.
  const std::string& text() const { return text_; }

 private:
  struct Range {
    boost::asio::ip::address network;  // host bits cleared
    unsigned prefix = 0;
  };
  std::vector<Range> ranges_;
  std::string text_;
};

/// An IPv4-mapped IPv6 address (::ffff:10.0.0.1, what a dual-stack socket
/// reports for an IPv4 peer) as the IPv4 address it is, so one client has
/// one key and 10.0.0.0/8 matches it.
boost::asio::ip::address unmapped(const boost::asio::ip::address& a);

}  // namespace tagstream
