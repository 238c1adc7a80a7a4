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

}  // namespace tagstream
