// tagstream-bench opens: how fast streams open. --clients N connections
// (default 8) each repeatedly connect, GET one SSE stream URL, read until the
// `connected` event arrives and close, for --seconds. Reports opens/s and the
// open latency (connect to `connected`) p50/p99; an answer other than 200 is
// an error, and the first error's body is printed. With --tokens-file, each
// open sends the next token of the file (Authorization: Bearer), cycling: a
// file of distinct JWTs measures the signature check uncached (bench/auth.sh).
//
// The connections are read on one epoll thread (event_loop.h), from source
// addresses 127.0.0.1..N in turn (closed connections leave ports in
// TIME_WAIT). Only loopback targets are accepted; the run ends by itself.

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_args.h"
#include "event_loop.h"
#include "http_response.h"
#include "load_commands.h"
#include "percentile.h"
#include "request_headers.h"
#include "sse_scan.h"
#include "url.h"

namespace tagstream_bench {

namespace {

constexpr std::uint64_t kMaxOpens = 10'000'000;

struct OpensOptions {
  Target target;
  std::string path;  // the stream's path and query
  int clients = 8;
  double seconds = 10;
  double timeout = 10;  // an open that takes longer is an error
  int source_addresses = 64;
  std::vector<std::string> tokens;  // --tokens-file, cycled
  std::string label;
};

class OpensRun;

/// One client: open, wait for `connected`, close, again.
class Opener final : public TcpConn {
 public:
  Opener(Loop& loop, OpensRun& run) : TcpConn(loop), run_(run) {}
  void start(const std::string& request);
  double started = 0;  // monotonic, when the connect began
  bool busy = false;   // an open in progress

 protected:
  void on_data(std::string_view bytes) override;
  void on_closed(int error) override;

 private:
  OpensRun& run_;
  ResponseReader reader_;
  SseScanner scanner_;
  std::string error_body_;
  bool connected_event_ = false;
};

class OpensRun {
 public:
  explicit OpensRun(OpensOptions o) : o_(std::move(o)), sources_(o_.source_addresses) {}
  int main();
  /// An open ended: ok (the `connected` event came), else the HTTP status
  /// (0: no answer) and why.
  void finished(Opener& c, bool ok, int status, const std::string& why);

 private:
  std::string next_request();
  void launch(Opener& c);

