#pragma once
// A Modbus TCP connector's register map: what its configuration says about
// each tag (area, address, type, word and byte order, scale), how a tag's
// registers decode to a value and a value encodes back to registers, and how
// a poll group's tags become as few read requests as the protocol allows.
// Pure functions and plain data: no sockets, no threads.
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/tag.h"

namespace tagstream {

enum class ModbusArea : std::uint8_t { holding, input, coil, discrete };
enum class ModbusType : std::uint8_t { boolean, int16, uint16, int32, uint32, float32, float64 };
enum class ModbusOrder : std::uint8_t { big, little };

std::string_view to_string(ModbusArea area);
std::string_view to_string(ModbusType type);
std::optional<ModbusArea> parse_modbus_area(std::string_view s);
std::optional<ModbusType> parse_modbus_type(std::string_view s);
std::optional<ModbusOrder> parse_modbus_order(std::string_view s);

/// Whether the area holds bits (coils, discrete inputs) rather than
/// 16-bit registers.
constexpr bool is_bit_area(ModbusArea area) {
  return area == ModbusArea::coil || area == ModbusArea::discrete;
}
/// Registers (or bits) a value of `type` spans.
int modbus_width(ModbusType type);

/// The protocol's limits on one read: 125 registers, 2000 bits.
inline constexpr int kMaxReadRegisters = 125;
inline constexpr int kMaxReadBits = 2000;
/// Bounds on a connector's configuration, so a file cannot make one connector
/// hold an unbounded map.
inline constexpr std::size_t kMaxModbusTags = 10000;
inline constexpr std::size_t kMaxModbusGroups = 100;

struct ModbusTag {
  std::string name;
  ModbusArea area = ModbusArea::holding;
  int unit_id = 1;
  int address = 0;  // 0-based protocol address, 0..65535
  ModbusType type = ModbusType::uint16;
  // word order: which register holds the most significant word of a 32- or
  // 64-bit value (big: the first). byte order: the bytes inside a register
  // (big: high byte first, as the protocol sends it).
  ModbusOrder word_order = ModbusOrder::big;
  ModbusOrder byte_order = ModbusOrder::big;
  double scale = 1;  // value = raw * scale + offset
  double offset = 0;
  std::string unit;
  std::string description;
  bool writable = false;
  std::optional<double> min;
  std::optional<double> max;
};

/// The tag's type in the registry: boolean for bits, integer for an integer
/// register with no scale or offset, number otherwise.
DataType tag_data_type(const ModbusTag& tag);

/// The engineering value of `tag` from its registers (modbus_width(type) of
/// them, in address order).
double decode_registers(const ModbusTag& tag, std::span<const std::uint16_t> registers);

/// The registers that hold `value` (engineering units) for `tag`, or an
/// error for the operator when the raw value does not fit the tag's type:
/// raw = (value - offset) / scale, rounded for integer types.
struct EncodedRegisters {
  std::vector<std::uint16_t> registers;
  std::string error;  // non-empty: nothing to write
};
EncodedRegisters encode_registers(const ModbusTag& tag, double value);

/// One read request of a poll: an area of one unit, `count` registers or
/// bits from `start`, and the tags (indices into the map) it answers.
struct ModbusRead {
  ModbusArea area = ModbusArea::holding;
  int unit_id = 1;
  int start = 0;
  int count = 0;
  std::vector<std::size_t> tags;
};

/// The reads that cover `members` (indices into `tags`): tags of the same
/// area and unit whose registers are contiguous, overlap, or leave a gap of
/// at most `max_gap` registers merge into one read of at most 125 registers
/// (2000 bits). A gap may hold addresses the device refuses, so by default
/// (max_gap 0) only touching or overlapping tags merge.
std::vector<ModbusRead> plan_reads(const std::vector<ModbusTag>& tags, std::span<const std::size_t> members,
                                   int max_gap);

/// A poll group's next deadline after a poll due at `deadline` started at
/// `now`: whole periods on from the deadline, so the schedule never drifts,
/// and past `now`, so a connector that fell behind skips the polls it
/// missed (counted in `skipped`) instead of running them in a burst.
struct NextPoll {
  std::chrono::steady_clock::time_point deadline;
  std::uint64_t skipped = 0;
};
NextPoll next_poll(std::chrono::steady_clock::time_point deadline, std::chrono::steady_clock::time_point now,
                   std::chrono::steady_clock::duration period);

}  // namespace tagstream
