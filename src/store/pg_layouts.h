#pragma once
// The dashboard's layouts in the shared PostgreSQL database (a table of
// their own beside the historian's), so every node of a cluster, or every
// server on one database, shows the ones an operator saved on any of them.
#include <memory>
#include <mutex>
#include <string>

#include "core/shared_layouts.h"

namespace tagstream {

namespace pg {
class Connection;
}

class PgLayouts final : public SharedLayouts {
 public:
  /// Connects and creates the table if needed. Throws std::runtime_error
  /// when the database cannot be reached.
  explicit PgLayouts(std::string conninfo);
  ~PgLayouts() override;

  std::vector<LayoutEntry> list() const override;
  std::optional<std::string> load(std::string_view name) const override;
  LayoutSaveResult save(std::string_view name, std::string_view json) override;
  bool remove(std::string_view name) override;

 private:
  /// The connection, opened again when it was lost. Under mutex_.
  pg::Connection& db() const;

  const std::string conninfo_;
  mutable std::mutex mutex_;  // saves and reads are rare: one connection, one at a time
  mutable std::unique_ptr<pg::Connection> db_;
};

}  // namespace tagstream
