#include "connect/modbus_map.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <tuple>

namespace tagstream {

std::string_view to_string(ModbusArea area) {
  switch (area) {
    case ModbusArea::holding: return "holding";
    case ModbusArea::input: return "input";
    case ModbusArea::coil: return "coil";
    case ModbusArea::discrete: return "discrete";
  }
  return "?";
}

std::string_view to_string(ModbusType type) {
  switch (type) {
    case ModbusType::boolean: return "bool";
    case ModbusType::int16: return "int16";
    case ModbusType::uint16: return "uint16";
    case ModbusType::int32: return "int32";
    case ModbusType::uint32: return "uint32";
    case ModbusType::float32: return "float32";
    case ModbusType::float64: return "float64";
  }
  return "?";
}

std::optional<ModbusArea> parse_modbus_area(std::string_view s) {
  for (auto a : {ModbusArea::holding, ModbusArea::input, ModbusArea::coil, ModbusArea::discrete})
    if (s == to_string(a)) return a;
  return std::nullopt;
}

std::optional<ModbusType> parse_modbus_type(std::string_view s) {
  for (auto t : {ModbusType::boolean, ModbusType::int16, ModbusType::uint16, ModbusType::int32,
                 ModbusType::uint32, ModbusType::float32, ModbusType::float64})
    if (s == to_string(t)) return t;
  return std::nullopt;
}

std::optional<ModbusOrder> parse_modbus_order(std::string_view s) {
  if (s == "big") return ModbusOrder::big;
  if (s == "little") return ModbusOrder::little;
  return std::nullopt;
}

int modbus_width(ModbusType type) {
  switch (type) {
    case ModbusType::boolean:
    case ModbusType::int16:
    case ModbusType::uint16: return 1;
    case ModbusType::int32:
    case ModbusType::uint32:
    case ModbusType::float32: return 2;
    case ModbusType::float64: return 4;
  }
  return 1;
}

DataType tag_data_type(const ModbusTag& tag) {
  if (tag.type == ModbusType::boolean) return DataType::boolean;
  const bool integral = tag.type != ModbusType::float32 && tag.type != ModbusType::float64;
  if (integral && tag.scale == 1 && tag.offset == 0) return DataType::integer;
  return DataType::number;
}

namespace {

// The registers of a value, as one big-endian integer: word order picks
// which register comes first, byte order which byte of each.
std::uint64_t registers_to_bits(const ModbusTag& tag, std::span<const std::uint16_t> registers) {
  const std::size_t n = registers.size();
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint16_t reg = registers[tag.word_order == ModbusOrder::big ? i : n - 1 - i];
    if (tag.byte_order == ModbusOrder::little) reg = static_cast<std::uint16_t>((reg << 8) | (reg >> 8));
    bits = (bits << 16) | reg;
  }
  return bits;
}

std::vector<std::uint16_t> bits_to_registers(const ModbusTag& tag, std::uint64_t bits, std::size_t n) {
  std::vector<std::uint16_t> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    // The i-th register in big-word order holds bits from the top down.
    auto reg = static_cast<std::uint16_t>(bits >> (16 * (n - 1 - i)));
    if (tag.byte_order == ModbusOrder::little) reg = static_cast<std::uint16_t>((reg << 8) | (reg >> 8));
    out[tag.word_order == ModbusOrder::big ? i : n - 1 - i] = reg;
  }
  return out;
}

double raw_value(const ModbusTag& tag, std::uint64_t bits) {
  switch (tag.type) {
    case ModbusType::boolean: return bits != 0 ? 1 : 0;
    case ModbusType::int16: return static_cast<std::int16_t>(static_cast<std::uint16_t>(bits));
    case ModbusType::uint16: return static_cast<std::uint16_t>(bits);
    case ModbusType::int32: return static_cast<std::int32_t>(static_cast<std::uint32_t>(bits));
    case ModbusType::uint32: return static_cast<std::uint32_t>(bits);
    case ModbusType::float32: return std::bit_cast<float>(static_cast<std::uint32_t>(bits));
    case ModbusType::float64: return std::bit_cast<double>(bits);
  }
  return 0;
}

