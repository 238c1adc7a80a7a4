#include "http/responses.h"

#include <boost/beast/http/field.hpp>

#include "core/json_text.h"

namespace tagstream {

namespace http = boost::beast::http;

HttpResponse json_response(http::status status, std::string body, unsigned version, bool keep_alive) {
  HttpResponse res{status, version};
  res.set(http::field::server, "tagstream");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string error_json(std::string_view code, std::string_view message) {
  std::string body = "{\"code\":";
  append_json_string(body, code);
  body += ",\"message\":";
  append_json_string(body, message);
  body += "}";
  return body;
}

HttpResponse error_response(http::status status, std::string_view code, std::string_view message,
                            unsigned version, bool keep_alive) {
  return json_response(status, error_json(code, message), version, keep_alive);
}

bool matches_if_none_match(const HttpRequest& req, std::string_view etag) {
  const auto field = req.find(http::field::if_none_match);
  if (field == req.end()) return false;
  const std::string_view if_none_match(field->value().data(), field->value().size());
  // A list of entity tags, possibly weak (W/"..."), or "*".
  std::size_t pos = 0;
  while (pos < if_none_match.size()) {
    std::size_t end = if_none_match.find(',', pos);
    if (end == std::string_view::npos) end = if_none_match.size();
    std::string_view item = if_none_match.substr(pos, end - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == "*" || item == etag) return true;
    pos = end + 1;
  }
  return false;
}

}  // namespace tagstream
