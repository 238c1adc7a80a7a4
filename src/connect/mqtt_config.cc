#include "connect/mqtt_config.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "connect/mqtt_connector.h"

namespace tagstream {

namespace {

namespace f = toml_fields;

std::optional<MqttFormat> parse_format(std::string_view s) {
  if (s == "number") return MqttFormat::number;
  if (s == "json") return MqttFormat::json;
  if (s == "sparkplug") return MqttFormat::sparkplug;
  return std::nullopt;
}

void read_json_fields(const toml::table& t, const f::TableContext& c, mqtt::JsonFields& json,
                      std::string& error) {
  if (auto v = f::text(t, "value_field", c, error)) json.value = *v;
  if (auto v = f::text(t, "ts_field", c, error)) json.ts = *v;
  if (auto v = f::text(t, "quality_field", c, error)) json.quality = *v;
  if (auto v = f::text(t, "ts_unit", c, error)) {
    if (auto unit = mqtt::parse_epoch_unit(*v)) {
      json.ts_unit = *unit;
    } else if (error.empty()) {
      error = f::where(t, "ts_unit", c) + "must be \"s\", \"ms\", \"us\" or \"ns\"";
    }
  }
}

void read_limits(const toml::table& t, const f::TableContext& c, SetpointLimits& limits, std::string& error) {
  if (auto v = f::number(t, "min", c, error)) limits.min = *v;
  if (auto v = f::number(t, "max", c, error)) limits.max = *v;
  if (error.empty() && limits.min && limits.max && *limits.min > *limits.max)
    error = f::where(t, "min", c) + "must not be above max";
}

/// Calls `each` for every table of the array `key` of `t` (absent: none).
template <class Each>
void for_tables(const toml::table& t, std::string_view key, const f::TableContext& c, std::string& error,
                Each&& each) {
  if (!error.empty()) return;
  const toml::node* node = t.get(key);
  if (!node) return;
  const auto* array = node->as_array();
  if (!array || !array->is_array_of_tables()) {
    error = f::where(t, key, c) + "must be an array of tables ([[" + c.table.substr(0, c.table.find('[')) +
            "." + std::string(key) + "]])";
    return;
  }
  std::size_t i = 0;
  for (const auto& element : *array) {
    const f::TableContext sub{c.file, c.table + "." + std::string(key) + "[" + std::to_string(i++) + "]"};
    each(*element.as_table(), sub);
    if (!error.empty()) return;
  }
}

void parse_subscription(const toml::table& t, const f::TableContext& c, MqttConfig& config,
                        std::string& error) {
  f::reject_unknown(t,
                    {"topic", "tag", "format", "unit", "value_field", "ts_field", "quality_field", "ts_unit",
                     "tag_prefix", "writable", "min", "max"},
                    c, error);
  MqttSubscription sub;
  auto topic = f::text(t, "topic", c, error);
  auto format_text = f::text(t, "format", c, error);
  auto tag = f::text(t, "tag", c, error);
  if (auto v = f::text(t, "unit", c, error)) sub.unit = *v;
  read_json_fields(t, c, sub.json, error);
  if (auto v = f::text(t, "tag_prefix", c, error)) sub.tag_prefix = *v;
  if (auto v = f::texts(t, "writable", c, error)) sub.writable = *v;
  read_limits(t, c, sub.limits, error);
  if (!error.empty()) return;

  if (format_text) {
    auto format = parse_format(*format_text);
    if (!format) {
      error = f::where(t, "format", c) + "must be \"number\", \"json\" or \"sparkplug\"";
      return;
    }
    sub.format = *format;
  }
  if (!topic) {
    if (sub.format != MqttFormat::sparkplug) {
      error = f::where(t, "topic", c) + "is required";
      return;
    }
    topic = "spBv1.0/#";
  }
  if (auto e = mqtt::topic_filter_error(*topic); !e.empty()) {
    error = f::where(t, "topic", c) + "\"" + topic->substr(0, 80) + "\" " + e;
    return;
  }
  sub.topic = *topic;
  if (auto e = unit_error(sub.unit); !e.empty()) {
    error = f::where(t, "unit", c) + e;
    return;
  }
  if (sub.format == MqttFormat::sparkplug) {
    if (tag) {
      error =
          f::where(t, "tag", c) + "a sparkplug subscription names its tags from the metrics (use tag_prefix)";
      return;
    }
    if (!sub.tag_prefix.empty() && !is_valid_tag_name(sub.tag_prefix + "x")) {
      error = f::where(t, "tag_prefix", c) + "\"" + sub.tag_prefix +
              "\" cannot start a tag name: " + tag_name_rule();
      return;
    }
    for (const auto& p : sub.writable) {
      if (!is_tag_pattern(p)) {
        error = f::where(t, "writable", c) + "\"" + p + "\" is not a tag pattern";
        return;
      }
    }
  } else {
    if (!sub.writable.empty() || sub.limits.min || sub.limits.max) {
      error = f::where(t, "writable", c) + "writes to plain topics are [[mqtt.command]] entries";
      return;
    }
    if (!tag) {
      error = f::where(t, "tag", c) + "is required (a template such as \"{1}.temperature\")";
      return;
    }
    auto parsed = mqtt::TagTemplate::parse(*tag, mqtt::wildcard_count(*topic));
    if (!parsed) {
      error = f::where(t, "tag", c) + "\"" + tag->substr(0, 80) + "\": " + parsed.error;
      return;
    }
    sub.tag = std::move(*parsed);
  }
  config.subscriptions.push_back(std::move(sub));
}

void parse_command(const toml::table& t, const f::TableContext& c, MqttConfig& config, std::string& error) {
  f::reject_unknown(t,
                    {"tag", "topic", "format", "value_field", "ts_field", "quality_field", "ts_unit", "min",
                     "max", "boolean", "qos", "retain"},
                    c, error);
  MqttCommand cmd;
  auto tag = f::text(t, "tag", c, error);
  auto topic = f::text(t, "topic", c, error);
  auto format_text = f::text(t, "format", c, error);
  read_json_fields(t, c, cmd.json, error);
  read_limits(t, c, cmd.limits, error);
  if (auto v = f::boolean(t, "boolean", c, error)) cmd.boolean = *v;
  if (auto v = f::integer(t, "qos", 0, 2, c, error)) cmd.qos = static_cast<int>(*v);
  if (auto v = f::boolean(t, "retain", c, error)) cmd.retain = *v;
  if (!error.empty()) return;
  if (!tag || !is_valid_tag_name(*tag)) {
    error =
        f::where(t, "tag", c) + (tag ? "\"" + tag->substr(0, 80) + "\" is not a tag name: " + tag_name_rule()
                                     : std::string("is required"));
    return;
  }
  if (!topic) {
    error = f::where(t, "topic", c) + "is required";
    return;
  }
  if (auto e = mqtt::topic_filter_error(*topic); !e.empty() || mqtt::wildcard_count(*topic) > 0) {
    error = f::where(t, "topic", c) + "\"" + topic->substr(0, 80) + "\" " +
            (e.empty() ? std::string("must not contain wildcards") : e);
    return;
  }
  if (format_text) {
    auto format = parse_format(*format_text);
    if (!format || *format == MqttFormat::sparkplug) {
      error = f::where(t, "format", c) +
              "must be \"number\" or \"json\" (Sparkplug writes are the subscription's writable list)";
      return;
    }
    cmd.format = *format;
  }
  for (const auto& other : config.commands) {
    if (other.tag == *tag) {
      error = f::where(t, "tag", c) + "\"" + *tag + "\" has a command already";
      return;
    }
  }
  cmd.tag = *tag;
  cmd.topic = *topic;
  config.commands.push_back(std::move(cmd));
}

}  // namespace

Parsed<MqttConfig> parse_mqtt_config(const toml::table& t, const f::TableContext& c) {
  std::string error;
  f::reject_unknown(t,
                    {"name", "host", "port", "tls", "username", "password", "password_file", "client_id",
                     "clean_session", "qos", "keepalive", "reconnect_min", "reconnect_max", "max_payload",
                     "max_metrics", "command_timeout", "subscription", "command"},
                    c, error);
  MqttConfig config;
  auto name = f::text(t, "name", c, error);
  if (auto v = f::text(t, "host", c, error)) config.host = *v;
  if (auto v = f::integer(t, "port", 1, 65535, c, error)) config.port = static_cast<int>(*v);
  if (auto v = f::text(t, "username", c, error)) config.username = *v;
  auto password = f::text(t, "password", c, error);
  auto password_file = f::text(t, "password_file", c, error);
  if (auto v = f::text(t, "client_id", c, error)) config.client_id = *v;
  if (auto v = f::boolean(t, "clean_session", c, error)) config.clean_session = *v;
  if (auto v = f::integer(t, "qos", 0, 2, c, error)) config.qos = static_cast<int>(*v);
  if (auto v = f::integer(t, "keepalive", 5, 65535, c, error)) config.keepalive = static_cast<int>(*v);
  if (auto v = f::seconds(t, "reconnect_min", 0.01, 3600, c, error)) config.reconnect_min = *v;
  if (auto v = f::seconds(t, "reconnect_max", 0.01, 3600, c, error)) config.reconnect_max = *v;
  if (auto v = f::integer(t, "max_payload", 16, 256 * 1024 * 1024, c, error))
    config.max_payload = static_cast<std::size_t>(*v);
  if (auto v = f::integer(t, "max_metrics", 1, 1'000'000, c, error))
    config.max_metrics = static_cast<std::size_t>(*v);
  if (auto v = f::seconds(t, "command_timeout", 0.01, 3600, c, error)) config.command_timeout = *v;
  if (const toml::node* tls = t.get("tls"); tls && error.empty()) {
    const auto* table = tls->as_table();
    if (!table) {
      error = f::where(t, "tls", c) + "must be a table ([mqtt.tls])";
    } else {
      const f::TableContext tc{c.file, c.table + ".tls"};
      f::reject_unknown(*table, {"ca_file", "cert_file", "key_file", "insecure"}, tc, error);
      MqttTls out;
      if (auto v = f::text(*table, "ca_file", tc, error)) out.ca_file = *v;
      if (auto v = f::text(*table, "cert_file", tc, error)) out.cert_file = *v;
      if (auto v = f::text(*table, "key_file", tc, error)) out.key_file = *v;
      if (auto v = f::boolean(*table, "insecure", tc, error)) out.insecure = *v;
      if (error.empty() && out.cert_file.empty() != out.key_file.empty())
        error = f::where(*table, "cert_file", tc) + "cert_file and key_file go together";
      const std::pair<std::string_view, const std::string*> files[] = {
          {"ca_file", &out.ca_file}, {"cert_file", &out.cert_file}, {"key_file", &out.key_file}};
      for (const auto& [key, file] : files) {
        if (error.empty() && !file->empty() && !std::ifstream(*file))
          error = f::where(*table, key, tc) + "cannot read " + *file;
      }
      config.tls = out;
    }
  }
  for_tables(t, "subscription", c, error, [&](const toml::table& sub, const f::TableContext& sc) {
    parse_subscription(sub, sc, config, error);
  });
  for_tables(t, "command", c, error, [&](const toml::table& cmd, const f::TableContext& cc) {
    parse_command(cmd, cc, config, error);
  });
  if (!error.empty()) return {.value = std::nullopt, .error = error};

  auto fail = [&](std::string_view key, std::string message) {
    return Parsed<MqttConfig>{.value = std::nullopt, .error = f::where(t, key, c) + message};
  };
  if (!name || name->empty()) return fail("name", "is required");
  config.name = *name;
  if (config.host.empty()) return fail("host", "must not be empty");
  if (password && password_file) return fail("password_file", "give password or password_file, not both");
  if (password) config.password = *password;
  if (password_file) {
    std::ifstream in(*password_file);
    if (!in) return fail("password_file", "cannot read " + *password_file);
    std::ostringstream text;
    text << in.rdbuf();
    config.password = text.str();
    while (!config.password.empty() && (config.password.back() == '\n' || config.password.back() == '\r'))
      config.password.pop_back();
  }
  if (!config.password.empty() && config.username.empty())
    return fail("username", "is required with a password");
  if (!config.clean_session && config.client_id.empty())
    return fail("client_id", "is required when clean_session = false (the broker keeps the session by it)");
  if (config.client_id.size() > 65535) return fail("client_id", "is too long");
  if (config.reconnect_min > config.reconnect_max)
    return fail("reconnect_min", "must not be above reconnect_max");
  if (std::count_if(config.subscriptions.begin(), config.subscriptions.end(),
                    [](const MqttSubscription& s) { return s.format == MqttFormat::sparkplug; }) > 1)
    return fail("subscription", "one sparkplug subscription per broker (narrow or widen its topic instead)");
  if (config.subscriptions.empty() && config.commands.empty())
    return fail("subscription", "a broker needs at least one [[mqtt.subscription]] or [[mqtt.command]]");
  return {.value = std::move(config), .error = {}};
}

Parsed<ConnectorSpec> parse_mqtt_connector(const toml::table& table, const f::TableContext& where) {
  auto config = parse_mqtt_config(table, where);
  if (!config) return {.value = std::nullopt, .error = config.error};
  ConnectorSpec spec;
  spec.kind = "mqtt";
  spec.name = config->name;
  spec.make = [c = std::move(*config)](const ConnectorContext& context) -> std::unique_ptr<Connector> {
    return std::make_unique<MqttConnector>(c, context);
  };
  return {.value = std::move(spec), .error = {}};
}

}  // namespace tagstream
