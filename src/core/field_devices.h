#pragma once
// The plant's devices as the HTTP layer sees them (issue 16): the status of
// each connector (MQTT broker, Modbus server) for /api/stats, /metrics and
// /healthz, and operator writes of a setpoint to the device a tag comes
// from. The connect layer implements it; http and app only use this
// interface, so the HTTP layer never depends on libmosquitto or libmodbus.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace tagstream {

/// One connector's health, as an operator reads it on the status page.
struct ConnectorStatus {
  std::string name;      // as configured, unique among connectors
  std::string kind;      // "mqtt", "modbus"
  std::string endpoint;  // host:port, never a password
  bool connected = false;
  std::string state;               // "connected", "connecting", "backoff", "stopped"
  TimeNs last_message = 0;         // wall clock of the last message or poll answer; 0: none yet
  std::uint64_t messages = 0;      // received since start (MQTT messages, Modbus poll answers)
  double messages_per_second = 0;  // over the last few seconds
  std::uint64_t samples = 0;       // samples handed to ingest
  std::uint64_t errors = 0;        // decode errors, timeouts, exceptions, lost connections
  std::string last_error;          // empty: none
  std::uint64_t reconnects = 0;
};

/// The range an operator may write to a tag; unset bounds are open.
struct SetpointLimits {
  std::optional<double> min;
  std::optional<double> max;
};

/// A tag that accepts operator writes, and where they go.
struct WritableTag {
  std::string connector;  // the connector's name
  SetpointLimits limits;
  bool boolean = false;  // a coil or a Boolean metric: only 0 and 1 are accepted
};

struct SetpointWrite {
  std::string tag;
  double value = 0;
  std::string who;  // the credential's id, for the connector's own log
};

enum class SetpointOutcome {
  accepted,      // the device took the value (readback, if any, says what it holds now)
  refused,       // the device answered no (Modbus exception, Sparkplug/MQTT error)
  timeout,       // the device did not answer in time: the value may or may not be applied
  unavailable,   // the connector is not connected: nothing was sent
  not_writable,  // no writable source for this tag: nothing was sent
  out_of_range,  // outside the tag's limits, or not 0/1 for a boolean: nothing was sent
};

std::string_view to_string(SetpointOutcome outcome);

struct SetpointResult {
  SetpointOutcome outcome = SetpointOutcome::not_writable;
  std::string message;             // for the operator: what the device or the check said
  std::optional<double> readback;  // the value read back from the device after the write
};

class FieldDevices {
 public:
  using WriteDone = std::function<void(SetpointResult)>;

  virtual ~FieldDevices() = default;
  /// Every configured connector, in configuration order. Thread safe.
  virtual std::vector<ConnectorStatus> status() const = 0;
  /// Where writes to `tag` go, or nothing when no connector accepts them.
  virtual std::optional<WritableTag> writable(std::string_view tag) const = 0;
  /// Checks the tag is writable and the value within its limits, then
  /// writes it to the device. `done` is called exactly once, on a thread of
  /// the connector's (or at once, on the caller's, when nothing was sent).
  virtual void write(SetpointWrite request, WriteDone done) = 0;
};

}  // namespace tagstream
