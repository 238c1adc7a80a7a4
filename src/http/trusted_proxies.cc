#include "http/trusted_proxies.h"

#include <charconv>

#include "http/header_text.h"

namespace tagstream {

namespace asio = boost::asio;

namespace {

asio::ip::address_v6::bytes_type as_v6_bytes(const asio::ip::address& a) {
  return a.is_v4() ? asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4()).to_bytes()
                   : a.to_v6().to_bytes();
}

// Both addresses of one family; the first `prefix` bits compared.
bool same_prefix(const asio::ip::address& a, const asio::ip::address& b, unsigned prefix) {
  const auto x = as_v6_bytes(a);
  const auto y = as_v6_bytes(b);
  // An IPv4 range's bits start after the 96 bits of the v4-mapped prefix.
  const unsigned bits = a.is_v4() ? 96 + prefix : prefix;
  for (unsigned i = 0; i < bits; ++i) {
    const unsigned byte = i / 8, mask = 0x80u >> (i % 8);
    if ((x[byte] & mask) != (y[byte] & mask)) return false;
  }
  return true;
}

}  // namespace

asio::ip::address unmapped(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

Parsed<TrustedProxies> TrustedProxies::parse(std::string_view list) {
  Parsed<TrustedProxies> r;
  TrustedProxies proxies;
  proxies.text_ = std::string(trim_ows(list));
  std::string_view rest = proxies.text_;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = trim_ows(rest.substr(0, comma));
    // "a,,b" or "a," is a typo to report, not an entry to skip.
    if (item.empty() || (comma != std::string_view::npos && comma + 1 == rest.size())) {
      r.error = "empty entry in trusted proxies \"" + std::string(list) + "\"";
      return r;
    }
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const auto slash = item.find('/');
    const std::string address_text(item.substr(0, slash));
    boost::system::error_code ec;
    auto address = asio::ip::make_address(address_text, ec);
    if (ec) {
      r.error = "\"" + address_text +
                "\" is not an IP address (trusted proxies are addresses or CIDR "
                "ranges such as 10.0.0.0/8; names are not resolved)";
      return r;
    }
    address = unmapped(address);
    const unsigned max_prefix = address.is_v4() ? 32 : 128;
    unsigned prefix = max_prefix;
    if (slash != std::string_view::npos) {
      const std::string_view bits = item.substr(slash + 1);
      auto [ptr, err] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
      if (bits.empty() || err != std::errc{} || ptr != bits.data() + bits.size() || prefix > max_prefix) {
        r.error =
            "bad prefix length in \"" + std::string(item) + "\": expected 0.." + std::to_string(max_prefix);
        return r;
      }
    }
    proxies.ranges_.push_back(Range{address, prefix});
  }
  r.value = std::move(proxies);
  return r;
}

bool TrustedProxies::contains(const asio::ip::address& a) const {
  const asio::ip::address address = unmapped(a);
  for (const Range& range : ranges_)
    if (range.network.is_v4() == address.is_v4() && same_prefix(range.network, address, range.prefix))
      return true;
  return false;
}

}  // namespace tagstream
