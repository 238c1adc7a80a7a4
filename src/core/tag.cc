#include "core/tag.h"

#include "core/json_text.h"

namespace tagstream {

std::string_view to_string(DataType t) {
  switch (t) {
    case DataType::number: return "number";
    case DataType::integer: return "integer";
    case DataType::boolean: return "boolean";
  }
  return "number";
}

std::optional<DataType> parse_data_type(std::string_view s) {
  if (s == "number" || s == "float" || s == "double") return DataType::number;
  if (s == "integer" || s == "int") return DataType::integer;
  if (s == "boolean" || s == "bool") return DataType::boolean;
  return std::nullopt;
}

namespace {
bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == ':' || c == '.';
}

bool check_name(std::string_view s, bool allow_glob) {
  if (s.empty() || s.size() > kMaxTagNameLength) return false;
  if (s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char c : s) {
    const bool glob = allow_glob && (c == '*' || c == '?');
    if (!glob && !is_name_char(c)) return false;
    if (c == '.' && prev == '.') return false;
    prev = c;
  }
  return true;
}
}  // namespace

namespace {
std::string metadata_error(const std::string& what, std::string_view text, std::size_t max) {
  if (text.size() > max)
    return what + " is " + std::to_string(text.size()) + " bytes long, at most " + std::to_string(max) +
           " allowed";
  if (!is_valid_utf8(text)) return what + " is not valid UTF-8";
  return {};
}
}  // namespace

std::string unit_error(std::string_view unit) {
  return metadata_error("unit", unit, kMaxUnitLength);
}

std::string description_error(std::string_view description) {
  return metadata_error("description", description, kMaxDescriptionLength);
}

std::string tag_name_rule() {
  return "1-" + std::to_string(kMaxTagNameLength) +
         " characters of A-Z a-z 0-9 _ - : and dots, no empty dotted segment";
}

bool is_valid_tag_name(std::string_view name) {
  return check_name(name, false);
}

bool is_tag_pattern(std::string_view s) {
  return check_name(s, true) && s.find_first_of("*?") != std::string_view::npos;
}

bool glob_match(std::string_view pattern, std::string_view name) {
  std::size_t steps = 0;
  return glob_match(pattern, name, steps);
}

bool glob_match(std::string_view p, std::string_view n, std::size_t& steps) {
  // Iterative matcher with single-star backtracking: only the last star is
  // retried, so the work is at most |p| * |n| steps, linear in practice and
  // never exponential.
  std::size_t pi = 0, ni = 0, star = std::string_view::npos, mark = 0;
  while (ni < n.size()) {
    ++steps;
    if (pi < p.size() && (p[pi] == '?' || p[pi] == n[ni])) {
      ++pi;
      ++ni;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ni;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ni = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') {
    ++steps;
    ++pi;
  }
  return pi == p.size();
}

}  // namespace tagstream
