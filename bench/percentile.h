#pragma once
// Percentiles for the ingest and history generators, which keep one sample
// per request (the streaming ones count millions of events in
// hdr_histogram.h instead).
#include <algorithm>
#include <cmath>
#include <vector>

namespace tagstream_bench {

/// Nearest rank; 0 for no samples. p = 0 gives the minimum, 100 the maximum.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(v.size()));
  const std::size_t i = static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(v.size()))) - 1;
  return v[i];
}

}  // namespace tagstream_bench
