#include "core/natural_order.h"

#include <cstddef>

namespace tagstream {

namespace {
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
}  // namespace

int natural_compare(std::string_view a, std::string_view b) {
  std::size_t i = 0, j = 0;
  int tie = 0;  // the first difference in zero padding, for equal values
  while (i < a.size() && j < b.size()) {
    if (is_digit(a[i]) && is_digit(b[j])) {
      std::size_t ai = i, bj = j;
      while (ai < a.size() && a[ai] == '0') ++ai;
      while (bj < b.size() && b[bj] == '0') ++bj;
      std::size_t ae = ai, be = bj;
      while (ae < a.size() && is_digit(a[ae])) ++ae;
      while (be < b.size() && is_digit(b[be])) ++be;
      // Without leading zeros, a longer run is a bigger number; runs of the
      // same length compare as text. No conversion: any length works.
      if (ae - ai != be - bj) return ae - ai < be - bj ? -1 : 1;
      for (std::size_t k = 0; k < ae - ai; ++k)
        if (a[ai + k] != b[bj + k]) return a[ai + k] < b[bj + k] ? -1 : 1;
      if (tie == 0 && ae - i != be - j) tie = ae - i < be - j ? -1 : 1;
      i = ae;
      j = be;
      continue;
    }
    if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
    ++i;
    ++j;
  }
  if (i < a.size()) return 1;
  if (j < b.size()) return -1;
  return tie;
}

}  // namespace tagstream
