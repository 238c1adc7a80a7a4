#include "http/client_address.h"

#include <optional>
#include <vector>

#include "http/header_text.h"

namespace tagstream {

namespace asio = boost::asio;

namespace {

/// Splits at `sep` outside double quotes (a quoted Forwarded value may hold
/// commas and semicolons).
std::vector<std::string_view> split_unquoted(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && quoted) {
      ++i;
    } else if (s[i] == '"') {
      quoted = !quoted;
    } else if (s[i] == sep && !quoted) {
      parts.push_back(trim_ows(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  parts.push_back(trim_ows(s.substr(start)));
  return parts;
}

std::string unquote(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return std::string(s);
  std::string out;
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    if (s[i] == '\\' && i + 2 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

/// A node as proxies write it: 192.0.2.1, 192.0.2.1:4711, [2001:db8::1],
/// [2001:db8::1]:4711, or a bare 2001:db8::1 (X-Forwarded-For).
std::optional<asio::ip::address> parse_node(std::string_view node) {
  std::string_view host = node;
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view after = host.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return std::nullopt;
    host = host.substr(1, close - 1);
  } else if (host.find(':') == host.rfind(':') && host.find(':') != std::string_view::npos) {
    host = host.substr(0, host.find(':'));  // IPv4 with a port
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(std::string(host), ec);
  if (ec) return std::nullopt;
  return unmapped(address);
}

/// The nodes of a chain, left (the original client) to right (the hop
/// nearest to us); nullopt for an entry that is no address.
std::vector<std::optional<asio::ip::address>> x_forwarded_for_chain(std::string_view header) {
  std::vector<std::optional<asio::ip::address>> chain;
  for (std::string_view entry : split_unquoted(header, ',')) chain.push_back(parse_node(entry));
  return chain;
}

std::vector<std::optional<asio::ip::address>> forwarded_chain(std::string_view header) {
  std::vector<std::optional<asio::ip::address>> chain;
  for (std::string_view element : split_unquoted(header, ',')) {
    std::optional<asio::ip::address> node;
    for (std::string_view pair : split_unquoted(element, ';')) {
      const auto eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      const std::string_view key = trim_ows(pair.substr(0, eq));
      if (key.size() == 3 && (key[0] | 0x20) == 'f' && (key[1] | 0x20) == 'o' && (key[2] | 0x20) == 'r')
        node = parse_node(unquote(trim_ows(pair.substr(eq + 1))));
    }
    chain.push_back(node);
  }
  return chain;
}

std::string joined_values(const HttpRequest& req, std::string_view name) {
  std::string joined;
  for (auto [it, end] = req.equal_range(name); it != end; ++it) {
    if (!joined.empty()) joined += ", ";
    joined += std::string_view(it->value().data(), it->value().size());
  }
  return joined;
}

}  // namespace

asio::ip::address forwarded_client(const asio::ip::address& peer, std::string_view x_forwarded_for,
                                   std::string_view forwarded, const TrustedProxies& trusted) {
  asio::ip::address client = unmapped(peer);
  if (!trusted.contains(client)) return client;
  const auto chain = !trim_ows(x_forwarded_for).empty() ? x_forwarded_for_chain(x_forwarded_for)
                     : !trim_ows(forwarded).empty()     ? forwarded_chain(forwarded)
                                                        : std::vector<std::optional<asio::ip::address>>{};
  for (auto hop = chain.rbegin(); hop != chain.rend(); ++hop) {
    if (!*hop) break;
    client = **hop;
    if (!trusted.contains(client)) break;
  }
  return client;
}

std::string client_key(const asio::ip::address& peer, const HttpRequest& req, const HttpOptions& config) {
  if (config.trusted_proxies.empty()) return unmapped(peer).to_string();
  return forwarded_client(peer, joined_values(req, "X-Forwarded-For"), joined_values(req, "Forwarded"),
                          config.trusted_proxies)
      .to_string();
}

std::string client_key(const boost::beast::tcp_stream& stream, const HttpRequest& req,
                       const HttpOptions& config) {
  boost::system::error_code ec;
  const auto peer = stream.socket().remote_endpoint(ec);
  return ec ? std::string("unknown") : client_key(peer.address(), req, config);
}

}  // namespace tagstream
