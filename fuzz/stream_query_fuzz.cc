// parse_target, parse_stream_query and parse_unsigned on any request target.
// Beyond memory safety: a refused target gets one of the documented codes and
// a message without control characters (it ends up in logs and error
// events); an accepted one has a path starting with '/' and no NUL, and
// survives a round trip (re-encoding the decoded path and parameters gives a
// target that parses to the same thing); a stream query holds at most
// kMaxStreamTags distinct, valid names or patterns.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "core/tag.h"
#include "fuzz_check.h"
#include "http/stream_query.h"

namespace {

using namespace tagstream;

std::string percent_encode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                            u == '-' || u == '.' || u == '_' || u == '~';
    if (unreserved || (keep_slash && u == '/')) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

void check_error(const QueryError& e, const std::set<std::string_view>& codes) {
  FUZZ_CHECK(codes.count(e.code) == 1);
  FUZZ_CHECK(!e.message.empty());
  FUZZ_CHECK(fuzz::has_no_controls(e.message));
}

void check_round_trip(const ParsedTarget& t) {
  std::string target = percent_encode(t.path, true);
  for (std::size_t i = 0; i < t.params.size(); ++i) {
    target += i == 0 ? '?' : '&';
    target += percent_encode(t.params[i].first, false);
    target += '=';
    target += percent_encode(t.params[i].second, false);
  }
  if (target.size() > kMaxTargetBytes) return;
  const ParseTargetResult again = parse_target(target);
  FUZZ_CHECK(again);
  FUZZ_CHECK(again->path == t.path);
  FUZZ_CHECK(again->params == t.params);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (const auto n = parse_unsigned(text)) {
    FUZZ_CHECK(!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos);
    FUZZ_CHECK(std::to_string(*n) == text.substr(std::min(text.find_first_not_of('0'), text.size() - 1)));
  }

  const ParseTargetResult target = parse_target(text);
  if (!target) {
    check_error(target.error, {"bad_query"});
    return 0;
  }
  FUZZ_CHECK(text.size() <= kMaxTargetBytes);
  FUZZ_CHECK(target->path.starts_with('/'));
  FUZZ_CHECK(target->path.find('\0') == std::string::npos);
  check_round_trip(*target);

  const StreamQueryResult query = parse_stream_query(*target);
  if (!query) {
    check_error(query.error, {"missing_tags", "bad_tag", "too_many_tags", "unknown_interval",
                              "bad_last_event_id", "bad_rate"});
    return 0;
  }
  FUZZ_CHECK(!query->tags.empty() && query->tags.size() <= kMaxStreamTags);
  std::set<std::string_view> distinct;
  for (const std::string& tag : query->tags) {
    FUZZ_CHECK(is_valid_tag_name(tag) || is_tag_pattern(tag));
    FUZZ_CHECK(distinct.insert(tag).second);
  }
  const auto id = target->get("lastEventId");
  FUZZ_CHECK(query->last_event_id.has_value() == (id && !id->empty()));
  if (query->last_event_id) FUZZ_CHECK(parse_unsigned(*id) == query->last_event_id);
  return 0;
}
