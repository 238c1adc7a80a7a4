#include "client/watch_format.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

namespace tagstream {
namespace {

using std::chrono::milliseconds;

TEST(SseWatchFormat, LineWithAndWithoutId) {
  SseEvent data{"data", "{\"points\":[1,\n2]}", "42", true};
  EXPECT_EQ(format_watch_line("T", data), "T data id=42 {\"points\":[1,\\n2]}");
  // The id is the stream's last id, but this event did not carry it.
  SseEvent heartbeat{"heartbeat", "{\"t\":1}", "42", false};
  EXPECT_EQ(format_watch_line("T", heartbeat), "T heartbeat {\"t\":1}");
  SseEvent reset{"message", "x", "", true};
  EXPECT_EQ(format_watch_line("T", reset), "T message x");
  SseEvent empty{"ping", "", "", false};
  EXPECT_EQ(format_watch_line("T", empty), "T ping");
  SseEvent newlines{"message", "\n\n", "", false};
  EXPECT_EQ(format_watch_line("T", newlines), "T message \\n\\n");
}

// Sets TZ for one test and puts the previous value back.
class ScopedTz {
 public:
  explicit ScopedTz(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    setenv("TZ", tz, 1);
    tzset();
  }
  ~ScopedTz() {
    if (old_) {
      setenv("TZ", old_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }

 private:
  std::optional<std::string> old_;
};

TEST(SseWatchFormat, LocalIsoTime) {
  // 2026-11-25T10:00:00.123Z
  std::chrono::system_clock::time_point t{milliseconds(1795600800123)};
  {
    ScopedTz tz("UTC0");
    EXPECT_EQ(format_local_iso_time(t), "2026-11-25T10:00:00.123+00:00");
  }
  {
    ScopedTz tz("CET-1");
    EXPECT_EQ(format_local_iso_time(t), "2026-11-25T11:00:00.123+01:00");
  }
  {
    ScopedTz tz("<-0330>3:30");
    EXPECT_EQ(format_local_iso_time(t), "2026-11-25T06:30:00.123-03:30");
  }
  {
    ScopedTz tz("UTC0");
    EXPECT_EQ(format_local_iso_time(std::chrono::system_clock::time_point{milliseconds(-1)}),
              "1969-12-31T23:59:59.999+00:00");
  }
}

}  // namespace
}  // namespace tagstream
