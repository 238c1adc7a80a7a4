#include "http/auth_endpoints.h"

#include <boost/beast/http/field.hpp>
#include <boost/json.hpp>

#include "auth/jwt.h"
#include "core/json_text.h"
#include "core/time.h"

namespace tagstream {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

json::value principal_json(const Principal& who) {
  json::object scopes;
  for (Scope s : kAllScopes) {
    const auto& patterns = who.tags[Principal::index(s)];
    if (patterns.empty()) continue;
    json::array list;
    for (const std::string& p : patterns) list.emplace_back(p);
    scopes[scope_name(s)] = std::move(list);
  }
  json::object out{{"id", who.id}, {"kind", who.kind}, {"scopes", std::move(scopes)}};
  out["expires"] = who.expires ? json::value(format_iso8601(*who.expires)) : json::value(nullptr);
  return out;
}

/// Behind a TLS-terminating proxy the cookie must say Secure; a client that
/// claims https falsely only makes its own cookie stricter.
bool over_tls(const HttpRequest& req) {
  auto proto = req.find("X-Forwarded-Proto");
  return proto != req.end() && proto->value() == "https";
}

/// Characters a cookie value may hold unquoted (RFC 6265), which every key
/// and JWT we accept is made of.
bool cookie_safe(std::string_view token) {
  return !token.empty() && token.size() <= kMaxJwtLength &&
         token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=") ==
             std::string_view::npos;
}

}  // namespace

HttpResponse handle_auth_status(const HttpRequest& req, const ParsedTarget& target, ShardContext& shard) {
  const Authenticator& auth = *shard.server.services.auth;
  json::object body{{"enabled", auth.enabled()}, {"principal", nullptr}};
  if (auth.enabled()) {
    if (auto who = auth.authenticate(credential_of(req, target))) body["principal"] = principal_json(**who);
  }
  HttpResponse res = json_response(http::status::ok, json_text(body), req.version(), req.keep_alive());
  res.set(http::field::cache_control, "no-store");
  return res;
}

HttpResponse handle_login(const HttpRequest& req, ShardContext& shard, Access& access) {
  const Authenticator& auth = *shard.server.services.auth;
  if (!auth.enabled())
    return error_response(http::status::not_found, "auth_disabled",
                          "authentication is not configured on this server: no sign-in needed", req.version(),
                          req.keep_alive());
  boost::system::error_code ec;
  json::value doc = json::parse(req.body(), ec);
  const json::value* token = !ec && doc.is_object() ? doc.as_object().if_contains("token") : nullptr;
  if (!token || !token->is_string())
    return error_response(http::status::bad_request, "invalid_json", "the body must be {\"token\": \"...\"}",
                          req.version(), req.keep_alive());
  const std::string credential(token->as_string());
  if (!cookie_safe(credential)) return unauthorized(req, {"unauthorized", "invalid token"});
  auto who = auth.authenticate(credential);
  if (!who) return unauthorized(req, who.error);
  access.principal = *who;
  HttpResponse res = json_response(
      http::status::ok, json_text(json::object{{"enabled", true}, {"principal", principal_json(**who)}}),
      req.version(), req.keep_alive());
  res.set(http::field::set_cookie, session_cookie(credential, (*who)->expires, auth.now(), over_tls(req)));
  res.set(http::field::cache_control, "no-store");
  return res;
}

HttpResponse handle_logout(const HttpRequest& req) {
  HttpResponse res{http::status::no_content, req.version()};
  res.set(http::field::server, "tagstream");
  res.set(http::field::set_cookie, cleared_session_cookie(over_tls(req)));
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

}  // namespace tagstream
