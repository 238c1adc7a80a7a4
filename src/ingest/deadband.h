#pragma once
// Exception reporting, the historian's first filter (issue 16): a sample that
// differs from the last one passed by less than its tag's deadband is
// dropped before it reaches the live state or the store, unless the tag has
// been silent for longer than `max_silent`, or its quality changed. It
// applies to every source (HTTP, simulator, MQTT, Modbus), for the tags a
// configured rule matches; tags no rule matches pass untouched, at the cost
// of one lookup in a vector.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/sample.h"
#include "core/tag_registry.h"

namespace tagstream {

struct DeadbandRule {
  std::string pattern;    // tag glob; the first rule that matches a tag is its rule
  double absolute = 0;    // engineering units
  double percent = 0;     // of `span`
  double span = 0;        // the instrument's range (max - min), for `percent`
  TimeNs max_silent = 0;  // 0: no limit; else a sample this long after the last one passed passes anyway

  /// The band a change must exceed: the larger of `absolute` and the percent of the span.
  double band() const { return std::max(absolute, percent / 100.0 * span); }
};

/// What is wrong with a rule, or "".
std::string deadband_rule_error(const DeadbandRule& rule);

class DeadbandFilter {
 public:
  DeadbandFilter(const TagRegistry& registry, std::vector<DeadbandRule> rules);

  bool empty() const { return rules_.empty(); }

  /// Removes the samples inside their tag's deadband from `samples`, keeping
  /// the order of the rest. Thread safe; callers serialise per tag (the
  /// ingest path is one at a time).
  void filter(std::vector<TaggedSample>& samples);

  /// Samples dropped so far, in all and for `tag`.
  std::uint64_t suppressed() const { return suppressed_.load(std::memory_order_relaxed); }
  std::uint64_t suppressed(TagId tag) const;
  /// The tags with suppressed samples, busiest first, at most `limit`.
  std::vector<std::pair<TagId, std::uint64_t>> most_suppressed(std::size_t limit) const;

 private:
  struct TagState {
    int rule = -2;  // -2: not looked up yet; -1: no rule
    bool has_last = false;
    Sample last;  // the last sample passed
    std::uint64_t suppressed = 0;
  };
  TagState& state_locked(TagId tag);

  const TagRegistry& registry_;
  std::vector<DeadbandRule> rules_;
  mutable std::mutex mutex_;
  std::vector<TagState> tags_;  // by TagId
  std::atomic<std::uint64_t> suppressed_{0};
};

}  // namespace tagstream
