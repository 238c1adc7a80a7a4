// tagstream-bench failover: the failover benchmark of bench/cluster.sh.
//
// Opens --streams SSE streams through nginx (--url) in front of a cluster's
// nodes (--node-urls, --node-pids), each stream on one of --tags tags, and
// publishes every tag at --rate Hz straight to the nodes. Once the streams
// are connected it asks every node's /api/stats how many streams it holds,
// takes the node with the most as the victim, and from then on publishes
// only to the others. After --before seconds it kills the victim (SIGKILL,
// so the moment is known to the microsecond), and every stream that loses
// its connection does what a browser's EventSource does: it waits the
// `retry:` delay the server sent (--default-retry-ms when it sent none),
// reconnects through nginx with Last-Event-ID and goes on reading. Measured
// from the kill: when each dropped stream got its headers again and its
// first data event after the resume; the failover time is the last of them.
//
// Then it keeps publishing --after seconds, drains, and checks every
// stream: event ids strictly increasing across the reconnect, and every
// point published for its tag since the start (the value is the publish
// time in microseconds, unique per tag) received exactly once: gaps,
// duplicates and points out of order are counted, as are history_lost
// errors. A run always ends by itself (--resume-timeout, --drain).

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "bench_args.h"
#include "event_loop.h"
#include "hdr_histogram.h"
#include "http_response.h"
#include "load_commands.h"
#include "proc_stats.h"
#include "publisher.h"
#include "sse_scan.h"
#include "url.h"

namespace tagstream_bench {

namespace {

struct Options {
  Target target;                 // nginx
  std::vector<Target> nodes;     // each node directly
  std::vector<pid_t> node_pids;  // the same order
  int streams = 3000;
  int tags = 10;
  double rate = 10;  // updates per second per tag
  double before = 3, after = 3, resume_timeout = 30, drain = 10, connect_timeout = 120;
  long default_retry_ms = 3000;
  int source_addresses = 64;
  int victim = -1;  // -1: the node holding the most streams
  TagNaming naming;
};

/// GET path from a node with a blocking socket and Connection: close; the
/// body, or "" on any failure. Only /api/stats, a few times per run.
std::string http_get(const Target& t, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string out;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&t.addr), sizeof t.addr) == 0) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + t.host_header + "\r\n" + t.extra_headers +
                            "Connection: close\r\nUser-Agent: tagstream-bench\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[16384];
      for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0 || out.size() > (4 << 20)) break;
        out.append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  const auto body = out.find("\r\n\r\n");
  if (!out.starts_with("HTTP/1.1 200") || body == std::string::npos) return {};
  return out.substr(body + 4);
}

/// streams.open from a node's /api/stats, or -1.
long open_streams(const Target& node) {
  const std::string body = http_get(node, "/api/stats");
  const auto at = body.find("\"streams\":{\"open\":");
  if (at == std::string::npos) return -1;
  long n = -1;
  const char* p = body.data() + at + 18;
  std::from_chars(p, body.data() + body.size(), n);
  return n;
}

class Run;

class Stream final : public TcpConn {
 public:
  Stream(Loop& loop, Run& run, int index) : TcpConn(loop), run_(run), index_(index) {}
  void start(const std::string& request) {
    reader_.reset();
    scanner_.reset();
    ready = false;
    send(request);
  }
  int index() const { return index_; }
  int tag() const;
  const SseScanner& scanner() const { return scanner_; }

  bool ready = false;
  bool waiting = false;
  // What the run learns about this stream.
  bool dropped = false;        // lost its connection after the kill
  double dropped_at = -1;      // monotonic
  double reconnected_at = -1;  // headers again after the drop
  double resumed_at = -1;      // first data event after the reconnect
  int reconnect_attempts = 0;
  bool any_id = false;
  std::uint64_t last_id = 0;
  std::uint64_t id_regressions = 0;
  std::vector<std::int64_t> values;  // point values (publish us) in the order received

 protected:
  void on_data(std::string_view bytes) override;
  void on_closed(int error) override;

 private:
  Run& run_;
  int index_;
  ResponseReader reader_;
  SseScanner scanner_;
};

