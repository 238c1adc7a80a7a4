#pragma once
// Rates for /api/stats and /metrics: counters are sampled once a second
// (sample(), from a timer) and rates are the difference between the last
// two samples. Thread safe.
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "http/server_context.h"

namespace tagstream {

class StatsSampler {
 public:
  explicit StatsSampler(ServerContext& server) : server_(server) {}

  void sample();
  std::string json() const;
  std::string prometheus() const;

 private:
  struct Snapshot {
    std::chrono::steady_clock::time_point at;
    std::uint64_t events = 0, bytes = 0, samples = 0;
    std::vector<std::uint64_t> tag_updates;
  };
  struct Rates {
    double events = 0, bytes = 0, samples = 0;
    std::vector<double> tag_updates;
  };
  Snapshot take() const;
  Rates rates() const;

  ServerContext& server_;
  mutable std::mutex mutex_;
  Snapshot previous_, latest_;
};

}  // namespace tagstream
