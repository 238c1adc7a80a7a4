#pragma once
// Aggregation intervals. Buckets are aligned to UTC: a minute bucket starts
// at :00, a day bucket at 00:00:00Z.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/time.h"

namespace tagstream {

enum class Interval : std::uint8_t { raw = 0, second, minute, hour, day };

inline constexpr std::size_t kIntervalCount = 5;
/// The aggregated intervals (all but raw), finest first.
inline constexpr std::array<Interval, 4> kAggregatedIntervals = {Interval::second, Interval::minute,
                                                                 Interval::hour, Interval::day};
/// The rollup tiers: one per aggregated interval.
inline constexpr std::size_t kTierCount = kAggregatedIntervals.size();

std::string_view to_string(Interval i);
[[nodiscard]] std::optional<Interval> parse_interval(std::string_view s);

/// Bucket width in nanoseconds; 0 for raw.
TimeNs interval_width(Interval i);

/// Start of the bucket that holds `t`. For raw, `t` itself.
TimeNs bucket_start(TimeNs t, Interval i);

/// Index into an array of the four aggregated intervals (second = 0).
constexpr std::size_t aggregated_index(Interval i) {
  return static_cast<std::size_t>(i) - 1;
}

}  // namespace tagstream
