#include "connect/modbus_config.h"

#include <memory>
#include <set>

#include "connect/modbus_connector.h"

namespace tagstream {

namespace {

namespace f = toml_fields;

/// The tables of `key` in `t` ([[x.key]] or key = [{...}, ...]), or an error.
std::vector<const toml::table*> tables_of(const toml::table& t, std::string_view key,
                                          const f::TableContext& context, std::string& error) {
  std::vector<const toml::table*> out;
  const toml::node* node = t.get(key);
  if (!node || !error.empty()) return out;
  const auto* array = node->as_array();
  if (!array || !array->is_array_of_tables()) {
    error = f::where(t, key, context) + "must be an array of tables";
    return out;
  }
  for (const auto& e : *array) out.push_back(e.as_table());
  return out;
}

/// A unit (slave) id as Modbus TCP addresses it: 0 to 247, or 255 ("the
/// server itself", for devices that ignore the unit id).
std::optional<int> unit_id(const toml::table& t, const f::TableContext& context, std::string& error) {
  std::string local;
  auto v = f::integer(t, "unit_id", 0, 255, context, local);
  if (local.empty() && (!v || *v <= 247 || *v == 255))
    return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
  if (error.empty())
    error = local.find("must be an integer") != std::string::npos
                ? local
                : f::where(t, "unit_id", context) + "must be from 0 to 247, or 255";
  return std::nullopt;
}

std::string line_error(const toml::table& t, const f::TableContext& context, const std::string& message) {
  return context.file + ":" + std::to_string(t.source().begin.line) + ": " + context.table + ": " + message;
}

void parse_tag(const toml::table& t, const f::TableContext& context, int default_unit, ModbusTag& tag,
               std::string& error) {
  f::reject_unknown(t,
                    {"name", "area", "address", "type", "word_order", "byte_order", "scale", "offset", "unit",
                     "description", "unit_id", "writable", "min", "max"},
                    context, error);
  if (auto v = f::text(t, "name", context, error)) tag.name = *v;
  if (error.empty() && !is_valid_tag_name(tag.name))
    error = f::where(t, "name", context) + (t.get("name") ? "\"" + tag.name + "\" is not a tag name: " : "") +
            tag_name_rule();
  if (auto v = f::text(t, "area", context, error)) {
    if (auto a = parse_modbus_area(*v))
      tag.area = *a;
    else if (error.empty())
      error = f::where(t, "area", context) + "must be holding, input, coil or discrete";
  }
  tag.type = is_bit_area(tag.area) ? ModbusType::boolean : ModbusType::uint16;
  if (auto v = f::text(t, "type", context, error)) {
    auto type = parse_modbus_type(*v);
    if (!type) {
      if (error.empty())
        error =
            f::where(t, "type", context) + "must be int16, uint16, int32, uint32, float32, float64 or bool";
    } else if (is_bit_area(tag.area) != (*type == ModbusType::boolean)) {
      if (error.empty())
        error = f::where(t, "type", context) +
                (is_bit_area(tag.area) ? "coils and discrete inputs are bool"
                                       : "registers hold int16, uint16, int32, uint32, float32 or float64");
    } else {
      tag.type = *type;
    }
  }
  if (auto v = f::integer(t, "address", 0, 65535, context, error)) {
    tag.address = static_cast<int>(*v);
  } else if (error.empty()) {
    error = f::where(t, "address", context) + "is required (0 to 65535)";
  }
  if (error.empty() && tag.address + modbus_width(tag.type) > 65536)
    error = f::where(t, "address", context) + "a " + std::string(to_string(tag.type)) +
            " spans past register 65535";
  for (auto [key, order] :
       {std::pair{"word_order", &tag.word_order}, std::pair{"byte_order", &tag.byte_order}}) {
    if (auto v = f::text(t, key, context, error)) {
      if (auto o = parse_modbus_order(*v))
        *order = *o;
      else if (error.empty())
        error = f::where(t, key, context) + "must be big or little";
    }
  }
  if (auto v = f::number(t, "scale", context, error)) {
    if (*v == 0 && error.empty()) error = f::where(t, "scale", context) + "must not be 0";
    tag.scale = *v;
  }
  if (auto v = f::number(t, "offset", context, error)) tag.offset = *v;
  if (is_bit_area(tag.area) &&
      (t.get("scale") || t.get("offset") || t.get("word_order") || t.get("byte_order")) && error.empty())
    error = line_error(t, context,
                       "scale, offset and orders apply to registers, not to coils or discrete inputs");
  if (auto v = f::text(t, "unit", context, error)) {
    tag.unit = *v;
    if (auto e = unit_error(tag.unit); !e.empty() && error.empty()) error = f::where(t, "unit", context) + e;
  }
  if (auto v = f::text(t, "description", context, error)) {
    tag.description = *v;
    if (auto e = description_error(tag.description); !e.empty() && error.empty())
      error = f::where(t, "description", context) + e;
  }
  tag.unit_id = default_unit;
  if (auto v = unit_id(t, context, error)) tag.unit_id = *v;
  if (auto v = f::boolean(t, "writable", context, error)) tag.writable = *v;
  tag.min = f::number(t, "min", context, error);
  tag.max = f::number(t, "max", context, error);
  if (!error.empty()) return;
  if (tag.writable && tag.area != ModbusArea::holding && tag.area != ModbusArea::coil)
    error = f::where(t, "writable", context) + "only holding registers and coils can be written";
  else if ((tag.min || tag.max) && !tag.writable)
    error = f::where(t, tag.min ? "min" : "max", context) + "limits apply to writable tags (writable = true)";
  else if (tag.min && tag.max && *tag.min > *tag.max)
    error = f::where(t, "min", context) + "must not be above max";
}

}  // namespace

Parsed<ModbusConfig> parse_modbus_config(const toml::table& t, const f::TableContext& context) {
  std::string error;
  ModbusConfig c;
  f::reject_unknown(
      t, {"name", "host", "port", "unit_id", "timeout", "reconnect_min", "reconnect_max", "max_gap", "group"},
      context, error);
  if (auto v = f::text(t, "name", context, error)) c.name = *v;
  if (error.empty() && (c.name.empty() || c.name.size() > 100))
    error = f::where(t, "name", context) + "is required (1 to 100 characters)";
  if (auto v = f::text(t, "host", context, error)) c.host = *v;
  if (error.empty() && (c.host.empty() || c.host.size() > 253))
    error = f::where(t, "host", context) + "is required (an address or a host name)";
  if (auto v = f::integer(t, "port", 1, 65535, context, error)) c.port = static_cast<int>(*v);
  if (auto v = unit_id(t, context, error)) c.unit_id = *v;
  if (auto v = f::seconds(t, "timeout", 0.001, 60, context, error)) c.timeout = *v;
  if (auto v = f::seconds(t, "reconnect_min", 0.001, 3600, context, error)) c.reconnect_min = *v;
  if (auto v = f::seconds(t, "reconnect_max", 0.001, 3600, context, error)) c.reconnect_max = *v;
  if (error.empty() && c.reconnect_max < c.reconnect_min)
    error = f::where(t, "reconnect_max", context) + "must not be below reconnect_min";
  if (auto v = f::integer(t, "max_gap", 0, kMaxReadRegisters, context, error))
    c.max_gap = static_cast<int>(*v);

  const auto groups = tables_of(t, "group", context, error);
  if (error.empty() && groups.empty())
    error = line_error(t, context, "needs at least one poll group ([[modbus.group]] with its tags)");
  if (error.empty() && groups.size() > kMaxModbusGroups)
    error = f::where(t, "group", context) + "at most " + std::to_string(kMaxModbusGroups) + " groups";
  std::set<std::string> names;
  for (std::size_t g = 0; g < groups.size() && error.empty(); ++g) {
    const auto& gt = *groups[g];
    const f::TableContext group_context{context.file, context.table + ".group[" + std::to_string(g) + "]"};
    f::reject_unknown(gt, {"period", "tag", "tags"}, group_context, error);
    ModbusGroup group;
    if (auto v = f::seconds(gt, "period", 0.001, 86400, group_context, error)) group.period = *v;
    auto tag_tables = tables_of(gt, "tag", group_context, error);
    auto more = tables_of(gt, "tags", group_context, error);
    tag_tables.insert(tag_tables.end(), more.begin(), more.end());
    if (error.empty() && tag_tables.empty())
      error = line_error(gt, group_context, "needs at least one tag ([[modbus.group.tag]] or tags = [...])");
    for (std::size_t i = 0; i < tag_tables.size() && error.empty(); ++i) {
      if (c.tags.size() >= kMaxModbusTags) {
        error = line_error(gt, group_context,
                           "a connector maps at most " + std::to_string(kMaxModbusTags) + " tags");
        break;
      }
      const f::TableContext tag_context{group_context.file,
                                        group_context.table + ".tag[" + std::to_string(i) + "]"};
      ModbusTag tag;
      parse_tag(*tag_tables[i], tag_context, c.unit_id, tag, error);
      if (error.empty() && !names.insert(tag.name).second)
        error = f::where(*tag_tables[i], "name", tag_context) + "\"" + tag.name + "\" is mapped twice";
      if (!error.empty()) break;
      group.tags.push_back(c.tags.size());
      c.tags.push_back(std::move(tag));
    }
    c.groups.push_back(std::move(group));
  }
  if (!error.empty()) return {.value = std::nullopt, .error = error};
  return {.value = std::move(c), .error = {}};
}

Parsed<ConnectorSpec> parse_modbus_connector(const toml::table& t, const f::TableContext& context) {
  auto config = parse_modbus_config(t, context);
  if (!config) return {.value = std::nullopt, .error = config.error};
  auto shared = std::make_shared<const ModbusConfig>(std::move(*config));
  ConnectorSpec spec{.kind = "modbus", .name = shared->name, .make = [shared](const ConnectorContext& c) {
                       return std::unique_ptr<Connector>(std::make_unique<ModbusConnector>(*shared, c));
                     }};
  return {.value = std::move(spec), .error = {}};
}

}  // namespace tagstream
