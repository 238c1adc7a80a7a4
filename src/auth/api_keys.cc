#include "auth/api_keys.h"

#include <toml++/toml.h>

#include <fstream>
#include <sstream>

#include "auth/crypto.h"
#include "core/time_parse.h"

namespace tagstream {

namespace {

std::string parse_toml(std::string_view text, std::string_view source, toml::table& out) {
#if TOML_EXCEPTIONS
  try {
    out = toml::parse(text, source);
  } catch (const toml::parse_error& err) {
    return std::string(err.description());
  }
  return {};
#else
  auto parsed = toml::parse(text, source);
  if (!parsed) return std::string(parsed.error().description());
  out = std::move(parsed).table();
  return {};
#endif
}

/// A list of tag patterns (a TOML array of strings); `*` alone may be given
/// as the string "*".
std::string read_patterns(const toml::node* node, std::vector<std::string>& out) {
  if (!node) return {};
  if (auto s = node->value<std::string>()) {
    out.push_back(*s);
  } else if (const toml::array* array = node->as_array()) {
    for (const toml::node& item : *array) {
      auto s = item.value<std::string>();
      if (!s) return "tag patterns must be strings";
      out.push_back(*s);
    }
  } else {
    return "must be a list of tag patterns";
  }
  for (const std::string& p : out)
    if (std::string e = grant_pattern_error(p); !e.empty()) return e;
  return {};
}

std::optional<TimeNs> read_expiry(const toml::node& node) {
  std::string text;
  if (auto s = node.value<std::string>()) {
    text = *s;
  } else if (const auto* dt = node.as_date_time()) {
    std::ostringstream os;
    os << dt->get();
    text = os.str();
  } else {
    return std::nullopt;
  }
  return parse_time(text, 0);
}

}  // namespace

Parsed<ApiKeySet> parse_api_keys(std::string_view toml_text, std::string_view source) {
  Parsed<ApiKeySet> out;
  toml::table table;
  if (std::string e = parse_toml(toml_text, source, table); !e.empty()) {
    out.error = std::string(source) + ": " + e;
    return out;
  }
  ApiKeySet keys;
  const toml::array* entries = table["token"].as_array();
  if (!entries && table.contains("token")) {
    out.error = std::string(source) + ": 'token' must be an array of tables ([[token]])";
    return out;
  }
  std::size_t n = 0;
  for (const toml::node& node : entries ? *entries : toml::array{}) {
    ++n;
    const std::string where = std::string(source) + ": token #" + std::to_string(n);
    const toml::table* entry = node.as_table();
    if (!entry) {
      out.error = where + " is not a table";
      return out;
    }
    Principal who;
    who.kind = "key";
    who.id = (*entry)["id"].value_or(std::string());
    if (who.id.empty() || who.id.size() > 128) {
      out.error = where + ": 'id' must be a string of 1 to 128 characters";
      return out;
    }
    const std::string hash = (*entry)["hash"].value_or(std::string());
    if (!hash.starts_with("sha256:") || hash.size() != 7 + 64 ||
        hash.find_first_not_of("0123456789abcdef", 7) != std::string::npos) {
      out.error =
          where + " (" + who.id +
          "): 'hash' must be \"sha256:\" and 64 lower-case hex digits (tagstream token new writes it)";
      return out;
    }
    for (Scope s : kAllScopes) {
      if (std::string e = read_patterns(entry->get(scope_name(s)), who.tags[Principal::index(s)]);
          !e.empty()) {
        out.error = where + " (" + who.id + "): '" + std::string(scope_name(s)) + "' " + e;
        return out;
      }
    }
    if (const toml::node* expires = entry->get("expires")) {
      who.expires = read_expiry(*expires);
      if (!who.expires) {
        out.error = where + " (" + who.id + "): 'expires' must be a date and time (2027-06-30T00:00:00Z)";
        return out;
      }
    }
    for (const auto& [key, value] : *entry) {
      const std::string_view k = key.str();
      if (k != "id" && k != "hash" && k != "expires" && !parse_scope(k)) {
        out.error = where + " (" + who.id + "): unknown key '" + std::string(k) +
                    "' (expected id, hash, read, write, admin, expires)";
        return out;
      }
    }
    who.normalize();
    if (!keys.by_hash.emplace(hash, std::move(who)).second) {
      out.error = where + ": the same key hash appears twice";
      return out;
    }
  }
  out.value = std::move(keys);
  return out;
}

Parsed<ApiKeySet> load_api_keys(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Parsed<ApiKeySet> out;
    out.error = "cannot read token file " + path;
    return out;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_api_keys(text.str(), path);
}

std::string hash_api_key(std::string_view key) {
  return "sha256:" + sha256_hex(key);
}

std::string generate_api_key() {
  return "tsk_" + base64url(random_bytes(32));
}

std::string api_key_entry(const Principal& who, const std::string& hash) {
  auto list = [](const std::vector<std::string>& patterns) {
    std::string out = "[";
    for (std::size_t i = 0; i < patterns.size(); ++i) out += (i ? ", \"" : "\"") + patterns[i] + "\"";
    return out + "]";
  };
  std::string out = "\n[[token]]\nid = \"" + who.id + "\"\nhash = \"" + hash + "\"\n";
  for (Scope s : kAllScopes)
    if (!who.tags[Principal::index(s)].empty())
      out += std::string(scope_name(s)) + " = " + list(who.tags[Principal::index(s)]) + "\n";
  if (who.expires) out += "expires = \"" + format_iso8601(*who.expires) + "\"\n";
  return out;
}

}  // namespace tagstream
