#include "core/quality.h"

namespace tagstream {

std::string_view to_string(Quality q) {
  switch (q) {
    case Quality::good: return "good";
    case Quality::uncertain: return "uncertain";
    case Quality::bad: return "bad";
  }
  return "bad";
}

std::optional<Quality> parse_quality(std::string_view s) {
  if (s == "good") return Quality::good;
  if (s == "uncertain") return Quality::uncertain;
  if (s == "bad") return Quality::bad;
  return std::nullopt;
}

}  // namespace tagstream
