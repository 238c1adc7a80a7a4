#include "url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <string_view>

#include "bench_args.h"

namespace tagstream_bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Url parse_url(const std::string& text) {
  constexpr std::string_view scheme = "http://";
  if (!text.starts_with(scheme)) die("only http:// URLs are supported: '" + text + "'");
  const std::string rest = text.substr(scheme.size());
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  Url u;
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  u.host_header = authority;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string::npos) die("bad IPv6 address in '" + text + "'");
    u.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    u.port = after.starts_with(":") ? after.substr(1) : "80";
  } else {
    const auto colon = authority.find(':');
    u.host = authority.substr(0, colon);
    u.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  }
  if (u.host.empty() || u.port.empty()) die("bad URL '" + text + "'");
  return u;
}

std::vector<tcp::endpoint> resolve_loopback(const Url& u) {
  asio::io_context io(1);
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  // No address_configured (Asio's default): a host whose only IPv4
  // address is loopback must still resolve 127.0.0.1.
  auto results = resolver.resolve(u.host, u.port, tcp::resolver::flags{}, ec);
  if (ec) die("cannot resolve " + u.host + ":" + u.port + ": " + ec.message());
  std::vector<tcp::endpoint> out;
  for (const auto& r : results) {
    if (!r.endpoint().address().is_loopback())
      die("refusing " + u.host + " (" + r.endpoint().address().to_string() +
          "): this tool only talks to loopback addresses (127.0.0.0/8, ::1)");
    out.push_back(r.endpoint());
  }
  if (out.empty()) die("no address for " + u.host);
  return out;
}

Target ipv4_loopback_target(const std::string& url) {
  const Url u = parse_url(url);
  Target t;
  t.host_header = u.host_header;
  for (const tcp::endpoint& e : resolve_loopback(u)) {
    if (!e.address().is_v4()) continue;
    t.addr.sin_family = AF_INET;
    t.addr.sin_port = htons(e.port());
    t.addr.sin_addr.s_addr = htonl(e.address().to_v4().to_uint());
    return t;
  }
  die("give an IPv4 loopback host: http://127.0.0.1:PORT (got '" + url + "')");
}

std::vector<Target> loopback_targets(const std::string& urls) {
  std::vector<Target> out;
  std::size_t from = 0;
  while (from <= urls.size()) {
    const std::size_t comma = std::min(urls.find(',', from), urls.size());
    if (out.size() == 16) die("at most 16 URLs in a list");
    out.push_back(ipv4_loopback_target(urls.substr(from, comma - from)));
    from = comma + 1;
  }
  return out;
}

}  // namespace tagstream_bench
