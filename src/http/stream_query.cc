#include "http/stream_query.h"

#include <boost/url/encoding_opts.hpp>
#include <boost/url/params_encoded_view.hpp>
#include <boost/url/parse_query.hpp>
#include <charconv>
#include <unordered_set>

#include "core/tag.h"
#include "http/header_text.h"

namespace tagstream {

namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Characters RFC 3986 allows raw in a query, apart from '%' which is checked
// separately so that a bad escape gets its own message.
bool is_query_char(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':  // unreserved
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':  // sub-delims
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '@':
    case '/':
    case '?': return true;
    default: return false;
  }
}

// Non-printable bytes would garble a log line or an error event.
std::string printable(std::string_view s, std::size_t max = 80) {
  std::string out;
  for (char c : s.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (s.size() > max) out += "...";
  return out;
}

QueryError bad_query(std::string message) {
  return {"bad_query", std::move(message)};
}

// Every '%' must start a two-digit hex escape; `where` names the part of the
// target for the message.
std::optional<QueryError> check_percent(std::string_view s, std::string_view where) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    if (i + 2 < s.size() && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
      i += 2;
      continue;
    }
    return bad_query("bad percent-encoding \"" + printable(s.substr(i, 3)) + "\" at offset " +
                     std::to_string(i) + " of the " + std::string(where) +
                     ": '%' must be followed by two hex digits");
  }
  return std::nullopt;
}

// Assumes check_percent passed.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Boost.URL's grammar is strict RFC 3986, but browsers and `curl -g` send
// `[`, `]`, `|`, `^`, `{`, `}`, spaces and UTF-8 raw. Escaping exactly those
// bytes changes nothing after decoding and lets the strict parser do the rest.
std::string escape_raw_query(std::string_view q) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(q.size());
  for (char c : q) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '%' || is_query_char(u)) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

bool is_tags_key(std::string_view key) {
  if (key == "tags" || key == "tags[]") return true;
  // `tags[0]`, `tags[1]`, ...: the qs package's default array format.
  if (key.size() < 7 || !key.starts_with("tags[") || key.back() != ']') return false;
  for (char c : key.substr(5, key.size() - 6))
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

std::optional<std::string> ParsedTarget::get(std::string_view key) const {
  for (auto it = params.rbegin(); it != params.rend(); ++it)
    if (it->first == key) return it->second;
  return std::nullopt;
}

ParseTargetResult parse_target(std::string_view target) {
  ParseTargetResult r;
  if (target.size() > kMaxTargetBytes) {
    r.error = bad_query("request target is " + std::to_string(target.size()) + " bytes, more than the " +
                        std::to_string(kMaxTargetBytes) + " allowed");
    return r;
  }
  // Absolute form is what a client talking to a proxy sends; the authority
  // is the Host header's business, not ours.
  bool absolute = false;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() < scheme.size()) continue;
    bool match = true;
    for (std::size_t i = 0; i < scheme.size(); ++i) {
      const char c = target[i];
      if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c) != scheme[i]) match = false;
    }
    if (!match) continue;
    const auto rest = target.substr(scheme.size());
    const auto end_of_authority = rest.find_first_of("/?#");
    target = end_of_authority == std::string_view::npos ? std::string_view{} : rest.substr(end_of_authority);
    absolute = true;
    break;
  }
  if (const auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);

  const auto qmark = target.find('?');
  std::string_view raw_path = target.substr(0, qmark);
  const std::string_view raw_query =
      qmark == std::string_view::npos ? std::string_view{} : target.substr(qmark + 1);
  // "http://host?q" has an empty path, which means "/".
  if (absolute && raw_path.empty()) raw_path = "/";
  if (raw_path.empty() || raw_path.front() != '/') {
    r.error = bad_query("request target \"" + printable(target) + "\" does not start with '/'");
    return r;
  }

  if (auto e = check_percent(raw_path, "path")) {
    r.error = std::move(*e);
    return r;
  }
  ParsedTarget out;
  out.path = percent_decode(raw_path);
  // A NUL smuggled in as %00 has no business in a path and can truncate it in
  // C APIs (file serving) further down.
  if (out.path.find('\0') != std::string::npos) {
    r.error = bad_query("the path contains an encoded NUL byte (%00)");
    return r;
  }

  if (auto e = check_percent(raw_query, "query")) {
    r.error = std::move(*e);
    return r;
  }
  const std::string escaped = escape_raw_query(raw_query);
  const auto parsed = boost::urls::parse_query(escaped);
  if (!parsed) {
    // Not expected after escaping; kept so a Boost.URL change cannot turn
    // into an exception.
    r.error = bad_query("malformed query: " + parsed.error().message());
    return r;
  }
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;
  for (auto p : *parsed) {
    // `a&&b` and a trailing `&` yield empty keys that carry nothing.
    if (p.key.empty() && !p.has_value) continue;
    out.params.emplace_back(p.key.decode(opts), p.has_value ? p.value.decode(opts) : std::string());
  }
  r.value = std::move(out);
  return r;
}