class Run {
 public:
  explicit Run(Options o) : o_(std::move(o)), sources_(o_.source_addresses) {}
  int main();

  void on_ready(Stream& s);
  void on_event(Stream& s, std::string_view type, std::string_view data);
  void on_closed(Stream& s, const std::string& why, int status);
  bool killed() const { return kill_at_ > 0; }
  const Options& options() const { return o_; }

 private:
  std::string request(int stream, const std::string& last_event_id) const {
    return "GET /api/sse/stream?interval=raw&tags[]=" + o_.naming.tagstream_name(stream % o_.tags) +
           " HTTP/1.1\r\nHost: " + o_.target.host_header + "\r\n" + o_.target.extra_headers +
           "Accept: text/event-stream\r\nCache-Control: no-cache\r\n" +
           (last_event_id.empty() ? "" : "Last-Event-ID: " + last_event_id + "\r\n") +
           "User-Agent: tagstream-bench\r\n\r\n";
  }
  void queue_open(int i, double at);
  void pump(double now);
  bool wait_until(double deadline, const std::function<bool()>& done);
  void new_publisher(std::vector<Target> targets);

  Options o_;
  Loop loop_;
  SourceAddresses sources_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<std::pair<double, int>> open_queue_;
  int ready_ = 0, in_flight_ = 0;
  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<Schedule> schedule_;
  bool scheduling_ = false;
  std::vector<std::vector<std::int64_t>> published_;  // per tag, publish stamps in order
  std::int64_t start_us_ = 0;                         // wall clock: points from here on are checked
  double kill_at_ = 0;                                // monotonic
  std::int64_t kill_wall_us_ = 0;
  double hard_deadline_ = 0;
  std::uint64_t drops_before_kill_ = 0, http_errors_ = 0, history_lost_ = 0, error_events_ = 0;
  std::uint64_t connect_failures_ = 0;
  std::string first_error_;
  std::uint64_t publish_failed_ = 0, publish_sent_ = 0;
  std::string publish_error_;
};

int Stream::tag() const {
  return index_ % run_.options().tags;
}

void Stream::on_data(std::string_view bytes) {
  const bool had_headers = reader_.headers_done();
  const auto r = reader_.feed(bytes, [this](std::string_view body) {
    if (!is_open() || reader_.status() != 200) return;
    scanner_.feed(body,
                  [this](std::string_view type, std::string_view data) { run_.on_event(*this, type, data); });
  });
  if (!is_open()) return;
  if (!had_headers && reader_.headers_done()) {
    if (reader_.status() != 200) {
      const int status = reader_.status();
      close();
      run_.on_closed(*this, "HTTP " + std::to_string(status), status);
      return;
    }
    run_.on_ready(*this);
  }
  if (r == ResponseReader::Result::error) {
    close();
    run_.on_closed(*this, reader_.error(), 0);
  } else if (r == ResponseReader::Result::done) {
    close();
    run_.on_closed(*this, "the stream ended", 0);
  }
}

void Stream::on_closed(int error) {
  run_.on_closed(*this, error ? std::strerror(error) : "EOF", 0);
}

void Run::queue_open(int i, double at) {
  auto& s = *streams_[static_cast<std::size_t>(i)];
  if (s.waiting) return;
  s.waiting = true;
  open_queue_.insert(std::upper_bound(open_queue_.begin(), open_queue_.end(), std::make_pair(at, i)),
                     {at, i});
}

void Run::pump(double now) {
  std::size_t taken = 0;
  while (taken < open_queue_.size() && in_flight_ < 200 && open_queue_[taken].first <= now) {
    const int i = open_queue_[taken++].second;
    auto& s = *streams_[static_cast<std::size_t>(i)];
    s.waiting = false;
    if (!s.open(o_.target.addr, sources_.next())) {
      ++connect_failures_;
      open_queue_.erase(open_queue_.begin(), open_queue_.begin() + static_cast<std::ptrdiff_t>(taken));
      queue_open(i, now + 0.5);
      return;
    }
    ++in_flight_;
    if (s.dropped) ++s.reconnect_attempts;
    s.start(request(i, s.scanner().last_id()));
  }
  open_queue_.erase(open_queue_.begin(), open_queue_.begin() + static_cast<std::ptrdiff_t>(taken));
  if (scheduling_) schedule_->take_due(now, [this](int tag) { publisher_->publish(tag); });
  if (publisher_) publisher_->pump();
}

