#pragma once
// The table of `serve` options: every option once, with its flag, variable,
// TOML key, help and the parser that checks and stores its value. The
// loaders (config.cc) and --help read it; nothing else says what an option
// is.
#include <functional>
#include <string>
#include <string_view>

#include "app/config.h"

namespace tagstream {

// What a TOML value must look like for an option; env and flag values are
// always text.
enum class Kind { string, integer, number, size, boolean };

struct Option {
  std::string_view flag;     // without the leading "--"
  std::string_view env;      // empty: no environment variable
  std::string toml;          // empty: not settable from the config file
  std::string_view metavar;  // empty for booleans
  std::string_view help;
  Kind kind;
  // Parses and validates `text` into the config; returns what is wrong, or "".
  std::function<std::string(ServerConfig&, std::string_view text)> set;
  // The current value as help shows it; "" when help describes the default.
  std::function<std::string(const ServerConfig&)> show;
};

/// Every option, in the order --help lists them.
const std::vector<Option>& options();
/// The option of a flag (without "--") or TOML key; nullptr if none.
const Option* find_flag(std::string_view name);
const Option* find_toml(std::string_view key);

/// `s` in double quotes, as messages quote what the user wrote.
std::string in_quotes(std::string_view s);
/// A --store connection string fit for logs and --help: its password, in
/// either form (postgres://user:PASSWORD@host, password=PASSWORD), masked.
std::string redact_store_url(std::string_view url);
/// A number as help and messages show it: shortest form.
std::string format_double(double v);
/// Why `id` cannot be a node id (--node-id), or "" when it can: it goes
/// into JSON and Prometheus labels as it is, so it stays short and plain.
std::string node_id_error(std::string_view id);

}  // namespace tagstream
