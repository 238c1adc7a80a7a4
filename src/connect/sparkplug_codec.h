#pragma once
// Sparkplug B topics and payloads (Eclipse Sparkplug 3.0): decoding with the
// bounds a hostile publisher cannot get past, and encoding for commands
// (NCMD/DCMD) and for tests that play an edge node. The payload bytes are
// read and written by the protobuf-c code generated from sparkplug_b.proto;
// nothing outside this file sees it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/parsed.h"
#include "core/tag.h"

namespace tagstream::sparkplug {

inline constexpr std::string_view kNamespace = "spBv1.0";

enum class MessageType { nbirth, ndeath, ndata, ncmd, dbirth, ddeath, ddata, dcmd, state };
std::string_view to_string(MessageType type);

/// `spBv1.0/GROUP/TYPE/EDGE[/DEVICE]`; the device only (and always) for
/// DBIRTH, DDEATH, DDATA and DCMD.
struct Topic {
  std::string group;
  MessageType type = MessageType::ndata;
  std::string edge;
  std::string device;  // empty for node messages
};
std::optional<Topic> parse_topic(std::string_view topic);
std::string topic_text(const Topic& topic);

/// The datatype codes of the specification that carry a number this server
/// keeps (integers, floats, booleans, DateTime as epoch ms).
enum Datatype : std::uint32_t {
  kUnknown = 0,
  kInt8 = 1,
  kInt16 = 2,
  kInt32 = 3,
  kInt64 = 4,
  kUInt8 = 5,
  kUInt16 = 6,
  kUInt32 = 7,
  kUInt64 = 8,
  kFloat = 9,
  kDouble = 10,
  kBoolean = 11,
  kString = 12,
  kDateTime = 13,
};
bool is_numeric(std::uint32_t datatype);
/// The tag type for a numeric datatype.
tagstream::DataType tag_type(std::uint32_t datatype);

struct Metric {
  std::string name;  // empty when the metric is sent by alias only
  std::optional<std::uint64_t> alias;
  std::optional<std::uint64_t> timestamp;  // ms since the epoch
  std::uint32_t datatype = kUnknown;
  bool is_historical = false;
  bool is_null = false;
  /// The value of a numeric or boolean metric, read as its own datatype;
  /// none for other types (and for a null value). For encoding: the value
  /// to send.
  std::optional<double> value;
  /// The value as it came off the wire, for value_as(): data messages
  /// often leave the datatype out, and only the birth says whether the
  /// 32 bits of an int_value are an Int8 or a UInt32.
  enum class Wire : std::uint8_t { none, int_value, long_value, float_value, double_value, boolean_value };
  Wire wire = Wire::none;
  std::uint64_t wire_bits = 0;
  double wire_real = 0;
  std::string unit;  // the "engUnit" property, if any
};

/// The metric's value read as `datatype` (from its birth); none when it
/// carries no number.
std::optional<double> value_as(const Metric& metric, std::uint32_t datatype);

struct Payload {
  std::optional<std::uint64_t> timestamp;  // ms since the epoch
  std::optional<std::uint64_t> seq;
  std::vector<Metric> metrics;
};

struct DecodeLimits {
  std::size_t max_metrics = 1000;
  std::size_t max_name = 200;    // bytes of a metric name
  std::size_t max_nesting = 16;  // messages within messages (templates, property sets)
};

/// Decodes a payload; refuses (before any allocation for it) more metrics
/// or deeper nesting than `limits` allow, and names longer than allowed.
Parsed<Payload> decode(std::span<const std::uint8_t> bytes, const DecodeLimits& limits);

/// Encodes a payload; a metric's value (rounded for integer types) goes
/// to the field its datatype uses (int_value for 8..32-bit integers, long_value for 64-bit and
/// DateTime, float, double, boolean). A non-empty unit is sent as the
/// "engUnit" property. Metrics with no value are sent as null.
std::string encode(const Payload& payload);

}  // namespace tagstream::sparkplug
