// tagstream-bench poll: what the dashboards did before streaming, for the
// comparison of scenario 5 of bench/streaming.sh.
//
// N clients poll GET /api/data/latest for the same tags every --period
// seconds (5), staggered evenly over the period, over keep-alive
// connections, with or without If-None-Match (the server's ETag; 304 when
// nothing changed). Meanwhile the tags are published at --rate per tag
// through POST /write, the publish time in each value (see publisher.h).
// Reported per client and minute: requests, bytes on the wire (request and
// response, headers included); and the staleness of every update: how long
// after its publication a client first held it or a newer value of its tag
// (for a stream, that is its delivery latency). With --gzip true the polls
// ask for gzip: the bytes counted are those on the wire, and a compressed
// answer is inflated before it is read.

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
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
#include "request_headers.h"
#include "url.h"

namespace tagstream_bench {

namespace {

// A decoded answer larger than this is an error. The largest one the options
// allow (1000 tags) is about 100 KB: only a broken answer comes near.
constexpr std::size_t kMaxDecodedAnswer = 64 << 20;

struct PollOptions {
  Target target;
  int clients = 100;
  int tags = 50;
  TagNaming naming;
  double period = 5;
  bool etag = true;
  double seconds = 30;
  double rate = 1;
  std::string interval = "raw";
  int source_addresses = 16;
  std::vector<pid_t> server_pids;
  std::string label;
  int publish_connections = 4;
  bool gzip = false;  // Accept-Encoding: gzip
};

class PollRun;

class Poller final : public TcpConn {
 public:
  Poller(Loop& loop, PollRun& run, int index, int tags)
      : TcpConn(loop), held(static_cast<std::size_t>(tags), 0), run_(run), index_(index) {}
  int index() const { return index_; }
  double next_due = 0;
  bool busy = false;
  bool primed = false;   // the first answer sets what the client holds; later ones are measured
  bool counted = false;  // the request was sent inside the window
  std::string etag;
  std::string body;
  ResponseReader reader;
  std::vector<std::int64_t> held;  // per tag: publish time of the value the client holds
  std::uint64_t bytes_in_at_send = 0, bytes_out_at_send = 0;

 protected:
  void on_data(std::string_view bytes) override;
  void on_closed(int error) override;

 private:
  PollRun& run_;
  int index_;
};

class PollRun {
 public:
  explicit PollRun(PollOptions o)
      : o_(std::move(o)), sources_(o_.source_addresses), server_(o_.server_pids, false) {}
  int main();
  void on_answer(Poller& p, bool ok, const std::string& why);

 private:
  void send_poll(Poller& p);
  void absorb(Poller& p, std::string_view body, std::int64_t now_us);

