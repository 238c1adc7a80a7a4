#pragma once
// Rates for /api/stats and /metrics: counters are sampled once a second
// (sample(), from a timer) and rates are the difference between the last
// two samples. Thread safe.
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "http/server_context.h"

namespace tagstream {

class FieldDevices;
/// The connectors' status as a JSON array (`[]` without connectors): for
/// /api/stats and /healthz.
void append_connectors_json(std::string& out, const FieldDevices* devices);
/// The cluster's shared log as a JSON object, or null on a single node.
void append_cluster_json(std::string& out, const SharedLog* log);

class StatsSampler {
 public:
  explicit StatsSampler(ServerContext& server) : server_(server) {}

  /// The most tags /api/stats lists (the busiest) and /metrics?tags= gives a
  /// series each: both stay small however many tags the plant has.
  static constexpr std::size_t kMaxListedTags = 100;
  static constexpr std::size_t kMaxTagSeries = 1000;

  void sample();
  /// /api/stats: counters, rates and the kMaxListedTags busiest tags.
  /// `may_list`, when set, says which tags the busiest-tags list may name
  /// (a token limited to some tags learns nothing of the others).
  std::string json(const std::function<bool(std::string_view)>& may_list = {}) const;
  /// /metrics: no per-tag series unless `tag_pattern` (a tag name or glob,
  /// validated by the caller) asks for them, and then at most kMaxTagSeries.
  std::string prometheus(std::string_view tag_pattern = {}) const;

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
