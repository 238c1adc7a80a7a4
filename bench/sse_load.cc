// tagstream-bench sse: the SSE load generator of bench/streaming.sh.
//
// Opens N Server-Sent Events streams against tagstream (/api/sse/stream) or
// nginx + nchan (an EventSource subscriber location, several channels
// multiplexed per stream), then publishes tag updates through the server's
// real ingest path (see publisher.h) with the publish time in every value,
// and measures what comes back:
//   - delivered data events and tag updates (points) per second, and how many
//     of the updates that should have reached a stream did (carried %);
//   - latency from publish to delivery, p50/p99/p99.9, in an HDR-style
//     histogram (hdr_histogram.h). Delivery is the kernel's receive stamp
//     of the read that brought the event (SO_TIMESTAMPNS), so the time this
//     one thread takes to get round to thousands of sockets is not charged
//     to the server; the latency as read by the thread is reported too
//     (app_p50_us ...);
//   - connect rate, HTTP errors, dropped streams and reconnects;
//   - the server's CPU time and memory from /proc (proc_stats.h) before and
//     after: CPU-seconds per million delivered updates (= microseconds per
//     update), memory per stream;
//   - every update counted: per stream, what was published for its tags in
//     the window against what arrived (short_streams, missing_updates).
// With --gzip true the streams ask for gzip (Accept-Encoding); a stream the
// server compresses is inflated as it arrives, before the same scanning, so
// events, latencies and counts mean what they mean uncompressed, while the
// bytes reported are still those read from the socket.
// Without --rate the streams stay idle (heartbeats only); with
// --churn-concurrency, slots open a stream, wait for its headers, close it
// gracefully and open the next, and the server's files and memory are
// compared before and after.
//
// The streams are read on one epoll thread (event_loop.h); the publisher has
// a thread of its own (publisher_thread.h), so a busy reader does not delay
// the schedule. Only loopback targets are accepted; every phase has a
// deadline, so a run always ends by itself.

#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "bench_args.h"
#include "event_loop.h"
#include "hdr_histogram.h"
#include "http_response.h"
#include "ingest/gzip.h"
#include "load_commands.h"
#include "proc_stats.h"
#include "publisher.h"
#include "publisher_thread.h"
#include "request_headers.h"
#include "sse_scan.h"
#include "url.h"

namespace tagstream_bench {

namespace {

// Inflated bytes only live until the scanner has looked at them, and the
// load generator reads every stream on one thread: one buffer serves every
// stream (10,000 streams with one each would hold 640 MB).
std::span<char> inflate_scratch() {
  static std::vector<char> buffer(64 * 1024);
  return buffer;
}

struct Options {
  ServerKind kind = ServerKind::tagstream;
  std::vector<Target> targets;      // --url: stream i goes to targets[i mod n]
  std::vector<Target> pub_targets;  // --pub-url (default: --url): publisher connections in turn
  int streams = 100;
  int tags = 0;  // the pool of tags (default: one per stream)
  int tags_per_stream = 1;
  int layouts = 0;  // 0: consecutive tag sets; else streams share this many layouts
  std::string interval = "raw";
  double rate = 0;  // updates per second per tag; 0: idle
  double seconds = 10;
  double drain = 2;
  double settle = 1;
  int connect_concurrency = 200;
  double connect_timeout = 120;
  int source_addresses = 64;
  std::vector<pid_t> server_pids;
  bool server_children = false;
  TagNaming naming;
  bool seed = true;
  int publish_connections = 64;
  int churn_concurrency = 0;
  int churn_rounds = 2;
  std::string hist_out;
  std::string sub_path = "/sub/";
  std::string pub_path;
  std::string label;
  bool gzip = false;  // ask for gzip-encoded streams
  bool ws = false;    // tagstream's WebSocket (/api/ws), one subscription per connection, instead of SSE
};

/// A client's WebSocket frame of one text message: masked, as RFC 6455
/// requires of clients, with the all-zero key (the payload goes as is).
std::string ws_client_frame(std::string_view payload) {
  std::string frame;
  frame += static_cast<char>(0x81);  // FIN, text
  if (payload.size() < 126) {
    frame += static_cast<char>(0x80 | payload.size());
  } else {
    frame += static_cast<char>(0x80 | 126);
    frame += static_cast<char>(payload.size() >> 8 & 0xff);
    frame += static_cast<char>(payload.size() & 0xff);
  }
  frame.append(4, '\0');
  frame += payload;
  return frame;
}

/// Tag sets: with layouts, K distinct tags drawn (deterministically) per
/// layout and stream i showing layout i mod L, as dashboards of a few shared
/// screens do; without, stream i gets tags iK .. iK+K-1 (mod the pool).
std::vector<std::vector<int>> make_tag_sets(const Options& o) {
  std::vector<std::vector<int>> sets;
  if (o.layouts > 0) {
    for (int l = 0; l < o.layouts; ++l) {
      std::mt19937 rng(static_cast<unsigned>(1000 + l));
      std::vector<int> all(static_cast<std::size_t>(o.tags));
      for (int k = 0; k < o.tags; ++k) all[static_cast<std::size_t>(k)] = k;
      std::shuffle(all.begin(), all.end(), rng);
      all.resize(static_cast<std::size_t>(o.tags_per_stream));
      std::sort(all.begin(), all.end());
      sets.push_back(std::move(all));
    }
  } else {
    for (int i = 0; i < std::max(o.streams, o.churn_concurrency); ++i) {
      std::vector<int> s;
      for (int j = 0; j < o.tags_per_stream; ++j) s.push_back((i * o.tags_per_stream + j) % o.tags);
      std::sort(s.begin(), s.end());
      s.erase(std::unique(s.begin(), s.end()), s.end());
      sets.push_back(std::move(s));
    }
  }
  return sets;
}

/// Which tag set stream (or churn slot) i shows.
int set_of_stream(const Options& o, int i) {
  return o.layouts > 0 ? i % o.layouts : i % std::max({o.streams, o.churn_concurrency, 1});
}

class Run;

/// One SSE stream (or, in churn mode, one slot opening stream after stream).
class Stream final : public TcpConn {
 public:
  Stream(Loop& loop, Run& run, int index);
  void start();
  int index() const { return index_; }
  bool ready = false;               // 200 and headers seen
  std::uint64_t window_points = 0;  // updates of the window this stream received
  bool closing = false;             // churn: half-closed, reading to EOF
  bool waiting = false;             // queued to (re)open
  double opened_at = 0;             // monotonic
  double close_started = 0;         // churn
  std::uint64_t body_bytes = 0;     // of the event stream, decoded: every response so far

