#pragma once
// Every configured connector, started and stopped together, and the one
// FieldDevices the HTTP layer talks to: it routes an operator write to the
// connector that owns the tag after checking the tag's limits, so no
// connector can forget to.
#include <memory>
#include <vector>

#include "connect/connector.h"
#include "connect/connector_spec.h"

namespace tagstream {

class ConnectorSet final : public FieldDevices {
 public:
  ConnectorSet(const std::vector<ConnectorSpec>& specs, const ConnectorContext& context);
  ~ConnectorSet() override;

  void start();
  void stop();  // idempotent
  bool empty() const { return connectors_.empty(); }
  Connector* find(std::string_view name) const;

  std::vector<ConnectorStatus> status() const override;
  std::optional<WritableTag> writable(std::string_view tag) const override;
  void write(SetpointWrite request, WriteDone done) override;

 private:
  std::vector<std::unique_ptr<Connector>> connectors_;
};

/// Why `value` may not be written to `tag`, or nothing when it may: outside
/// the limits, not finite, or not 0/1 for a boolean.
std::optional<std::string> setpoint_range_error(const WritableTag& tag, double value);

}  // namespace tagstream
