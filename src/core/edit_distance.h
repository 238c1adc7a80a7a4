#pragma once
// How far apart two words are, for "did you mean ...?" in configuration
// messages (the option table's keys, a connector table's fields).
#include <cstddef>
#include <string_view>

namespace tagstream {

/// Levenshtein distance: insertions, deletions and substitutions of bytes.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace tagstream
