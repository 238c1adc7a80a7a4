// parse_json_samples on any body. A fatal body yields nothing; otherwise every
// item is either a sample the store can take (valid tag name, finite value,
// a time sample_time_error accepts) or an error naming its index, and every
// message is valid UTF-8 (it is echoed in a JSON answer).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "ingest/json_samples.h"

namespace {

using namespace tagstream;

// 2026-12-04T00:00:00Z: a fixed clock keeps every run reproducible.
constexpr TimeNs kNow = 1'796'342'400 * kNanosPerSecond;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const JsonSamplesResult r = parse_json_samples(body, kNow);
  if (!r.fatal.empty()) {
    FUZZ_CHECK(r.samples.empty() && r.errors.empty());
    FUZZ_CHECK(fuzz::is_utf8(r.fatal));
    return 0;
  }
  FUZZ_CHECK(r.samples.size() + r.errors.size() <= kMaxJsonSamples);
  for (const JsonSampleError& e : r.errors) {
    FUZZ_CHECK(e.message.starts_with("item " + std::to_string(e.index) + ": "));
    FUZZ_CHECK(fuzz::is_utf8(e.message));
  }
  for (const JsonSample& s : r.samples) {
    FUZZ_CHECK(is_valid_tag_name(s.tag));
    FUZZ_CHECK(std::isfinite(s.sample.value));
    FUZZ_CHECK(sample_time_error(s.sample.ts, kNow, kDefaultMaxClockSkew).empty());
    if (s.type) {
      FUZZ_CHECK(*s.type == DataType::boolean);
      FUZZ_CHECK(s.sample.value == 0 || s.sample.value == 1);
    }
    FUZZ_CHECK(fuzz::is_utf8(s.unit) && fuzz::is_utf8(s.description));
  }
  return 0;
}
