#pragma once
// Minimal leveled logging to stderr, one line per call, safe from any thread.
// Lines look like: 2026-11-25T10:00:00.123Z INFO SSE stream opened ...
#include <fmt/format.h>

#include <optional>
#include <string_view>

namespace tagstream {

enum class LogLevel { debug = 0, info, warn, error };

void set_log_level(LogLevel level);
/// "debug", "info", "warn" or "error"; anything else is empty.
[[nodiscard]] std::optional<LogLevel> parse_log_level(std::string_view s);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view message);

template <typename... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (log_enabled(level)) log_line(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace tagstream
