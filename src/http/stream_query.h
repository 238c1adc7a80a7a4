#pragma once
// Parsing of request targets and the /api/sse/stream query. Pure: no I/O.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/parsed.h"
#include "core/interval.h"

namespace tagstream {

/// Longer request targets are refused ("bad_query"): no legitimate dashboard
/// URL comes close, and it bounds the work a single request can ask for.
inline constexpr std::size_t kMaxTargetBytes = 8 * 1024;
/// Most distinct tag entries (names or patterns) one stream may ask for.
inline constexpr std::size_t kMaxStreamTags = 1000;
/// Of those, at most this many may be patterns: each may read every tag
/// name in the registry, a name only a hash lookup.
inline constexpr std::size_t kMaxStreamPatterns = 100;

struct QueryError {
  std::string code;     // machine readable, e.g. "bad_query", "unknown_interval"
  std::string message;  // for humans
};

/// A request target split into its decoded path and decoded query parameters
/// (in order, repeats kept). Raw `[` and `]` in the query are accepted as well
/// as `%5B`/`%5D`: browsers, curl -g and PHP-style clients send them raw; so
/// are the other characters browsers leave unencoded (`|`, `^`, `{`, `}`, `"`,
/// space, bytes >= 0x80, ...). In the query `+` decodes to a space (as HTML
/// forms and URLSearchParams encode it); a literal plus is `%2B`. In the path
/// `+` is literal. Malformed percent-encoding or a target longer than
/// kMaxTargetBytes is an error ("bad_query"). An absolute-form target
/// (`http://host/path?q`) is reduced to its path and query; a fragment is
/// dropped.
struct ParsedTarget {
  std::string path;
  std::vector<std::pair<std::string, std::string>> params;

  /// Last value of `key`, if any.
  std::optional<std::string> get(std::string_view key) const;
};

using ParseTargetResult = Parsed<ParsedTarget, QueryError>;
[[nodiscard]] ParseTargetResult parse_target(std::string_view target);

/// A decimal unsigned integer that is the whole of `text` (no sign, no
/// spaces, no trailing characters), as query values and headers carry them.
[[nodiscard]] std::optional<std::uint64_t> parse_unsigned(std::string_view text);

/// The subscription a stream request asks for.
struct StreamQuery {
  std::vector<std::string> tags;               // names or glob patterns, deduplicated, in request order
  Interval interval = Interval::raw;           // default raw
  std::optional<std::uint64_t> last_event_id;  // from the lastEventId parameter
  std::optional<std::uint64_t> rate_ms;        // the display rate: ms between events (the `rate` parameter)
};

/// The longest display rate a stream may ask for: a minute between events
/// (heartbeats keep the stream alive meanwhile).
inline constexpr std::uint64_t kMaxDisplayRateMs = 60'000;

using StreamQueryResult = Parsed<StreamQuery, QueryError>;

/// Accepts tags as `tags[]=a&tags[]=b`, `tags=a,b`, `tags=a&tags=b`, or any mix
/// (also `tags[0]=a`, as the `qs` npm package writes arrays); each value may be
/// a comma list, empty entries are skipped and spaces around entries trimmed;
/// each entry must be a valid tag name or glob pattern. At most kMaxStreamTags
/// distinct entries ("too_many_tags"). An empty `interval` or `lastEventId`
/// counts as absent. `interval` must be one of
/// raw/second/minute/hour/day. `lastEventId` must be an unsigned integer.
/// `rate` (optional) is the stream's display rate, milliseconds from 0 to
/// kMaxDisplayRateMs ("bad_rate"); the endpoint raises it to the server's
/// data check interval.
/// No tags ("missing_tags"), an invalid name ("bad_tag"), an unknown interval
/// ("unknown_interval") or a malformed number ("bad_last_event_id") are
/// errors, checked in that order. Unknown parameters are ignored (caches add them).
[[nodiscard]] StreamQueryResult parse_stream_query(const ParsedTarget& target);

/// The lastEventId parameter into `out`: absent or empty leaves it empty;
/// anything but an unsigned 64-bit integer is a "bad_last_event_id" error.
[[nodiscard]] std::optional<QueryError> parse_last_event_id(const ParsedTarget& target,
                                                            std::optional<std::uint64_t>& out);

}  // namespace tagstream
