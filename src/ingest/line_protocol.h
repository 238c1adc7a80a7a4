#pragma once
// InfluxDB line protocol (1.x / 2.x), the ingest path for Telegraf, Node-RED
// and curl:
//
//   measurement[,tag_key=tag_value...] field_key=field_value[,field_key=field_value...] [timestamp]
//
// Syntax (as InfluxDB parses it):
// - Lines are split on `\n` (a `\r` before it is ignored). Blank lines and
//   lines whose first non-blank character is `#` are skipped. Spaces and tabs
//   before the measurement are allowed; so are several spaces between the
//   sections and trailing spaces after the last one.
// - Escapes: in the measurement `\,` `\ ` and `\\`; in tag keys, tag values
//   and field keys `\,` `\=` `\ ` and `\\`. A backslash before any other
//   character is literal. An unescaped `=` in a tag value is an error.
// - Field values: float (`1`, `-1.5`, `1e3`, `.5`), integer (`12i`, int64
//   range), unsigned (`12u`, uint64 range), boolean (`t T true True TRUE`,
//   `f F false False FALSE`, stored as 1 / 0) or a double-quoted string with
//   `\"` and `\\` escapes that may hold spaces, commas, `=` and newlines (the
//   line then continues past the newline). NaN and Inf are rejected.
//   STRING FIELDS ARE IGNORED (counted in `ignored_fields`), not an error:
//   Telegraf mixes them with numeric fields. A line with only string fields
//   yields no point and no error. Duplicate field keys: the last one wins.
// - Timestamp: optional integer in `precision` (negative allowed), scaled to
//   nanoseconds with overflow checking; missing means `now`.
// - A malformed line is rejected as a whole with one LineError; every good
//   line is still returned (InfluxDB's partial write).
//
// Tag name mapping (how a line protocol point becomes tagstream tags):
//   One tag per numeric or boolean field. Its name is the measurement, then
//   the values of the tag set in order of tag key (sorted byte-wise, as
//   InfluxDB canonicalises keys), then the field key, joined with `.`.
//   The reserved tag keys `unit`, `description` and `quality` are not part of
//   the name: they set the tag's unit, its description and the sample quality
//   (`good`, `uncertain` or `bad`, ASCII case-insensitive; anything else
//   rejects the line). A unit longer than kMaxUnitLength bytes, a description
//   longer than kMaxDescriptionLength, or either not valid UTF-8 rejects the
//   line; so does invalid UTF-8 in the measurement, a tag key or value, or a
//   field key. In each part, every character outside
//   [A-Za-z0-9_.:-] becomes `_` (a multi-byte UTF-8 character gives a single
//   `_`); dots are kept, since they are tagstream's hierarchy separator, and
//   empty dotted segments are dropped (no leading, trailing or doubled dots).
//   A name that ends up empty or longer than 200 characters rejects the line.
//   Examples:
//     boiler1,unit=degC temperature=81.5       -> boiler1.temperature (unit degC)
//     cpu,host=web1,cpu=cpu0 usage_idle=93.1   -> cpu.cpu0.web1.usage_idle
//     plant,area=north,quality=bad flow=3i     -> plant.north.flow (integer, bad)
//     tank\ 1 level%=42                        -> tank_1.level_
//
// Errors: `LineError::line` is the 1-based physical line on which the
// rejected line starts; `message` is complete on its own, e.g.
//   line 3: invalid field value "12x" for field "temperature" (column 31)
// where the column is the 1-based byte offset from the start of that line.
// Quoted excerpts are at most 64 bytes, with control characters, quotes,
// backslashes and invalid UTF-8 escaped, so a message is safe in JSON and logs.
// A quoted string still open at the end of the body makes its line end at the
// first newline after the opening quote, so one stray quote does not swallow
// the rest of the body.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sample.h"
#include "core/tag.h"
#include "core/time.h"

namespace tagstream {

enum class Precision { ns, us, ms, s, m, h };

/// Accepts the v1 names (n, u, ms, s, m, h) and the v2 names (ns, us, ms, s);
/// empty = ns. Case-sensitive, like InfluxDB.
[[nodiscard]] std::optional<Precision> parse_precision(std::string_view s);

/// Nanoseconds per unit of `p` (1 for ns, 3'600'000'000'000 for h).
TimeNs precision_factor(Precision p);

/// A line's unit and description, held once and shared by the points of
/// all its fields (a 1 KB description on a line of 10,000 fields is 1 KB,
/// not 10 MB).
struct LineMetadata {
  std::string unit;         // from the reserved tag key `unit`
  std::string description;  // from the reserved tag key `description`
};

struct LinePoint {
  std::string tag;                               // tagstream tag name, see the mapping above
  Sample sample;                                 // ts (ns), value, quality
  DataType type = DataType::number;              // number (float), integer (i/u), boolean
  std::shared_ptr<const LineMetadata> metadata;  // null when the line names neither

  std::string_view unit() const { return metadata ? std::string_view(metadata->unit) : std::string_view(); }
  std::string_view description() const {
    return metadata ? std::string_view(metadata->description) : std::string_view();
  }
};

struct LineError {
  std::size_t line = 0;  // 1-based
  std::string message;   // "line 3: ... (column 18)"
};

struct [[nodiscard]] LineParseResult {
  std::vector<LinePoint> points;
  std::vector<LineError> errors;   // one per rejected line; good lines are still returned
  std::size_t lines = 0;           // non-empty, non-comment lines seen
  std::size_t ignored_fields = 0;  // string fields skipped on accepted lines
};

/// Parses a whole request body. `now` is used for lines without a timestamp.
/// Never throws (except std::bad_alloc); never reads past `body`. Points come
/// in body order, fields in line order (a duplicate field key keeps the
/// position of its first occurrence and the value of its last).
/// A line whose timestamp sample_time_error refuses (more than `max_ahead`
/// after `now`, or outside the supported range) is a line error.
[[nodiscard]] LineParseResult parse_line_protocol(std::string_view body, Precision precision, TimeNs now,
                                                  std::chrono::nanoseconds max_ahead = kDefaultMaxClockSkew);

}  // namespace tagstream
