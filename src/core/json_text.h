#pragma once
// Writing JSON text: the appenders that hot paths (SSE frames, point lists)
// use to build JSON without a DOM, and a serializer for Boost.JSON values
// built with them in mind.
#include <cstdint>
#include <string>
#include <string_view>

namespace boost::json {
class value;
}

namespace tagstream {

/// Appends a JSON string literal, escaped.
void append_json_string(std::string& out, std::string_view s);
/// Appends a JSON number: shortest round-trip form; non-finite as null.
void append_json_number(std::string& out, double v);
void append_json_integer(std::string& out, std::int64_t v);

/// True when `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing past U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view s);

/// Serializes like boost::json::serialize, but writes doubles in their
/// shortest plain form (0.1, 30) instead of Boost.JSON's 1E-1 / 3E1, which
/// is valid JSON but reads badly in curl and logs.
std::string json_text(const boost::json::value& v);

}  // namespace tagstream
