#pragma once
// What a request may do: the principal its credential names, found once per
// request before it is dispatched, and the checks endpoints make with it.
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/authenticator.h"
#include "auth/principal.h"
#include "core/tag_registry.h"
#include "http/responses.h"
#include "http/stream_query.h"

namespace tagstream {

/// The cookie the dashboard signs in with (EventSource cannot send headers).
inline constexpr std::string_view kSessionCookie = "tagstream_session";

struct Access {
  std::shared_ptr<const Principal> principal;  // null: authentication is off, everything is allowed
  std::string credential;                      // as presented; a stream rechecks it while it lives
  std::string client;                          // the client's address (proxy-aware), for audit lines
  // What the request did, for its audit line: set by the endpoints that change something.
  std::size_t tags_touched = 0;
  std::size_t samples_written = 0;

  bool may(Scope s) const { return !principal || principal->may(s); }
  bool may(Scope s, std::string_view tag) const { return !principal || principal->may(s, tag); }
  bool may_all(Scope s) const { return !principal || principal->may_all(s); }
  /// Who, for logs and audit: the token id, or "-" without authentication.
  std::string_view who() const { return principal ? std::string_view(principal->id) : "-"; }
};

/// The credential a request presents, wherever its kind of client puts it:
/// `Authorization: Bearer` or `Token` (InfluxDB 2 clients), Basic's password
/// or the `p` query parameter on /write (InfluxDB 1 clients, Telegraf), an
/// `access_token` query parameter on a GET (for EventSource elsewhere than
/// the dashboard; it is never logged), the dashboard's session cookie.
/// Empty when there is none.
std::string credential_of(const HttpRequest& req, const ParsedTarget& target);

/// 401 (with WWW-Authenticate) or 403, in the API's error shape.
HttpResponse unauthorized(const HttpRequest& req, const AuthFailure& failure);
HttpResponse forbidden(const HttpRequest& req, std::string_view message);

/// Narrows resolved tags to those `access` may use with `scope`. A tag asked
/// for by name that is not allowed is refused (403) rather than silently
/// dropped; a pattern keeps only the tags allowed. Returns the response to
/// send when nothing is left or a named tag is refused.
std::optional<HttpResponse> restrict_tags(const Access& access, Scope scope, const TagRegistry& registry,
                                          const std::vector<std::string>& requested, std::vector<TagId>& ids,
                                          const HttpRequest& req);

struct ServerContext;
/// The tags a reading request asks for (names and patterns, resolved as
/// resolve_request_tags does) that `access` may read, or the answer to send
/// instead: 400 for an unknown tag or too broad a query, 403 (restrict_tags).
using ReadableTags = Parsed<std::vector<TagId>, HttpResponse>;
boost::asio::awaitable<ReadableTags> resolve_readable_tags(ServerContext& server, const Access& access,
                                                           const HttpRequest& req,
                                                           const std::vector<std::string>& requested);

/// Set-Cookie for a signed-in dashboard: HttpOnly (no script reads it),
/// SameSite=Strict (no other site's page sends it), Secure behind TLS.
std::string session_cookie(std::string_view token, std::optional<TimeNs> expires, TimeNs now, bool secure);
std::string cleared_session_cookie(bool secure);

}  // namespace tagstream