template <typename Int>
std::optional<std::uint64_t> integer_bits(double raw) {
  const double r = std::round(raw);
  if (!(r >= static_cast<double>(std::numeric_limits<Int>::min()) &&
        r <= static_cast<double>(std::numeric_limits<Int>::max())))
    return std::nullopt;
  using Unsigned = std::make_unsigned_t<Int>;
  return static_cast<std::uint64_t>(static_cast<Unsigned>(static_cast<Int>(r)));
}

}  // namespace

double decode_registers(const ModbusTag& tag, std::span<const std::uint16_t> registers) {
  const double raw = raw_value(tag, registers_to_bits(tag, registers));
  if (tag.type == ModbusType::boolean) return raw;
  return raw * tag.scale + tag.offset;
}

EncodedRegisters encode_registers(const ModbusTag& tag, double value) {
  const double raw = tag.type == ModbusType::boolean ? value : (value - tag.offset) / tag.scale;
  std::optional<std::uint64_t> bits;
  switch (tag.type) {
    case ModbusType::boolean: bits = raw != 0 ? 1 : 0; break;
    case ModbusType::int16: bits = integer_bits<std::int16_t>(raw); break;
    case ModbusType::uint16: bits = integer_bits<std::uint16_t>(raw); break;
    case ModbusType::int32: bits = integer_bits<std::int32_t>(raw); break;
    case ModbusType::uint32: bits = integer_bits<std::uint32_t>(raw); break;
    case ModbusType::float32:
      if (std::isfinite(raw) && std::abs(raw) <= std::numeric_limits<float>::max())
        bits = std::bit_cast<std::uint32_t>(static_cast<float>(raw));
      break;
    case ModbusType::float64:
      if (std::isfinite(raw)) bits = std::bit_cast<std::uint64_t>(raw);
      break;
  }
  if (!bits)
    return {.registers = {},
            .error = "the raw value " + std::to_string(raw) + " does not fit the register type " +
                     std::string(to_string(tag.type))};
  return {.registers = bits_to_registers(tag, *bits, static_cast<std::size_t>(modbus_width(tag.type))),
          .error = {}};
}

std::vector<ModbusRead> plan_reads(const std::vector<ModbusTag>& tags, std::span<const std::size_t> members,
                                   int max_gap) {
  std::vector<std::size_t> order(members.begin(), members.end());
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto& x = tags[a];
    const auto& y = tags[b];
    return std::tuple(x.area, x.unit_id, x.address, a) < std::tuple(y.area, y.unit_id, y.address, b);
  });
  std::vector<ModbusRead> reads;
  int end = 0;  // one past the current read's last register
  for (std::size_t index : order) {
    const auto& tag = tags[index];
    const int width = modbus_width(tag.type);
    const int limit = is_bit_area(tag.area) ? kMaxReadBits : kMaxReadRegisters;
    if (!reads.empty()) {
      auto& read = reads.back();
      const int merged_end = std::max(end, tag.address + width);
      if (read.area == tag.area && read.unit_id == tag.unit_id && tag.address - end <= max_gap &&
          merged_end - read.start <= limit) {
        read.tags.push_back(index);
        end = merged_end;
        read.count = end - read.start;
        continue;
      }
    }
    reads.push_back(
        {.area = tag.area, .unit_id = tag.unit_id, .start = tag.address, .count = width, .tags = {index}});
    end = tag.address + width;
  }
  return reads;
}

NextPoll next_poll(std::chrono::steady_clock::time_point deadline, std::chrono::steady_clock::time_point now,
                   std::chrono::steady_clock::duration period) {
  if (now < deadline) return {.deadline = deadline + period, .skipped = 0};
  const auto missed = (now - deadline) / period;
  return {.deadline = deadline + period * (missed + 1), .skipped = static_cast<std::uint64_t>(missed)};
}

}  // namespace tagstream
