#pragma once
// Typed, checked reads of a connector table's fields. Every getter names the
// field and its line in its message, refuses a value of the wrong type, and
// leaves `error` untouched on success, so a parser reads its fields one after
// another and checks `error` once.
#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tagstream::toml_fields {

/// Where a table is, for messages: its file and its name ("mqtt[0]").
struct TableContext {
  std::string file;
  std::string table;
};

/// "FILE:LINE: TABLE.FIELD: " for messages about `key` of `table`.
std::string where(const toml::table& table, std::string_view key, const TableContext& context);

std::optional<std::string> text(const toml::table& t, std::string_view key, const TableContext& context,
                                std::string& error);
std::optional<std::int64_t> integer(const toml::table& t, std::string_view key, std::int64_t min,
                                    std::int64_t max, const TableContext& context, std::string& error);
/// An integer or a float.
std::optional<double> number(const toml::table& t, std::string_view key, const TableContext& context,
                             std::string& error);
std::optional<bool> boolean(const toml::table& t, std::string_view key, const TableContext& context,
                            std::string& error);
/// Seconds as a number (0.5 = 500 ms), within [min, max].
std::optional<double> seconds(const toml::table& t, std::string_view key, double min, double max,
                              const TableContext& context, std::string& error);
/// An array of strings.
std::optional<std::vector<std::string>> texts(const toml::table& t, std::string_view key,
                                              const TableContext& context, std::string& error);

/// "unknown field" for any key of `t` not in `known`, with a suggestion.
void reject_unknown(const toml::table& t, const std::vector<std::string_view>& known,
                    const TableContext& context, std::string& error);

}  // namespace tagstream::toml_fields
