// parse_line_protocol on any body, at the finest and the coarsest precision
// (the coarsest is where timestamp scaling overflows). Besides memory safety,
// every point must be something the store can take: a valid tag name, a
// finite value, a time sample_time_error accepts; and every error must point
// at a real line with a message safe for JSON and logs.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "ingest/line_protocol.h"

namespace {

using namespace tagstream;

// 2026-12-04T00:00:00Z: a fixed clock keeps every run reproducible.
constexpr TimeNs kNow = 1'796'342'400 * kNanosPerSecond;

void check(std::string_view body, Precision precision) {
  const LineParseResult r = parse_line_protocol(body, precision, kNow);
  const auto physical_lines = static_cast<std::size_t>(std::count(body.begin(), body.end(), '\n')) + 1;
  FUZZ_CHECK(r.lines <= physical_lines);
  FUZZ_CHECK(r.errors.size() <= r.lines);
  std::size_t previous_line = 0;
  for (const LineError& e : r.errors) {
    FUZZ_CHECK(e.line >= 1 && e.line <= physical_lines);
    FUZZ_CHECK(e.line > previous_line);
    previous_line = e.line;
    FUZZ_CHECK(e.message.starts_with("line " + std::to_string(e.line) + ": "));
    FUZZ_CHECK(fuzz::is_utf8(e.message));
    FUZZ_CHECK(fuzz::has_no_controls(e.message));
  }
  for (const LinePoint& p : r.points) {
    FUZZ_CHECK(is_valid_tag_name(p.tag));
    FUZZ_CHECK(std::isfinite(p.sample.value));
    FUZZ_CHECK(sample_time_error(p.sample.ts, kNow, kDefaultMaxClockSkew).empty());
    FUZZ_CHECK(p.sample.quality == Quality::good || p.sample.quality == Quality::uncertain ||
               p.sample.quality == Quality::bad);
    if (p.type == DataType::boolean) FUZZ_CHECK(p.sample.value == 0 || p.sample.value == 1);
    if (p.type == DataType::integer) FUZZ_CHECK(p.sample.value == std::trunc(p.sample.value));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  check(body, Precision::ns);
  check(body, Precision::h);
  return 0;
}
