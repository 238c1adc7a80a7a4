#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tagstream {

enum class DataType : std::uint8_t { number = 0, integer, boolean };

std::string_view to_string(DataType t);
std::optional<DataType> parse_data_type(std::string_view s);

/// Descriptive metadata of a tag. The name is dotted: `area.unit.signal`.
struct TagInfo {
  std::string name;
  std::string unit;
  std::string description;
  DataType type = DataType::number;
};

/// A valid tag name: 1..200 characters of [A-Za-z0-9_.:-], not starting or
/// ending with a dot, with no empty dotted segment.
bool is_valid_tag_name(std::string_view name);

/// A glob pattern: like a tag name but may contain `*` (any run of
/// characters, dots included) and `?` (one character).
bool is_tag_pattern(std::string_view s);
bool glob_match(std::string_view pattern, std::string_view name);

}  // namespace tagstream
