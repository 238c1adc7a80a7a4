#include "client/watch.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <exception>
#include <random>

#include "client/sse_parser.h"
#include "client/watch_args.h"
#include "client/watch_format.h"

namespace tagstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::chrono::seconds kConnectTimeout{15};  // resolve aside: connect, request and response header
constexpr std::chrono::seconds kErrorBodyTimeout{5};
constexpr std::size_t kErrorBodyLimit = 64 * 1024;
constexpr double kDefaultHeartbeatS = 30;  // the server's default SSE_HEARTBEAT_INTERVAL
constexpr double kIdleHeartbeats = 2.5;
constexpr int kDefaultRetryMs = 1000;
constexpr std::int64_t kMaxDelayMs = 30'000;

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string format_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

// For messages: one line, bounded.
std::string one_line(std::string_view s, std::size_t max = 300) {
  std::string out;
  for (char c : s.substr(0, max)) {
    if (c == '\n') {
      out += "\\n";
    } else if (c != '\r') {
      out.push_back(c);
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

void write_stdout(std::string_view s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

void print_stderr(const std::string& line) {
  std::fprintf(stderr, "watch: %s\n", line.c_str());
  std::fflush(stderr);
}

std::string status_text(unsigned status, std::string_view reason) {
  if (reason.empty()) reason = http::obsolete_reason(static_cast<http::status>(status));
  return "HTTP " + std::to_string(status) + " " + std::string(reason);
}

// How one connection ended.
struct ConnectionEnd {
  std::optional<int> exit_code;  // set: stop with this code; unset: reconnect
  std::string reason;            // why it was lost, for the reconnect message
  bool delivered_event = false;
};

class Watcher {
 public:
  Watcher(WatchOptions options, WatchUrl url)
      : options_(std::move(options)), url_(std::move(url)), rng_(std::random_device{}()) {}

  int run() {
    asio::signal_set signals(ioc_, SIGINT, SIGTERM);
    signals.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) finish(kWatchExitOk);
    });
    asio::steady_timer deadline(ioc_);
    if (options_.timeout_s) {
      deadline.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(*options_.timeout_s)));
      deadline.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) finish(kWatchExitOk);
      });
    }
    asio::co_spawn(ioc_, reconnect_loop(), [this](std::exception_ptr e, int code) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          print_stderr(std::string("internal error: ") + ex.what());
        }
        code = kWatchExitGaveUp;
      }
      finish(code);
    });
    ioc_.run();
    return exit_code_;
  }

 private:
  void finish(int code) {
    if (finished_) return;
    finished_ = true;
    exit_code_ = code;
    std::fflush(stdout);
    // Stopping abandons whatever is in flight (a read, a backoff wait): the
    // process is about to exit and the server sees the connection close.
    ioc_.stop();
  }

  asio::awaitable<int> reconnect_loop() {
    std::uint64_t reconnects = 0;  // all of them: --max-reconnects bounds a script's run
    std::uint64_t failures = 0;    // since the last connection that worked: drives the backoff
    for (;;) {
      ConnectionEnd end = co_await connect_once();
      if (end.exit_code) co_return *end.exit_code;
      if (end.delivered_event) failures = 0;
      ++failures;
      ++reconnects;
      if (options_.max_reconnects && reconnects > *options_.max_reconnects) {
        print_stderr("connection lost (" + end.reason + "), giving up after " +
                     std::to_string(*options_.max_reconnects) + " reconnect" +
                     (*options_.max_reconnects == 1 ? "" : "s"));
        co_return kWatchExitGaveUp;
      }
      std::uniform_real_distribution<double> unit(0.0, 1.0);
      auto delay = reconnect_delay(failures, parser_.retry_ms().value_or(kDefaultRetryMs), unit(rng_));
      print_stderr("connection lost (" + end.reason + "), reconnecting in " +
                   format_seconds(std::chrono::duration<double>(delay).count()) + ", attempt " +
                   std::to_string(reconnects));
      asio::steady_timer timer(ioc_, delay);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  static ConnectionEnd lost(std::string reason, bool delivered = false) {
    return ConnectionEnd{std::nullopt, std::move(reason), delivered};
  }
  static ConnectionEnd stop(int code) { return ConnectionEnd{code, {}, false}; }

  asio::awaitable<ConnectionEnd> connect_once() {
    boost::system::error_code ec;
    auto use = asio::redirect_error(asio::use_awaitable, ec);

    tcp::resolver resolver(ioc_);
    auto endpoints = co_await resolver.async_resolve(url_.host, url_.port, use);
    if (ec) co_return lost("resolving " + url_.host + ": " + ec.message());

    beast::tcp_stream stream(ioc_);
    stream.expires_after(kConnectTimeout);
    co_await stream.async_connect(endpoints, use);
    if (ec) co_return lost("connecting to " + url_.host_header + ": " + ec.message());

    http::request<http::empty_body> request{http::verb::get, url_.target, 11};
    request.set(http::field::host, url_.host_header);
    request.set(http::field::user_agent, "tagstream-watch");
    request.set(http::field::accept, "text/event-stream");
    request.set(http::field::cache_control, "no-cache");
    if (!resume_id_.empty()) request.set("Last-Event-ID", resume_id_);
    co_await http::async_write(stream, request, use);
    if (ec) co_return lost("sending the request: " + ec.message());

    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> response;
    response.body_limit(boost::none);  // a stream has no end
    co_await http::async_read_header(stream, buffer, response, use);
    if (ec) co_return lost("reading the response header: " + ec.message());

    unsigned status = response.get().result_int();
    std::string status_line = status_text(status, response.get().reason());
    if (status != 200) {
      std::string body = co_await read_error_body(stream, buffer, response);
      if (status == 429 || status >= 500) {
        co_return lost(status_line + (body.empty() ? "" : ": " + one_line(body)));
      }
      if (status >= 400) {
        print_stderr(status_line + (body.empty() ? "" : ": " + one_line(body, kErrorBodyLimit)));
        co_return stop(kWatchExitRequestError);
      }
      print_stderr("protocol error: expected HTTP 200, got " + status_line);
      co_return stop(kWatchExitProtocolError);
    }
    auto content_type = response.get()[http::field::content_type];
    if (!is_event_stream_content_type(content_type)) {
      print_stderr("protocol error: Content-Type is \"" + std::string(content_type) +
                   "\", expected text/event-stream");
      co_return stop(kWatchExitProtocolError);
    }

    parser_.reset_stream();
    bool delivered = false;
    char chunk[16 * 1024];
    for (;;) {
      auto& body = response.get().body();
      body.data = chunk;
      body.size = sizeof chunk;
      stream.expires_after(idle_limit());
      co_await http::async_read_some(stream, buffer, response, use);
      if (ec == http::error::need_buffer) ec = {};
      std::size_t n = sizeof chunk - response.get().body().size;
      if (n > 0) {
        std::optional<ConnectionEnd> end = handle_bytes(std::string_view(chunk, n), delivered);
        if (end) co_return *end;
      }
      if (ec == beast::error::timeout) {
        co_return lost("nothing received for " + format_seconds(idle_seconds()), delivered);
      }
      if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof ||
          (!ec && response.is_done())) {
        co_return lost("server closed the stream", delivered);
      }
      if (ec) co_return lost(ec.message(), delivered);
    }
  }

  asio::awaitable<std::string> read_error_body(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                               http::response_parser<http::buffer_body>& response) {
    std::string body;
    char chunk[4096];
    boost::system::error_code ec;
    stream.expires_after(kErrorBodyTimeout);
    while (!response.is_done() && body.size() < kErrorBodyLimit) {
      response.get().body().data = chunk;
      response.get().body().size = sizeof chunk;
      co_await http::async_read_some(stream, buffer, response, asio::redirect_error(asio::use_awaitable, ec));
      body.append(chunk, sizeof chunk - response.get().body().size);
      if (ec && ec != http::error::need_buffer) break;
    }
    co_return body;
  }

  // Feeds received bytes to the parser; returns how the connection ends if
  // something in them ends it.
  std::optional<ConnectionEnd> handle_bytes(std::string_view bytes, bool& delivered) {
    if (options_.raw) write_stdout(bytes);
    std::optional<ConnectionEnd> end;
    bool ok = parser_.feed(bytes, [&](const SseEvent& event) {
      if (end) return;  // the rest of this read belongs to a connection already ended
      delivered = true;
      end = handle_event(event, delivered);
      if (end) resume_id_ = event.id;
    });
    if (end) return end;
    if (!ok) {
      print_stderr("protocol error: " + parser_.error());
      return stop(kWatchExitProtocolError);
    }
    resume_id_ = parser_.last_event_id();
    return std::nullopt;
  }

  std::optional<ConnectionEnd> handle_event(const SseEvent& event, bool delivered) {
    bool print = !options_.raw && (!options_.quiet || event.type == "data");
    if (event.type == "data") {
      boost::system::error_code ec;
      boost::json::parse(event.data, ec);
      if (ec) {
        print_stderr("protocol error: data event" + (event.id.empty() ? "" : " id=" + event.id) +
                     " is not valid JSON (" + ec.message() + "): " + one_line(event.data));
        return stop(kWatchExitProtocolError);
      }
    }
    if (print)
      write_stdout(format_watch_line(format_local_iso_time(std::chrono::system_clock::now()), event) + "\n");

    if (event.type == "data") {
      ++data_events_;
      if (options_.count && data_events_ >= *options_.count) return stop(kWatchExitOk);
    } else if (event.type == "connected") {
      boost::system::error_code ec;
      boost::json::value v = boost::json::parse(event.data, ec);
      if (!ec && v.is_object()) {
        if (const boost::json::value* hb = v.as_object().if_contains("heartbeatInterval")) {
          auto seconds = hb->to_number<double>(ec);
          if (!ec && std::isfinite(seconds) && seconds > 0) heartbeat_s_ = seconds;
        }
      }
    } else if (event.type == "error") {
      boost::system::error_code ec;
      boost::json::value v = boost::json::parse(event.data, ec);
      const boost::json::value* code = (!ec && v.is_object()) ? v.as_object().if_contains("code") : nullptr;
      if (code && code->is_string() && code->get_string() == "server_shutdown") {
        return lost("server shutting down", delivered);
      }
      // Quiet mode prints only data to stdout, but a server error must not vanish.
      if (options_.quiet && !options_.raw) print_stderr("server error event: " + one_line(event.data));
    }
    return std::nullopt;
  }

  double idle_seconds() const { return kIdleHeartbeats * heartbeat_s_; }
  std::chrono::steady_clock::duration idle_limit() const {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(idle_seconds()));
  }

  asio::io_context ioc_;  // first: destroyed last, after everything that uses it
  WatchOptions options_;
  WatchUrl url_;
  SseParser parser_;
  std::string resume_id_;  // sent as Last-Event-ID
  double heartbeat_s_ = kDefaultHeartbeatS;
  std::uint64_t data_events_ = 0;
  std::mt19937_64 rng_;
  bool finished_ = false;
  int exit_code_ = kWatchExitOk;
};

}  // namespace

