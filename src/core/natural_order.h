#pragma once
// Natural order of tag names: runs of digits compare by their value, so
// `area0.t2` sorts before `area0.t10`, as an operator reads them. Pure.
#include <string_view>

namespace tagstream {

/// Negative, zero or positive as `a` sorts before, with or after `b`. Digit
/// runs compare by value (leading zeros ignored; on equal value the shorter
/// run first), everything else byte by byte. Zero only for equal strings,
/// so it is a strict weak order that tells every distinct name apart.
[[nodiscard]] int natural_compare(std::string_view a, std::string_view b);

[[nodiscard]] inline bool natural_less(std::string_view a, std::string_view b) {
  return natural_compare(a, b) < 0;
}

}  // namespace tagstream