bool Run::wait_until(double deadline, const std::function<bool()>& done) {
  while (!done()) {
    const double now = mono_s();
    if (now >= deadline || now >= hard_deadline_) return false;
    pump(now);
    loop_.run_once(2);
  }
  return true;
}

void Run::on_ready(Stream& s) {
  --in_flight_;
  ++ready_;
  s.ready = true;
  if (s.dropped && s.reconnected_at < 0) s.reconnected_at = mono_s();
}

void Run::on_event(Stream& s, std::string_view type, std::string_view d) {
  // Ids of the events that carry one (connected and heartbeat events carry
  // none): strictly increasing on each stream, across the reconnect too.
  if (s.scanner().event_has_id()) {
    std::uint64_t id = 0;
    const std::string& text = s.scanner().last_id();
    std::from_chars(text.data(), text.data() + text.size(), id);
    if (s.any_id && id <= s.last_id) ++s.id_regressions;
    s.any_id = true;
    s.last_id = std::max(s.last_id, id);
  }
  if (type == "data") {
    if (s.dropped && s.reconnected_at >= 0 && s.resumed_at < 0) s.resumed_at = mono_s();
    for (auto pos = d.find("\"v\":"); pos != std::string_view::npos; pos = d.find("\"v\":", pos)) {
      pos += 4;
      double v = 0;
      auto [end, ec] = std::from_chars(d.data() + pos, d.data() + d.size(), v);
      if (ec != std::errc()) continue;
      const auto stamp = static_cast<std::int64_t>(v);
      if (start_us_ > 0 && stamp >= start_us_) s.values.push_back(stamp);
    }
  } else if (type == "error") {
    ++error_events_;
    if (d.find("history_lost") != std::string_view::npos) ++history_lost_;
    if (first_error_.empty()) first_error_ = "error event: " + std::string(d.substr(0, 200));
  }
}

void Run::on_closed(Stream& s, const std::string& why, int status) {
  if (s.is_open()) s.close();
  if (s.ready) {
    --ready_;
  } else {
    --in_flight_;
  }
  const bool was_ready = s.ready;
  s.ready = false;
  if (status) ++http_errors_;
  if (first_error_.empty()) first_error_ = "stream " + std::to_string(s.index()) + ": " + why;
  if (!killed()) {
    ++drops_before_kill_;
  } else if (!s.dropped) {
    s.dropped = true;
    s.dropped_at = mono_s();
  } else if (was_ready) {
    s.reconnected_at = -1;  // lost again before its first event: wait for the next one
  }
  // As an EventSource: wait the server's retry delay, then reconnect with
  // the last event id.
  const long retry = s.scanner().retry_ms() >= 0 ? s.scanner().retry_ms() : o_.default_retry_ms;
  queue_open(s.index(), mono_s() + static_cast<double>(retry) / 1000.0);
}

void Run::new_publisher(std::vector<Target> targets) {
  publisher_ = std::make_unique<Publisher>(loop_, ServerKind::tagstream, std::move(targets), o_.naming,
                                           sources_, 16, "/write");
  publisher_->on_sent = [this](int tag, std::int64_t stamp) {
    ++publish_sent_;
    if (start_us_ > 0) published_[static_cast<std::size_t>(tag)].push_back(stamp);
  };
}

