#pragma once
// Timestamps: nanoseconds since the Unix epoch, UTC. Line protocol's native
// precision; int64 covers 1677..2262.
#include <chrono>
#include <cstdint>
#include <string>

namespace tagstream {

using TimeNs = std::int64_t;

inline constexpr TimeNs kNanosPerMilli = 1'000'000;
inline constexpr TimeNs kNanosPerSecond = 1'000'000'000;

/// The sample times tagstream accepts from any source, about 1823..2116:
/// inside them a bucket's start and end (a day at most) and every rollup's
/// arithmetic stay far inside int64.
inline constexpr TimeNs kMinSampleTime = -(TimeNs{1} << 62);
inline constexpr TimeNs kMaxSampleTime = TimeNs{1} << 62;
/// How far ahead of the server clock a sample may be, by default: enough for
/// a device clock that runs a little fast, far too little for a sample in a
/// later year to become a live value no later sample can replace.
inline constexpr std::chrono::seconds kDefaultMaxClockSkew{300};

/// Why `ts` cannot be a sample's time, or "" when it can: outside
/// kMin/kMaxSampleTime, or more than `max_ahead` after `now`.
[[nodiscard]] std::string sample_time_error(TimeNs ts, TimeNs now, std::chrono::nanoseconds max_ahead);

/// Wall-clock now, in nanoseconds since the epoch.
inline TimeNs now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Floor division that rounds towards negative infinity, so buckets before
/// 1970 align the same way as after it.
inline constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

inline constexpr std::int64_t to_millis(TimeNs t) {
  return floor_div(t, kNanosPerMilli);
}

/// A duration given in (possibly fractional) seconds, as configuration has it.
inline std::chrono::nanoseconds seconds_to_duration(double s) {
  return std::chrono::nanoseconds(static_cast<std::int64_t>(s * 1e9));
}

/// "2026-11-25T10:00:00.123Z" (millisecond precision).
std::string format_iso8601(TimeNs t);

}  // namespace tagstream
