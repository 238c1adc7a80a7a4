#include "core/interval.h"

namespace tagstream {

std::string_view to_string(Interval i) {
  switch (i) {
    case Interval::raw: return "raw";
    case Interval::second: return "second";
    case Interval::minute: return "minute";
    case Interval::hour: return "hour";
    case Interval::day: return "day";
  }
  return "raw";
}

std::optional<Interval> parse_interval(std::string_view s) {
  if (s == "raw") return Interval::raw;
  if (s == "second") return Interval::second;
  if (s == "minute") return Interval::minute;
  if (s == "hour") return Interval::hour;
  if (s == "day") return Interval::day;
  return std::nullopt;
}

TimeNs interval_width(Interval i) {
  switch (i) {
    case Interval::raw: return 0;
    case Interval::second: return kNanosPerSecond;
    case Interval::minute: return 60 * kNanosPerSecond;
    case Interval::hour: return 3600 * kNanosPerSecond;
    case Interval::day: return 86400 * kNanosPerSecond;
  }
  return 0;
}

TimeNs bucket_start(TimeNs t, Interval i) {
  const TimeNs w = interval_width(i);
  if (w == 0) return t;
  return floor_div(t, w) * w;
}

}  // namespace tagstream
