#pragma once
// A log-bucketed latency histogram in the manner of HdrHistogram: values
// (microseconds here) are counted in buckets whose width grows with the value,
// so every recorded value is known to within 1/64 (1.6%) of itself, from 1 us
// to hours, in a few kilobytes, with O(1) recording. Percentiles come out as
// the upper edge of the bucket holding the rank (never optimistic).
//
// Layout: values below 128 have a bucket each. Above, a value v with highest
// set bit b (b >= 7) lies in "magnitude" m = b - 6, and its bucket is the top
// 7 bits of v: index = m * 64 + (v >> m), where v >> m is in [64, 128).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace tagstream_bench {

class LatencyHistogram {
 public:
  static constexpr int kMagnitudes = 40;  // up to 2^47 us: far beyond any run

  LatencyHistogram() : counts_(64 * (kMagnitudes + 2), 0) {}

  void record(std::int64_t value) {
    if (value < 0) {
      ++negative_;  // clock step or a publish stamped after delivery: counted, not binned
      value = 0;
    }
    const auto v = static_cast<std::uint64_t>(value);
    const std::size_t i = std::min(index_of(v), counts_.size() - 1);
    ++counts_[i];
    ++total_;
    sum_ += static_cast<double>(v);
    max_ = std::max(max_, v);
    min_ = std::min(min_, v);
  }

  void merge(const LatencyHistogram& o) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    negative_ += o.negative_;
    sum_ += o.sum_;
    max_ = std::max(max_, o.max_);
    min_ = std::min(min_, o.min_);
  }

  std::uint64_t count() const { return total_; }
  std::uint64_t negative() const { return negative_; }
  double mean() const { return total_ ? sum_ / static_cast<double>(total_) : 0; }
  std::uint64_t max() const { return total_ ? max_ : 0; }
  std::uint64_t min() const { return total_ ? min_ : 0; }

  /// The value at percentile p (0..100): the upper edge of the bucket holding
  /// the nearest-rank sample, clamped to the largest value seen.
  std::uint64_t percentile(double p) const {
    if (total_ == 0) return 0;
    const double rank_d = std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(total_));
    const std::uint64_t rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(rank_d));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(upper_edge(i), max_);
    }
    return max_;
  }

  /// Writes "percentile value" lines at the percentiles an HDR plot uses
  /// (halving the remaining tail each time), for gnuplot.
  void write_percentile_series(std::FILE* out) const {
    std::fprintf(out, "# percentile value_us (count %llu)\n", static_cast<unsigned long long>(total_));
    if (total_ == 0) return;
    for (int k = 0;; ++k) {
      const double p = 100.0 * (1.0 - std::pow(0.5, k / 4.0));
      if (p > 99.999 || 1.0 / (1.0 - p / 100.0) > static_cast<double>(total_)) break;
      std::fprintf(out, "%.5f %llu\n", p, static_cast<unsigned long long>(percentile(p)));
    }
    std::fprintf(out, "100 %llu\n", static_cast<unsigned long long>(max_));
  }

 private:
  static std::size_t index_of(std::uint64_t v) {
    if (v < 128) return static_cast<std::size_t>(v);
    const int b = 63 - std::countl_zero(v);  // highest set bit, >= 7
    const int m = b - 6;
    return static_cast<std::size_t>(m) * 64 + static_cast<std::size_t>(v >> m);
  }
  static std::uint64_t upper_edge(std::size_t i) {
    if (i < 128) return i;
    const std::size_t m = i / 64 - 1;
    const std::uint64_t sub = i % 64 + 64;
    return ((sub + 1) << m) - 1;
  }

  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0, negative_ = 0;
  double sum_ = 0;
  std::uint64_t max_ = 0, min_ = UINT64_MAX;
};

}  // namespace tagstream_bench
