#include "connect/connectors_config.h"

#include <algorithm>
#include <set>

#include "connect/modbus_config.h"
#include "connect/mqtt_config.h"
#include "connect/toml_fields.h"

namespace tagstream {

namespace {

Parsed<DeadbandRule> parse_deadband(const toml::table& t, const toml_fields::TableContext& context) {
  namespace f = toml_fields;
  std::string error;
  f::reject_unknown(t, {"tags", "absolute", "percent", "span", "max_silent"}, context, error);
  DeadbandRule rule;
  if (auto v = f::text(t, "tags", context, error)) rule.pattern = *v;
  if (auto v = f::number(t, "absolute", context, error)) rule.absolute = *v;
  if (auto v = f::number(t, "percent", context, error)) rule.percent = *v;
  if (auto v = f::number(t, "span", context, error)) rule.span = *v;
  if (auto v = f::seconds(t, "max_silent", 0, 366.0 * 86400, context, error))
    rule.max_silent = static_cast<TimeNs>(*v * 1e9);
  if (!error.empty()) return {.value = std::nullopt, .error = error};
  if (auto e = deadband_rule_error(rule); !e.empty())
    return {.value = std::nullopt,
            .error =
                context.file + ":" + std::to_string(t.source().begin.line) + ": " + context.table + ": " + e};
  return {.value = rule, .error = {}};
}

}  // namespace

const std::vector<ConnectorKind>& connector_kinds() {
  static const std::vector<ConnectorKind> kinds = {
      {"modbus", &parse_modbus_connector},
      {"mqtt", &parse_mqtt_connector},
  };
  return kinds;
}

bool is_connectors_key(std::string_view key) {
  if (key == "deadband") return true;
  const auto& kinds = connector_kinds();
  return std::any_of(kinds.begin(), kinds.end(), [&](const ConnectorKind& k) { return k.key == key; });
}

Parsed<ConnectorsConfig> parse_connectors_config(const toml::table& root, const std::string& path) {
  ConnectorsConfig out;
  std::set<std::string> names;
  auto fail = [](std::string e) {
    return Parsed<ConnectorsConfig>{.value = std::nullopt, .error = std::move(e)};
  };
  auto tables = [&](std::string_view key, auto&& each) -> std::string {
    const toml::node* node = root.get(key);
    if (!node) return {};
    const auto* array = node->as_array();
    if (!array || !array->is_array_of_tables())
      return path + ":" + std::to_string(node->source().begin.line) + ": " + std::string(key) +
             ": must be an array of tables ([[" + std::string(key) + "]])";
    std::size_t i = 0;
    for (const auto& element : *array) {
      const toml_fields::TableContext context{path, std::string(key) + "[" + std::to_string(i++) + "]"};
      if (auto e = each(*element.as_table(), context); !e.empty()) return e;
    }
    return {};
  };

  for (const auto& kind : connector_kinds()) {
    auto e =
        tables(kind.key, [&](const toml::table& t, const toml_fields::TableContext& context) -> std::string {
          auto spec = kind.parse(t, context);
          if (!spec) return spec.error;
          if (!names.insert(spec->name).second)
            return toml_fields::where(t, "name", context) + "\"" + spec->name +
                   "\" names another connector already";
          out.connectors.push_back(std::move(*spec));
          return {};
        });
    if (!e.empty()) return fail(e);
  }
  auto e =
      tables("deadband", [&](const toml::table& t, const toml_fields::TableContext& context) -> std::string {
        auto rule = parse_deadband(t, context);
        if (!rule) return rule.error;
        out.deadbands.push_back(std::move(*rule));
        return {};
      });
  if (!e.empty()) return fail(e);
  return {.value = std::move(out), .error = {}};
}

}  // namespace tagstream
