#pragma once
// The --url option of every tagstream-bench subcommand: http://host[:port]/target,
// and only loopback hosts: every address the host resolves to must be a
// loopback address, or the tool refuses to start.
#include <netinet/in.h>

#include <boost/asio/ip/tcp.hpp>
#include <string>
#include <vector>

namespace tagstream_bench {

struct Url {
  std::string host;         // without IPv6 brackets
  std::string port;         // "80" when the URL has none
  std::string host_header;  // host[:port] as given
  std::string target;       // path and query, sent as given; "/" when the URL has none
};
/// Dies on anything but a well-formed http:// URL.
Url parse_url(const std::string& text);

/// Every address the URL's host resolves to; dies unless all of them are
/// loopback (127.0.0.0/8, ::1).
std::vector<boost::asio::ip::tcp::endpoint> resolve_loopback(const Url& url);

/// Where the epoll clients (event_loop.h) connect: an IPv4 loopback address,
/// since they connect from the source addresses 127.0.0.x.
struct Target {
  sockaddr_in addr{};
  std::string host_header;  // host:port as given
  /// --header options as "Name: value\r\n" lines, sent with every request
  /// (streams and publisher alike).
  std::string extra_headers;
};
/// parse_url and resolve_loopback, then the first IPv4 address; dies if
/// there is none.
Target ipv4_loopback_target(const std::string& url);
/// A comma-separated list of URLs (at most 16), each as ipv4_loopback_target.
std::vector<Target> loopback_targets(const std::string& urls);

}  // namespace tagstream_bench
