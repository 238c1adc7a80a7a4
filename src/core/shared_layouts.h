#pragma once
// The dashboard's saved layouts, kept where every node of a cluster reads
// the same ones: the shared database (store/pg_layouts.h). A single node
// keeps them as files in its data directory (http/layout_store.h), which
// hands every call to a SharedLayouts when one is set.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tagstream {

/// A layout's JSON text is at most this long: a hundred panels of a few
/// dozen tags each fit.
inline constexpr std::size_t kMaxLayoutBytes = 64 * 1024;
/// Layouts a server (or a cluster) keeps.
inline constexpr std::size_t kMaxLayouts = 100;

struct LayoutEntry {
  std::string name;
  std::size_t bytes = 0;
  std::int64_t modified_ms = 0;  // epoch milliseconds
};

enum class LayoutSaveResult { created, replaced, too_many, unavailable, failed };

/// Thread safe. Names and sizes are checked by the caller.
class SharedLayouts {
 public:
  virtual ~SharedLayouts() = default;
  /// By name (byte order).
  virtual std::vector<LayoutEntry> list() const = 0;
  virtual std::optional<std::string> load(std::string_view name) const = 0;
  /// Refuses a new name past kMaxLayouts (too_many).
  virtual LayoutSaveResult save(std::string_view name, std::string_view json) = 0;
  /// False when there was no such layout.
  virtual bool remove(std::string_view name) = 0;
};

}  // namespace tagstream
