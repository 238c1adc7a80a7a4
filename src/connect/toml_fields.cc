#include "connect/toml_fields.h"

#include <algorithm>
#include <cmath>

#include "core/edit_distance.h"

namespace tagstream::toml_fields {

namespace {

std::string line_of(const toml::node& n) {
  const auto line = n.source().begin.line;
  return line ? std::to_string(line) : std::string("?");
}

}  // namespace

std::string where(const toml::table& table, std::string_view key, const TableContext& context) {
  const toml::node* node = table.get(key);
  return context.file + ":" + line_of(node ? *node : static_cast<const toml::node&>(table)) + ": " +
         context.table + "." + std::string(key) + ": ";
}

std::optional<std::string> text(const toml::table& t, std::string_view key, const TableContext& context,
                                std::string& error) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  if (const auto* s = n->as_string()) return s->get();
  if (error.empty()) error = where(t, key, context) + "must be a string";
  return std::nullopt;
}

std::optional<std::int64_t> integer(const toml::table& t, std::string_view key, std::int64_t min,
                                    std::int64_t max, const TableContext& context, std::string& error) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  const auto* i = n->as_integer();
  if (!i) {
    if (error.empty()) error = where(t, key, context) + "must be an integer";
    return std::nullopt;
  }
  if (i->get() < min || i->get() > max) {
    if (error.empty())
      error = where(t, key, context) + "must be from " + std::to_string(min) + " to " + std::to_string(max);
    return std::nullopt;
  }
  return i->get();
}

std::optional<double> number(const toml::table& t, std::string_view key, const TableContext& context,
                             std::string& error) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  double v;
  if (const auto* i = n->as_integer()) {
    v = static_cast<double>(i->get());
  } else if (const auto* f = n->as_floating_point()) {
    v = f->get();
  } else {
    if (error.empty()) error = where(t, key, context) + "must be a number";
    return std::nullopt;
  }
  if (!std::isfinite(v)) {
    if (error.empty()) error = where(t, key, context) + "must be finite";
    return std::nullopt;
  }
  return v;
}

std::optional<bool> boolean(const toml::table& t, std::string_view key, const TableContext& context,
                            std::string& error) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  if (const auto* b = n->as_boolean()) return b->get();
  if (error.empty()) error = where(t, key, context) + "must be true or false";
  return std::nullopt;
}

std::optional<double> seconds(const toml::table& t, std::string_view key, double min, double max,
                              const TableContext& context, std::string& error) {
  std::string local;
  auto v = number(t, key, context, local);
  if (!local.empty()) {
    if (error.empty()) error = where(t, key, context) + "must be a number of seconds";
    return std::nullopt;
  }
  if (v && (*v < min || *v > max)) {
    if (error.empty())
      error = where(t, key, context) + "must be from " + std::to_string(min) + " to " + std::to_string(max) +
              " seconds";
    return std::nullopt;
  }
  return v;
}

std::optional<std::vector<std::string>> texts(const toml::table& t, std::string_view key,
                                              const TableContext& context, std::string& error) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  const auto* a = n->as_array();
  std::vector<std::string> out;
  if (a) {
    for (const auto& e : *a) {
      const auto* s = e.as_string();
      if (!s) {
        a = nullptr;
        break;
      }
      out.push_back(s->get());
    }
  }
  if (!a) {
    if (error.empty()) error = where(t, key, context) + "must be an array of strings";
    return std::nullopt;
  }
  return out;
}

void reject_unknown(const toml::table& t, const std::vector<std::string_view>& known,
                    const TableContext& context, std::string& error) {
  if (!error.empty()) return;
  for (const auto& [key, node] : t) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
    std::string_view best;
    std::size_t best_d = 3;
    for (auto k : known) {
      if (auto d = edit_distance(key.str(), k); d < best_d) {
        best_d = d;
        best = k;
      }
    }
    error = where(t, key.str(), context) + "unknown field";
    if (!best.empty()) error += " (did you mean \"" + std::string(best) + "\"?)";
    return;
  }
}

}  // namespace tagstream::toml_fields
