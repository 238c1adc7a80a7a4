#include "client/watch_args.h"

#include <boost/url/parse.hpp>
#include <boost/url/scheme.hpp>
#include <charconv>
#include <cmath>

namespace tagstream {

namespace {

bool is_unreserved_or_allowed(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-._~!$&'()*+,;=:@/?").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Percent-encodes what may not appear raw after the authority. The authority
// is left alone: brackets there delimit an IPv6 address.
std::string encode_invalid_url_chars(std::string_view url) {
  std::size_t start = 0;
  if (std::size_t scheme_end = url.find("://"); scheme_end != std::string_view::npos) {
    start = url.find_first_of("/?#", scheme_end + 3);
    if (start == std::string_view::npos) return std::string(url);
  }
  std::string out(url.substr(0, start));
  bool in_fragment = false;
  for (std::size_t i = start; i < url.size(); ++i) {
    auto c = static_cast<unsigned char>(url[i]);
    bool keep = is_unreserved_or_allowed(c);
    if (c == '%') keep = i + 2 < url.size() && is_hex(url[i + 1]) && is_hex(url[i + 2]);
    if (c == '#' && !in_fragment) keep = in_fragment = true;
    if (keep) {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

WatchArgsResult parse_watch_args(const std::vector<std::string>& args) {
  WatchOptions options;
  bool have_url = false;
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!options_done && arg.size() > 1 && arg.front() == '-') {
      if (arg == "--") {
        options_done = true;
        continue;
      }
      if (arg == "-h" || arg == "--help") {
        options.help = true;
        return {std::move(options), {}};
      }
      if (arg == "--quiet") {
        options.quiet = true;
        continue;
      }
      if (arg == "--raw") {
        options.raw = true;
        continue;
      }
      std::string_view name = arg;
      std::optional<std::string_view> value;
      if (std::size_t eq = arg.find('='); eq != std::string_view::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
      }
      if (name != "--max-reconnects" && name != "--count" && name != "--timeout") {
        return {std::nullopt, "unknown option " + std::string(arg)};
      }
      if (!value) {
        if (i + 1 >= args.size()) return {std::nullopt, std::string(name) + " needs a value"};
        value = args[++i];
      }
      if (name == "--timeout") {
        double seconds = 0;
        if (!parse_number(*value, seconds) || !std::isfinite(seconds) || seconds <= 0) {
          return {std::nullopt,
                  "--timeout needs a positive number of seconds, got \"" + std::string(*value) + "\""};
        }
        options.timeout_s = seconds;
        continue;
      }
      std::uint64_t n = 0;
      if (!parse_number(*value, n)) {
        return {std::nullopt,
                std::string(name) + " needs a non-negative integer, got \"" + std::string(*value) + "\""};
      }
      if (name == "--count") {
        if (n == 0) return {std::nullopt, "--count must be at least 1"};
        options.count = n;
      } else {
        options.max_reconnects = n;
      }
      continue;
    }
    if (have_url) return {std::nullopt, "unexpected argument " + std::string(arg) + " (only one URL)"};
    options.url = std::string(arg);
    have_url = true;
  }
  if (!have_url) return {std::nullopt, "missing URL"};
  return {std::move(options), {}};
}

std::string watch_usage() {
  return "usage: tagstream watch [options] URL\n"
         "\n"
         "Connects to a Server-Sent Events stream and prints one line per event:\n"
         "  <local ISO time> <event type> id=<id> <data, newlines shown as \\n>\n"
         "Reconnects with exponential backoff and resumes with Last-Event-ID.\n"
         "\n"
         "  URL                  http://host[:port]/path?query; raw [ ] are accepted,\n"
         "                       e.g. 'http://localhost:8080/api/sse/stream?tags[]=boiler1.*'\n"
         "  --max-reconnects N   exit 1 when the connection is lost after N reconnections\n"
         "                       (default: unlimited; 0: never reconnect)\n"
         "  --count N            exit 0 after N data events\n"
         "  --timeout SECONDS    exit 0 after that long\n"
         "  --quiet              print only data events\n"
         "  --raw                print the bytes received instead of parsed events\n"
         "  -h, --help           show this help\n"
         "\n"
         "Exit codes: 0 done (--count, --timeout, Ctrl-C), 1 gave up reconnecting,\n"
         "2 bad arguments or HTTP 4xx, 3 protocol error (wrong Content-Type, data\n"
         "that is not JSON, an oversized event).\n";
}

WatchUrlResult parse_watch_url(std::string_view text) {
  std::string encoded = encode_invalid_url_chars(text);
  auto parsed = boost::urls::parse_uri(encoded);
  if (!parsed)
    return {std::nullopt, "invalid URL \"" + std::string(text) + "\": " + parsed.error().message()};
  const boost::urls::url_view& u = *parsed;
  if (u.scheme_id() != boost::urls::scheme::http) {
    return {std::nullopt, "only http:// URLs are supported, got \"" + std::string(text) + "\""};
  }
  if (u.has_userinfo()) return {std::nullopt, "user names and passwords in the URL are not supported"};
  WatchUrl url;
  url.host = u.host_address();
  if (url.host.empty()) return {std::nullopt, "the URL has no host: \"" + std::string(text) + "\""};
  url.port = u.port().empty() ? "80" : std::string(u.port());
  std::uint16_t port_number = 0;
  if (!parse_number(std::string_view(url.port), port_number) || port_number == 0) {
    return {std::nullopt, "invalid port \"" + std::string(u.port()) + "\""};
  }
  url.host_header = std::string(u.encoded_host());
  if (!u.port().empty()) url.host_header += ":" + url.port;
  url.target = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) url.target += "?" + std::string(u.encoded_query());
  return {std::move(url), {}};
}

}  // namespace tagstream
