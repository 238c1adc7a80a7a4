#include "http/access.h"

#include <openssl/evp.h>

#include <boost/beast/http/field.hpp>

#include "core/tag.h"
#include "http/header_text.h"
#include "http/server_context.h"
#include "http/tag_resolution.h"

namespace tagstream {

namespace http = boost::beast::http;

namespace {

/// The password of `Authorization: Basic base64(user:password)`.
std::string basic_password(std::string_view encoded) {
  encoded = trim_ows(encoded);
  if (encoded.empty() || encoded.size() > 8192 || encoded.size() % 4 != 0) return {};
  std::string decoded(encoded.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                reinterpret_cast<const unsigned char*>(encoded.data()),
                                static_cast<int>(encoded.size()));
  if (n < 0) return {};
  // EVP_DecodeBlock counts the padding's zero bytes: drop them.
  std::size_t length = static_cast<std::size_t>(n);
  if (encoded.ends_with("=="))
    length -= 2;
  else if (encoded.ends_with("="))
    length -= 1;
  decoded.resize(length);
  const std::size_t colon = decoded.find(':');
  return colon == std::string::npos ? std::string() : decoded.substr(colon + 1);
}

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t semi = header.find(';');
    std::string_view pair = trim_ows(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    const std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && trim_ows(pair.substr(0, eq)) == name)
      return std::string(trim_ows(pair.substr(eq + 1)));
  }
  return {};
}

}  // namespace

std::string credential_of(const HttpRequest& req, const ParsedTarget& target) {
  if (auto auth = req.find(http::field::authorization); auth != req.end()) {
    const std::string_view value = trim_ows(std::string_view(auth->value().data(), auth->value().size()));
    const std::size_t space = value.find(' ');
    const std::string_view scheme = value.substr(0, space);
    const std::string_view rest =
        space == std::string_view::npos ? std::string_view() : trim_ows(value.substr(space));
    if (iequals_ascii(scheme, "Bearer") || iequals_ascii(scheme, "Token")) return std::string(rest);
    if (iequals_ascii(scheme, "Basic")) return basic_password(rest);
    return {};
  }
  if (target.path == "/write")
    if (auto p = target.get("p")) return *p;
  if (req.method() == http::verb::get || req.method() == http::verb::head)
    if (auto token = target.get("access_token")) return *token;
  if (auto cookie = req.find(http::field::cookie); cookie != req.end())
    return cookie_value(std::string_view(cookie->value().data(), cookie->value().size()), kSessionCookie);
  return {};
}

HttpResponse unauthorized(const HttpRequest& req, const AuthFailure& failure) {
  HttpResponse res = error_response(http::status::unauthorized, failure.code, failure.message, req.version(),
                                    req.keep_alive());
  res.set(http::field::www_authenticate, failure.code == "token_expired"
                                             ? R"(Bearer realm="tagstream", error="invalid_token")"
                                             : R"(Bearer realm="tagstream")");
  return res;
}

HttpResponse forbidden(const HttpRequest& req, std::string_view message) {
  return error_response(http::status::forbidden, "forbidden", message, req.version(), req.keep_alive());
}

std::optional<HttpResponse> restrict_tags(const Access& access, Scope scope, const TagRegistry& registry,
                                          const std::vector<std::string>& requested, std::vector<TagId>& ids,
                                          const HttpRequest& req) {
  if (access.may_all(scope)) return std::nullopt;
  for (const std::string& entry : requested)
    if (!is_tag_pattern(entry) && !access.may(scope, entry))
      return forbidden(req, "this token may not " + std::string(scope == Scope::write ? "write" : "read") +
                                " tag '" + entry + "'");
  std::erase_if(ids, [&](TagId id) { return !access.may(scope, registry.name(id)); });
  if (ids.empty()) return forbidden(req, "no tag asked for is one this token may read");
  return std::nullopt;
}

boost::asio::awaitable<ReadableTags> resolve_readable_tags(ServerContext& server, const Access& access,
                                                           const HttpRequest& req,
                                                           const std::vector<std::string>& requested) {
  ReadableTags out;
  ResolvedTags resolved = co_await resolve_request_tags(server, requested);
  if (resolved.error) {
    out.error = error_response(http::status::bad_request, resolved.error->code, resolved.error->message,
                               req.version(), req.keep_alive());
    co_return out;
  }
  if (auto refused = restrict_tags(access, Scope::read, server.registry, requested, resolved.ids, req)) {
    out.error = std::move(*refused);
    co_return out;
  }
  out.value = std::move(resolved.ids);
  co_return out;
}

std::string session_cookie(std::string_view token, std::optional<TimeNs> expires, TimeNs now, bool secure) {
  std::string cookie =
      std::string(kSessionCookie) + "=" + std::string(token) + "; Path=/; HttpOnly; SameSite=Strict";
  if (expires)
    cookie += "; Max-Age=" + std::to_string(std::max<TimeNs>(0, (*expires - now) / kNanosPerSecond));
  if (secure) cookie += "; Secure";
  return cookie;
}

std::string cleared_session_cookie(bool secure) {
  return std::string(kSessionCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" +
         (secure ? "; Secure" : "");
}

}  // namespace tagstream
