#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tagstream {

enum class DataType : std::uint8_t { number = 0, integer, boolean };

std::string_view to_string(DataType t);
[[nodiscard]] std::optional<DataType> parse_data_type(std::string_view s);

/// Descriptive metadata of a tag. The name is dotted: `area.unit.signal`.
struct TagInfo {
  std::string name;
  std::string unit;
  std::string description;
  DataType type = DataType::number;
};

/// The longest tag name: long enough for site.area.unit.device.signal
/// paths, short enough that a name costs little in every point it is sent in.
inline constexpr std::size_t kMaxTagNameLength = 200;

/// The longest unit and description, in bytes: room for "kg/(m2*h)" and a
/// paragraph, while a tag's metadata stays a small, bounded part of every
/// ingest request, registry entry, stored row and `connected` event.
inline constexpr std::size_t kMaxUnitLength = 64;
inline constexpr std::size_t kMaxDescriptionLength = 1024;

/// Why `unit` / `description` cannot describe a tag, or "" when it can: too
/// long, or not UTF-8 (every output is JSON, which must be UTF-8; refusing
/// bad bytes at the door beats silently rewriting them later).
[[nodiscard]] std::string unit_error(std::string_view unit);
[[nodiscard]] std::string description_error(std::string_view description);

/// A valid tag name: 1..kMaxTagNameLength characters of [A-Za-z0-9_.:-], not
/// starting or ending with a dot, with no empty dotted segment.
[[nodiscard]] bool is_valid_tag_name(std::string_view name);
/// That rule in words, for error messages.
std::string tag_name_rule();

/// A glob pattern: like a tag name but may contain `*` (any run of
/// characters, dots included) and `?` (one character).
[[nodiscard]] bool is_tag_pattern(std::string_view s);
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view name);
/// glob_match, adding the steps its loops take to `steps`: a count of work
/// that tests can bound (no backtracking blow-up) where a clock would be noisy.
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view name, std::size_t& steps);

}  // namespace tagstream