  PollOptions o_;
  Loop loop_;
  SourceAddresses sources_;
  ServerProcesses server_;
  std::vector<std::unique_ptr<Poller>> clients_;
  std::unique_ptr<Publisher> publisher_;
  std::string request_base_;
  std::vector<std::vector<std::int64_t>> published_;  // per tag, publish times in the window
  std::int64_t window_start_us_ = 0;
  double window_end_ = 0;
  bool in_window_ = false;
  // Window totals (requests sent inside the window, and their answers).
  std::uint64_t requests_ = 0, answers_ = 0, not_modified_ = 0, errors_ = 0, bytes_in_ = 0, bytes_out_ = 0;
  std::uint64_t with_body_ = 0, gzip_answers_ = 0, gzip_errors_ = 0,
                body_bytes_ = 0;  // of the 200 answers; bytes decoded
  std::string first_error_;
  LatencyHistogram staleness_;
};

void Poller::on_data(std::string_view bytes) {
  const auto r = reader.feed(bytes, [this](std::string_view b) { body.append(b); });
  if (r == ResponseReader::Result::more) return;
  const bool ok = r == ResponseReader::Result::done && (reader.status() == 200 || reader.status() == 304);
  std::string why =
      r == ResponseReader::Result::error ? reader.error() : "HTTP " + std::to_string(reader.status());
  if (r != ResponseReader::Result::done || !reader.keep_alive()) close();
  run_.on_answer(*this, ok, why);
}

void Poller::on_closed(int error) {
  if (busy) run_.on_answer(*this, false, error ? std::strerror(error) : "connection closed");
}

void PollRun::send_poll(Poller& p) {
  if (!p.is_open() && !p.open(o_.target.addr, sources_.next())) {
    ++errors_;
    if (first_error_.empty()) first_error_ = std::string("connect: ") + std::strerror(errno);
    return;
  }
  std::string req = request_base_;
  if (o_.etag && !p.etag.empty()) req += "If-None-Match: " + p.etag + "\r\n";
  req += "\r\n";
  p.busy = true;
  p.counted = in_window_;
  p.body.clear();
  p.reader.reset();
  p.bytes_in_at_send = p.bytes_in();
  p.bytes_out_at_send = p.bytes_out();
  if (p.counted) ++requests_;
  p.send(req);
}

/// Reads the points of a /api/data/latest answer: for each tag, every update
/// published after the value the client held, up to the one it now holds,
/// has waited (now - its publish time) to be seen.
void PollRun::absorb(Poller& p, std::string_view d, std::int64_t now_us) {
  const std::string key = "\"tag\":\"" + o_.naming.prefix + ".t";
  for (auto pos = d.find(key); pos != std::string_view::npos; pos = d.find(key, pos)) {
    pos += key.size();
    int k = 0;
    auto [e1, ec1] = std::from_chars(d.data() + pos, d.data() + d.size(), k);
    const auto vpos = d.find("\"v\":", pos);
    if (ec1 != std::errc() || vpos == std::string_view::npos || k < 0 || k >= o_.tags) continue;
    double v = 0;
    auto [e2, ec2] = std::from_chars(d.data() + vpos + 4, d.data() + d.size(), v);
    if (ec2 != std::errc()) continue;
    const auto stamp = static_cast<std::int64_t>(v);
    auto& held = p.held[static_cast<std::size_t>(k)];
    if (stamp <= held) continue;
    if (p.primed) {
      const auto& times = published_[static_cast<std::size_t>(k)];
      auto lo = std::upper_bound(times.begin(), times.end(), held);
      auto hi = std::upper_bound(times.begin(), times.end(), stamp);
      for (auto it = lo; it != hi; ++it) staleness_.record(now_us - *it);
    }
    held = stamp;
  }
  p.primed = true;
}

void PollRun::on_answer(Poller& p, bool ok, const std::string& why) {
  p.busy = false;
  const std::int64_t now = wall_us();
  if (p.counted) {
    ++answers_;
    bytes_in_ += p.bytes_in() - p.bytes_in_at_send;
    bytes_out_ += p.bytes_out() - p.bytes_out_at_send;
  }
  if (!ok) {
    if (p.counted) ++errors_;
    if (first_error_.empty()) first_error_ = "poll: " + why;
    return;
  }
  if (p.reader.status() == 304) {
    if (p.counted) ++not_modified_;
    return;
  }
  if (p.counted) ++with_body_;
  std::string_view body(p.body);
  tagstream::InflateResult inflated;
  if (!p.reader.other_encoding().empty() || p.reader.gzip()) {
    if (p.reader.other_encoding().empty()) {
      inflated = tagstream::inflate_body(p.body, kMaxDecodedAnswer);
    } else {
      inflated.error = "Content-Encoding " + p.reader.other_encoding() + " cannot be decoded";
    }
    if (!inflated.error.empty()) {
      if (p.counted) {
        ++errors_;
        ++gzip_errors_;
      }
      if (first_error_.empty())
        first_error_ =
            std::string("poll: ") + (p.reader.other_encoding().empty() ? "gzip: " : "") + inflated.error;
      // What the client holds is unknown now: start over on a new connection.
      p.close();
      return;
    }
    if (p.counted) ++gzip_answers_;
    body = inflated.data;
  }
  if (p.counted) body_bytes_ += body.size();
  if (!p.reader.etag().empty()) p.etag = p.reader.etag();
  absorb(p, body, now);
}

int PollRun::main() {
  raise_fd_limit();
  request_base_ = "GET /api/data/latest?interval=" + o_.interval;
  for (int k = 0; k < o_.tags; ++k) request_base_ += "&tags[]=" + o_.naming.tagstream_name(k);
  request_base_ += " HTTP/1.1\r\nHost: " + o_.target.host_header + "\r\n" + o_.target.extra_headers +
                   "Accept: application/json\r\nUser-Agent: tagstream-bench\r\n";
  if (o_.gzip) request_base_ += "Accept-Encoding: gzip\r\n";
  published_.assign(static_cast<std::size_t>(o_.tags), {});
  publisher_ = std::make_unique<Publisher>(loop_, ServerKind::tagstream, std::vector<Target>{o_.target},
                                           o_.naming, sources_, o_.publish_connections, "/write");
  publisher_->on_sent = [this](int tag, std::int64_t stamp) {
    if (in_window_) published_[static_cast<std::size_t>(tag)].push_back(stamp);
  };
  const double hard_deadline = mono_s() + o_.seconds + 2 * o_.period + 90;
  auto wait = [&](double until, auto&& done, auto&& tick) {
    while (!done()) {
      const double now = mono_s();
      if (now >= until || now >= hard_deadline) return false;
      tick(now);
      publisher_->pump();
      loop_.run_once(5);
    }
    return true;
  };
  // Create the tags (tagstream answers unknown tags with 404).
  for (int k = 0; k < o_.tags; ++k) publisher_->publish(k);
  if (!wait(
          mono_s() + 60, [&] { return publisher_->idle(); }, [](double) {}))
    die("seeding the tags did not finish within 60 s");
  std::printf("poll: %s clients=%d tags=%d period=%g s etag=%s gzip=%s rate=%g Hz/tag seconds=%g\n",
              o_.label.c_str(), o_.clients, o_.tags, o_.period, o_.etag ? "true" : "false",
              o_.gzip ? "true" : "false", o_.rate, o_.seconds);
  std::fflush(stdout);

  // Prime each client with one poll (so it holds values, and an ETag), then
  // measure: clients poll on their staggered schedule while the tags change.
  for (int i = 0; i < o_.clients; ++i) {
    clients_.push_back(std::make_unique<Poller>(loop_, *this, i, o_.tags));
    send_poll(*clients_.back());
  }
  wait(
      mono_s() + 30,
      [&] {
        for (auto& c : clients_)
          if (c->busy) return false;
        return true;
      },
      [](double) {});
  const double t0 = mono_s();
  for (int i = 0; i < o_.clients; ++i)
    clients_[static_cast<std::size_t>(i)]->next_due = t0 + o_.period * (i + 0.5) / o_.clients;
  const ProcSnapshot s0 = server_.empty() ? ProcSnapshot{} : server_.sample();
  const double client_cpu0 = self_cpu_seconds();
  in_window_ = true;
  window_start_us_ = wall_us();
  Schedule schedule(o_.tags, o_.rate, t0);
  auto tick = [&](double now) {
    if (in_window_ && now >= t0 + o_.seconds) {
      in_window_ = false;
      window_end_ = now;
    }
    if (in_window_) schedule.take_due(now, [&](int tag) { publisher_->publish(tag); });
    for (auto& c : clients_) {
      if (!c->busy && now >= c->next_due) {
        c->next_due += o_.period;
        send_poll(*c);
      }
    }
  };
  // The window, then one more period of polling so that every update
  // published in the window is seen by every client.
  wait(
      t0 + o_.seconds + o_.period + 0.5, [] { return false; }, tick);
  const ProcSnapshot s1 = server_.empty() ? ProcSnapshot{} : server_.sample();
  const double client_cpu = self_cpu_seconds() - client_cpu0;
  if (window_end_ == 0) window_end_ = mono_s();
  const double window_s = window_end_ - t0;
  const double span_s = mono_s() - t0;
  const double client_min = o_.clients * window_s / 60.0;
  const double req_per_min = static_cast<double>(requests_) / client_min;
  const double bytes_per_min = static_cast<double>(bytes_in_ + bytes_out_) / client_min;
  const double cpu = s1.cpu_seconds - s0.cpu_seconds;
  std::printf(
      "%llu requests in %.1f s (%llu answered 304, %llu errors): %.1f requests and %.0f bytes per "
      "client-minute "
      "(%.0f in, %.0f out); staleness us p50 %llu p99 %llu max %llu over %llu updates\n",
      static_cast<unsigned long long>(requests_), window_s, static_cast<unsigned long long>(not_modified_),
      static_cast<unsigned long long>(errors_), req_per_min, bytes_per_min,
      static_cast<double>(bytes_in_) / client_min, static_cast<double>(bytes_out_) / client_min,
      static_cast<unsigned long long>(staleness_.percentile(50)),
      static_cast<unsigned long long>(staleness_.percentile(99)),
      static_cast<unsigned long long>(staleness_.max()), static_cast<unsigned long long>(staleness_.count()));
  if (o_.gzip)
    std::printf(
        "gzip: %llu of %llu answers with a body compressed, %llu failed to inflate; %.0f body bytes per "
        "client-minute decoded\n",
        static_cast<unsigned long long>(gzip_answers_), static_cast<unsigned long long>(with_body_),
        static_cast<unsigned long long>(gzip_errors_), static_cast<double>(body_bytes_) / client_min);
  if (!first_error_.empty()) std::printf("first error: %s\n", first_error_.c_str());
  std::printf(
      "RESULT poll label=%s etag=%s clients=%d tags=%d period_s=%g requests=%llu not_modified=%llu "
      "errors=%llu "
      "requests_per_client_min=%.3f bytes_per_client_min=%.0f bytes_in_per_client_min=%.0f "
      "bytes_out_per_client_min=%.0f staleness_p50_us=%llu staleness_p99_us=%llu staleness_p999_us=%llu "
      "staleness_max_us=%llu staleness_mean_us=%.0f updates_seen=%llu server_cpu_s=%.3f "
      "server_cpu_ms_per_client_min=%.4f client_cpu_s=%.3f window_s=%.3f span_s=%.3f gzip=%s "
      "gzip_answers=%llu "
      "gzip_errors=%llu decoded_body_bytes_per_client_min=%.0f\n",
      o_.label.empty() ? "-" : o_.label.c_str(), o_.etag ? "true" : "false", o_.clients, o_.tags, o_.period,
      static_cast<unsigned long long>(requests_), static_cast<unsigned long long>(not_modified_),
      static_cast<unsigned long long>(errors_), req_per_min, bytes_per_min,
      static_cast<double>(bytes_in_) / client_min, static_cast<double>(bytes_out_) / client_min,
      static_cast<unsigned long long>(staleness_.percentile(50)),
      static_cast<unsigned long long>(staleness_.percentile(99)),
      static_cast<unsigned long long>(staleness_.percentile(99.9)),
      static_cast<unsigned long long>(staleness_.max()), staleness_.mean(),
      static_cast<unsigned long long>(staleness_.count()), cpu, cpu * 1e3 * (window_s / span_s) / client_min,
      client_cpu, window_s, span_s, o_.gzip ? "true" : "false",
      static_cast<unsigned long long>(gzip_answers_), static_cast<unsigned long long>(gzip_errors_),
      static_cast<double>(body_bytes_) / client_min);
  for (auto& c : clients_) c->close();
  return requests_ > 0 && errors_ == 0 ? 0 : 1;
}

}  // namespace

void poll_usage() {
  std::fputs(
      "  tagstream-bench poll --url http://127.0.0.1:PORT [--clients 100] [--tags 50] [--period 5] [--etag "
      "true]\n"
      "        [--rate 1] [--seconds 30] [--prefix poll] [--interval raw] [--server-pids PID] [--label "
      "TEXT]\n"
      "        [--gzip false] [--header 'Name: value']...\n"
      "      --clients clients poll GET /api/data/latest for --tags tags every --period seconds "
      "(staggered),\n"
      "      with If-None-Match when --etag true, while every tag is written at --rate per second. Reports\n"
      "      requests and bytes per client-minute and the staleness of each update (publish -> first held).\n"
      "      --gzip true sends Accept-Encoding: gzip; bytes are counted as on the wire (compressed), and a\n"
      "      compressed answer is inflated before it is read (gzip_answers: how many were).\n",
      stderr);
}

int run_poll(Args& args) {
  PollOptions o;
  const std::string url = args.str("url", "");
  if (url.empty()) die("poll needs --url http://127.0.0.1:PORT");
  o.target = ipv4_loopback_target(url);
  o.clients = static_cast<int>(args.bounded("clients", 100, 1, 10000));
  o.tags = static_cast<int>(args.bounded("tags", 50, 1, 1000));
  o.period = args.num("period", 5);
  o.etag = args.flag("etag", true);
  o.seconds = args.num("seconds", 30);
  o.rate = args.num("rate", 1);
  o.interval = args.str("interval", "raw");
  o.naming.prefix = args.str("prefix", "poll");
  o.source_addresses = static_cast<int>(args.bounded("source-addresses", 16, 1, 254));
  if (auto p = args.get("server-pids")) o.server_pids = parse_pid_list(*p);
  o.label = args.str("label", "");
  o.gzip = args.flag("gzip", false);
  o.target.extra_headers = RequestHeaders::from_args(args).raw();
  args.check_all_used();
  if (o.period < 0.1 || o.period > 600) die("--period must be 0.1..600 s");
  if (o.seconds <= 0 || o.seconds > 1800) die("--seconds must be in (0, 1800]");
  if (o.rate <= 0 || o.rate * o.tags > 100000)
    die("--rate must be > 0 (and at most 100,000 updates/s in total)");
  if (o.label.find_first_of(" \t\n") != std::string::npos) die("--label must not contain spaces");
  PollRun run(std::move(o));
  return run.main();
}

}  // namespace tagstream_bench
