#include "connect/sparkplug_host.h"

#include "connect/mqtt_topic.h"

namespace tagstream::sparkplug {

namespace {

constexpr std::string_view kBdSeq = "bdSeq";
constexpr std::string_view kRebirthMetric = "Node Control/Rebirth";
// The largest epoch-ms timestamp whose nanoseconds fit a sample time.
constexpr std::uint64_t kMaxMillis = static_cast<std::uint64_t>(kMaxSampleTime / kNanosPerMilli);

}  // namespace

std::string metric_tag_name(std::string_view prefix, const Topic& topic, std::string_view metric) {
  std::string name(prefix);
  name += mqtt::tag_path(topic.group);
  name += '.';
  name += mqtt::tag_path(topic.edge);
  if (!topic.device.empty()) {
    name += '.';
    name += mqtt::tag_path(topic.device);
  }
  name += '.';
  name += mqtt::tag_path(metric);
  if (!is_valid_tag_name(name)) return {};
  return name;
}

std::string rebirth_payload(TimeNs now) {
  Payload p;
  p.timestamp = static_cast<std::uint64_t>(now / kNanosPerMilli);
  Metric m;
  m.name = std::string(kRebirthMetric);
  m.datatype = kBoolean;
  m.value = 1;
  m.timestamp = p.timestamp;
  p.metrics.push_back(std::move(m));
  return encode(p);
}

SparkplugHost::SparkplugHost(TagRegistry& registry, HostOptions options)
    : registry_(registry), options_(std::move(options)) {}

TimeNs SparkplugHost::sample_time(const Metric& m, const Payload& p, TimeNs now) {
  const auto ms = m.timestamp ? m.timestamp : p.timestamp;
  if (!ms || *ms > kMaxMillis) return now;
  return static_cast<TimeNs>(*ms) * kNanosPerMilli;
}

std::size_t SparkplugHost::live_nodes() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [key, node] : nodes_) n += node.born ? 1 : 0;
  return n;
}

HostOutput SparkplugHost::handle(const Topic& topic, std::span<const std::uint8_t> bytes, TimeNs now) {
  HostOutput out;
  if (topic.type == MessageType::ncmd || topic.type == MessageType::dcmd ||
      topic.type == MessageType::state) {
    out.ignored = true;  // commands (ours included) and host state are not data
    return out;
  }
  auto payload = decode(bytes, options_.limits);
  if (!payload) {
    out.error =
        std::string(to_string(topic.type)) + " from " + topic.group + "/" + topic.edge + ": " + payload.error;
    return out;
  }
  std::lock_guard lock(mutex_);
  const NodeKey key{topic.group, topic.edge};
  auto it = nodes_.find(key);
  if (it == nodes_.end()) {
    if (nodes_.size() >= options_.max_nodes) {
      out.error = "more than " + std::to_string(options_.max_nodes) +
                  " Sparkplug edge nodes: " + topic.group + "/" + topic.edge + " ignored";
      return out;
    }
    it = nodes_.emplace(key, Node{}).first;
  }
  Node& node = it->second;

  if (topic.type == MessageType::nbirth) {
    birth(node, topic, *payload, now, out);
    return out;
  }
  if (topic.type == MessageType::ndeath) {
    // The will of an older session (its bdSeq differs from the current
    // birth's) arrives after the new birth: it is not this session's death.
    std::optional<std::uint64_t> bd_seq;
    for (const auto& m : payload->metrics)
      if (m.name == kBdSeq && m.wire != Metric::Wire::none) bd_seq = m.wire_bits;
    if (node.bd_seq && bd_seq && *bd_seq != *node.bd_seq) {
      out.ignored = true;
      return out;
    }
    death(node, {}, true, now, out);
    node.born = false;
    return out;
  }
  if (!node.born) {
    request_rebirth(node, topic, now, out, "no birth yet");
    return out;
  }
  if (payload->seq) {
    const std::uint64_t expected = (node.seq + 1) % 256;
    if (*payload->seq != expected) {
      node.born = false;  // data is ignored until the node is born again
      request_rebirth(
          node, topic, now, out,
          "sequence gap: expected " + std::to_string(expected) + ", got " + std::to_string(*payload->seq));
      return out;
    }
    node.seq = expected;
  }
  switch (topic.type) {
    case MessageType::dbirth: birth(node, topic, *payload, now, out); break;
    case MessageType::ddeath: death(node, topic.device, false, now, out); break;
    default: data(node, topic, *payload, now, out); break;
  }
  return out;
}

