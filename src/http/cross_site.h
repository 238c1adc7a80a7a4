#pragma once
// Requests a browser makes on behalf of another site's page. Any web page
// can make a browser POST text/plain to /write with no preflight, so a
// state-changing request that carries an Origin from elsewhere is refused
// unless that origin is allow-listed (--cors-origins); requests without an
// Origin (curl, Telegraf, Node-RED) are not browsers acting for a page and
// pass. Allow-listed origins get CORS: preflights answered, responses
// readable.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/parsed.h"
#include "http/http_options.h"
#include "http/responses.h"

namespace tagstream {

/// "https://hmi.plant.local,http://10.0.0.5:3000": origins as browsers send
/// them (scheme://host[:port], no path), lower-cased; "" allows none.
Parsed<std::vector<std::string>> parse_cors_origins(std::string_view list);

/// 403 `cross_origin` for a POST, PUT, PATCH or DELETE whose Origin is
/// neither this server (its host[:port] equals the Host header, whatever
/// the scheme: TLS may end at a proxy) nor allow-listed, or that a browser
/// marks `Sec-Fetch-Site: cross-site` without an Origin; nullopt to go on.
std::optional<HttpResponse> check_cross_site(const HttpRequest& req, const HttpOptions& config);

/// 403 `cross_origin` for a WebSocket upgrade whose Origin is neither this
/// server nor allow-listed. Browsers apply no CORS to WebSockets and send
/// the session cookie with any page's upgrade, so without this check any
/// site could read the plant's values (and write setpoints) through a
/// signed-in operator's browser, or through a loopback server with
/// authentication off. An upgrade without an Origin is not a browser's.
std::optional<HttpResponse> check_websocket_origin(const HttpRequest& req, const HttpOptions& config);

/// The answer to OPTIONS on a route taking `allowed_methods`: its Allow
/// header, and for an allow-listed Origin the preflight's
/// Access-Control-Allow-* headers.
HttpResponse options_response(const HttpRequest& req, std::string_view allowed_methods,
                              const HttpOptions& config);

/// Lets an allow-listed Origin's page read the response whose headers these
/// are; other responses are left alone.
void add_cors_headers(boost::beast::http::fields& res, const HttpRequest& req, const HttpOptions& config);
/// The same as raw header lines ("Name: value\r\n"), for response heads
/// written by hand (streams); "" for other origins.
std::string cors_header_lines(const HttpRequest& req, const HttpOptions& config);

}  // namespace tagstream
