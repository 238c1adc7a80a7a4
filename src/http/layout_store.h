#pragma once
// The dashboard's saved layouts: named JSON documents (which trend panels,
// which tags, which windows), one file each in a directory of the data
// directory, so an operator's screen survives a reload, a new browser and a
// server restart. Bounded in size and count: every save is checked against
// both before it touches the disk. Thread safe (one mutex: saves are rare);
// called from the reader pool, never from a network thread.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/shared_layouts.h"

namespace tagstream {
/// Layout names are 1..kMaxLayoutNameLength of [A-Za-z0-9_.-], not
/// starting with a dot: safe as file names, as URL path segments and in JSON.
inline constexpr std::size_t kMaxLayoutNameLength = 64;

[[nodiscard]] bool is_valid_layout_name(std::string_view name);

class LayoutStore {
 public:
  /// `dir` empty: nothing is kept (list() is empty, save() is unavailable).
  explicit LayoutStore(std::string dir);

  using Entry = LayoutEntry;
  using SaveResult = LayoutSaveResult;

  /// Start-up only: keep layouts there instead of in files (several nodes
  /// on one database show the same ones).
  void share(std::shared_ptr<SharedLayouts> shared) { shared_ = std::move(shared); }

  bool enabled() const { return shared_ || !dir_.empty(); }
  /// Every saved layout, by name.
  std::vector<Entry> list() const;
  std::optional<std::string> load(std::string_view name) const;
  /// Writes the layout (a new file renamed over the old one, so a crash
  /// leaves the old or the new text, never half). The caller checked the
  /// name, the size and that `json` is a JSON object.
  SaveResult save(std::string_view name, std::string_view json);
  /// False when there was no such layout.
  bool remove(std::string_view name);

 private:
  std::string path_of(std::string_view name) const;
  std::string dir_;
  std::shared_ptr<SharedLayouts> shared_;
  mutable std::mutex mutex_;
};

}  // namespace tagstream
