#pragma once
// Parsing the timestamps people type in URLs (`?from=now-24h`) and JSON
// bodies (`"ts":"2026-11-25T10:00:00Z"`). Pure, no I/O, never throws.
#include <optional>
#include <string_view>

#include "core/time.h"

namespace tagstream {

/// Parses a user-supplied time into nanoseconds since the epoch (UTC).
/// Leading and trailing ASCII whitespace is ignored. Accepted forms:
///
/// Calendar (RFC 3339 / ISO 8601, always a 4-digit year, UTC unless offset):
///   "2026-11-25T10:00:00Z"        also lowercase `t` / `z`, or a space for `T`
///   "2026-11-25T10:00:00.123456789Z"   1..9 fraction digits, `.` or `,`
///   "2026-11-25T11:00:00+01:00"   offsets `±hh:mm`, `±hhmm` or `±hh`
///   "2026-11-25T11:00:00 01:00"   a space where the `+` was: an unencoded `+`
///                                 in a query string arrives decoded as a space
///   "2026-11-25T10:00"            seconds optional (what an HTML
///                                 datetime-local input sends)
///   "2026-11-25T10:00:00"         no offset = UTC
///   "2026-11-25"                  a date alone = midnight UTC
/// Fields are range-checked: month 1-12, the day must exist in that month
/// (leap years included), hour 0-23, minute and second 0-59 (a leap second
/// `:60` is rejected), offset hours 0-23 and minutes 0-59.
///
/// Epoch integers, optionally negative; the unit follows the digit count
/// (leading zeros count), so each unit covers the years people mean:
///   1..11 digits  seconds       (10 digits = 2001..2286)
///   12..14 digits milliseconds  (13 digits = 2001..2286, JavaScript Date.now())
///   15..17 digits microseconds  (16 digits = 2001..2286)
///   18..19 digits nanoseconds   (19 digits = 2001..2262)
///   20+ digits    rejected
///
/// Relative to `now`: "now", "now-15m", "now+1h" — a whole number followed by
/// one unit: s (seconds), m (minutes), h (hours), d (days), w (weeks).
/// "now" is case-insensitive; units are lowercase (`M` could mean months).
///
/// Returns nullopt on anything else, and when the result does not fit TimeNs
/// (1677-09-21 .. 2262-04-11).
[[nodiscard]] std::optional<TimeNs> parse_time(std::string_view text, TimeNs now);

}  // namespace tagstream
