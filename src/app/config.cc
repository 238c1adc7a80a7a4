#include "app/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include "app/config_options.h"
#include "connect/connectors_config.h"
#include "core/edit_distance.h"

namespace tagstream {

namespace {

// " (did you mean X?)" for the closest candidate within a small typo distance.
std::string suggestion(std::string_view wrong, bool toml) {
  std::string_view best;
  std::size_t best_d = 3;
  for (const auto& o : options()) {
    const std::string_view cand = toml ? std::string_view(o.toml) : o.flag;
    if (cand.empty()) continue;
    if (auto d = edit_distance(wrong, cand); d < best_d) {
      best_d = d;
      best = cand;
    }
  }
  if (best.empty()) return {};
  return toml ? " (did you mean " + in_quotes(best) + "?)" : " (did you mean --" + std::string(best) + "?)";
}

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string_view toml_type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    default: return "a date/time";
  }
}

// The TOML value as the text env and flags would give, after checking that
// its TOML type suits the option.
std::optional<std::string> toml_text(const toml::node& n, Kind kind, std::string& error) {
  const auto* s = n.as_string();
  const auto* i = n.as_integer();
  const auto* f = n.as_floating_point();
  const auto* b = n.as_boolean();
  switch (kind) {
    case Kind::string:
      if (s) return s->get();
      error = "expected a string";
      break;
    case Kind::integer:
      if (i) return std::to_string(i->get());
      // The seed's "random" is the one string an integer option takes.
      if (s && s->get() == "random") return s->get();
      error = "expected an integer";
      break;
    case Kind::number:
      if (i) return std::to_string(i->get());
      if (f) return format_double(f->get());
      error = "expected a number";
      break;
    case Kind::size:
      if (i) return std::to_string(i->get());
      if (s) return s->get();
      error = "expected an integer or a string such as \"256k\"";
      break;
    case Kind::boolean:
      if (b) return std::string(b->get() ? "true" : "false");
      error = "expected true or false";
      break;
  }
  error += ", got " + std::string(toml_type_name(n));
  return std::nullopt;
}

std::string apply(const Option& o, ServerConfig& c, std::string_view text, std::string_view name,
                  std::string_view where = {}) {
  std::string e = o.set(c, trim(text));
  if (e.empty()) return e;
  std::string out = std::string(name) + ": " + e;
  if (!where.empty()) out += " (" + std::string(where) + ")";
  return out;
}

std::string apply_file(const std::string& path, ServerConfig& c) {
  const std::string label = "config file " + path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return label + ": is a directory";
  std::ifstream in(path, std::ios::binary);
  if (!in) return label + ": cannot open: " + std::strerror(errno);
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return label + ": cannot read: " + std::strerror(errno);
  const std::string doc = buf.str();

  toml::table table;
#if TOML_EXCEPTIONS
  try {
    table = toml::parse(doc, path);
  } catch (const toml::parse_error& err) {
    return label + ":" + std::to_string(err.source().begin.line) + ":" +
           std::to_string(err.source().begin.column) + ": " + std::string(err.description());
  }
#else
  auto parsed = toml::parse(doc, path);
  if (!parsed) {
    const auto& err = parsed.error();
    return label + ":" + std::to_string(err.source().begin.line) + ":" +
           std::to_string(err.source().begin.column) + ": " + std::string(err.description());
  }
  table = std::move(parsed).table();
#endif

  // Typos are checked before anything is applied so the first message is
  // about the key the user got wrong, not a value after it.
  for (const auto& [key, node] : table) {
    if (!find_toml(key.str()) && !is_connectors_key(key.str()))
      return label + ":" + std::to_string(key.source().begin.line) + ": unknown key " + in_quotes(key.str()) +
             suggestion(key.str(), true);
  }
  // Table order, not file order, so `port` applies after `listen`.
  for (const auto& o : options()) {
    if (o.toml.empty()) continue;
    const toml::node* node = table.get(o.toml);
    if (!node) continue;
    const std::string where = path + ":" + std::to_string(node->source().begin.line);
    std::string type_error;
    auto text = toml_text(*node, o.kind, type_error);
    if (!text) return std::string(o.toml) + ": " + type_error + " (" + where + ")";
    if (auto e = apply(o, c, *text, o.toml, where); !e.empty()) return e;
  }
  auto connectors = parse_connectors_config(table, path);
  if (!connectors) return connectors.error;
  c.connectors = std::move(*connectors);
  return {};
}

void wrap(std::string& out, std::string_view text, std::size_t indent, std::size_t width) {
  std::size_t col = indent;
  out.append(indent, ' ');
  bool first = true;
  while (!text.empty()) {
    const auto sp = text.find(' ');
    const std::string_view word = text.substr(0, sp);
    text = sp == std::string_view::npos ? std::string_view{} : text.substr(sp + 1);
    if (word.empty()) continue;
    if (!first && col + 1 + word.size() > width) {
      out += '\n';
      out.append(indent, ' ');
      col = indent;
      first = true;
    }
    if (!first) {
      out += ' ';
      ++col;
    }
    out += word;
    col += word.size();
    first = false;
  }
  out += '\n';
}

}  // namespace

