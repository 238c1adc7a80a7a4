#include "line_protocol_body.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "bench_args.h"

namespace tagstream_bench {

namespace {

int digits(std::uint64_t v) {
  int n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

void put_fixed(char* p, int width, std::uint64_t v) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

BodyWriter::BodyWriter(const BodySpec& spec, std::int64_t max_rounds) : spec_(spec) {
  tag_width_ = digits(static_cast<std::uint64_t>(std::max<std::int64_t>(spec.tags - 1, 0)));
  const std::int64_t first = spec.start;
  const std::int64_t last = spec.start + max_rounds * spec.step;
  if (first <= 0 || digits(static_cast<std::uint64_t>(first)) != digits(static_cast<std::uint64_t>(last)))
    die("timestamps from --start to the last one must be positive and have the same number of digits");
  ts_width_ = digits(static_cast<std::uint64_t>(first));
  // "<m>,<k>=d<tag> <f>=DDD.DDD <ts>\n"
  prefix_ = spec.measurement + "," + spec.tag_key + "=d";
  tag_off_ = prefix_.size();
  value_off_ = tag_off_ + static_cast<std::size_t>(tag_width_) + 1 + spec.field.size() + 1;
  ts_off_ = value_off_ + 7 + 1;
  line_len_ = ts_off_ + static_cast<std::size_t>(ts_width_) + 1;
}

void BodyWriter::fill(std::string& body, std::uint64_t first_line, std::size_t n) {
  if (body.size() != n * line_len_) {
    body.resize(n * line_len_);
    for (std::size_t j = 0; j < n; ++j) {
      char* p = body.data() + j * line_len_;
      std::memcpy(p, prefix_.data(), prefix_.size());
      p[value_off_ - spec_.field.size() - 2] = ' ';
      std::memcpy(p + value_off_ - spec_.field.size() - 1, spec_.field.data(), spec_.field.size());
      p[value_off_ - 1] = '=';
      p[value_off_ + 3] = '.';
      p[ts_off_ - 1] = ' ';
      p[line_len_ - 1] = '\n';
    }
  }
  const auto tags = static_cast<std::uint64_t>(spec_.tags);
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint64_t g = first_line + j;
    const std::uint64_t tag = g % tags;
    const std::uint64_t round = g / tags;
    const std::int64_t ts = spec_.start + static_cast<std::int64_t>(round) * spec_.step;
    char* p = body.data() + j * line_len_;
    put_fixed(p + tag_off_, tag_width_, tag);
    const std::uint64_t milli = value_milli(tag, round, ts);
    put_fixed(p + value_off_, 3, milli / 1000);
    put_fixed(p + value_off_ + 4, 3, milli % 1000);
    put_fixed(p + ts_off_, ts_width_, static_cast<std::uint64_t>(ts));
  }
}

std::uint64_t BodyWriter::value_milli(std::uint64_t tag, std::uint64_t round, std::int64_t ts) const {
  // A cheap deterministic hash for noise.
  std::uint64_t h = (tag + 1) * 0x9E3779B97F4A7C15ULL ^ (round + 1) * 0xC2B2AE3D27D4EB4FULL;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 32;
  if (spec_.signal == Signal::ramp) return 100000 + h % 900000;
  // A daily wave per tag plus noise: what a temperature looks like.
  const double t = static_cast<double>(ts) / spec_.units_per_second;
  const double day = 2 * M_PI * t / 86400.0;
  double v = 500.0 + 250.0 * std::sin(day + static_cast<double>(tag)) +
             50.0 * (static_cast<double>(h % 20001) / 10000.0 - 1.0);
  v = std::clamp(v, 100.0, 999.999);
  return static_cast<std::uint64_t>(std::llround(v * 1000.0));
}

}  // namespace tagstream_bench
