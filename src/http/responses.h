#pragma once
// Building HTTP responses: JSON bodies and errors in one format,
// {"code": "...", "message": "..."}, and conditional requests.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>

namespace tagstream {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

HttpResponse json_response(boost::beast::http::status status, std::string body, unsigned version = 11,
                           bool keep_alive = true);
HttpResponse error_response(boost::beast::http::status status, std::string_view code,
                            std::string_view message, unsigned version = 11, bool keep_alive = true);
std::string error_json(std::string_view code, std::string_view message);

/// Whether the request's If-None-Match names `etag`, so a 304 answers it:
/// a list of entity tags, weak ones (W/"...") compared weakly, or `*`.
[[nodiscard]] bool matches_if_none_match(const HttpRequest& req, std::string_view etag);

}  // namespace tagstream
