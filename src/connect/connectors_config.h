#pragma once
// Reads the connector sections of the server's TOML file: `[[mqtt]]`,
// `[[modbus]]` (one table per broker or server) and `[[deadband]]`. The app's
// config loader hands these keys here and keeps the rest.
#include <toml++/toml.h>

#include <string>
#include <string_view>

#include "base/parsed.h"
#include "connect/connector_spec.h"
#include "connect/toml_fields.h"

namespace tagstream {

/// Whether `key` at the root of the config file is a connector section.
bool is_connectors_key(std::string_view key);

/// Parses every connector section of `root`. `path` names the file in
/// messages ("FILE:LINE: mqtt[0].port: ...").
Parsed<ConnectorsConfig> parse_connectors_config(const toml::table& root, const std::string& path);

/// One kind of connector: its root key and the parser of one of its tables.
struct ConnectorKind {
  std::string_view key;
  Parsed<ConnectorSpec> (*parse)(const toml::table& table, const toml_fields::TableContext& where);
};
/// The kinds this build knows, one line each in connectors_config.cc.
const std::vector<ConnectorKind>& connector_kinds();

}  // namespace tagstream
