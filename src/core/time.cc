#include "core/time.h"

#include <cstdio>

namespace tagstream {

std::string format_iso8601(TimeNs t) {
  using namespace std::chrono;
  const std::int64_t ms = to_millis(t);
  const sys_days day{days{floor_div(ms, 86'400'000)}};
  const year_month_day ymd{day};
  const std::int64_t ms_of_day = ms - floor_div(ms, 86'400'000) * 86'400'000;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long long>(ms_of_day / 3'600'000),
                static_cast<long long>(ms_of_day / 60'000 % 60),
                static_cast<long long>(ms_of_day / 1000 % 60), static_cast<long long>(ms_of_day % 1000));
  return buf;
}

std::string sample_time_error(TimeNs ts, TimeNs now, std::chrono::nanoseconds max_ahead) {
  if (ts < kMinSampleTime || ts > kMaxSampleTime)
    return "timestamp " + format_iso8601(ts) + " is outside the supported range (" +
           format_iso8601(kMinSampleTime) + " to " + format_iso8601(kMaxSampleTime) + ")";
  if (ts <= now) return {};
  // ts > now, so their difference fits unsigned whatever the clock says.
  const std::uint64_t ahead = static_cast<std::uint64_t>(ts) - static_cast<std::uint64_t>(now);
  if (ahead > static_cast<std::uint64_t>(max_ahead.count()))
    return "timestamp " + format_iso8601(ts) + " is " + std::to_string(ahead / kNanosPerSecond) +
           " s ahead of the server clock (at most " + std::to_string(max_ahead.count() / kNanosPerSecond) +
           " s allowed, --max-clock-skew)";
  return {};
}

}  // namespace tagstream
