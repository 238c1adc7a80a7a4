#pragma once
// The plain MQTT payload formats: a bare number or boolean, and a JSON
// object with configurable field names. Pure, no I/O.
#include <optional>
#include <string>
#include <string_view>

#include "base/parsed.h"
#include "core/quality.h"
#include "core/time.h"

namespace tagstream::mqtt {

/// What a numeric JSON timestamp counts. A string timestamp is always read
/// as ISO 8601 / RFC 3339 ("2026-11-25T10:00:00.5Z").
enum class EpochUnit { seconds, milliseconds, microseconds, nanoseconds };
[[nodiscard]] std::optional<EpochUnit> parse_epoch_unit(std::string_view text);  // "s", "ms", "us", "ns"

struct JsonFields {
  std::string value = "value";
  std::string ts = "ts";
  std::string quality = "quality";
  EpochUnit ts_unit = EpochUnit::milliseconds;
};

struct DecodedValue {
  double value = 0;
  std::optional<TimeNs> ts;  // none: the time it arrived
  Quality quality = Quality::good;
};

/// A bare number ("21.5", "-3", "1e3") or `true` / `false` (1 / 0), with
/// surrounding whitespace allowed. Not finite: refused.
Parsed<DecodedValue> decode_number(std::string_view payload);

/// `{"value": 21.5, "ts": 1764000000000, "quality": "good"}` with the
/// fields named by `fields`: the value a number or boolean (required), the
/// time a number in `fields.ts_unit` or an ISO 8601 string (optional), the
/// quality "good", "uncertain" or "bad" (optional, default good). Other
/// fields are ignored. `now` resolves relative times and bounds the future.
Parsed<DecodedValue> decode_json(std::string_view payload, const JsonFields& fields, TimeNs now);

/// The payload of a command: the value as text ("1" / "0" for booleans),
/// or a JSON object with the value and the time (in the configured unit).
std::string encode_number(double value, bool boolean);
std::string encode_json(double value, bool boolean, TimeNs ts, const JsonFields& fields);

}  // namespace tagstream::mqtt
