#include "http/cross_site.h"

#include <algorithm>

#include "http/header_text.h"

namespace tagstream {

namespace http = boost::beast::http;

namespace {

std::string lower(std::string_view s) {
  std::string l(s);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  return l;
}

std::string_view header(const HttpRequest& req, http::field name) {
  const auto it = req.find(name);
  return it == req.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
}

bool state_changing(http::verb m) {
  return m == http::verb::post || m == http::verb::put || m == http::verb::patch || m == http::verb::delete_;
}

/// The Origin when it is allow-listed, lower-cased; "" otherwise.
std::string allowed_origin(const HttpRequest& req, const HttpOptions& config) {
  const std::string_view origin = header(req, http::field::origin);
  if (origin.empty() || config.cors_origins.empty()) return {};
  std::string l = lower(trim_ows(origin));
  return std::ranges::find(config.cors_origins, l) != config.cors_origins.end() ? l : std::string();
}

bool same_origin(std::string_view origin, std::string_view host) {
  const auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos || host.empty()) return false;
  return lower(origin.substr(scheme_end + 3)) == lower(trim_ows(host));
}

}  // namespace

Parsed<std::vector<std::string>> parse_cors_origins(std::string_view list) {
  Parsed<std::vector<std::string>> r;
  std::vector<std::string> origins;
  list = trim_ows(list);
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string origin = lower(trim_ows(list.substr(0, comma)));
    const auto scheme_end = origin.find("://");
    const bool web_scheme = origin.starts_with("http://") || origin.starts_with("https://");
    if (!web_scheme || origin.size() == scheme_end + 3 ||
        origin.find_first_of("/?#", scheme_end + 3) != std::string::npos) {
      r.error =
          "\"" + origin + "\" is not an origin: expected scheme://host[:port] such as https://hmi.example";
      return r;
    }
    origins.push_back(origin);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  r.value = std::move(origins);
  return r;
}

std::optional<HttpResponse> check_cross_site(const HttpRequest& req, const HttpOptions& config) {
  if (!state_changing(req.method())) return std::nullopt;
  const std::string_view origin = trim_ows(header(req, http::field::origin));
  if (origin.empty()) {
    if (lower(trim_ows(header(req, http::field::sec_fetch_site))) != "cross-site") return std::nullopt;
  } else if (same_origin(origin, header(req, http::field::host)) || !allowed_origin(req, config).empty()) {
    return std::nullopt;
  }
  return error_response(
      http::status::forbidden, "cross_origin",
      (origin.empty() ? std::string("a cross-site page") : "the page at " + std::string(origin)) +
          " may not " + std::string(http::to_string(req.method())) +
          " here: only this server's own pages and the origins in cors_origins may",
      req.version(), req.keep_alive());
}

std::optional<HttpResponse> check_websocket_origin(const HttpRequest& req, const HttpOptions& config) {
  const std::string_view origin = trim_ows(header(req, http::field::origin));
  if (origin.empty() || same_origin(origin, header(req, http::field::host)) ||
      !allowed_origin(req, config).empty())
    return std::nullopt;
  return error_response(http::status::forbidden, "cross_origin",
                        "the page at " + std::string(origin) +
                            " may not open a WebSocket here: only this server's own pages and the origins in "
                            "cors_origins may",
                        req.version(), false);
}

HttpResponse options_response(const HttpRequest& req, std::string_view allowed_methods,
                              const HttpOptions& config) {
  HttpResponse res{http::status::no_content, req.version()};
  res.set(http::field::server, "tagstream");
  res.set(http::field::allow, allowed_methods);
  res.keep_alive(req.keep_alive());
  const std::string origin = allowed_origin(req, config);
  if (!origin.empty()) {
    res.set(http::field::access_control_allow_origin, origin);
    res.set(http::field::access_control_allow_methods, allowed_methods);
    res.set(http::field::access_control_allow_headers,
            "Authorization, Content-Type, Content-Encoding, Last-Event-ID");
    res.set(http::field::access_control_max_age, "600");
    res.set(http::field::vary, "Origin");
  }
  return res;
}

void add_cors_headers(http::fields& res, const HttpRequest& req, const HttpOptions& config) {
  const std::string origin = allowed_origin(req, config);
  // A preflight's answer has its CORS headers already.
  if (origin.empty() || res.count(http::field::access_control_allow_origin)) return;
  res.set(http::field::access_control_allow_origin, origin);
  res.set(http::field::access_control_expose_headers, "ETag, Retry-After");
  const auto vary = res.find(http::field::vary);
  if (vary == res.end())
    res.set(http::field::vary, "Origin");
  else
    res.set(http::field::vary, std::string(vary->value()) + ", Origin");
}

std::string cors_header_lines(const HttpRequest& req, const HttpOptions& config) {
  const std::string origin = allowed_origin(req, config);
  if (origin.empty()) return {};
  return "Access-Control-Allow-Origin: " + origin + "\r\nVary: Origin\r\n";
}

}  // namespace tagstream
