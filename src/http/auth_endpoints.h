#pragma once
// Signing in: how the dashboard (and anything else that cannot set an
// Authorization header, like EventSource) gets a session cookie.
#include "http/access.h"
#include "http/responses.h"
#include "http/server_context.h"
#include "http/stream_query.h"

namespace tagstream {

/// GET /api/auth: {"enabled": bool, "principal": {...} or null}. Needs no
/// token, so a page can tell whether to show its sign-in form.
HttpResponse handle_auth_status(const HttpRequest& req, const ParsedTarget& target, ShardContext& shard);
/// POST /api/auth/login with {"token": "..."}: checks it and sets the
/// session cookie. `access` is filled for the audit line.
HttpResponse handle_login(const HttpRequest& req, ShardContext& shard, Access& access);
/// POST /api/auth/logout: clears the cookie.
HttpResponse handle_logout(const HttpRequest& req);

}  // namespace tagstream
