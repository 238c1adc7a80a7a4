#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <string>

#include "core/time.h"

namespace tagstream {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::debug: return "DEBUG";
    case LogLevel::info: return "INFO";
    case LogLevel::warn: return "WARN";
    case LogLevel::error: return "ERROR";
  }
  return "INFO";
}
}  // namespace

void set_log_level(LogLevel level) {
  g_level.store(static_cast<int>(level));
}

std::optional<LogLevel> parse_log_level(std::string_view s) {
  if (s == "debug") return LogLevel::debug;
  if (s == "info") return LogLevel::info;
  if (s == "warn") return LogLevel::warn;
  if (s == "error") return LogLevel::error;
  return std::nullopt;
}

bool log_enabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void log_line(LogLevel level, std::string_view message) {
  std::string line = format_iso8601(now_ns());
  line += ' ';
  line += level_name(level);
  line += ' ';
  line += message;
  line += '\n';
  // One fwrite per line: stdio locks the stream, so lines from threads never interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace tagstream
