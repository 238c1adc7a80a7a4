#pragma once
// MQTT topic filters and the templates that turn a matched topic into a tag
// name (`plant/+/temperature` with `{1}.temperature`). Pure, no I/O.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/parsed.h"

namespace tagstream::mqtt {

/// The longest topic filter a subscription may name (MQTT allows 65535).
inline constexpr std::size_t kMaxTopicFilterLength = 1024;

/// Why `filter` is not a valid subscription filter (MQTT 3.1.1 section
/// 4.7: `+` alone in a level, `#` alone in the last level), or "".
std::string topic_filter_error(std::string_view filter);

/// How many wildcard levels (`+` and `#`) `filter` has.
std::size_t wildcard_count(std::string_view filter);

/// Whether `topic` matches `filter`; on a match `captures` holds what each
/// wildcard matched, in order: one level for `+`, the rest of the topic for
/// `#` (possibly empty). A filter starting with a wildcard does not match
/// topics starting with `$` (broker-internal topics, as MQTT requires).
bool match_topic(std::string_view filter, std::string_view topic, std::vector<std::string_view>& captures);

/// A topic path (`a/b c/d`) as dotted tag segments (`a.b_c.d`): each
/// `/`-separated level becomes one segment, every character outside
/// [A-Za-z0-9_:-] becomes `_` (dots too: a level is one segment), and an
/// empty level becomes `_`.
std::string tag_path(std::string_view path);

/// A tag name template: literal tag-name characters and the placeholders
/// `{N}` (what the N-th wildcard matched, 1-based, through tag_path) and
/// `{topic}` (the whole topic through tag_path).
class TagTemplate {
 public:
  /// Checks the template against a filter with `wildcards` wildcards.
  static Parsed<TagTemplate> parse(std::string_view text, std::size_t wildcards);

  /// The tag name for `topic`, matched with `captures`. The result may
  /// still be an invalid tag name (too long, say): the caller checks.
  std::string render(std::string_view topic, std::span<const std::string_view> captures) const;
  const std::string& text() const { return text_; }

 private:
  struct Piece {
    std::string literal;
    int capture = 0;  // 1-based wildcard index; 0 = literal; -1 = {topic}
  };
  std::string text_;
  std::vector<Piece> pieces_;
};

}  // namespace tagstream::mqtt