std::optional<std::string> process_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

ConfigResult load_server_config(const std::vector<std::string>& args,
                                std::optional<std::string> (*env)(const char*)) {
  ConfigResult r;
  // Help wins over everything else, even mistakes elsewhere on the line: the
  // user is asking how to get it right.
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      r.show_help = true;
      return r;
    }
  }

  // Flags are collected first because the config file they may name must be
  // applied before them but after the environment.
  struct FlagValue {
    const Option* option;
    std::string value;
    std::string spelled;
  };
  std::vector<FlagValue> flags;
  std::optional<std::string> config_path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (!arg.starts_with("--") || arg.size() == 2) {
      r.error = "unexpected argument " + in_quotes(arg) + " (see --help)";
      return r;
    }
    std::string_view name = arg.substr(2);
    std::optional<std::string_view> inline_value;
    if (auto eq = name.find('='); eq != std::string_view::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const std::string spelled = "--" + std::string(name);
    const Option* o = find_flag(name);
    if (!o && name.starts_with("no-")) {
      const Option* negated = find_flag(name.substr(3));
      if (negated && negated->kind == Kind::boolean) {
        if (inline_value) {
          r.error = spelled + ": takes no value";
          return r;
        }
        flags.push_back({negated, "false", spelled});
        continue;
      }
    }
    if (!o) {
      r.error = "unknown option " + in_quotes(spelled) + suggestion(name, false) + " (see --help)";
      return r;
    }
    std::string value;
    if (inline_value) {
      value = std::string(*inline_value);
    } else if (o->kind == Kind::boolean) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      r.error = spelled + ": missing value (" + std::string(o->metavar) + ")";
      return r;
    }
    if (o->flag == "config") {
      if (value.empty()) {
        r.error = "--config: missing file name";
        return r;
      }
      config_path = value;
    } else {
      flags.push_back({o, std::move(value), spelled});
    }
  }

  for (const auto& o : options()) {
    if (o.env.empty() || o.flag == "config") continue;
    const std::string env_name(o.env);
    auto v = env(env_name.c_str());
    // Empty counts as unset: compose files and shells often export VAR= to
    // mean "not configured".
    if (!v || trim(*v).empty()) continue;
    if (auto e = apply(o, r.config, *v, o.env); !e.empty()) {
      r.error = std::move(e);
      return r;
    }
  }

  if (!config_path) {
    if (auto v = env("TAGSTREAM_CONFIG"); v && !trim(*v).empty()) config_path = std::string(trim(*v));
  }
  if (config_path) {
    if (auto e = apply_file(*config_path, r.config); !e.empty()) {
      r.error = std::move(e);
      return r;
    }
  }

  // Table order within flags too, so `--port` applies after `--listen`
  // wherever it is written; stable, so a repeated flag's last value wins.
  std::stable_sort(flags.begin(), flags.end(),
                   [](const FlagValue& a, const FlagValue& b) { return a.option < b.option; });
  for (const auto& f : flags) {
    if (auto e = apply(*f.option, r.config, f.value, f.spelled); !e.empty()) {
      r.error = std::move(e);
      return r;
    }
  }
  return r;
}

std::string server_help_text() {
  constexpr std::size_t kWidth = 80;
  std::string out =
      "Usage: tagstream serve [options]\n"
      "\n"
      "Runs the tagstream server. Each setting comes from, lowest precedence first:\n"
      "its default, an environment variable, the TOML config file, a flag. Flags\n"
      "take --name VALUE or --name=VALUE. Sizes take an optional k, M or G suffix\n"
      "(powers of 1024); durations are in seconds and may be fractional.\n"
      "\n"
      "Options:\n";
  const ServerConfig defaults;
  for (const auto& o : options()) {
    std::string head = "  --" + std::string(o.flag);
    if (o.kind == Kind::boolean) head += ", --no-" + std::string(o.flag);
    if (!o.metavar.empty()) head += " " + std::string(o.metavar);
    if (const std::string def = o.show(defaults); !def.empty()) head += "  (default: " + def + ")";
    out += head + "\n";
    wrap(out, o.help, 6, kWidth);
    std::string sources;
    if (!o.env.empty()) sources += "env: " + std::string(o.env);
    if (!o.toml.empty()) sources += (sources.empty() ? "" : "   ") + std::string("toml: ") + o.toml;
    // Short enough never to need wrapping; wrap() would squeeze the gap.
    if (!sources.empty()) out += "      " + sources + "\n";
  }
  out += "  -h, --help\n";
  wrap(out, "Show this help and exit.", 6, kWidth);
  return out;
}

}  // namespace tagstream