StreamQueryResult parse_stream_query(const ParsedTarget& target) {
  StreamQueryResult r;
  StreamQuery q;
  std::unordered_set<std::string_view> seen;
  std::size_t patterns = 0;
  for (const auto& [key, value] : target.params) {
    if (!is_tags_key(key)) continue;
    std::string_view rest = value;
    while (true) {
      const auto comma = rest.find(',');
      const std::string_view entry = trim_ows(rest.substr(0, comma));
      if (!entry.empty()) {
        if (!is_valid_tag_name(entry) && !is_tag_pattern(entry)) {
          r.error = {"bad_tag", "\"" + printable(entry) + "\" is not a valid tag name or pattern (" +
                                    tag_name_rule() + "; * and ? in patterns)"};
          return r;
        }
        // Views into target.params, which outlives this function's use of them.
        if (seen.insert(entry).second) {
          if (seen.size() > kMaxStreamTags) {
            r.error = {"too_many_tags",
                       "more than " + std::to_string(kMaxStreamTags) + " tags or patterns in one stream"};
            return r;
          }
          if (is_tag_pattern(entry) && ++patterns > kMaxStreamPatterns) {
            r.error = {"too_many_patterns", "more than " + std::to_string(kMaxStreamPatterns) +
                                                " patterns in one request: name the tags, or use fewer, "
                                                "wider patterns (area1.* rather than one per tag)"};
            return r;
          }
          q.tags.emplace_back(entry);
        }
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (q.tags.empty()) {
    r.error = {"missing_tags", "no tags given: use tags[]=name (repeatable) or tags=a,b"};
    return r;
  }

  if (auto iv = target.get("interval"); iv && !iv->empty()) {
    auto parsed = parse_interval(*iv);
    if (!parsed) {
      r.error = {"unknown_interval",
                 "unknown interval \"" + printable(*iv) + "\": expected raw, second, minute, hour or day"};
      return r;
    }
    q.interval = *parsed;
  }

  if (auto bad = parse_last_event_id(target, q.last_event_id)) {
    r.error = std::move(*bad);
    return r;
  }

  if (auto rate = target.get("rate"); rate && !rate->empty()) {
    const auto ms = parse_unsigned(*rate);
    if (!ms || *ms > kMaxDisplayRateMs) {
      r.error = {"bad_rate", "rate must be the milliseconds between events, from 0 to " +
                                 std::to_string(kMaxDisplayRateMs) + ", got \"" + printable(*rate) + "\""};
      return r;
    }
    q.rate_ms = *ms;
  }

  r.value = std::move(q);
  return r;
}

std::optional<QueryError> parse_last_event_id(const ParsedTarget& target, std::optional<std::uint64_t>& out) {
  out.reset();
  auto id = target.get("lastEventId");
  if (!id || id->empty()) return std::nullopt;
  out = parse_unsigned(*id);
  if (!out)
    return QueryError{"bad_last_event_id",
                      "lastEventId \"" + printable(*id) + "\" is not an unsigned 64-bit integer"};
  return std::nullopt;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  std::uint64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  return v;
}

}  // namespace tagstream