 protected:
  void on_data(std::string_view bytes) override;
  void on_closed(int error) override;

 private:
  Run& run_;
  int index_;
  ResponseReader reader_;
  SseScanner scanner_;
  // Made on the first gzip response, kept (reset) for the next ones: a
  // z_stream holds a 32 KiB window, which thousands of plain streams need not.
  std::unique_ptr<tagstream::GzipStreamInflater> inflater_;
  std::function<void(std::string_view)> body_fn_;
  std::function<void(std::string_view)> scan_fn_;
  // WebSocket mode: after the 101, the bytes are frames; a frame split
  // across reads waits here.
  bool ws_open_ = false;
  std::string ws_partial_;
  void feed_ws(std::string_view bytes);
  /// Dispatches the whole frames at the start of `buf`; returns the bytes
  /// they took, or npos when the stream was closed.
  std::size_t scan_ws(std::string_view buf);
};

struct Counters {
  std::uint64_t connects_ok = 0, connect_failures = 0, drops = 0, reconnects = 0;
  std::map<int, std::uint64_t> http_status;  // non-200 answers to stream requests
  std::string first_error;
  std::uint64_t data_events = 0, window_events = 0, window_points = 0, early_points = 0;
  std::uint64_t heartbeats = 0, window_heartbeats = 0, error_events = 0;
  std::uint64_t churn_cycles = 0, churn_forced_closes = 0;
  std::uint64_t gzip_streams = 0;     // stream responses (200) with Content-Encoding: gzip
  std::uint64_t gzip_errors = 0;      // streams closed because their body did not inflate
  std::int64_t last_delivery_us = 0;  // wall clock
  LatencyHistogram latency;           // publish -> kernel receive stamp at the client, us
  LatencyHistogram app_latency;       // publish -> read by this client's thread (includes client queueing)
  LatencyHistogram connect_time;      // open -> response headers, us
};

class Run {
 public:
  Run(Options o)
      : o_(std::move(o)), sources_(o_.source_addresses), server_(o_.server_pids, o_.server_children) {}
  int main();

  // From the streams.
  void on_ready(Stream& s);
  void on_event(Stream& s, std::string_view type, std::string_view data);
  /// Set once per read: when the kernel received it (the delivery time of
  /// every event in it), and when this thread got to it.
  std::int64_t read_time_us = 0;
  std::int64_t app_time_us = 0;
  void on_stream_closed(Stream& s, int error, int http_status, const std::string& why);
  const Target& target_of(int stream) const {
    return o_.targets[static_cast<std::size_t>(stream) % o_.targets.size()];
  }
  const std::string& request_for(int stream) const {
    return requests_[static_cast<std::size_t>(stream) % o_.targets.size() * sets_.size() +
                     static_cast<std::size_t>(set_of_stream(o_, stream))];
  }
  const std::string& subscribe_for(int stream) const {
    return subscribes_[static_cast<std::size_t>(set_of_stream(o_, stream))];
  }
  bool ws() const { return o_.ws; }
  bool churning() const { return phase_ == Phase::churn; }
  Loop& loop() { return loop_; }
  Counters& counters() { return c_; }

 private:
  enum class Phase { seed, connect, settle, measure, drain, churn, done };
  void build_requests();
  void build_requests(const Target& target);
  void pump_connects(double now);
  void queue_open(int i, double at);
  bool wait_until(double deadline, const std::function<bool()>& done, int tick_ms = 5);
  /// expected_ and expected_per_set_ from what the publisher has written.
  void count_expected(const PublisherThread::Snapshot& published);
  ProcSnapshot snap() const { return server_.empty() ? ProcSnapshot{} : server_.sample(); }
  /// "503:12,429:3": the non-200 answers to stream requests.
  std::string status_list() const {
    std::string out;
    for (const auto& [status, count] : c_.http_status) {
      if (!out.empty()) out += ',';
      out += std::to_string(status);
      out += ':';
      out += std::to_string(count);
    }
    return out;
  }
  void print_result(const ProcSnapshot& base, const ProcSnapshot& connected, const ProcSnapshot& w0,
                    const ProcSnapshot& w1, double window_s, double connect_s, double client_cpu,
                    const std::string& extra);
  int run_churn(const ProcSnapshot& base);