int Run::main() {
  const long fd_limit = raise_fd_limit();
  if (o_.streams + 64 > fd_limit) die("this run needs more open files than the limit (ulimit -Hn)");
  hard_deadline_ = mono_s() + std::min(kMaxRunSeconds, o_.connect_timeout + o_.before + o_.resume_timeout +
                                                           o_.after + o_.drain + 120);
  published_.assign(static_cast<std::size_t>(o_.tags), {});

  // 1. Create the tags: written once on every node, so that a stream finds
  // its tag wherever nginx sends it without waiting for the tag to travel.
  for (const Target& node : o_.nodes) {
    new_publisher({node});
    for (int k = 0; k < o_.tags; ++k) publisher_->publish(k);
    if (!wait_until(mono_s() + 30, [&] { return publisher_->idle(); }) || publisher_->stats().requests_failed)
      die("seeding the tags failed: " + publisher_->stats().first_error);
  }
  wait_until(mono_s() + 0.5, [] { return false; });

  // 2. Connect the streams through nginx.
  for (int i = 0; i < o_.streams; ++i) streams_.push_back(std::make_unique<Stream>(loop_, *this, i));
  const double t0 = mono_s();
  for (int i = 0; i < o_.streams; ++i) queue_open(i, 0);
  if (!wait_until(t0 + o_.connect_timeout, [&] { return ready_ == o_.streams; }))
    die("only " + std::to_string(ready_) + " of " + std::to_string(o_.streams) +
        " streams connected (first error: " + first_error_ + ")");
  std::printf("connected %d streams through nginx in %.2f s\n", o_.streams, mono_s() - t0);

  // 3. Where are they? The victim is the node holding the most.
  std::vector<long> per_node;
  std::string spread;
  for (const Target& n : o_.nodes) {
    per_node.push_back(open_streams(n));
    spread += (spread.empty() ? "" : ",") + std::to_string(per_node.back());
  }
  int victim = o_.victim;
  if (victim < 0)
    victim = static_cast<int>(std::max_element(per_node.begin(), per_node.end()) - per_node.begin());
  if (victim >= static_cast<int>(o_.nodes.size())) die("--victim is not a node");
  std::printf("streams per node (/api/stats): %s; victim: node %d (pid %d, %ld streams)\n", spread.c_str(),
              victim, static_cast<int>(o_.node_pids[static_cast<std::size_t>(victim)]),
              per_node[static_cast<std::size_t>(victim)]);
  std::fflush(stdout);

  // 4. Publish to the survivors only, from now on; every point is checked.
  std::vector<Target> survivors;
  for (std::size_t n = 0; n < o_.nodes.size(); ++n)
    if (static_cast<int>(n) != victim) survivors.push_back(o_.nodes[n]);
  if (survivors.empty()) die("a failover needs at least two nodes");
  new_publisher(survivors);
  start_us_ = wall_us();
  schedule_ = std::make_unique<Schedule>(o_.tags, o_.rate, mono_s());
  scheduling_ = true;
  wait_until(mono_s() + o_.before, [] { return false; });

  // 5. kill -9 the victim.
  const pid_t pid = o_.node_pids[static_cast<std::size_t>(victim)];
  kill_wall_us_ = wall_us();
  kill_at_ = mono_s();
  if (::kill(pid, SIGKILL) != 0) die(std::string("kill: ") + std::strerror(errno));
  std::printf("killed node %d (pid %d)\n", victim, static_cast<int>(pid));
  std::fflush(stdout);

  // 6. Wait until every stream that dropped has resumed (and none is left
  // unconnected), at most --resume-timeout.
  auto all_resumed = [&] {
    if (ready_ != o_.streams) return false;
    for (const auto& s : streams_)
      if (s->dropped && s->resumed_at < 0) return false;
    return mono_s() - kill_at_ > 0.5;  // the drops themselves take a moment to arrive
  };
  const bool resumed = wait_until(kill_at_ + o_.resume_timeout, all_resumed);
  const double settled_s = mono_s() - kill_at_;

  // 7. Go on a while, stop publishing, drain until every point arrived.
  wait_until(mono_s() + o_.after, [] { return false; });
  scheduling_ = false;
  auto complete = [&] {
    if (!publisher_->idle()) return false;
    for (const auto& s : streams_)
      if (s->values.size() < published_[static_cast<std::size_t>(s->tag())].size()) return false;
    return true;
  };
  wait_until(mono_s() + o_.drain, complete);
  const PublisherStats ps = publisher_->stats();

  // 8. The numbers, and the check of every stream.
  std::uint64_t dropped = 0, never_resumed = 0, gaps = 0, dups = 0, disorder = 0, id_regressions = 0;
  std::uint64_t short_streams = 0, received = 0, expected = 0;
  LatencyHistogram resume_ms, reconnect_ms;
  double last_resume = 0, last_reconnect = 0;
  for (const auto& s : streams_) {
    id_regressions += s->id_regressions;
    if (s->dropped) {
      ++dropped;
      if (s->resumed_at < 0) {
        ++never_resumed;
      } else {
        last_resume = std::max(last_resume, s->resumed_at - kill_at_);
        resume_ms.record(static_cast<std::int64_t>((s->resumed_at - kill_at_) * 1000));
      }
      if (s->reconnected_at >= 0) {
        last_reconnect = std::max(last_reconnect, s->reconnected_at - kill_at_);
        reconnect_ms.record(static_cast<std::int64_t>((s->reconnected_at - kill_at_) * 1000));
      }
    }
    const auto& want = published_[static_cast<std::size_t>(s->tag())];
    received += s->values.size();
    expected += want.size();
    std::unordered_set<std::int64_t> seen;
    seen.reserve(s->values.size());
    for (std::size_t j = 0; j < s->values.size(); ++j) {
      if (!seen.insert(s->values[j]).second) ++dups;
      if (j && s->values[j] <= s->values[j - 1]) ++disorder;
    }
    std::uint64_t missing = 0;
    for (std::int64_t v : want)
      if (!seen.count(v)) ++missing;
    gaps += missing;
    if (missing) ++short_streams;
  }
  std::printf(
      "kill -> last dropped stream's first event after the resume: %.3f s (reconnected %.3f s); %llu streams "
      "dropped, %llu never resumed; retry delay %ld ms%s\n",
      last_resume, last_reconnect, static_cast<unsigned long long>(dropped),
      static_cast<unsigned long long>(never_resumed),
      streams_.empty() || streams_[0]->scanner().retry_ms() < 0 ? o_.default_retry_ms
                                                                : streams_[0]->scanner().retry_ms(),
      streams_.empty() || streams_[0]->scanner().retry_ms() < 0 ? " (none sent: the default)"
                                                                : " (sent by the server)");
  std::printf(
      "check: %llu points received of %llu published x subscribers; missing %llu (%llu streams short), "
      "duplicates %llu, out of order %llu, id regressions %llu, history_lost %llu; publish failed %llu\n",
      static_cast<unsigned long long>(received), static_cast<unsigned long long>(expected),
      static_cast<unsigned long long>(gaps), static_cast<unsigned long long>(short_streams),
      static_cast<unsigned long long>(dups), static_cast<unsigned long long>(disorder),
      static_cast<unsigned long long>(id_regressions), static_cast<unsigned long long>(history_lost_),
      static_cast<unsigned long long>(ps.updates_failed));
  if (!first_error_.empty()) std::printf("first error: %s\n", first_error_.c_str());
  if (!ps.first_error.empty()) std::printf("first publish error: %s\n", ps.first_error.c_str());
  const long retry = streams_.empty() || streams_[0]->scanner().retry_ms() < 0
                         ? o_.default_retry_ms
                         : streams_[0]->scanner().retry_ms();
  std::printf(
      "RESULT failover streams=%d nodes=%zu victim=%d victim_streams=%ld spread=%s dropped=%llu "
      "never_resumed=%llu all_resumed=%s failover_s=%.3f reconnect_s=%.3f resume_p50_ms=%llu "
      "resume_p99_ms=%llu "
      "reconnect_p50_ms=%llu settled_s=%.3f retry_ms=%ld retry_sent=%s drops_before_kill=%llu "
      "http_errors=%llu "
      "connect_failures=%llu received=%llu expected=%llu missing=%llu short_streams=%llu duplicates=%llu "
      "out_of_order=%llu id_regressions=%llu history_lost=%llu error_events=%llu published=%llu "
      "publish_failed=%llu tags=%d rate=%g\n",
      o_.streams, o_.nodes.size(), victim, per_node[static_cast<std::size_t>(victim)], spread.c_str(),
      static_cast<unsigned long long>(dropped), static_cast<unsigned long long>(never_resumed),
      resumed ? "true" : "false", last_resume, last_reconnect,
      static_cast<unsigned long long>(resume_ms.percentile(50)),
      static_cast<unsigned long long>(resume_ms.percentile(99)),
      static_cast<unsigned long long>(reconnect_ms.percentile(50)), settled_s, retry,
      streams_.empty() || streams_[0]->scanner().retry_ms() < 0 ? "false" : "true",
      static_cast<unsigned long long>(drops_before_kill_), static_cast<unsigned long long>(http_errors_),
      static_cast<unsigned long long>(connect_failures_), static_cast<unsigned long long>(received),
      static_cast<unsigned long long>(expected), static_cast<unsigned long long>(gaps),
      static_cast<unsigned long long>(short_streams), static_cast<unsigned long long>(dups),
      static_cast<unsigned long long>(disorder), static_cast<unsigned long long>(id_regressions),
      static_cast<unsigned long long>(history_lost_), static_cast<unsigned long long>(error_events_),
      static_cast<unsigned long long>(publish_sent_), static_cast<unsigned long long>(ps.updates_failed),
      o_.tags, o_.rate);
  for (auto& s : streams_) s->close();
  const bool clean = resumed && dropped > 0 && gaps == 0 && dups == 0 && disorder == 0 && id_regressions == 0;
  return clean ? 0 : 1;
}

}  // namespace

