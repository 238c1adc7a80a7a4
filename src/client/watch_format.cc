#include "client/watch_format.h"

#include <cstdio>
#include <ctime>

namespace tagstream {

std::string format_local_iso_time(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  std::tm local{};
  localtime_r(&seconds, &local);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &local);
  char zone[8];
  std::strftime(zone, sizeof zone, "%z", &local);  // "+0100": ISO 8601 extended wants "+01:00"
  std::string_view z = zone;
  char out[64];
  if (z.size() == 5) {
    std::snprintf(out, sizeof out, "%s.%03d%.3s:%.2s", date, millis, zone, zone + 3);
  } else {
    std::snprintf(out, sizeof out, "%s.%03d", date, millis);
  }
  return out;
}

std::string format_watch_line(std::string_view time, const SseEvent& event) {
  std::string line;
  line.reserve(time.size() + event.type.size() + event.data.size() + 32);
  line.append(time);
  line.push_back(' ');
  line.append(event.type);
  if (event.has_id_field && !event.id.empty()) {
    line.append(" id=");
    line.append(event.id);
  }
  if (!event.data.empty()) {
    line.push_back(' ');
    for (char c : event.data) {
      if (c == '\n') {
        line.append("\\n");
      } else {
        line.push_back(c);
      }
    }
  }
  return line;
}

}  // namespace tagstream
