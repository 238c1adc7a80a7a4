#pragma once
// Test support: an in-process server on a loopback port and blocking clients
// that speak raw HTTP over real sockets.
#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "app/app.h"
#include "app/config.h"
#include "client/sse_parser.h"
#include "ingest/gzip.h"

namespace tagstream::test {

using namespace std::chrono_literals;

/// A fresh directory, removed when the test process exits.
std::string make_temp_dir();

/// Polls `done` until it holds, for at most `timeout`; returns whether it
/// held. For conditions nothing signals (counters, a store's queue).
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 20s);

/// Defaults for tests: loopback port 0, no simulator, a fresh data
/// directory.
ServerConfig test_config();

/// An App on 127.0.0.1:<free port>, started in the constructor and stopped
/// in the destructor.
class TestServer {
 public:
  explicit TestServer(ServerConfig config = test_config());
  ~TestServer();

  unsigned short port() const { return app_->port(); }
  App& app() { return *app_; }

  /// Creates a tag (if new) and returns its id.
  TagId tag(const std::string& name, const std::string& unit = "");
  /// Ingests one sample as an HTTP write would: live state, then the store
  /// (without waiting for the commit).
  void push(const std::string& name, double value, TimeNs ts, Quality q = Quality::good);
  void push_many(const std::vector<std::pair<std::string, double>>& values, TimeNs ts);
  /// Waits until every hub shard has taken in what this thread pushed.
  void wait_for_hub();

  void stop();

 private:
  std::unique_ptr<App> app_;
  bool stopped_ = false;
};

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& lower_name) const;
};

/// A plain GET (Connection: close) with the given extra header lines.
HttpReply http_get(unsigned short port, const std::string& target, const std::vector<std::string>& extra = {},
                   const std::string& source = "");
/// A request with a body (Connection: close), POST unless told otherwise.
HttpReply http_post(unsigned short port, const std::string& target, const std::string& body,
                    const std::vector<std::string>& extra = {}, const std::string& method = "POST");
/// The raw history of one tag, (t in ms, v) per point, as the server at
/// `port` answers /api/data/history over [from, to) (any time the API
/// takes); expects a 200.
std::vector<std::pair<std::int64_t, double>> raw_history(unsigned short port, const std::string& tag,
                                                         const std::string& from = "2000-01-01T00:00:00Z",
                                                         const std::string& to = "2100-01-01T00:00:00Z");
/// Sends `raw` bytes as the request and reads the reply to EOF.
HttpReply http_raw(unsigned short port, const std::string& raw, const std::string& source = "");

/// A raw-socket SSE client: sends the request itself, parses the response
/// head by hand and the body with the WHATWG parser; keeps every raw byte.
class SseClient {
 public:
  /// Connects and sends a GET for `target`. `receive_buffer` > 0 shrinks
  /// SO_RCVBUF (for clients meant to fall behind).
  /// `source` picks the local loopback address (127.0.0.x) the client
  /// connects from, so tests can be several client addresses.
  SseClient(unsigned short port, const std::string& target, const std::vector<std::string>& extra = {},
            int receive_buffer = 0, const std::string& source = "");
  ~SseClient();

  /// Reads the status line and headers.
  bool read_head(std::chrono::milliseconds timeout = 5s);
  int status() const { return status_; }
  std::string header(const std::string& lower_name) const;

  /// The next event, or nullopt on timeout / EOF.
  std::optional<SseEvent> next(std::chrono::milliseconds timeout = 5s);
  /// The next event of `type`, skipping others (heartbeats, say).
  std::optional<SseEvent> next_of(const std::string& type, std::chrono::milliseconds timeout = 5s);
  /// True once the server closed the connection.
  bool wait_closed(std::chrono::milliseconds timeout = 5s);

  /// Stops keeping received bytes and consumed events (for long floods
  /// whose memory is being measured).
  void forget_history() { retain_ = false; }

  const std::string& raw() const { return raw_; }
  /// The body as the SSE parser saw it: decoded when the answer was gzip.
  const std::string& body_bytes() const { return body_; }
  /// Body bytes as they came off the socket (compressed, if gzip).
  std::size_t wire_body_bytes() const { return wire_body_; }
  /// A gzip body: whether its end (trailer checked) arrived, and whether
  /// the bytes failed to decode.
  bool gzip_complete() const { return gzip_end_; }
  bool gzip_failed() const { return gzip_error_; }
  std::optional<int> retry_ms() const { return parser_.retry_ms(); }
  int fd() const { return fd_; }
  void close();

 private:
  /// Reads what is available within the timeout; false on EOF / timeout.
  bool fill(std::chrono::steady_clock::time_point deadline);
  /// Decodes (if gzip) and parses body bytes as received.
  void take_body(std::string_view wire);

  int fd_ = -1;
  bool eof_ = false;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
  std::string raw_;   // everything received
  std::string body_;  // after the head
  bool head_done_ = false;
  SseParser parser_;
  std::vector<SseEvent> events_;
  std::size_t next_event_ = 0;
  bool retain_ = true;
  std::shared_ptr<GzipStreamInflater> inflater_;  // for gzip bodies
  std::size_t wire_body_ = 0;
  bool gzip_end_ = false;
  bool gzip_error_ = false;
};

/// Parses a `data` event's JSON points as (tag, t, v or last) tuples.
struct Point {
  std::string tag;
  std::int64_t t = 0;
  double value = 0;  // v for raw, last for aggregates
  std::uint64_t count = 0;
  std::string quality;
};
std::vector<Point> points_of(const SseEvent& event);

/// The real binary, spawned with stdout and stderr on pipes; killed on
/// destruction if still running.
struct Child {
  pid_t pid = -1;
  int out_fd = -1;
  int err_fd = -1;
  std::string out;
  std::string err;

  explicit Child(const std::vector<std::string>& args);
  ~Child();
  /// Reads output until `pattern` matches stderr (or stdout), or timeout.
  /// Returns the match and its groups, copied.
  std::optional<std::vector<std::string>> wait_for(const std::regex& pattern,
                                                   std::chrono::milliseconds timeout, bool on_stdout = false);
  /// Waits for exit; returns the exit status, 128+signal, or -1 on timeout.
  int wait_exit(std::chrono::milliseconds timeout);

 private:
  void pump(int wait_ms);
};

/// Whether malloc is replaced by a sanitizer's (mallinfo2 then sees nothing).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

/// Bytes of this process's heap in use (every malloc arena, and large blocks
/// mapped on their own), less SQLite's (its page caches fill up to their
/// configured size as the database grows, whatever the streams do). Unlike
/// the resident set size it does not move with how malloc keeps freed
/// memory, so a growth bound on it holds.
std::size_t heap_in_use_bytes();

}  // namespace tagstream::test
