#pragma once
// `tagstream watch URL`: a command-line SSE client that prints events as they
// arrive, reconnects with backoff and resumes with Last-Event-ID, and exits
// non-zero on protocol errors (it replaces the original test_sse_connection
// script). Its command line is parsed in watch_args.h and its output lines
// made in watch_format.h; the reconnecting loop (Asio and Beast) lives in
// watch.cc, and the pure decisions it takes are declared here so they can be
// tested.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tagstream {

// Exit codes of `tagstream watch`.
inline constexpr int kWatchExitOk = 0;             // --count reached, --timeout elapsed, SIGINT, --help
inline constexpr int kWatchExitGaveUp = 1;         // --max-reconnects exceeded
inline constexpr int kWatchExitRequestError = 2;   // bad arguments or URL, HTTP 4xx (not 429)
inline constexpr int kWatchExitProtocolError = 3;  // the server broke the SSE contract

// Entry point for the `watch` subcommand; args are argv after "watch". Returns the process exit code.
int run_watch(const std::vector<std::string>& args);

// True for "text/event-stream", in any case, with or without parameters.
[[nodiscard]] bool is_event_stream_content_type(std::string_view content_type);

// The wait before reconnection attempt `attempt` (1-based): the server's retry
// (at least 100 ms, so a `retry: 0` cannot make a busy loop) doubled per
// attempt, capped at 30 s, times a jitter factor of 0.8 + 0.4 * random01
// (random01 in [0, 1)), and never above the cap.
std::chrono::milliseconds reconnect_delay(std::uint64_t attempt, int retry_ms, double random01);

}  // namespace tagstream