void failover_usage() {
  std::fputs(
      "  tagstream-bench failover --url http://127.0.0.1:NGINX --node-urls URL,URL,.. --node-pids "
      "PID,PID,..\n"
      "      Opens --streams N (3000) SSE streams through nginx, stream i on tag i mod --tags T (10),\n"
      "      publishes every tag at --rate HZ (10) to the nodes, kills (SIGKILL) the node holding the most\n"
      "      streams (or --victim I) after --before S (3), reconnects the dropped streams as a browser does\n"
      "      (after the server's retry: delay, else --default-retry-ms 3000, with Last-Event-ID) and\n"
      "      reports the time from the kill to the last one's first event; publishes --after S (3) more,\n"
      "      then checks every stream: ids increasing, each point once. Also --resume-timeout 30,\n"
      "      --drain 10, --connect-timeout 120, --source-addresses 64, --prefix failover.\n"
      "      Exit status 1 when a stream did not resume or saw a gap, a duplicate or an id go back.\n",
      stderr);
}

int run_failover(Args& args) {
  Options o;
  o.target = ipv4_loopback_target(args.str("url", ""));
  o.nodes = loopback_targets(args.str("node-urls", ""));
  o.node_pids = parse_pid_list(args.str("node-pids", ""));
  if (o.node_pids.size() != o.nodes.size()) die("--node-pids must name one pid per --node-urls URL");
  o.streams = static_cast<int>(args.bounded("streams", 3000, 1, 15000));
  o.tags = static_cast<int>(args.bounded("tags", 10, 1, 1000));
  o.rate = args.num("rate", 10);
  if (o.rate <= 0 || o.rate * o.tags > 100000) die("--rate must be > 0 and rate x tags at most 100,000/s");
  o.before = args.num("before", 3);
  o.after = args.num("after", 3);
  o.resume_timeout = args.num("resume-timeout", 30);
  o.drain = args.num("drain", 10);
  o.connect_timeout = args.num("connect-timeout", 120);
  for (double v : {o.before, o.after, o.resume_timeout, o.drain, o.connect_timeout})
    if (v < 0 || v > 600) die("times must be in [0, 600] seconds");
  o.default_retry_ms = args.bounded("default-retry-ms", 3000, 0, 600000);
  o.source_addresses = static_cast<int>(args.bounded("source-addresses", 64, 1, 254));
  o.victim = static_cast<int>(args.bounded("victim", -1, -1, 15));
  o.naming.prefix = args.str("prefix", "failover");
  if (o.naming.prefix.empty() ||
      o.naming.prefix.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") != std::string::npos)
    die("--prefix must be lower-case letters and digits");
  args.check_all_used();
  Run run(std::move(o));
  return run.main();
}

}  // namespace tagstream_bench
