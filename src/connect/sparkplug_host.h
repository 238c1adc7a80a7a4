#pragma once
// The host application's side of Sparkplug B: what each edge node and
// device announced in its births (metric names, aliases, datatypes, units),
// turned into tags, samples and rebirth requests. Holds no socket: the MQTT
// connector hands it every Sparkplug message and publishes what it asks for,
// which keeps the state machine testable without a broker.
//
// Thread safety: handle() runs on the connector's loop thread, target() on
// the thread of an operator write; one mutex guards the node table.
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "connect/sparkplug_codec.h"
#include "core/sample.h"
#include "core/tag_registry.h"

namespace tagstream::sparkplug {

struct HostOptions {
  std::string tag_prefix;  // prepended to every tag name ("" or "site1.")
  DecodeLimits limits;
  std::size_t max_nodes = 10000;                  // edge nodes remembered at once
  TimeNs rebirth_interval = 2 * kNanosPerSecond;  // at most one request per node per interval
};

/// What one message asks of the connector.
struct HostOutput {
  std::vector<TaggedSample> live;
  std::vector<TaggedSample> history;  // is_historical metrics
  /// An NCMD topic to send `Node Control/Rebirth` = true to.
  std::optional<std::string> rebirth_topic;
  std::string error;     // non-empty: the message (or part of it) was refused
  bool ignored = false;  // a command, a STATE message, a stale death
};

/// Where a write to a Sparkplug tag goes.
struct WriteTarget {
  std::string topic;   // NCMD or DCMD topic
  std::string metric;  // the metric's name as born
  std::uint32_t datatype = kUnknown;
};

/// The tag name for a metric: `PREFIX GROUP.EDGE[.DEVICE].METRIC`, each part
/// through mqtt::tag_path (so `/` in a metric name separates segments and
/// characters a tag name cannot hold become `_`). Empty when the result is
/// not a valid tag name.
std::string metric_tag_name(std::string_view prefix, const Topic& topic, std::string_view metric);

/// The payload of a rebirth request.
std::string rebirth_payload(TimeNs now);

class SparkplugHost {
 public:
  SparkplugHost(TagRegistry& registry, HostOptions options);

  HostOutput handle(const Topic& topic, std::span<const std::uint8_t> payload, TimeNs now);

  std::optional<WriteTarget> target(std::string_view tag) const;

  /// Edge nodes currently known (born and not dead).
  std::size_t live_nodes() const;

 private:
  struct MetricInfo {
    std::string name;
    std::string device;
    std::uint32_t datatype = kUnknown;
    std::optional<std::uint64_t> alias;
    std::optional<TagId> tag;  // none: a type this server does not keep
    double last = 0;
  };
  struct Node {
    bool born = false;
    std::optional<std::uint64_t> bd_seq;
    std::uint64_t seq = 0;
    std::vector<MetricInfo> metrics;
    std::unordered_map<std::uint64_t, std::size_t> by_alias;
    std::map<std::pair<std::string, std::string>, std::size_t> by_name;  // (device, name)
    TimeNs last_rebirth_request = 0;
    bool rebirth_requested = false;
  };
  using NodeKey = std::pair<std::string, std::string>;  // (group, edge)

  void birth(Node& node, const Topic& topic, const Payload& payload, TimeNs now, HostOutput& out);
  void data(Node& node, const Topic& topic, const Payload& payload, TimeNs now, HostOutput& out);
  void death(Node& node, const std::string& device, bool all, TimeNs now, HostOutput& out);
  void request_rebirth(Node& node, const Topic& topic, TimeNs now, HostOutput& out, std::string why);
  static TimeNs sample_time(const Metric& m, const Payload& p, TimeNs now);

  TagRegistry& registry_;
  HostOptions options_;
  mutable std::mutex mutex_;
  std::map<NodeKey, Node> nodes_;
  std::unordered_map<TagId, std::pair<NodeKey, std::size_t>> by_tag_;
};

}  // namespace tagstream::sparkplug
