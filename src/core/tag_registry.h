#pragma once
// The set of known tags, numbered densely from 0. Thread safe: lookups take a
// shared lock, creation an exclusive one. Ids never change and are never
// reused, so they can index arrays elsewhere.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/sample.h"
#include "core/tag.h"

namespace tagstream {

/// A tag as an ingest request names it (views into the request).
struct TagHint {
  std::string_view name;
  std::string_view unit;
  std::string_view description;
  DataType type = DataType::number;
};

/// Why a call that needed new tags created none.
enum class TagRefusal {
  none,
  max_tags,    // the registry would hold more than set_max_tags()
  not_allowed  // the caller's CreationCheck said no
};

/// The ids of the hinted tags, or, when `refused` is set, why none of the
/// missing tags was created (and `ids` is empty).
struct [[nodiscard]] EnsuredTags {
  std::vector<TagId> ids;
  std::size_t created = 0;   // distinct tags created by this call
  std::size_t new_tags = 0;  // distinct unknown names it needed (= created unless refused)
  TagRefusal refused = TagRefusal::none;
};

class TagRegistry {
 public:
  /// Decides whether a call may create `new_tags` (at least one) tags.
  /// Runs under the registry's exclusive lock, after the total cap was
  /// checked and before anything is created, so what it grants (a per-client
  /// budget, say) is exactly what gets created. It must not call the registry.
  using CreationCheck = std::function<bool(std::size_t new_tags)>;

  /// The most tags the registry creates: a call that would go past it
  /// creates nothing. Tags already held (restored from the store) stay even
  /// when they are more. Unlimited until set.
  void set_max_tags(std::size_t max);
  std::size_t max_tags() const;

  /// Returns the id of `info.name`, creating the tag if needed; nullopt when
  /// it would be created past max_tags(). An existing tag keeps its metadata
  /// unless `update` is set.
  std::optional<TagId> upsert(const TagInfo& info, bool update = false);

  /// Returns the id of `hint.name`, creating the tag from `hint` if needed
  /// (nullopt past max_tags()). For an existing tag, a non-empty unit or
  /// description in the hint that differs from what is known replaces it (an
  /// ingest that names the unit is the best source for it); the type is only
  /// set at creation.
  std::optional<TagId> ensure(const TagInfo& hint);
  /// ensure() for each hint, in order, all or nothing: when the distinct new
  /// names would pass max_tags() or `may_create` refuses them, no tag is
  /// created (metadata of known tags is not changed either). One shared lock
  /// for all the tags already known as hinted (every line of a bulk write
  /// but the first few).
  EnsuredTags ensure_all(std::span<const TagHint> hints, const CreationCheck& may_create = {});

  /// Called with every created or changed tag, under the registry's lock,
  /// so observers see changes in the order they happened. Set before use.
  using Observer = std::function<void(TagId, const TagInfo&)>;
  void set_observer(Observer observer);

  std::optional<TagId> find(std::string_view name) const;
  std::optional<TagInfo> info(TagId id) const;
  std::string name(TagId id) const;
  std::size_t size() const;

  /// Every tag whose name matches the glob, sorted by name; at most
  /// `limit` + 1 of them, so a caller can tell "more than limit" without
  /// holding them all. The literal prefix before the first wildcard is a
  /// range of the name index: `area1.*` costs the tags under area1, not
  /// the registry; only a leading wildcard (`*i*`) scans every name.
  std::vector<TagId> match(std::string_view pattern, std::size_t limit = SIZE_MAX) const;
  /// Every tag, sorted by name.
  std::vector<TagInfo> all() const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  /// Under the exclusive lock.
  TagId ensure_locked(const TagHint& hint);
  TagId create_locked(TagInfo info);
  /// Under a shared lock of mutex_ and index_mutex_.
  void index_new_names() const;
  static bool differs(const TagInfo& known, const TagHint& hint);

  mutable std::shared_mutex mutex_;
  std::size_t max_tags_ = static_cast<std::size_t>(-1);
  std::vector<TagInfo> tags_;
  std::unordered_map<std::string, TagId, Hash, std::equal_to<>> by_name_;
  // Ids 0..sorted_.size()-1 ordered by name; ids created since (always the
  // highest, as ids are dense) are matched by a scan until enough of them
  // are merged in at once. Kept up to date by match(), under index_mutex_
  // (taken after mutex_).
  mutable std::mutex index_mutex_;
  mutable std::vector<TagId> sorted_;
  Observer observer_;
};

}  // namespace tagstream
