#pragma once
// The `[[mqtt]]` tables of the config file: one broker each, with its
// `[[mqtt.subscription]]` and `[[mqtt.command]]` entries, checked at load so
// a broker that is up never meets a configuration error.
#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/parsed.h"
#include "connect/connector_spec.h"
#include "connect/mqtt_payload.h"
#include "connect/mqtt_topic.h"
#include "connect/toml_fields.h"
#include "core/field_devices.h"

namespace tagstream {

enum class MqttFormat { number, json, sparkplug };

struct MqttSubscription {
  std::string topic;                     // filter
  std::optional<mqtt::TagTemplate> tag;  // number and json
  MqttFormat format = MqttFormat::number;
  mqtt::JsonFields json;
  std::string unit;
  // sparkplug
  std::string tag_prefix;
  std::vector<std::string> writable;  // tag patterns operators may write
  SetpointLimits limits;
};

struct MqttCommand {
  std::string tag;
  std::string topic;
  MqttFormat format = MqttFormat::number;  // number or json
  mqtt::JsonFields json;
  SetpointLimits limits;
  bool boolean = false;
  int qos = 1;
  bool retain = false;
};

struct MqttTls {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool insecure = false;  // skip the broker's host name check
};

struct MqttConfig {
  std::string name;
  std::string host = "127.0.0.1";
  int port = 1883;
  std::optional<MqttTls> tls;
  std::string username;
  std::string password;
  std::string client_id;  // empty: the broker picks one (clean sessions only)
  bool clean_session = true;
  int qos = 1;                 // of the subscriptions
  int keepalive = 30;          // seconds
  double reconnect_min = 0.5;  // seconds
  double reconnect_max = 30;
  std::size_t max_payload = 64 * 1024;
  std::size_t max_metrics = 1000;  // per Sparkplug payload
  double command_timeout = 5;      // seconds a write waits for the broker's PUBACK
  std::vector<MqttSubscription> subscriptions;
  std::vector<MqttCommand> commands;
};

Parsed<MqttConfig> parse_mqtt_config(const toml::table& table, const toml_fields::TableContext& where);

/// The `[[mqtt]]` entry of connector_kinds().
Parsed<ConnectorSpec> parse_mqtt_connector(const toml::table& table, const toml_fields::TableContext& where);

}  // namespace tagstream
