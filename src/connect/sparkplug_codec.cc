#include "connect/sparkplug_codec.h"

#include <cmath>
#include <memory>

#include "sparkplug_b.pb-c.h"

namespace tagstream::sparkplug {

namespace {

using PbPayload = Tagstream__Sparkplug__Payload;
using PbMetric = Tagstream__Sparkplug__Payload__Metric;
using PbPropertySet = Tagstream__Sparkplug__Payload__PropertySet;
using PbPropertyValue = Tagstream__Sparkplug__Payload__PropertyValue;

// ------------------------------------------------------------ wire pre-check
//
// protobuf-c unpacks recursively with no depth limit, and a metric can hold
// a template of metrics, a property set of property sets, and so on: a
// 64 KiB payload of nested length prefixes would take thousands of stack
// frames. This walk follows only the message-typed fields of the schema,
// counts the top-level metrics and the nesting, and refuses before
// protobuf-c allocates anything.

enum class Kind {
  payload,
  metric,
  property_set,
  property_value,
  property_set_list,
  templ,
  data_set,
  row,
  leaf
};

Kind child_kind(Kind parent, std::uint64_t field) {
  switch (parent) {
    case Kind::payload: return field == 2 ? Kind::metric : Kind::leaf;
    case Kind::metric:
      if (field == 9) return Kind::property_set;
      if (field == 17) return Kind::data_set;
      if (field == 18) return Kind::templ;
      return Kind::leaf;  // 8 (MetaData) has no message fields
    case Kind::property_set: return field == 2 ? Kind::property_value : Kind::leaf;
    case Kind::property_value:
      if (field == 9) return Kind::property_set;
      if (field == 10) return Kind::property_set_list;
      return Kind::leaf;
    case Kind::property_set_list: return field == 1 ? Kind::property_set : Kind::leaf;
    case Kind::templ: return field == 2 ? Kind::metric : Kind::leaf;  // 3 (Parameter) has none
    case Kind::data_set: return field == 4 ? Kind::row : Kind::leaf;
    case Kind::row:
    case Kind::leaf: return Kind::leaf;
  }
  return Kind::leaf;
}

bool read_varint(const std::uint8_t*& p, const std::uint8_t* end, std::uint64_t& out) {
  out = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p == end) return false;
    const std::uint8_t b = *p++;
    out |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

/// "" when the message `kind` in [p, end) is well-formed within the limits.
std::string check_wire(const std::uint8_t* p, const std::uint8_t* end, Kind kind, std::size_t depth,
                       const DecodeLimits& limits, std::size_t& metrics) {
  if (depth > limits.max_nesting)
    return "messages nested more than " + std::to_string(limits.max_nesting) + " deep";
  while (p < end) {
    std::uint64_t key = 0;
    if (!read_varint(p, end, key)) return "truncated field key";
    const std::uint64_t field = key >> 3;
    switch (key & 7) {
      case 0: {
        std::uint64_t ignored = 0;
        if (!read_varint(p, end, ignored)) return "truncated varint";
        break;
      }
      case 1:
        if (end - p < 8) return "truncated fixed64";
        p += 8;
        break;
      case 5:
        if (end - p < 4) return "truncated fixed32";
        p += 4;
        break;
      case 2: {
        std::uint64_t length = 0;
        if (!read_varint(p, end, length) || length > static_cast<std::uint64_t>(end - p))
          return "truncated length-delimited field";
        const Kind child = child_kind(kind, field);
        if (kind == Kind::payload && child == Kind::metric && ++metrics > limits.max_metrics)
          return "more than " + std::to_string(limits.max_metrics) + " metrics";
        if (child != Kind::leaf || (kind == Kind::metric && field == 8)) {
          auto e = check_wire(p, p + length, child, depth + 1, limits, metrics);
          if (!e.empty()) return e;
        }
        p += length;
        break;
      }
      default: return "unsupported wire type " + std::to_string(key & 7);
    }
  }
  return {};
}

bool is_signed(std::uint32_t datatype) {
  return datatype == kInt8 || datatype == kInt16 || datatype == kInt32 || datatype == kInt64;
}

void take_wire(const PbMetric& m, Metric& out) {
  switch (m.value_case) {
    case TAGSTREAM__SPARKPLUG__PAYLOAD__METRIC__VALUE_INT_VALUE:
      out.wire = Metric::Wire::int_value;
      out.wire_bits = m.int_value;
      break;
    case TAGSTREAM__SPARKPLUG__PAYLOAD__METRIC__VALUE_LONG_VALUE:
      out.wire = Metric::Wire::long_value;
      out.wire_bits = m.long_value;
      break;
    case TAGSTREAM__SPARKPLUG__PAYLOAD__METRIC__VALUE_FLOAT_VALUE:
      out.wire = Metric::Wire::float_value;
      out.wire_real = static_cast<double>(m.float_value);
      break;
    case TAGSTREAM__SPARKPLUG__PAYLOAD__METRIC__VALUE_DOUBLE_VALUE:
      out.wire = Metric::Wire::double_value;
      out.wire_real = m.double_value;
      break;
    case TAGSTREAM__SPARKPLUG__PAYLOAD__METRIC__VALUE_BOOLEAN_VALUE:
      out.wire = Metric::Wire::boolean_value;
      out.wire_bits = m.boolean_value ? 1 : 0;
      break;
    default: out.wire = Metric::Wire::none; break;
  }
}

std::string eng_unit(const PbPropertySet* props) {
  if (!props) return {};
  for (std::size_t i = 0; i < props->n_keys && i < props->n_values; ++i) {
    const PbPropertyValue* v = props->values[i];
    if (props->keys[i] && std::string_view(props->keys[i]) == "engUnit" && v &&
        v->value_case == TAGSTREAM__SPARKPLUG__PAYLOAD__PROPERTY_VALUE__VALUE_STRING_VALUE && v->string_value)
      return v->string_value;
  }
  return {};
}

struct FreePayload {
  void operator()(PbPayload* p) const { tagstream__sparkplug__payload__free_unpacked(p, nullptr); }
};

}  // namespace

std::string_view to_string(MessageType type) {
  switch (type) {
    case MessageType::nbirth: return "NBIRTH";
    case MessageType::ndeath: return "NDEATH";
    case MessageType::ndata: return "NDATA";
    case MessageType::ncmd: return "NCMD";
    case MessageType::dbirth: return "DBIRTH";
    case MessageType::ddeath: return "DDEATH";
    case MessageType::ddata: return "DDATA";
    case MessageType::dcmd: return "DCMD";
    case MessageType::state: return "STATE";
  }
  return "?";
}

std::optional<Topic> parse_topic(std::string_view topic) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (parts.size() < 6) {
    const auto slash = topic.find('/', start);
    parts.push_back(topic.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 4 || parts.size() > 5 || parts[0] != kNamespace) return std::nullopt;
  for (auto p : parts)
    if (p.empty()) return std::nullopt;
  Topic out;
  out.group = std::string(parts[1]);
  out.edge = std::string(parts[3]);
  static constexpr MessageType kTypes[] = {MessageType::nbirth, MessageType::ndeath, MessageType::ndata,
                                           MessageType::ncmd,   MessageType::dbirth, MessageType::ddeath,
                                           MessageType::ddata,  MessageType::dcmd,   MessageType::state};
  bool found = false;
  for (auto t : kTypes) {
    if (to_string(t) == parts[2]) {
      out.type = t;
      found = true;
    }
  }
  if (!found) return std::nullopt;
  const bool device = out.type == MessageType::dbirth || out.type == MessageType::ddeath ||
                      out.type == MessageType::ddata || out.type == MessageType::dcmd;
  if (device != (parts.size() == 5)) return std::nullopt;
  if (device) out.device = std::string(parts[4]);
  return out;
}

std::string topic_text(const Topic& topic) {
  std::string out = std::string(kNamespace) + "/" + topic.group + "/" + std::string(to_string(topic.type)) +
                    "/" + topic.edge;
  if (!topic.device.empty()) out += "/" + topic.device;
  return out;
}

std::optional<double> value_as(const Metric& metric, std::uint32_t datatype) {
  if (metric.is_null) return std::nullopt;
  std::optional<double> v;
  switch (metric.wire) {
    case Metric::Wire::int_value: {
      const auto bits = static_cast<std::uint32_t>(metric.wire_bits);
      if (datatype == kInt8)
        v = static_cast<double>(static_cast<std::int8_t>(bits));
      else if (datatype == kInt16)
        v = static_cast<double>(static_cast<std::int16_t>(bits));
      else if (is_signed(datatype))
        v = static_cast<double>(static_cast<std::int32_t>(bits));
      else
        v = static_cast<double>(bits);
      break;
    }
    case Metric::Wire::long_value:
      v = is_signed(datatype) ? static_cast<double>(static_cast<std::int64_t>(metric.wire_bits))
                              : static_cast<double>(metric.wire_bits);
      break;
    case Metric::Wire::float_value:
    case Metric::Wire::double_value: v = metric.wire_real; break;
    case Metric::Wire::boolean_value: v = static_cast<double>(metric.wire_bits); break;
    case Metric::Wire::none: break;
  }
  if (v && !std::isfinite(*v)) v.reset();
  return v;
}

bool is_numeric(std::uint32_t datatype) {
  return (datatype >= kInt8 && datatype <= kBoolean) || datatype == kDateTime;
}

tagstream::DataType tag_type(std::uint32_t datatype) {
  if (datatype == kBoolean) return tagstream::DataType::boolean;
  if (datatype == kFloat || datatype == kDouble) return tagstream::DataType::number;
  return tagstream::DataType::integer;
}

Parsed<Payload> decode(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) {
  auto fail = [](std::string e) { return Parsed<Payload>{.value = std::nullopt, .error = std::move(e)}; };
  std::size_t metrics = 0;
  if (auto e = check_wire(bytes.data(), bytes.data() + bytes.size(), Kind::payload, 0, limits, metrics);
      !e.empty())
    return fail("Sparkplug payload refused: " + e);
  std::unique_ptr<PbPayload, FreePayload> pb(
      tagstream__sparkplug__payload__unpack(nullptr, bytes.size(), bytes.data()));
  if (!pb) return fail("Sparkplug payload is not a valid protobuf Payload");
  Payload out;
  if (pb->has_timestamp) out.timestamp = pb->timestamp;
  if (pb->has_seq) out.seq = pb->seq;
  out.metrics.reserve(pb->n_metrics);
  for (std::size_t i = 0; i < pb->n_metrics; ++i) {
    const PbMetric& m = *pb->metrics[i];
    Metric metric;
    if (m.name) {
      const std::string_view name(m.name);
      if (name.size() > limits.max_name)
        return fail("metric name of " + std::to_string(name.size()) + " bytes, at most " +
                    std::to_string(limits.max_name) + " allowed");
      metric.name = std::string(name);
    }
    if (m.has_alias) metric.alias = m.alias;
    if (m.has_timestamp) metric.timestamp = m.timestamp;
    if (m.has_datatype) metric.datatype = m.datatype;
    metric.is_historical = m.has_is_historical && m.is_historical;
    metric.is_null = m.has_is_null && m.is_null;
    if (!metric.is_null) take_wire(m, metric);
    metric.value = value_as(metric, metric.datatype);
    metric.unit = eng_unit(m.properties);
    out.metrics.push_back(std::move(metric));
  }
  return {.value = std::move(out), .error = {}};
}

std::string encode(const Payload& payload) {
  PbPayload pb;
  tagstream__sparkplug__payload__init(&pb);
  if (payload.timestamp) {
    pb.has_timestamp = 1;
    pb.timestamp = *payload.timestamp;
  }
  if (payload.seq) {
    pb.has_seq = 1;
    pb.seq = *payload.seq;
  }
  const std::size_t n = payload.metrics.size();
  std::vector<PbMetric> metrics(n);
  std::vector<PbMetric*> metric_ptrs(n);
  std::vector<PbPropertySet> props(n);
  std::vector<PbPropertyValue> unit_values(n);
  std::vector<PbPropertyValue*> unit_value_ptrs(n);
  static char kEngUnit[] = "engUnit";
  static char* kEngUnitKeys[] = {kEngUnit};
  for (std::size_t i = 0; i < n; ++i) {
    const Metric& in = payload.metrics[i];
    PbMetric& m = metrics[i];
    tagstream__sparkplug__payload__metric__init(&m);
    metric_ptrs[i] = &m;
    if (!in.name.empty()) m.name = const_cast<char*>(in.name.c_str());
    if (in.alias) {
      m.has_alias = 1;
      m.alias = *in.alias;
    }
    if (in.timestamp) {
      m.has_timestamp = 1;
      m.timestamp = *in.timestamp;
    }
    if (in.datatype != kUnknown) {
      m.has_datatype = 1;
      m.datatype = in.datatype;
    }
    if (in.is_historical) {
      m.has_is_historical = 1;
      m.is_historical = 1;
    }
    if (!in.unit.empty()) {
      tagstream__sparkplug__payload__property_set__init(&props[i]);
      tagstream__sparkplug__payload__property_value__init(&unit_values[i]);
      unit_values[i].has_type = 1;
      unit_values[i].type = kString;
      unit_values[i].value_case = TAGSTREAM__SPARKPLUG__PAYLOAD__PROPERTY_VALUE__VALUE_STRING_VALUE;
      unit_values[i].string_value = const_cast<char*>(in.unit.c_str());
      unit_value_ptrs[i] = &unit_values[i];
      props[i].n_keys = 1;
      props[i].keys = kEngUnitKeys;
      props[i].n_values = 1;
      props[i].values = &unit_value_ptrs[i];
      m.properties = &props[i];
    }
    if (!in.value || in.is_null) {
      m.has_is_null = 1;
      m.is_null = 1;
      continue;
    }
    const double v = *in.value;
    switch (in.datatype) {
      case kInt8:
      case kInt16:
      case kInt32:
        m.value_case = TAGSTREAM__SPARKPLUG__PAYLOAD__METRIC__VALUE_INT_VALUE;
        m.int_value = static_cast<std::uint32_t>(static_cast<std::int32_t>(std::llround(v)));
        break;
      case kUInt8:
      case kUInt16:
      case kUInt32:
        m.value_case = TAGSTREAM__SPARKPLUG__PAYLOAD__METRIC__VALUE_INT_VALUE;
        m.int_value = static_cast<std::uint32_t>(std::llround(v));
        break;
      case kInt64:
        m.value_case = TAGSTREAM__SPARKPLUG__PAYLOAD__METRIC__VALUE_LONG_VALUE;
        m.long_value = static_cast<std::uint64_t>(std::llround(v));
        break;
      case kUInt64:
      case kDateTime:
        m.value_case = TAGSTREAM__SPARKPLUG__PAYLOAD__METRIC__VALUE_LONG_VALUE;
        m.long_value = v <= 0 ? 0 : static_cast<std::uint64_t>(std::round(v));
        break;
      case kFloat:
        m.value_case = TAGSTREAM__SPARKPLUG__PAYLOAD__METRIC__VALUE_FLOAT_VALUE;
        m.float_value = static_cast<float>(v);
        break;
      case kBoolean:
        m.value_case = TAGSTREAM__SPARKPLUG__PAYLOAD__METRIC__VALUE_BOOLEAN_VALUE;
        m.boolean_value = v != 0;
        break;
      default:
        m.value_case = TAGSTREAM__SPARKPLUG__PAYLOAD__METRIC__VALUE_DOUBLE_VALUE;
        m.double_value = v;
        break;
    }
  }
  pb.n_metrics = n;
  pb.metrics = metric_ptrs.data();
  std::string out(tagstream__sparkplug__payload__get_packed_size(&pb), '\0');
  tagstream__sparkplug__payload__pack(&pb, reinterpret_cast<std::uint8_t*>(out.data()));
  return out;
}

}  // namespace tagstream::sparkplug
