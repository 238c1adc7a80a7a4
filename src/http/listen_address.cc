#include "http/listen_address.h"

#include <arpa/inet.h>

#include <charconv>

namespace tagstream {

namespace {
std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}
}  // namespace

Parsed<ListenAddress> parse_listen(std::string_view s) {
  Parsed<ListenAddress> r;
  auto fail = [&](std::string message) {
    r.error = std::move(message);
    return r;
  };
  std::string_view host, port;
  if (s.starts_with('[')) {
    const auto close = s.find(']');
    if (close == std::string_view::npos)
      return fail("unclosed '[' in " + in_quotes(s) + ": expected [IPv6]:PORT");
    host = s.substr(1, close - 1);
    if (close + 1 >= s.size() || s[close + 1] != ':')
      return fail("expected [IPv6]:PORT, got " + in_quotes(s));
    port = s.substr(close + 2);
    if (host.empty()) return fail("empty IPv6 address in " + in_quotes(s));
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return fail("expected HOST:PORT, got " + in_quotes(s));
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return fail("an IPv6 address needs brackets, as in [::1]:8080; got " + in_quotes(s));
    // ":8080" could mean any address or loopback depending on who reads it;
    // ask for the explicit form instead.
    if (host.empty())
      return fail("missing host in " + in_quotes(s) + " (use 0.0.0.0:PORT or [::]:PORT for all interfaces)");
  }
  // The server binds, it does not resolve: a name other than localhost would
  // pass here and fail at start-up, so it is caught here with a clear message.
  if (host != "localhost") {
    const bool v6 = s.starts_with('[');
    std::string addr(host.substr(0, v6 ? host.find('%') : host.size()));
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(v6 ? AF_INET6 : AF_INET, addr.c_str(), buf) != 1)
      return fail(std::string("host must be ") +
                  (v6 ? "an IPv6 address" : "an IPv4 address, [IPv6] or localhost") + ", got " +
                  in_quotes(s));
  }
  unsigned long p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec == std::errc::invalid_argument || end != port.data() + port.size())
    return fail("expected a port number after ':', got " + in_quotes(s));
  if (ec == std::errc::result_out_of_range || p > 65535)
    return fail("port must be between 0 and 65535, got " + in_quotes(s));
  r.value = ListenAddress{std::string(host), static_cast<std::uint16_t>(p)};
  return r;
}

}  // namespace tagstream
