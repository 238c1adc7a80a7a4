#pragma once
// The body of `POST /api/samples`: JSON samples, with partial success.
//
// Three body shapes are accepted:
//   [ {item}, {item}, ... ]              an array of items
//   {item}                               a single item
//   {"samples": [ {item}, ... ]}         a wrapper object
// An item:
//   {"tag":"boiler1.temperature", "ts":"2026-11-25T10:00:00Z",
//    "value":81.5, "quality":"good", "unit":"degC", "description":"..."}
//   tag          required; a valid tag name (is_valid_tag_name)
//   ts           optional, default `now`. A string is parsed by parse_time
//                (RFC 3339, epoch digits by digit count, "now-15m", ...).
//                A JSON number is ALWAYS epoch milliseconds (JavaScript's
//                Date.now()), whatever its size; a fraction gives sub-ms
//                precision (rounded to the nanosecond).
//   value        required; a finite number, or true / false (stored as 1 / 0,
//                and `type` is then DataType::boolean). A JSON integer is
//                stored as a double and leaves `type` unset: the tag's
//                registered type decides. Strings, null and numbers too
//                large for a double (1e999) are rejected.
//   quality      optional, default good: "good", "uncertain" or "bad"
//                (ASCII case-insensitive)
//   unit, description   optional strings (null = absent), at most
//                kMaxUnitLength / kMaxDescriptionLength bytes of UTF-8
//   Other members are ignored, so clients may send more than we read.
// A bad item yields an error with its 0-based index (the good items are
// kept, like InfluxDB's partial writes); a body that is not JSON, not an
// array or object, nested deeper than 32 levels, or holds more than
// kMaxJsonSamples items is `fatal` and yields no samples.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sample.h"
#include "core/tag.h"
#include "core/time.h"

namespace tagstream {

inline constexpr std::size_t kMaxJsonSamples = 100'000;
inline constexpr std::size_t kMaxJsonDepth = 32;

struct JsonSample {
  std::string tag;
  Sample sample;
  std::optional<DataType> type;  // set for boolean values only
  std::string unit;
  std::string description;
};

struct JsonSampleError {
  std::size_t index = 0;  // position in the array, 0-based
  std::string message;    // "item 3: \"value\" must be a number or boolean"
};

struct [[nodiscard]] JsonSamplesResult {
  std::vector<JsonSample> samples;
  std::vector<JsonSampleError> errors;
  std::string fatal;  // non-empty: the whole body is unusable, e.g. not JSON
};

/// An item whose "ts" sample_time_error refuses (more than `max_ahead` after
/// `now`, or outside the supported range) is an item error.
[[nodiscard]] JsonSamplesResult parse_json_samples(std::string_view body, TimeNs now,
                                                   std::chrono::nanoseconds max_ahead = kDefaultMaxClockSkew);

}  // namespace tagstream