  Options o_;
  Loop loop_;
  SourceAddresses sources_;
  ServerProcesses server_;
  std::vector<std::vector<int>> sets_;
  std::vector<std::string> requests_;
  std::vector<std::string> subscribes_;  // WebSocket mode: the subscribe frame of each tag set
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<std::pair<double, int>> open_queue_;  // (not before, stream), kept sorted by time
  int in_flight_ = 0;
  int ready_ = 0;
  Phase phase_ = Phase::seed;
  std::unique_ptr<PublisherThread> publisher_;
  std::vector<std::uint64_t> subscribers_;       // ready streams per tag, at the start of the window
  std::vector<std::vector<int>> sets_of_tag_;    // the tag sets each tag is in
  std::vector<std::uint64_t> expected_per_set_;  // updates published in the window, per tag set
  std::uint64_t expected_ = 0;                   // updates that should reach a stream
  std::int64_t window_start_us_ = 0;
  double window_start_ = 0;
  double hard_deadline_ = 0;
  bool churn_open_ = false;  // churn slots reopen after each close
  Counters c_;
};

// ---------------------------------------------------------------------------

Stream::Stream(Loop& loop, Run& run, int index) : TcpConn(loop), run_(run), index_(index) {
  enable_rx_timestamps();
  scan_fn_ = [this](std::string_view body) {
    if (closing || !is_open()) return;
    body_bytes += body.size();
    const bool ok = scanner_.feed(
        body, [this](std::string_view type, std::string_view data) { run_.on_event(*this, type, data); });
    if (!ok) {
      close();
      run_.on_stream_closed(*this, 0, 0, "event stream: an event over 1 MiB");
    }
  };
  body_fn_ = [this](std::string_view body) {
    // The body of an error answer is no event stream (and the stream closes).
    if (closing || !is_open() || reader_.status() != 200) return;
    if (!reader_.other_encoding().empty()) {
      ++run_.counters().gzip_errors;
      close();
      run_.on_stream_closed(*this, 0, 0,
                            "Content-Encoding " + reader_.other_encoding() + " cannot be decoded");
      return;
    }
    if (!reader_.gzip()) {
      scan_fn_(body);
      return;
    }
    if (!inflater_) inflater_ = std::make_unique<tagstream::GzipStreamInflater>();
    if (inflater_->feed(body, inflate_scratch(), scan_fn_) == tagstream::GzipStreamInflater::Result::error &&
        is_open()) {
      ++run_.counters().gzip_errors;
      close();
      run_.on_stream_closed(*this, 0, 0, "gzip: " + inflater_->error());
    }
    // A member that ended (a graceful shutdown) is followed by the close.
  };
}

void Stream::start() {
  ready = false;
  closing = false;
  ws_open_ = false;
  ws_partial_.clear();
  reader_.reset();
  scanner_.reset();
  if (inflater_) inflater_->reset();
  opened_at = mono_s();
  send(run_.request_for(index_));
}

void Stream::feed_ws(std::string_view bytes) {
  body_bytes += bytes.size();
  if (ws_partial_.empty()) {
    const std::size_t used = scan_ws(bytes);
    if (used != std::string::npos) ws_partial_.assign(bytes.substr(used));
  } else {
    ws_partial_.append(bytes);
    std::string buf;
    buf.swap(ws_partial_);
    const std::size_t used = scan_ws(buf);
    if (used != std::string::npos) ws_partial_.assign(std::string_view(buf).substr(used));
  }
  if (ws_partial_.size() > (1 << 20) && is_open()) {
    close();
    run_.on_stream_closed(*this, 0, 0, "websocket: a message over 1 MiB");
  }
}

std::size_t Stream::scan_ws(std::string_view buf) {
  std::size_t pos = 0;
  while (buf.size() - pos >= 2) {
    const auto b0 = static_cast<unsigned char>(buf[pos]);
    const auto b1 = static_cast<unsigned char>(buf[pos + 1]);
    std::size_t header = 2;
    std::uint64_t len = b1 & 0x7f;
    if (len == 126) {
      if (buf.size() - pos < 4) break;
      len = static_cast<std::uint64_t>(static_cast<unsigned char>(buf[pos + 2])) << 8 |
            static_cast<unsigned char>(buf[pos + 3]);
      header = 4;
    } else if (len == 127) {
      if (buf.size() - pos < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = len << 8 | static_cast<unsigned char>(buf[pos + 2 + i]);
      header = 10;
    }
    if (b1 & 0x80) header += 4;  // servers do not mask; skip a key all the same
    if (len > (1 << 20)) {
      close();
      run_.on_stream_closed(*this, 0, 0, "websocket: a frame over 1 MiB");
      return std::string::npos;
    }
    if (buf.size() - pos < header + len) break;
    const std::string_view payload = buf.substr(pos + header, len);
    pos += header + len;
    const int opcode = b0 & 0x0f;
    if (opcode == 8) {
      close();
      run_.on_stream_closed(*this, 0, 0, "the server closed the WebSocket");
      return std::string::npos;
    }
    if (opcode != 1 && opcode != 0) continue;  // pings and pongs: nothing to count
    // {"event":"E","sub":...,"data":DATA}: the server writes the event first
    // and the data last.
    constexpr std::string_view kEvent = "{\"event\":\"";
    if (!payload.starts_with(kEvent)) continue;
    const std::size_t type_end = payload.find('"', kEvent.size());
    const std::size_t data_at = payload.find("\"data\":");
    if (type_end == std::string_view::npos || data_at == std::string_view::npos) continue;
    run_.on_event(*this, payload.substr(kEvent.size(), type_end - kEvent.size()),
                  payload.substr(data_at + 7, payload.size() - data_at - 8));
    if (!is_open()) return std::string::npos;
  }
  return pos;
}

void Stream::on_data(std::string_view bytes) {
  run_.read_time_us = last_rx_us();
  run_.app_time_us = 0;  // taken lazily: one clock read per read, only if it has data
  if (ws_open_) {
    feed_ws(bytes);
    return;
  }
  const bool had_headers = reader_.headers_done();
  const auto r = reader_.feed(bytes, body_fn_);
  if (!is_open()) return;  // closed from inside the parser callback
  if (!had_headers && reader_.headers_done() && run_.ws()) {
    // The 101 answer is alone in its read: the server sends nothing more
    // until it has the subscription.
    if (reader_.status() != 101) {
      const int status = reader_.status();
      close();
      run_.on_stream_closed(*this, 0, status, "HTTP " + std::to_string(status));
      return;
    }
    ws_open_ = true;
    ready = true;
    run_.on_ready(*this);
    if (is_open()) send(run_.subscribe_for(index_));
    return;
  }
  if (!had_headers && reader_.headers_done()) {
    if (reader_.status() != 200) {
      const int status = reader_.status();
      close();
      run_.on_stream_closed(*this, 0, status, "HTTP " + std::to_string(status));
      return;
    }
    ready = true;
    if (reader_.gzip()) ++run_.counters().gzip_streams;
    run_.on_ready(*this);
    if (!is_open()) return;
  }
  if (r == ResponseReader::Result::error) {
    close();
    run_.on_stream_closed(*this, 0, 0, reader_.error());
  } else if (r == ResponseReader::Result::done) {
    close();
    run_.on_stream_closed(*this, 0, 0, "the server ended the stream");
  }
}

void Stream::on_closed(int error) {
  run_.on_stream_closed(*this, error, 0, error ? std::strerror(error) : "EOF");
}

// ---------------------------------------------------------------------------

void Run::build_requests() {
  // One request per (target, tag set): each carries its target's Host.
  for (const Target& target : o_.targets) build_requests(target);
}

void Run::build_requests(const Target& target) {
  const bool first_target = requests_.empty();
  for (const auto& set : sets_) {
    std::string path;
    if (o_.ws) {
      std::string subscribe = R"({"type":"subscribe","id":"s","interval":")" + o_.interval + R"(","tags":[)";
      for (std::size_t j = 0; j < set.size(); ++j)
        subscribe += (j ? ",\"" : "\"") + o_.naming.tagstream_name(set[j]) + "\"";
      if (first_target) subscribes_.push_back(ws_client_frame(subscribe + "]}"));
      requests_.push_back(
          "GET /api/ws HTTP/1.1\r\nHost: " + target.host_header + "\r\n" + target.extra_headers +
          "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nUser-Agent: tagstream-bench\r\n\r\n");
      continue;
    }
    if (o_.kind == ServerKind::tagstream) {
      path = "/api/sse/stream?interval=" + o_.interval;
      for (int k : set) path += "&tags[]=" + o_.naming.tagstream_name(k);
    } else {
      // nchan: one EventSource multiplexing every channel of the set.
      path = o_.sub_path;
      for (std::size_t j = 0; j < set.size(); ++j) {
        if (j) path += ',';
        path += o_.naming.channel(set[j]);
      }
    }
    requests_.push_back("GET " + path + " HTTP/1.1\r\nHost: " + target.host_header + "\r\n" +
                        target.extra_headers + "Accept: text/event-stream\r\nCache-Control: no-cache\r\n" +
                        (o_.gzip ? "Accept-Encoding: gzip\r\n" : "") + "User-Agent: tagstream-bench\r\n\r\n");
  }
}

void Run::queue_open(int i, double at) {
  auto& s = *streams_[static_cast<std::size_t>(i)];
  if (s.waiting) return;
  s.waiting = true;
  const auto pos = std::upper_bound(open_queue_.begin(), open_queue_.end(), std::make_pair(at, i));
  open_queue_.insert(pos, {at, i});
}

void Run::pump_connects(double now) {
  std::size_t taken = 0;
  while (taken < open_queue_.size() && in_flight_ < o_.connect_concurrency &&
         open_queue_[taken].first <= now) {
    const int i = open_queue_[taken].second;
    ++taken;
    auto& s = *streams_[static_cast<std::size_t>(i)];
    s.waiting = false;
    if (!s.open(target_of(i).addr, sources_.next())) {
      ++c_.connect_failures;
      if (c_.first_error.empty()) c_.first_error = std::string("connect: ") + std::strerror(errno);
      // Out of ports or files: try again a little later.
      open_queue_.erase(open_queue_.begin(), open_queue_.begin() + static_cast<std::ptrdiff_t>(taken));
      queue_open(i, now + 0.5);
      return;
    }
    ++in_flight_;
    s.start();
  }
  open_queue_.erase(open_queue_.begin(), open_queue_.begin() + static_cast<std::ptrdiff_t>(taken));
}

void Run::on_ready(Stream& s) {
  --in_flight_;
  ++ready_;
  ++c_.connects_ok;
  c_.connect_time.record(static_cast<std::int64_t>((mono_s() - s.opened_at) * 1e6));
  if (phase_ == Phase::churn) {
    // Close as a browser tab does: FIN, then read until the server closes.
    s.closing = true;
    s.close_started = mono_s();
    s.shutdown_write();
  }
}

void Run::on_event(Stream& s, std::string_view type, std::string_view d) {
  if (type == "data" || type == "message") {
    ++c_.data_events;
    const std::int64_t now = read_time_us;
    bool in_window = false;
    // Each point carries "v":<publish time in us> (raw interval).
    for (auto pos = d.find("\"v\":"); pos != std::string_view::npos; pos = d.find("\"v\":", pos)) {
      pos += 4;
      double v = 0;
      auto [end, ec] = std::from_chars(d.data() + pos, d.data() + d.size(), v);
      if (ec != std::errc()) continue;
      const auto stamp = static_cast<std::int64_t>(v);
      if (window_start_us_ > 0 && stamp >= window_start_us_) {
        ++c_.window_points;
        ++s.window_points;
        in_window = true;
        c_.latency.record(now - stamp);
        if (app_time_us == 0) app_time_us = wall_us();
        c_.app_latency.record(app_time_us - stamp);
      } else {
        ++c_.early_points;  // the snapshot on connect, or a seed value
      }
    }
    if (in_window) {
      ++c_.window_events;
      c_.last_delivery_us = now;
    }
  } else if (type == "heartbeat" || type == "ping") {
    ++c_.heartbeats;
    if (phase_ == Phase::measure) ++c_.window_heartbeats;
  } else if (type == "error") {
    ++c_.error_events;
    if (c_.first_error.empty()) c_.first_error = "error event: " + std::string(d.substr(0, 200));
  }
}

void Run::on_stream_closed(Stream& s, int error, int http_status, const std::string& why) {
  if (s.is_open()) s.close();
  const bool was_ready = s.ready;
  if (was_ready) {
    --ready_;
  } else {
    --in_flight_;
  }
  s.ready = false;
  if (phase_ == Phase::churn && s.closing) {
    ++c_.churn_cycles;
    s.closing = false;
    if (churn_open_) queue_open(s.index(), 0);
    return;
  }
  if (phase_ == Phase::done) return;
  if (http_status) {
    ++c_.http_status[http_status];
  } else if (!was_ready) {
    ++c_.connect_failures;
  } else {
    ++c_.drops;
  }
  if (c_.first_error.empty()) c_.first_error = "stream " + std::to_string(s.index()) + ": " + why;
  // Reconnect, as an EventSource would, after a short pause.
  if (was_ready) ++c_.reconnects;
  queue_open(s.index(), mono_s() + (http_status || !was_ready ? 0.5 : 0.1));
}

bool Run::wait_until(double deadline, const std::function<bool()>& done, int tick_ms) {
  while (!done()) {
    const double now = mono_s();
    if (now >= deadline || now >= hard_deadline_) return false;
    pump_connects(now);
    loop_.run_once(tick_ms);
  }
  return true;
}

void Run::count_expected(const PublisherThread::Snapshot& published) {
  // Every update written to the server in the window should reach each
  // stream showing its tag. (A server that makes its publishers wait gets
  // fewer updates written: the gap to the schedule is reported too.)
  expected_ = 0;
  std::fill(expected_per_set_.begin(), expected_per_set_.end(), 0);
  for (std::size_t tag = 0; tag < published.sent_per_tag.size() && tag < subscribers_.size(); ++tag) {
    const std::uint64_t n = published.sent_per_tag[tag];
    expected_ += n * subscribers_[tag];
    for (int set : sets_of_tag_[tag]) expected_per_set_[static_cast<std::size_t>(set)] += n;
  }
}

int Run::main() {
  const long fd_limit = raise_fd_limit();
  const long need = o_.streams + std::max(o_.churn_concurrency, 0) + o_.publish_connections + 32;
  if (need > fd_limit)
    die("this run needs about " + std::to_string(need) + " files but the limit is " +
        std::to_string(fd_limit) + " (ulimit -Hn); use fewer streams or several processes");
  hard_deadline_ =
      mono_s() + std::min(kMaxRunSeconds, o_.connect_timeout + o_.settle + o_.seconds + o_.drain + 60 +
                                              (o_.churn_concurrency ? o_.seconds * o_.churn_rounds + 30 : 0));
  sets_ = make_tag_sets(o_);
  build_requests();
  const double client_cpu0 = self_cpu_seconds();

  publisher_ = std::make_unique<PublisherThread>(o_.kind, o_.pub_targets, o_.naming, o_.source_addresses,
                                                 o_.publish_connections, o_.pub_path, o_.tags);
  // 1. tagstream only knows tags that were written once: create them.
  if (o_.kind == ServerKind::tagstream && o_.seed) {
    if (!publisher_->seed(mono_s() + 60)) die("seeding the tags did not finish within 60 s");
    const PublisherStats seeded = publisher_->snapshot().stats;
    if (seeded.requests_failed) die("seeding the tags failed: " + seeded.first_error);
  }
  std::printf(
      "sse: %s server=%s streams=%d tags=%d tags/stream=%d layouts=%d rate=%g Hz/tag seconds=%g%s%s\n",
      o_.label.c_str(), o_.kind == ServerKind::tagstream ? "tagstream" : "nchan", o_.streams, o_.tags,
      o_.tags_per_stream, o_.layouts, o_.rate, o_.seconds,
      o_.churn_concurrency ? (" churn=" + std::to_string(o_.churn_concurrency)).c_str() : "",
      o_.gzip ? " gzip=true" : "");
  std::printf("server processes: %s\n", server_.empty() ? "(none given)" : server_.describe().c_str());
  std::fflush(stdout);
  // Let the server finish the seed's commit and go quiet before the baseline.
  wait_until(mono_s() + 0.5, [] { return false; });
  const ProcSnapshot base = snap();

  // 2. Open the streams.
  phase_ = Phase::connect;
  for (int i = 0; i < o_.streams; ++i) streams_.push_back(std::make_unique<Stream>(loop_, *this, i));
  const double t_connect = mono_s();
  for (int i = 0; i < o_.streams; ++i) queue_open(i, 0);
  double all_ready_at = t_connect;
  const bool all = wait_until(t_connect + o_.connect_timeout, [&] {
    if (ready_ == o_.streams) {
      all_ready_at = mono_s();
      return true;
    }
    return false;
  });
  const double connect_s = all_ready_at - t_connect;
  if (!all) {
    std::printf("warning: only %d of %d streams connected within %g s (first error: %s)\n", ready_,
                o_.streams, o_.connect_timeout, c_.first_error.c_str());
  } else if (o_.streams) {
    std::printf("connected %d streams in %.2f s (%.0f/s), connect time p50 %.2f ms p99 %.2f ms\n", o_.streams,
                connect_s, o_.streams / std::max(connect_s, 1e-6), c_.connect_time.percentile(50) / 1000.0,
                c_.connect_time.percentile(99) / 1000.0);
  }
  std::fflush(stdout);

  // 3. Settle: snapshots are sent, allocations done.
  phase_ = Phase::settle;
  wait_until(mono_s() + o_.settle, [] { return false; });
  const ProcSnapshot connected = snap();

  if (o_.churn_concurrency > 0) return run_churn(connected);

  // 4. The measured window: publish (or stay idle) for --seconds.
  subscribers_.assign(static_cast<std::size_t>(o_.tags), 0);
  sets_of_tag_.assign(static_cast<std::size_t>(o_.tags), {});
  for (std::size_t set = 0; set < sets_.size(); ++set)
    for (int k : sets_[set]) sets_of_tag_[static_cast<std::size_t>(k)].push_back(static_cast<int>(set));
  expected_per_set_.assign(sets_.size(), 0);
  for (const auto& s : streams_)
    if (s->ready)
      for (int k : sets_[static_cast<std::size_t>(set_of_stream(o_, s->index()))])
        ++subscribers_[static_cast<std::size_t>(k)];
  const std::uint64_t failed_before = publisher_->snapshot().stats.updates_failed;
  std::uint64_t stream_bytes0 = 0, body_bytes0 = 0;
  for (const auto& s : streams_) {
    stream_bytes0 += s->bytes_in();
    body_bytes0 += s->body_bytes;
  }
  const ProcSnapshot w0 = snap();
  window_start_us_ = wall_us();
  window_start_ = mono_s();
  phase_ = Phase::measure;
  if (o_.rate > 0) publisher_->start_schedule(o_.rate, window_start_);
  wait_until(window_start_ + o_.seconds, [] { return false; });
  const double window_end = mono_s();
  publisher_->stop_schedule();

  // 5. Drain: wait for what was published to arrive (or --drain to pass).
  phase_ = Phase::drain;
  PublisherThread::Snapshot published;
  wait_until(window_end + o_.drain, [&] {
    published = publisher_->snapshot();
    count_expected(published);
    return c_.window_points >= expected_ && published.idle;
  });
  published = publisher_->snapshot();
  count_expected(published);
  const ProcSnapshot w1 = snap();
  std::uint64_t stream_bytes1 = 0, body_bytes1 = 0;
  for (const auto& s : streams_) {
    stream_bytes1 += s->bytes_in();
    body_bytes1 += s->body_bytes;
  }
  phase_ = Phase::done;
  const double client_cpu = self_cpu_seconds() - client_cpu0;

  // Every update counted: which streams are short of what was published for them?
  std::uint64_t short_streams = 0, missing = 0, surplus = 0;
  for (const auto& st : streams_) {
    if (!st->ready || st->index() >= o_.streams) continue;
    const std::uint64_t want = expected_per_set_[static_cast<std::size_t>(set_of_stream(o_, st->index()))];
    if (st->window_points < want) {
      ++short_streams;
      missing += want - st->window_points;
    } else {
      surplus += st->window_points - want;
    }
  }
  const PublisherStats& ps = published.stats;
  std::uint64_t published_updates = 0;
  for (std::uint64_t n : published.sent_per_tag) published_updates += n;
  const double window_s = window_end - window_start_;
  // Deliveries continue after the window while a saturated server catches up:
  // rates are over the time until the last one.
  const double last_delivery_s = static_cast<double>(c_.last_delivery_us - window_start_us_) / 1e6;
  const double delivery_s = o_.rate > 0 ? std::max(last_delivery_s, window_s) : window_s;
  std::printf(
      "window %.2f s: published %llu of %llu scheduled updates (%llu failed), expected %llu deliveries, "
      "delivered %llu points in "
      "%llu events; %llu heartbeats\n",
      window_s, static_cast<unsigned long long>(published_updates),
      static_cast<unsigned long long>(published.scheduled),
      static_cast<unsigned long long>(ps.updates_failed - failed_before),
      static_cast<unsigned long long>(expected_), static_cast<unsigned long long>(c_.window_points),
      static_cast<unsigned long long>(c_.window_events),
      static_cast<unsigned long long>(c_.window_heartbeats));
  // On the wire (compressed, if it was), and as the event stream decoded.
  const double bytes_per_stream_min =
      ready_ ? static_cast<double>(stream_bytes1 - stream_bytes0) / ready_ / (window_s / 60.0) : 0;
  const double decoded_per_stream_min =
      ready_ ? static_cast<double>(body_bytes1 - body_bytes0) / ready_ / (window_s / 60.0) : 0;
  if (o_.gzip)
    std::printf(
        "gzip: %llu of %llu stream responses compressed, %llu failed to inflate; per stream-minute %.0f "
        "bytes "
        "read, %.0f bytes of events decoded\n",
        static_cast<unsigned long long>(c_.gzip_streams), static_cast<unsigned long long>(c_.connects_ok),
        static_cast<unsigned long long>(c_.gzip_errors), bytes_per_stream_min, decoded_per_stream_min);
  char extra[768];
  std::snprintf(
      extra, sizeof extra,
      " short_streams=%llu missing_updates=%llu surplus_updates=%llu scheduled=%llu published=%llu "
      "publish_failed=%llu stream_bytes_per_min=%.0f "
      "decoded_bytes_per_min=%.0f gzip=%s gzip_streams=%llu gzip_errors=%llu publish_connections=%d "
      "max_publish_backlog=%llu early_points=%llu",
      static_cast<unsigned long long>(short_streams), static_cast<unsigned long long>(missing),
      static_cast<unsigned long long>(surplus), static_cast<unsigned long long>(published.scheduled),
      static_cast<unsigned long long>(published_updates),
      static_cast<unsigned long long>(ps.updates_failed - failed_before), bytes_per_stream_min,
      decoded_per_stream_min, o_.gzip ? "true" : "false", static_cast<unsigned long long>(c_.gzip_streams),
      static_cast<unsigned long long>(c_.gzip_errors), published.connections,
      static_cast<unsigned long long>(ps.max_backlog), static_cast<unsigned long long>(c_.early_points));
  print_result(base, connected, w0, w1, delivery_s, connect_s, client_cpu, extra);
  for (auto& s : streams_) s->close();
  return ready_ == 0 && o_.streams > 0 ? 1 : 0;
}

void Run::print_result(const ProcSnapshot& base, const ProcSnapshot& connected, const ProcSnapshot& w0,
                       const ProcSnapshot& w1, double delivery_s, double connect_s, double client_cpu,
                       const std::string& extra) {
  const auto& L = c_.latency;
  const double cpu = w1.cpu_seconds - w0.cpu_seconds;
  const double pts = static_cast<double>(c_.window_points);
  const double evs = static_cast<double>(c_.window_events);
  const double n = std::max(1, ready_);
  const double pss_per_stream = (connected.pss_kib - base.pss_kib) * 1024.0 / n;
  const double rss_per_stream = (connected.rss_kib - base.rss_kib) * 1024.0 / n;
  const double priv_per_stream = (connected.private_kib - base.private_kib) * 1024.0 / n;
  const double carried = expected_ ? 100.0 * pts / static_cast<double>(expected_) : 0;
  std::printf(
      "delivered %.0f updates/s, %.0f events/s (carried %.2f%%); latency us p50 %llu p99 %llu p99.9 %llu max "
      "%llu "
      "(as read by the client: p50 %llu p99 %llu)\n",
      pts / delivery_s, evs / delivery_s, carried, static_cast<unsigned long long>(L.percentile(50)),
      static_cast<unsigned long long>(L.percentile(99)), static_cast<unsigned long long>(L.percentile(99.9)),
      static_cast<unsigned long long>(L.max()),
      static_cast<unsigned long long>(c_.app_latency.percentile(50)),
      static_cast<unsigned long long>(c_.app_latency.percentile(99)));
  std::printf(
      "server: cpu %.3f s in the window (%.2f us per update, %.2f us per event); memory per stream: pss %.0f "
      "B, "
      "rss %.0f B, private %.0f B; fds %ld -> %ld; client cpu %.2f s\n",
      cpu, pts ? cpu * 1e6 / pts : 0, evs ? cpu * 1e6 / evs : 0, pss_per_stream, rss_per_stream,
      priv_per_stream, base.fds, connected.fds, client_cpu);
  if (!c_.first_error.empty()) std::printf("first error: %s\n", c_.first_error.c_str());
  const std::string statuses = status_list();
  if (!o_.hist_out.empty()) {
    if (std::FILE* f = std::fopen(o_.hist_out.c_str(), "w")) {
      L.write_percentile_series(f);
      std::fclose(f);
    }
  }
  std::printf(
      "RESULT sse label=%s protocol=%s server=%s streams=%d ready=%d connect_s=%.3f connect_per_s=%.0f "
      "connect_failures=%llu "
      "http_errors=%s drops=%llu reconnects=%llu expected=%llu delivered_updates=%llu delivered_events=%llu "
      "carried_pct=%.3f updates_per_s=%.1f events_per_s=%.1f p50_us=%llu p99_us=%llu p999_us=%llu "
      "max_us=%llu "
      "mean_us=%.0f heartbeats=%llu error_events=%llu server_cpu_s=%.3f cpu_us_per_update=%.3f "
      "cpu_s_per_m_updates=%.3f cpu_us_per_event=%.3f pss_base_kib=%.0f pss_connected_kib=%.0f "
      "pss_end_kib=%.0f "
      "pss_per_stream_b=%.0f rss_per_stream_b=%.0f private_per_stream_b=%.0f fds_base=%ld fds_connected=%ld "
      "fds_end=%ld client_cpu_s=%.3f window_s=%.3f app_p50_us=%llu app_p99_us=%llu app_p999_us=%llu%s\n",
      o_.label.empty() ? "-" : o_.label.c_str(), o_.ws ? "ws" : "sse",
      o_.kind == ServerKind::tagstream ? "tagstream" : "nchan", o_.streams, ready_, connect_s,
      o_.streams / std::max(connect_s, 1e-6), static_cast<unsigned long long>(c_.connect_failures),
      statuses.empty() ? "none" : statuses.c_str(), static_cast<unsigned long long>(c_.drops),
      static_cast<unsigned long long>(c_.reconnects), static_cast<unsigned long long>(expected_),
      static_cast<unsigned long long>(c_.window_points), static_cast<unsigned long long>(c_.window_events),
      carried, pts / delivery_s, evs / delivery_s, static_cast<unsigned long long>(L.percentile(50)),
      static_cast<unsigned long long>(L.percentile(99)), static_cast<unsigned long long>(L.percentile(99.9)),
      static_cast<unsigned long long>(L.max()), L.mean(),
      static_cast<unsigned long long>(c_.window_heartbeats), static_cast<unsigned long long>(c_.error_events),
      cpu, pts ? cpu * 1e6 / pts : 0, pts ? cpu * 1e6 / pts : 0, evs ? cpu * 1e6 / evs : 0, base.pss_kib,
      connected.pss_kib, w1.pss_kib, pss_per_stream, rss_per_stream, priv_per_stream, base.fds, connected.fds,
      w1.fds, client_cpu, delivery_s, static_cast<unsigned long long>(c_.app_latency.percentile(50)),
      static_cast<unsigned long long>(c_.app_latency.percentile(99)),
      static_cast<unsigned long long>(c_.app_latency.percentile(99.9)), extra.c_str());
}

int Run::run_churn(const ProcSnapshot& before) {
  // The held streams (if any) stay open; C more slots cycle through streams.
  phase_ = Phase::churn;
  churn_open_ = true;
  const int first = o_.streams;
  for (int j = 0; j < o_.churn_concurrency; ++j) {
    streams_.push_back(std::make_unique<Stream>(loop_, *this, first + j));
    queue_open(first + j, 0);
  }
  ProcSnapshot prev = before;
  std::string rounds;
  double total_cycles = 0, total_s = 0;
  ProcSnapshot last = before;
  for (int r = 0; r < o_.churn_rounds; ++r) {
    churn_open_ = true;
    for (int j = 0; j < o_.churn_concurrency; ++j)
      if (!streams_[static_cast<std::size_t>(first + j)]->is_open()) queue_open(first + j, 0);
    const std::uint64_t cycles0 = c_.churn_cycles;
    const double t0 = mono_s();
    const ProcSnapshot w0 = snap();
    // Churn for --seconds; a slot whose stream does not close within 5 s of
    // our FIN is closed by force (and counted).
    auto reap = [&] {
      const double now = mono_s();
      for (int j = 0; j < o_.churn_concurrency; ++j) {
        auto& s = *streams_[static_cast<std::size_t>(first + j)];
        if (s.closing && s.is_open() && now - s.close_started > 5) {
          ++c_.churn_forced_closes;
          s.close();
          on_stream_closed(s, 0, 0, "forced close");
        }
      }
      return false;
    };
    double next_reap = t0 + 0.25;
    wait_until(t0 + o_.seconds, [&] {
      if (mono_s() >= next_reap) {
        next_reap += 0.25;
        reap();
      }
      return false;
    });
    const double churn_s = mono_s() - t0;
    const ProcSnapshot w1 = snap();
    const std::uint64_t cycles = c_.churn_cycles - cycles0;
    // Stop reopening; let the last streams finish closing.
    churn_open_ = false;
    open_queue_.erase(std::remove_if(open_queue_.begin(), open_queue_.end(),
                                     [&](const auto& e) {
                                       if (e.second < first) return false;
                                       streams_[static_cast<std::size_t>(e.second)]->waiting = false;
                                       return true;
                                     }),
                      open_queue_.end());
    wait_until(mono_s() + 10, [&] {
      reap();
      for (int j = 0; j < o_.churn_concurrency; ++j)
        if (streams_[static_cast<std::size_t>(first + j)]->is_open()) return false;
      return true;
    });
    for (int j = 0; j < o_.churn_concurrency; ++j) streams_[static_cast<std::size_t>(first + j)]->close();
    // Give the server time to release what the closed streams held.
    wait_until(mono_s() + std::max(o_.settle, 2.0), [] { return false; });
    const ProcSnapshot after = snap();
    const double rate = static_cast<double>(cycles) / churn_s;
    total_cycles += static_cast<double>(cycles);
    total_s += churn_s;
    std::printf(
        "churn round %d: %llu streams opened and closed in %.2f s (%.0f/s), server cpu %.3f s (%.1f us per "
        "stream); after: fds %ld -> %ld, pss %.0f -> %.0f KiB, rss %.0f -> %.0f KiB\n",
        r + 1, static_cast<unsigned long long>(cycles), churn_s, rate, w1.cpu_seconds - w0.cpu_seconds,
        cycles ? (w1.cpu_seconds - w0.cpu_seconds) * 1e6 / static_cast<double>(cycles) : 0, prev.fds,
        after.fds, prev.pss_kib, after.pss_kib, prev.rss_kib, after.rss_kib);
    std::fflush(stdout);
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  " round%d_per_s=%.0f round%d_cpu_us_per_stream=%.1f round%d_fds=%ld round%d_pss_kib=%.0f "
                  "round%d_rss_kib=%.0f",
                  r + 1, rate, r + 1,
                  cycles ? (w1.cpu_seconds - w0.cpu_seconds) * 1e6 / static_cast<double>(cycles) : 0, r + 1,
                  after.fds, r + 1, after.pss_kib, r + 1, after.rss_kib);
    rounds += buf;
    prev = after;
    last = after;
  }
  phase_ = Phase::done;
  if (!c_.first_error.empty()) std::printf("first error: %s\n", c_.first_error.c_str());
  const std::string statuses = status_list();
  std::printf(
      "RESULT churn label=%s server=%s held_streams=%d concurrency=%d per_s=%.0f cycles=%.0f "
      "connect_p50_us=%llu connect_p99_us=%llu connect_failures=%llu http_errors=%s forced_closes=%llu "
      "fds_before=%ld pss_before_kib=%.0f rss_before_kib=%.0f fds_after=%ld pss_after_kib=%.0f "
      "rss_after_kib=%.0f gzip=%s gzip_streams=%llu gzip_errors=%llu%s\n",
      o_.label.empty() ? "-" : o_.label.c_str(), o_.kind == ServerKind::tagstream ? "tagstream" : "nchan",
      ready_, o_.churn_concurrency, total_s > 0 ? total_cycles / total_s : 0, total_cycles,
      static_cast<unsigned long long>(c_.connect_time.percentile(50)),
      static_cast<unsigned long long>(c_.connect_time.percentile(99)),
      static_cast<unsigned long long>(c_.connect_failures), statuses.empty() ? "none" : statuses.c_str(),
      static_cast<unsigned long long>(c_.churn_forced_closes), before.fds, before.pss_kib, before.rss_kib,
      last.fds, last.pss_kib, last.rss_kib, o_.gzip ? "true" : "false",
      static_cast<unsigned long long>(c_.gzip_streams), static_cast<unsigned long long>(c_.gzip_errors),
      rounds.c_str());
  for (auto& s : streams_) s->close();
  return total_cycles > 0 ? 0 : 1;
}

}  // namespace

void sse_usage() {
  std::fputs(
      "  tagstream-bench sse --server tagstream|nchan --url http://127.0.0.1:PORT [options]\n"
      "      Opens --streams N SSE streams (default 100), each on --tags-per-stream K tags (1) of a pool of\n"
      "      --tags T (default: N*K) named <--prefix>.tNNNNN.v (nchan: channels <prefix>_tNNNNN, "
      "multiplexed\n"
      "      per stream at --sub-path, default /sub/); --layouts L makes streams share L tag sets drawn "
      "from\n"
      "      the pool (dashboards of a few screens). Then publishes every tag at --rate HZ (0: idle) for\n"
      "      --seconds S (10) through POST /write (tagstream) or --pub-path (nchan, default /pub/), waits\n"
      "      up to --drain S (2) for deliveries, and reports delivered updates/events per second, latency\n"
      "      percentiles, connects, errors and, with --server-pids PID,PID (--server-children true adds\n"
      "      their children: nginx workers), server CPU per delivered update and memory per stream.\n"
      "      Other options: --interval raw (tagstream), --settle 1, --connect-concurrency 200,\n"
      "      --connect-timeout 120, --source-addresses 64 (127.0.0.1..N), --publish-connections 64,\n"
      "      --seed true (tagstream: write every tag once first), --hist-out FILE (latency percentiles\n"
      "      for plotting), --label TEXT, --churn-concurrency C with --churn-rounds R (2): C slots open a\n"
      "      stream, wait for the headers, close it, repeat, --seconds per round; server files and\n"
      "      memory are compared before and after each round. --gzip true asks for gzip-encoded streams\n"
      "      (Accept-Encoding: gzip) and inflates those the server compresses before scanning them; the\n"
      "      bytes reported are still those read (gzip_streams: how many answers were compressed).\n"
      "      --header 'Name: value' (repeatable) goes with every request, streams and writes alike.\n"
      "      --protocol ws opens WebSocket connections to /api/ws instead, one subscription each, and\n"
      "      counts the same events (bench/ws.sh compares the two).\n"
      "      Several servers (a cluster's nodes, several nginx): --url URL,URL,... spreads the streams\n"
      "      over them in turn, --pub-url URL,URL,... (default: --url) the publisher's connections\n"
      "      (bench/cluster.sh: publish on one node, stream from another).\n",
      stderr);
}

int run_sse(Args& args) {
  Options o;
  const std::string server = args.str("server", "tagstream");
  if (server == "tagstream")
    o.kind = ServerKind::tagstream;
  else if (server == "nchan")
    o.kind = ServerKind::nchan;
  else
    die("--server must be tagstream or nchan");
  const std::string url = args.str("url", "");
  if (url.empty()) die("sse needs --url http://127.0.0.1:PORT");
  o.targets = loopback_targets(url);
  o.pub_targets = loopback_targets(args.str("pub-url", url));
  o.streams = static_cast<int>(args.bounded("streams", 100, 0, 100000));
  o.tags_per_stream = static_cast<int>(args.bounded("tags-per-stream", 1, 1, 1000));
  o.layouts = static_cast<int>(args.bounded("layouts", 0, 0, 100000));
  o.tags = static_cast<int>(args.bounded("tags", 0, 0, 99999));
  if (o.tags == 0) o.tags = std::max(1, std::min(99999, o.streams * o.tags_per_stream));
  if (o.tags_per_stream > o.tags) die("--tags-per-stream must not exceed --tags");
  if (o.kind == ServerKind::nchan && o.tags_per_stream > 255)
    die("nchan multiplexes at most 255 channels per stream");
  o.interval = args.str("interval", "raw");
  o.rate = args.num("rate", 0);
  if (o.rate < 0 || o.rate * o.tags > 1e6)
    die("--rate must be >= 0 and at most 1,000,000 updates/s in total");
  o.seconds = args.num("seconds", 10);
  o.drain = args.num("drain", 2);
  o.settle = args.num("settle", 1);
  if (o.seconds <= 0 || o.seconds > 1800 || o.drain < 0 || o.drain > 300 || o.settle < 0 || o.settle > 300)
    die("--seconds must be in (0, 1800], --drain and --settle in [0, 300]");
  o.connect_concurrency = static_cast<int>(args.bounded("connect-concurrency", 200, 1, 5000));
  o.connect_timeout = args.num("connect-timeout", 120);
  o.source_addresses = static_cast<int>(args.bounded("source-addresses", 64, 1, 254));
  if (auto p = args.get("server-pids")) o.server_pids = parse_pid_list(*p);
  o.server_children = args.flag("server-children", false);
  o.naming.prefix = args.str("prefix", "bench");
  if (o.naming.prefix.empty() ||
      o.naming.prefix.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") != std::string::npos)
    die("--prefix must be lower-case letters and digits");
  o.seed = args.flag("seed", true);
  o.publish_connections = static_cast<int>(args.bounded("publish-connections", 64, 1, 256));
  o.churn_concurrency = static_cast<int>(args.bounded("churn-concurrency", 0, 0, 5000));
  o.churn_rounds = static_cast<int>(args.bounded("churn-rounds", 2, 1, 10));
  o.hist_out = args.str("hist-out", "");
  o.sub_path = args.str("sub-path", "/sub/");
  o.pub_path = args.str("pub-path", o.kind == ServerKind::tagstream ? "/write" : "/pub/");
  o.label = args.str("label", "");
  if (o.label.find_first_of(" \t\n") != std::string::npos) die("--label must not contain spaces");
  o.gzip = args.flag("gzip", false);
  const std::string protocol = args.str("protocol", "sse");
  if (protocol != "sse" && protocol != "ws") die("--protocol must be sse or ws");
  o.ws = protocol == "ws";
  if (o.ws && (o.kind != ServerKind::tagstream || o.gzip || o.churn_concurrency > 0))
    die("--protocol ws is tagstream's /api/ws, without --gzip or churn");
  const std::string extra_headers = RequestHeaders::from_args(args).raw();
  for (Target& t : o.targets) t.extra_headers = extra_headers;
  for (Target& t : o.pub_targets) t.extra_headers = extra_headers;
  args.check_all_used();
  Run run(std::move(o));
  return run.main();
}

}  // namespace tagstream_bench
