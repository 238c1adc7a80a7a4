#pragma once
// Who a request comes from, for every per-client limit (streams,
// connections, request rates, new tags): the TCP peer, or, when the peer is
// a trusted proxy, the address that proxy says it forwards for.
#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <string>
#include <string_view>

#include "http/http_options.h"
#include "http/responses.h"

namespace tagstream {

/// The client of a request that arrived from `peer` carrying these
/// forwarding headers (each occurrence of a repeated header joined with
/// ", ", empty when absent). Headers are read only when `peer` is trusted:
/// then the chain is walked from the right (the hop the trusted proxy
/// added) and the first address that is not itself a trusted proxy is the
/// client. X-Forwarded-For is used when present, else Forwarded (RFC 7239,
/// its for= parameters): a proxy that appends to one passes the other on
/// as the client wrote it. An entry that is not an address (`unknown`, an
/// obfuscated `_name`, garbage) ends the walk at the proxy that forwarded
/// it; a chain of trusted proxies only gives its left-most address.
boost::asio::ip::address forwarded_client(const boost::asio::ip::address& peer,
                                          std::string_view x_forwarded_for, std::string_view forwarded,
                                          const TrustedProxies& trusted);

/// THE client key of a request: its client address as text. Every
/// per-client limit keys on it, so a client counts as one client for all of
/// them, and as its own address (not the proxy's) behind a trusted proxy.
/// `peer` is the connection's remote address.
std::string client_key(const boost::asio::ip::address& peer, const HttpRequest& req,
                       const HttpOptions& config);
/// The same for a request read from `stream`.
std::string client_key(const boost::beast::tcp_stream& stream, const HttpRequest& req,
                       const HttpOptions& config);

}  // namespace tagstream
