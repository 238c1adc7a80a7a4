#include "core/tag_registry.h"

#include <algorithm>
#include <mutex>
#include <unordered_set>

namespace tagstream {

void TagRegistry::set_max_tags(std::size_t max) {
  std::unique_lock lock(mutex_);
  max_tags_ = max;
}

std::size_t TagRegistry::max_tags() const {
  std::shared_lock lock(mutex_);
  return max_tags_;
}

std::optional<TagId> TagRegistry::upsert(const TagInfo& info, bool update) {
  {
    std::shared_lock lock(mutex_);
    auto it = by_name_.find(info.name);
    if (it != by_name_.end() && !update) return it->second;
  }
  std::unique_lock lock(mutex_);
  auto it = by_name_.find(info.name);
  if (it != by_name_.end()) {
    if (update) {
      tags_[it->second] = info;
      if (observer_) observer_(it->second, info);
    }
    return it->second;
  }
  if (tags_.size() >= max_tags_) return std::nullopt;
  return create_locked(info);
}

TagId TagRegistry::create_locked(TagInfo info) {
  const auto id = static_cast<TagId>(tags_.size());
  by_name_.emplace(info.name, id);
  tags_.push_back(std::move(info));
  if (observer_) observer_(id, tags_.back());
  return id;
}

bool TagRegistry::differs(const TagInfo& known, const TagHint& hint) {
  return (!hint.unit.empty() && hint.unit != known.unit) ||
         (!hint.description.empty() && hint.description != known.description);
}

std::optional<TagId> TagRegistry::ensure(const TagInfo& hint) {
  EnsuredTags r =
      ensure_all(std::span<const TagHint>({TagHint{hint.name, hint.unit, hint.description, hint.type}}));
  if (r.refused != TagRefusal::none) return std::nullopt;
  return r.ids[0];
}

EnsuredTags TagRegistry::ensure_all(std::span<const TagHint> hints, const CreationCheck& may_create) {
  constexpr TagId kUnresolved = ~TagId{0};
  EnsuredTags out;
  out.ids.assign(hints.size(), kUnresolved);
  bool unresolved = false;
  {
    std::shared_lock lock(mutex_);
    for (std::size_t i = 0; i < hints.size(); ++i) {
      auto it = by_name_.find(hints[i].name);
      if (it != by_name_.end() && !differs(tags_[it->second], hints[i]))
        out.ids[i] = it->second;
      else
        unresolved = true;
    }
  }
  if (!unresolved) return out;
  std::unique_lock lock(mutex_);
  // Every limit is checked against the distinct new names before the first
  // is created: a refused request leaves no tag behind.
  std::unordered_set<std::string_view> fresh;
  for (std::size_t i = 0; i < hints.size(); ++i)
    if (out.ids[i] == kUnresolved && !by_name_.contains(hints[i].name)) fresh.insert(hints[i].name);
  out.new_tags = fresh.size();
  if (!fresh.empty()) {
    if (fresh.size() > max_tags_ || tags_.size() > max_tags_ - fresh.size())
      out.refused = TagRefusal::max_tags;
    else if (may_create && !may_create(fresh.size()))
      out.refused = TagRefusal::not_allowed;
    if (out.refused != TagRefusal::none) {
      out.ids.clear();
      return out;
    }
  }
  const std::size_t before = tags_.size();
  for (std::size_t i = 0; i < hints.size(); ++i)
    if (out.ids[i] == kUnresolved) out.ids[i] = ensure_locked(hints[i]);
  out.created = tags_.size() - before;
  return out;
}

TagId TagRegistry::ensure_locked(const TagHint& hint) {
  auto it = by_name_.find(hint.name);
  if (it == by_name_.end())
    return create_locked(
        TagInfo{std::string(hint.name), std::string(hint.unit), std::string(hint.description), hint.type});
  TagInfo& known = tags_[it->second];
  if (differs(known, hint)) {
    if (!hint.unit.empty()) known.unit = hint.unit;
    if (!hint.description.empty()) known.description = hint.description;
    if (observer_) observer_(it->second, known);
  }
  return it->second;
}

void TagRegistry::set_observer(Observer observer) {
  std::unique_lock lock(mutex_);
  observer_ = std::move(observer);
}

std::optional<TagId> TagRegistry::find(std::string_view name) const {
  std::shared_lock lock(mutex_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<TagInfo> TagRegistry::info(TagId id) const {
  std::shared_lock lock(mutex_);
  if (id >= tags_.size()) return std::nullopt;
  return tags_[id];
}

std::string TagRegistry::name(TagId id) const {
  std::shared_lock lock(mutex_);
  return id < tags_.size() ? tags_[id].name : std::string();
}

std::size_t TagRegistry::size() const {
  std::shared_lock lock(mutex_);
  return tags_.size();
}

namespace {
// Names created since the index was last brought up to date are scanned
// until this many wait: a scan of them stays around a millisecond.
constexpr std::size_t kUnindexedNames = 16 * 1024;
}  // namespace

void TagRegistry::index_new_names() const {
  const std::size_t indexed = sorted_.size();
  if (tags_.size() - indexed < kUnindexedNames) return;
  const auto by_name = [this](TagId a, TagId b) { return tags_[a].name < tags_[b].name; };
  for (std::size_t id = indexed; id < tags_.size(); ++id) sorted_.push_back(static_cast<TagId>(id));
  const auto middle = sorted_.begin() + static_cast<std::ptrdiff_t>(indexed);
  std::sort(middle, sorted_.end(), by_name);
  std::inplace_merge(sorted_.begin(), middle, sorted_.end(), by_name);
}

std::vector<TagId> TagRegistry::match(std::string_view pattern, std::size_t limit) const {
  const std::string_view prefix = pattern.substr(0, pattern.find_first_of("*?"));
  const std::size_t most = limit == SIZE_MAX ? limit : limit + 1;
  const auto by_name = [this](TagId a, TagId b) { return tags_[a].name < tags_[b].name; };
  std::vector<TagId> out;
  std::shared_lock lock(mutex_);
  if (prefix.empty()) {
    // Every name is a candidate: read them in id order, the order they lie
    // in memory (the index's order would jump around it).
    for (std::size_t id = 0; id < tags_.size() && out.size() < most; ++id)
      if (glob_match(pattern, tags_[id].name)) out.push_back(static_cast<TagId>(id));
    std::sort(out.begin(), out.end(), by_name);
    return out;
  }
  // Brought up to date here, not when tags are created: creating a tag (on
  // an ingest request's thread) stays a hash insert, and the merge runs
  // where patterns are resolved, off the network threads.
  std::lock_guard index_lock(index_mutex_);
  index_new_names();
  auto it = std::lower_bound(sorted_.begin(), sorted_.end(), prefix,
                             [this](TagId id, std::string_view p) { return tags_[id].name < p; });
  for (; it != sorted_.end() && out.size() < most; ++it) {
    const std::string& name = tags_[*it].name;
    if (!name.starts_with(prefix)) break;
    if (glob_match(pattern, name)) out.push_back(*it);
  }
  const auto indexed_end = static_cast<std::ptrdiff_t>(out.size());
  for (std::size_t id = sorted_.size(); id < tags_.size() && out.size() < most; ++id)
    if (tags_[id].name.starts_with(prefix) && glob_match(pattern, tags_[id].name))
      out.push_back(static_cast<TagId>(id));
  std::sort(out.begin() + indexed_end, out.end(), by_name);
  std::inplace_merge(out.begin(), out.begin() + indexed_end, out.end(), by_name);
  return out;
}

std::vector<TagInfo> TagRegistry::all() const {
  std::vector<TagInfo> out;
  {
    std::shared_lock lock(mutex_);
    out = tags_;
  }
  std::sort(out.begin(), out.end(), [](const TagInfo& a, const TagInfo& b) { return a.name < b.name; });
  return out;
}

}  // namespace tagstream