bool is_event_stream_content_type(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  return ascii_lower(media) == "text/event-stream";
}

std::chrono::milliseconds reconnect_delay(std::uint64_t attempt, int retry_ms, double random01) {
  std::int64_t delay = std::max(retry_ms, 100);
  for (std::uint64_t i = 1; i < attempt && delay < kMaxDelayMs; ++i) delay *= 2;
  delay = std::min(delay, kMaxDelayMs);
  double jittered = static_cast<double>(delay) * (0.8 + 0.4 * std::clamp(random01, 0.0, 1.0));
  return std::chrono::milliseconds(std::min(static_cast<std::int64_t>(std::llround(jittered)), kMaxDelayMs));
}

int run_watch(const std::vector<std::string>& args) {
  WatchArgsResult parsed = parse_watch_args(args);
  if (!parsed) {
    std::fprintf(stderr, "watch: %s\nTry 'tagstream watch --help'.\n", parsed.error.c_str());
    return kWatchExitRequestError;
  }
  const WatchOptions& options = *parsed;
  if (options.help) {
    write_stdout(watch_usage());
    return kWatchExitOk;
  }
  WatchUrlResult url = parse_watch_url(options.url);
  if (!url) {
    print_stderr(url.error);
    return kWatchExitRequestError;
  }
  Watcher watcher(options, *std::move(url));
  return watcher.run();
}

}  // namespace tagstream
