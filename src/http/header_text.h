#pragma once
// Small text rules of HTTP header values, in one place for every module
// that reads headers (credentials, proxies, origins, Last-Event-ID).
#include <cctype>
#include <string_view>

namespace tagstream {

/// Without the optional whitespace (spaces and tabs, RFC 9110 "OWS") around it.
inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// ASCII case-insensitive equality: header names, schemes, tokens.
inline bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace tagstream
