#pragma once
// What `tagstream watch` prints for an event: one line on stdout per event.
#include <chrono>
#include <string>
#include <string_view>

#include "client/sse_parser.h"

namespace tagstream {

// "2026-11-25T11:00:00.123+01:00": local time, milliseconds, UTC offset.
std::string format_local_iso_time(std::chrono::system_clock::time_point t);

// One output line, without the newline: `<time> <type> id=<id> <data>`, where
// `id=<id>` appears only when the event carried an id of its own, and newlines
// in the data are shown as the two characters `\n`.
std::string format_watch_line(std::string_view time, const SseEvent& event);

}  // namespace tagstream
