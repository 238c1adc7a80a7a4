#pragma once
// The server's listen address, HOST:PORT. Checked when the configuration is
// read, so a mistake is reported before anything starts, and split again
// when the server binds.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/parsed.h"

namespace tagstream {

/// "127.0.0.1:8080" -> {"127.0.0.1", 8080}; "[::1]:8080" -> {"::1", 8080}
/// (brackets removed, ready for asio::ip::make_address).
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};

/// HOST:PORT where HOST is an IPv4 literal, an IPv6 literal in brackets (a
/// `%zone` allowed) or `localhost`, and PORT is 0..65535; otherwise what is
/// wrong with it. The server binds, it does not resolve names.
Parsed<ListenAddress> parse_listen(std::string_view s);

}  // namespace tagstream
