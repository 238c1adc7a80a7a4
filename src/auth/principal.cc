#include "auth/principal.h"

#include <algorithm>

#include "core/tag.h"

namespace tagstream {

std::string_view scope_name(Scope s) {
  switch (s) {
    case Scope::read: return "read";
    case Scope::write: return "write";
    case Scope::admin: return "admin";
  }
  return "?";
}

std::optional<Scope> parse_scope(std::string_view s) {
  for (Scope scope : kAllScopes)
    if (scope_name(scope) == s) return scope;
  return std::nullopt;
}

bool Principal::may(Scope s, std::string_view tag) const {
  for (const std::string& pattern : tags[index(s)])
    if (pattern == "*" || pattern == tag || glob_match(pattern, tag)) return true;
  return false;
}

bool Principal::may_all(Scope s) const {
  const auto& patterns = tags[index(s)];
  return std::find(patterns.begin(), patterns.end(), "*") != patterns.end();
}

void Principal::normalize() {
  const auto& admin = tags[index(Scope::admin)];
  for (Scope s : {Scope::read, Scope::write}) {
    auto& patterns = tags[index(s)];
    patterns.insert(patterns.end(), admin.begin(), admin.end());
  }
  for (auto& patterns : tags) {
    std::sort(patterns.begin(), patterns.end());
    patterns.erase(std::unique(patterns.begin(), patterns.end()), patterns.end());
    // `*` covers the rest: keep the per-tag check to one comparison.
    if (std::find(patterns.begin(), patterns.end(), "*") != patterns.end()) patterns = {"*"};
  }
}

std::string grant_pattern_error(std::string_view pattern) {
  if (is_valid_tag_name(pattern) || is_tag_pattern(pattern)) return {};
  return "'" + std::string(pattern.substr(0, 64)) + "' is neither a tag name nor a tag pattern (" +
         tag_name_rule() + "; '*' and '?' as wildcards)";
}

}  // namespace tagstream
