#pragma once
// The connectors a configuration file describes, parsed and checked, ready
// to be built once the server has a registry and an ingest path.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "connect/connector.h"
#include "ingest/deadband.h"

namespace tagstream {

struct ConnectorSpec {
  std::string kind;  // the config table it came from: "mqtt", "modbus"
  std::string name;  // unique among connectors
  std::function<std::unique_ptr<Connector>(const ConnectorContext&)> make;
};

struct ConnectorsConfig {
  std::vector<ConnectorSpec> connectors;
  std::vector<DeadbandRule> deadbands;  // first match wins
};

}  // namespace tagstream
