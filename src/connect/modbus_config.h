#pragma once
// The `[[modbus]]` tables of the config file: one Modbus TCP server each,
// with its poll groups and register map.
//
//   [[modbus]]
//   name = "plc1"
//   host = "10.0.0.5"
//   port = 502
//   unit_id = 1
//   timeout = 1.0          # response timeout, seconds
//   [[modbus.group]]
//   period = 1.0
//   [[modbus.group.tag]]
//   name = "line1.temperature"
//   area = "input"         # holding, input, coil, discrete
//   address = 100
//   type = "float32"
#include <toml++/toml.h>

#include <string>
#include <vector>

#include "base/parsed.h"
#include "connect/connector_spec.h"
#include "connect/modbus_map.h"
#include "connect/toml_fields.h"

namespace tagstream {

struct ModbusGroup {
  double period = 1.0;            // seconds
  std::vector<std::size_t> tags;  // indices into ModbusConfig::tags
};

struct ModbusConfig {
  std::string name;
  std::string host;
  int port = 502;
  int unit_id = 1;
  double timeout = 1.0;  // response timeout, seconds
  double reconnect_min = 0.5;
  double reconnect_max = 30.0;
  int max_gap = 0;  // registers (or bits) a read may span that no tag asked for
  std::vector<ModbusTag> tags;
  std::vector<ModbusGroup> groups;
};

/// One `[[modbus]]` table, checked: every tag's registers inside 0..65535,
/// writable only on holding registers and coils, unique tag names.
Parsed<ModbusConfig> parse_modbus_config(const toml::table& table, const toml_fields::TableContext& where);

/// The connector kind for connectors_config.cc.
Parsed<ConnectorSpec> parse_modbus_connector(const toml::table& table,
                                             const toml_fields::TableContext& where);

}  // namespace tagstream
