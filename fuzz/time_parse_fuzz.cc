// parse_time and sample_time_error on any text. Beyond memory safety and
// signed overflow (UBSan): only the relative forms depend on `now`, even at
// the ends of TimeNs; surrounding whitespace changes nothing; a parsed time
// prints (format_iso8601, milliseconds) as text that parses back to the same
// millisecond; and sample_time_error accepts exactly the documented window.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "core/time.h"
#include "core/time_parse.h"
#include "fuzz_check.h"

namespace {

using namespace tagstream;

// 2026-12-04T00:00:00Z: a fixed clock keeps every run reproducible.
constexpr TimeNs kNow = 1'796'342'400 * kNanosPerSecond;
constexpr TimeNs kEarliest = std::numeric_limits<TimeNs>::min();
constexpr TimeNs kLatest = std::numeric_limits<TimeNs>::max();

bool is_relative(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\n\r\f\v");
  return first != std::string_view::npos && (text[first] == 'n' || text[first] == 'N');
}

void check_sample_time_error(TimeNs ts, TimeNs now, std::chrono::nanoseconds max_ahead) {
  const std::string error = sample_time_error(ts, now, max_ahead);
  const bool in_range = ts >= kMinSampleTime && ts <= kMaxSampleTime;
  const bool not_too_far_ahead =
      static_cast<__int128>(ts) <= static_cast<__int128>(now) + static_cast<__int128>(max_ahead.count());
  FUZZ_CHECK(error.empty() == (in_range && not_too_far_ahead));
  FUZZ_CHECK(fuzz::is_utf8(error) && fuzz::has_no_controls(error));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::optional<TimeNs> t = parse_time(text, kNow);
  const std::optional<TimeNs> at_earliest = parse_time(text, kEarliest);
  const std::optional<TimeNs> at_latest = parse_time(text, kLatest);
  if (!is_relative(text)) {
    FUZZ_CHECK(t == at_earliest && t == at_latest);
  }
  FUZZ_CHECK(parse_time(" \t" + std::string(text) + "\r\n", kNow) == t);

  if (t) {
    const std::string printed = format_iso8601(*t);
    // The earliest millisecond is partly before TimeNs begins: it cannot parse back.
    const __int128 millisecond = static_cast<__int128>(floor_div(*t, kNanosPerMilli)) * kNanosPerMilli;
    if (millisecond >= kEarliest) {
      FUZZ_CHECK(parse_time(printed, kNow) == static_cast<TimeNs>(millisecond));
    } else {
      FUZZ_CHECK(!parse_time(printed, kNow));
    }
    check_sample_time_error(*t, kNow, kDefaultMaxClockSkew);
    check_sample_time_error(*t, kEarliest, kDefaultMaxClockSkew);
    check_sample_time_error(*t, kLatest, std::chrono::nanoseconds(kLatest));
    // The parsed time as the server clock, against the edges of the window.
    for (const TimeNs ts : {kEarliest, kMinSampleTime - 1, kMinSampleTime, kMaxSampleTime, kLatest}) {
      check_sample_time_error(ts, *t, kDefaultMaxClockSkew);
    }
  }
  return 0;
}
