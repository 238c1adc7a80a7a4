#pragma once
// Who made a request and what they may do: the scopes their credential
// grants, each limited to tag patterns. API keys and JWTs both come down to
// one of these, so every endpoint checks one shape whatever was presented.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace tagstream {

/// read: streams, history, latest values, the tag list, stats.
/// write: samples (line protocol, JSON).
/// admin: tag metadata and server administration; implies read and write.
enum class Scope : std::uint8_t { read = 0, write, admin };
inline constexpr std::size_t kScopeCount = 3;
inline constexpr std::array<Scope, kScopeCount> kAllScopes = {Scope::read, Scope::write, Scope::admin};

std::string_view scope_name(Scope s);
[[nodiscard]] std::optional<Scope> parse_scope(std::string_view s);

struct Principal {
  std::string id;    // the API key's id or the JWT's subject: what audit logs name
  std::string kind;  // "key" or "jwt"
  // Tag patterns per scope (indexed by Scope); empty: the scope is not granted.
  std::array<std::vector<std::string>, kScopeCount> tags;
  std::optional<TimeNs> expires;  // wall clock; none: until revoked

  /// Granted for at least one tag.
  bool may(Scope s) const { return !tags[index(s)].empty(); }
  /// Granted for this tag.
  bool may(Scope s, std::string_view tag) const;
  /// Granted for every tag (a `*` pattern): callers may skip per-tag checks.
  bool may_all(Scope s) const;
  bool expired(TimeNs now) const { return expires && now >= *expires; }

  /// Adds admin's patterns to read and write (admin implies both) and drops
  /// repeats. Every loader calls it once.
  void normalize();

  static constexpr std::size_t index(Scope s) { return static_cast<std::size_t>(s); }
};

/// A scope's tag pattern: a tag name or a glob (`area1.*`, `*`). Empty when
/// valid, else what is wrong.
std::string grant_pattern_error(std::string_view pattern);

}  // namespace tagstream
