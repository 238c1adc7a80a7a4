#pragma once
// OPC-style sample quality and the rule that combines qualities in a bucket.
#include <cstdint>
#include <optional>
#include <string_view>

namespace tagstream {

enum class Quality : std::uint8_t { good = 0, uncertain = 1, bad = 2 };

std::string_view to_string(Quality q);
[[nodiscard]] std::optional<Quality> parse_quality(std::string_view s);

/// Bucket quality: all good = good; any bad = bad; otherwise uncertain.
/// Associative and commutative, so buckets can be merged in any order.
constexpr Quality combine(Quality a, Quality b) {
  if (a == Quality::bad || b == Quality::bad) return Quality::bad;
  if (a == Quality::good && b == Quality::good) return Quality::good;
  return Quality::uncertain;
}

}  // namespace tagstream
