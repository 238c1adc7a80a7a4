#pragma once
// A source of samples from the plant (an MQTT broker, a Modbus server) and,
// where its device allows, the way back for operator writes. Each connector
// runs its own threads; the ConnectorSet owns them all and is what the rest
// of the server sees (core/field_devices.h).
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/field_devices.h"
#include "core/sample.h"
#include "core/tag_registry.h"

namespace tagstream {

/// What a connector may use of the server. Outlives every connector.
struct ConnectorContext {
  TagRegistry* registry = nullptr;
  /// Hands samples to the ingest path (deadbands, live state, store), in
  /// order per tag. Thread safe. False: the store's queue is full and
  /// nothing was taken (the connector counts an error and, where its
  /// protocol allows, does not acknowledge).
  using Deliver = std::function<bool(std::vector<TaggedSample>)>;
  Deliver ingest;
  /// Samples for history only (Sparkplug's is_historical): stored, never
  /// sent to a stream as a live value.
  Deliver ingest_history;
};

class Connector {
 public:
  virtual ~Connector() = default;
  virtual const std::string& name() const = 0;
  /// Starts connecting in the background; never blocks on the network.
  virtual void start() = 0;
  /// Disconnects and joins the connector's threads. Idempotent.
  virtual void stop() = 0;
  /// Thread safe.
  virtual ConnectorStatus status() const = 0;
  /// Whether this connector writes `tag` to its device, and the limits its
  /// configuration gives. Thread safe.
  virtual std::optional<WritableTag> writable(std::string_view tag) const = 0;
  /// Called only for a tag writable() accepted, with a value within its
  /// limits (ConnectorSet checks them). `done` exactly once.
  virtual void write(SetpointWrite request, FieldDevices::WriteDone done) = 0;
};

}  // namespace tagstream