  OpensOptions o_;
  Loop loop_;
  SourceAddresses sources_;
  std::vector<std::unique_ptr<Opener>> clients_;
  std::size_t next_token_ = 0;
  bool stopping_ = false;
  std::uint64_t started_ = 0, ok_ = 0, transport_errors_ = 0, timeouts_ = 0;
  std::map<int, std::uint64_t> http_errors_;
  std::string first_error_;
  std::vector<double> latencies_ms_;
};

void Opener::start(const std::string& request) {
  reader_.reset();
  scanner_.reset();
  error_body_.clear();
  connected_event_ = false;
  busy = true;
  started = mono_s();
  send(request);
}

void Opener::on_data(std::string_view bytes) {
  const auto r = reader_.feed(bytes, [this](std::string_view body) {
    if (reader_.status() != 200) {
      if (error_body_.size() < 300) error_body_.append(body.substr(0, 300 - error_body_.size()));
      return;
    }
    if (connected_event_) return;
    scanner_.feed(body, [this](std::string_view type, std::string_view) {
      if (type == "connected") connected_event_ = true;
    });
  });
  if (connected_event_) {
    close();
    run_.finished(*this, true, 200, "");
  } else if (r == ResponseReader::Result::error) {
    close();
    run_.finished(*this, false, reader_.status(), reader_.error());
  } else if (r == ResponseReader::Result::done) {
    close();
    const int status = reader_.status();
    run_.finished(*this, false, status,
                  status == 200 ? "the stream ended before its connected event" : error_body_);
  }
}

void Opener::on_closed(int error) {
  if (reader_.headers_done() && reader_.status() != 200) {
    run_.finished(*this, false, reader_.status(), error_body_);
    return;
  }
  run_.finished(*this, false, 0, error ? std::strerror(error) : "the server closed the connection");
}

std::string OpensRun::next_request() {
  std::string req =
      "GET " + o_.path + " HTTP/1.1\r\nHost: " + o_.target.host_header + "\r\n" + o_.target.extra_headers;
  if (!o_.tokens.empty()) {
    req += "Authorization: Bearer " + o_.tokens[next_token_] + "\r\n";
    next_token_ = (next_token_ + 1) % o_.tokens.size();
  }
  req += "Accept: text/event-stream\r\nCache-Control: no-cache\r\nUser-Agent: tagstream-bench\r\n\r\n";
  return req;
}

void OpensRun::launch(Opener& c) {
  if (stopping_ || started_ >= kMaxOpens) return;
  if (!c.open(o_.target.addr, sources_.next())) {
    ++transport_errors_;
    if (first_error_.empty()) first_error_ = std::string("connect: ") + std::strerror(errno);
    return;  // retried on the next tick
  }
  ++started_;
  c.start(next_request());
}

void OpensRun::finished(Opener& c, bool ok, int status, const std::string& why) {
  if (!c.busy) return;
  c.busy = false;
  if (c.is_open()) c.close();
  if (ok) {
    ++ok_;
    latencies_ms_.push_back((mono_s() - c.started) * 1000.0);
  } else if (status > 0) {
    ++http_errors_[status];
    if (first_error_.empty()) first_error_ = "HTTP " + std::to_string(status) + ": " + why;
  } else {
    ++transport_errors_;
    if (first_error_.empty()) first_error_ = "transport: " + why;
  }
  launch(c);
}

int OpensRun::main() {
  raise_fd_limit();
  std::printf("opens: http://%s%s clients=%d seconds=%g tokens=%zu%s%s\n", o_.target.host_header.c_str(),
              o_.path.c_str(), o_.clients, o_.seconds, o_.tokens.size(),
              o_.label.empty() ? "" : " label=", o_.label.c_str());
  std::fflush(stdout);
  for (int i = 0; i < o_.clients; ++i) clients_.push_back(std::make_unique<Opener>(loop_, *this));
  const double t0 = mono_s();
  const double deadline = t0 + o_.seconds;
  for (auto& c : clients_) launch(*c);
  double next_tick = t0 + 0.1;
  while (mono_s() < deadline) {
    loop_.run_once(20);
    const double now = mono_s();
    if (now < next_tick) continue;
    next_tick = now + 0.1;
    for (auto& c : clients_) {
      if (c->busy && now - c->started > o_.timeout) {
        ++timeouts_;
        if (first_error_.empty()) first_error_ = "an open took over " + std::to_string(o_.timeout) + " s";
        c->busy = false;
        c->close();
      }
      if (!c->busy) launch(*c);
    }
  }
  stopping_ = true;
  const double elapsed = mono_s() - t0;
  // Opens still in flight at the deadline are not counted.
  for (auto& c : clients_) {
    c->busy = false;
    c->close();
  }
  std::uint64_t http_errors = 0;
  std::string statuses;
  for (const auto& [status, count] : http_errors_) {
    http_errors += count;
    if (!statuses.empty()) statuses += ',';
    statuses += std::to_string(status) + ":" + std::to_string(count);
  }
  const double rate = static_cast<double>(ok_) / elapsed;
  const double p50 = percentile(latencies_ms_, 50), p99 = percentile(latencies_ms_, 99),
               pmax = percentile(latencies_ms_, 100);
  std::printf("elapsed %.2f s: %llu opens ok, %llu HTTP errors (%s), %llu transport errors, %llu timeouts\n",
              elapsed, static_cast<unsigned long long>(ok_), static_cast<unsigned long long>(http_errors),
              statuses.empty() ? "none" : statuses.c_str(),
              static_cast<unsigned long long>(transport_errors_), static_cast<unsigned long long>(timeouts_));
  if (!first_error_.empty()) std::printf("  first error: %s\n", first_error_.c_str());
  std::printf("opens/s %.1f  open latency ms p50 %.3f p99 %.3f max %.3f\n", rate, p50, p99, pmax);
  std::printf(
      "RESULT opens label=%s opens_per_s=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f ok=%llu http_errors=%llu "
      "statuses=%s transport_errors=%llu timeouts=%llu elapsed_s=%.3f\n",
      o_.label.empty() ? "-" : o_.label.c_str(), rate, p50, p99, pmax, static_cast<unsigned long long>(ok_),
      static_cast<unsigned long long>(http_errors), statuses.empty() ? "none" : statuses.c_str(),
      static_cast<unsigned long long>(transport_errors_), static_cast<unsigned long long>(timeouts_),
      elapsed);
  return ok_ > 0 && http_errors == 0 && transport_errors_ == 0 && timeouts_ == 0 ? 0 : 1;
}

/// The tokens of a file, one a line; blank lines and lines starting with #
/// are skipped.
std::vector<std::string> read_tokens(const std::string& file) {
  std::ifstream in(file);
  if (!in) die("--tokens-file: cannot read " + file);
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    line.erase(0, first);
    if (line.find_first_of(" \t") != std::string::npos) die("--tokens-file: a token with a space in " + file);
    tokens.push_back(line);
  }
  if (tokens.empty()) die("--tokens-file: no tokens in " + file);
  return tokens;
}

}  // namespace

void opens_usage() {
  std::fputs(
      "  tagstream-bench opens --url 'http://127.0.0.1:PORT/api/sse/stream?tags[]=TAG' [--clients 8]\n"
      "        [--seconds 10] [--timeout 10] [--header 'Name: value']... [--tokens-file FILE]\n"
      "        [--source-addresses 64] [--label TEXT]\n"
      "      --clients connections each open the stream, read until its `connected` event, close, and\n"
      "      again, for --seconds: opens/s and open latency p50/p99 (connect to `connected`). Non-200\n"
      "      answers are errors (the first one's body is printed). --tokens-file: one token a line, sent\n"
      "      as 'Authorization: Bearer' with each open in turn.\n",
      stderr);
}

int run_opens(Args& args) {
  OpensOptions o;
  const std::string url = args.str("url", "");
  if (url.empty()) die("opens needs --url 'http://127.0.0.1:PORT/api/sse/stream?tags[]=TAG'");
  o.target = ipv4_loopback_target(url);
  o.path = parse_url(url).target;
  o.clients = static_cast<int>(args.bounded("clients", 8, 1, 1000));
  o.seconds = args.num("seconds", 10);
  o.timeout = args.num("timeout", 10);
  o.source_addresses = static_cast<int>(args.bounded("source-addresses", 64, 1, 254));
  o.label = args.str("label", "");
  if (o.label.find_first_of(" \t\n") != std::string::npos) die("--label must not contain spaces");
  if (auto f = args.get("tokens-file")) o.tokens = read_tokens(*f);
  o.target.extra_headers = RequestHeaders::from_args(args).raw();
  args.check_all_used();
  if (o.seconds <= 0 || o.seconds > kMaxRunSeconds) die("--seconds must be in (0, 3600]");
  if (o.timeout <= 0 || o.timeout > 300) die("--timeout must be in (0, 300]");
  OpensRun run(std::move(o));
  return run.main();
}

}  // namespace tagstream_bench