void SparkplugHost::birth(Node& node, const Topic& topic, const Payload& payload, TimeNs now,
                          HostOutput& out) {
  const bool node_birth = topic.type == MessageType::nbirth;
  const NodeKey key{topic.group, topic.edge};
  // A node birth replaces everything the node announced, a device birth
  // that device's metrics.
  std::vector<MetricInfo> kept;
  for (auto& m : node.metrics) {
    const bool replaced = node_birth || m.device == topic.device;
    if (replaced) {
      if (m.tag) by_tag_.erase(*m.tag);
    } else {
      kept.push_back(std::move(m));
    }
  }
  node.metrics = std::move(kept);
  if (node_birth) {
    node.bd_seq.reset();
    node.seq = payload.seq.value_or(0) % 256;
    node.born = true;
    node.rebirth_requested = false;
  }

  for (const auto& m : payload.metrics) {
    if (node_birth && m.name == kBdSeq) {
      if (m.wire != Metric::Wire::none) node.bd_seq = m.wire_bits;
      continue;
    }
    if (m.name.empty()) {
      if (out.error.empty()) out.error = std::string(to_string(topic.type)) + ": a metric without a name";
      continue;
    }
    MetricInfo info;
    info.name = m.name;
    info.device = topic.device;
    info.datatype = m.datatype;
    info.alias = m.alias;
    if (is_numeric(m.datatype)) {
      const std::string tag_name = metric_tag_name(options_.tag_prefix, topic, m.name);
      if (tag_name.empty()) {
        if (out.error.empty())
          out.error = "metric \"" + m.name + "\" of " + topic.group + "/" + topic.edge +
                      " maps to no valid tag name: " + tag_name_rule();
      } else {
        TagInfo hint{tag_name, unit_error(m.unit).empty() ? m.unit : std::string(), "", tag_type(m.datatype)};
        info.tag = registry_.ensure(hint);
        if (!info.tag && out.error.empty())
          out.error = "tag " + tag_name + " not created: --max-tags reached";
      }
    }
    if (info.tag) {
      if (auto v = value_as(m, m.datatype)) {
        info.last = *v;
        const TimeNs ts = sample_time(m, payload, now);
        (m.is_historical ? out.history : out.live).push_back({*info.tag, Sample{ts, *v, Quality::good}});
      }
    }
    node.metrics.push_back(std::move(info));
  }
  // The lookups, over the kept and the new metrics (aliases are node-wide).
  node.by_alias.clear();
  node.by_name.clear();
  for (std::size_t i = 0; i < node.metrics.size(); ++i) {
    const auto& m = node.metrics[i];
    node.by_name[{m.device, m.name}] = i;
    if (m.alias) node.by_alias[*m.alias] = i;
    if (m.tag) by_tag_[*m.tag] = {key, i};
  }
}

void SparkplugHost::data(Node& node, const Topic& topic, const Payload& payload, TimeNs now,
                         HostOutput& out) {
  // Resolve every metric first: an unknown one means this host missed a
  // birth, and nothing of the message is trusted until the node is reborn.
  std::vector<std::size_t> found;
  found.reserve(payload.metrics.size());
  for (const auto& m : payload.metrics) {
    std::optional<std::size_t> index;
    if (m.alias) {
      if (auto a = node.by_alias.find(*m.alias); a != node.by_alias.end()) index = a->second;
    } else if (!m.name.empty()) {
      if (auto n = node.by_name.find({topic.device, m.name}); n != node.by_name.end()) index = n->second;
    }
    if (!index) {
      node.born = false;
      request_rebirth(node, topic, now, out,
                      m.alias ? "unknown alias " + std::to_string(*m.alias)
                              : "unknown metric \"" + m.name.substr(0, 64) + "\"");
      out.live.clear();
      out.history.clear();
      return;
    }
    found.push_back(*index);
  }
  for (std::size_t i = 0; i < found.size(); ++i) {
    const Metric& m = payload.metrics[i];
    MetricInfo& info = node.metrics[found[i]];
    if (!info.tag) continue;
    const TimeNs ts = sample_time(m, payload, now);
    if (m.is_null) {
      out.live.push_back({*info.tag, Sample{ts, info.last, Quality::bad}});
      continue;
    }
    auto v = value_as(m, info.datatype);
    if (!v) continue;
    if (m.is_historical) {
      out.history.push_back({*info.tag, Sample{ts, *v, Quality::good}});
    } else {
      info.last = *v;
      out.live.push_back({*info.tag, Sample{ts, *v, Quality::good}});
    }
  }
}

void SparkplugHost::death(Node& node, const std::string& device, bool all, TimeNs now, HostOutput& out) {
  for (const auto& m : node.metrics) {
    if (!m.tag || (!all && m.device != device)) continue;
    out.live.push_back({*m.tag, Sample{now, m.last, Quality::bad}});
  }
}

void SparkplugHost::request_rebirth(Node& node, const Topic& topic, TimeNs now, HostOutput& out,
                                    std::string why) {
  out.error = std::string(to_string(topic.type)) + " from " + topic.group + "/" + topic.edge + ": " + why;
  if (node.rebirth_requested && now - node.last_rebirth_request < options_.rebirth_interval) return;
  node.rebirth_requested = true;
  node.last_rebirth_request = now;
  out.rebirth_topic = topic_text(Topic{topic.group, MessageType::ncmd, topic.edge, {}});
}

std::optional<WriteTarget> SparkplugHost::target(std::string_view tag) const {
  const auto id = registry_.find(tag);
  if (!id) return std::nullopt;
  std::lock_guard lock(mutex_);
  const auto it = by_tag_.find(*id);
  if (it == by_tag_.end()) return std::nullopt;
  const auto& [key, index] = it->second;
  const Node& node = nodes_.at(key);
  const MetricInfo& m = node.metrics[index];
  Topic t{key.first, m.device.empty() ? MessageType::ncmd : MessageType::dcmd, key.second, m.device};
  return WriteTarget{topic_text(t), m.name, m.datatype};
}

}  // namespace tagstream::sparkplug
