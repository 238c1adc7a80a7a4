#pragma once
// `tagstream watch URL`: a command-line SSE client that prints events as they
// arrive, reconnects with backoff and resumes with Last-Event-ID, and exits
// non-zero on protocol errors (it replaces the original test_sse_connection
// script). The pure pieces are declared here so they can be tested; Asio and
// Beast stay in watch.cc.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/sse_parser.h"

namespace tagstream {

// Exit codes of `tagstream watch`.
inline constexpr int kWatchExitOk = 0;             // --count reached, --timeout elapsed, SIGINT, --help
inline constexpr int kWatchExitGaveUp = 1;         // --max-reconnects exceeded
inline constexpr int kWatchExitRequestError = 2;   // bad arguments or URL, HTTP 4xx (not 429)
inline constexpr int kWatchExitProtocolError = 3;  // the server broke the SSE contract

// Entry point for the `watch` subcommand; args are argv after "watch". Returns the process exit code.
int run_watch(const std::vector<std::string>& args);

struct WatchOptions {
  std::string url;
  // Reconnections allowed in the whole run (not reset by a good connection, so
  // a script's run is bounded); unset: unlimited; 0: never reconnect.
  std::optional<std::uint64_t> max_reconnects;
  std::optional<std::uint64_t> count;  // exit 0 after this many `data` events
  std::optional<double> timeout_s;     // exit 0 after this long
  bool quiet = false;                  // print only `data` events
  bool raw = false;                    // print the body bytes as received instead of events
  bool help = false;
};

struct WatchArgsResult {
  std::optional<WatchOptions> options;
  std::string error;  // set when !options
};
[[nodiscard]] WatchArgsResult parse_watch_args(const std::vector<std::string>& args);

std::string watch_usage();

// Where to connect and what to ask for.
struct WatchUrl {
  std::string host;         // for the resolver: no brackets around an IPv6 address
  std::string port;         // "80" when the URL has none
  std::string host_header;  // as in the URL, e.g. "[::1]:8080"
  std::string target;       // path and query, percent-encoded (brackets as %5B/%5D), never empty
};

struct WatchUrlResult {
  std::optional<WatchUrl> url;
  std::string error;  // set when !url
};
// Only http:// URLs. Characters a URL may not contain raw (brackets as in
// `?tags[]=a`, spaces, a stray %) are percent-encoded first: users paste what
// browsers and curl -g accept.
[[nodiscard]] WatchUrlResult parse_watch_url(std::string_view url);

// True for "text/event-stream", in any case, with or without parameters.
bool is_event_stream_content_type(std::string_view content_type);

// "2026-11-25T11:00:00.123+01:00": local time, milliseconds, UTC offset.
std::string format_local_iso_time(std::chrono::system_clock::time_point t);

// One output line, without the newline: `<time> <type> id=<id> <data>`, where
// `id=<id>` appears only when the event carried an id of its own, and newlines
// in the data are shown as the two characters `\n`.
std::string format_watch_line(std::string_view time, const SseEvent& event);

// The wait before reconnection attempt `attempt` (1-based): the server's retry
// (at least 100 ms, so a `retry: 0` cannot make a busy loop) doubled per
// attempt, capped at 30 s, times a jitter factor of 0.8 + 0.4 * random01
// (random01 in [0, 1)), and never above the cap.
std::chrono::milliseconds reconnect_delay(std::uint64_t attempt, int retry_ms, double random01);

}  // namespace tagstream
