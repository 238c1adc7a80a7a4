#include "publisher.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace tagstream_bench {

namespace {
constexpr std::size_t kMaxLinesPerRequest = 20000;
}

std::string TagNaming::id(int k) const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "t%05d", k);
  return buf;
}
std::string TagNaming::tagstream_name(int k) const {
  return prefix + "." + id(k) + ".v";
}
std::string TagNaming::channel(int k) const {
  return prefix + "_" + id(k);
}

// ---------------------------------------------------------------------------

Schedule::Schedule(int tags, double rate_per_tag, double start_mono)
    : tags_(tags), period_(1.0 / (rate_per_tag * tags)), start_(start_mono) {}

void Schedule::take_due(double now, const std::function<void(int)>& due) {
  while (start_ + static_cast<double>(next_) * period_ <= now) {
    due(static_cast<int>(next_ % static_cast<std::uint64_t>(tags_)));
    ++next_;
  }
}

double Schedule::next_due() const {
  return start_ + static_cast<double>(next_) * period_;
}

// ---------------------------------------------------------------------------

class Publisher::Conn final : public TcpConn {
 public:
  Conn(Loop& loop, Publisher& owner, const Target& target) : TcpConn(loop), target(target), owner_(owner) {}
  const Target& target;
  bool busy = false;
  std::size_t updates_in_flight = 0;
  std::vector<int> tags;  // tagstream: the tags in the request awaiting its answer
  ResponseReader reader;

 protected:
  void on_data(std::string_view bytes) override {
    const auto r = reader.feed(bytes, [](std::string_view) {});
    if (r == ResponseReader::Result::more) return;
    const bool ok = r == ResponseReader::Result::done && reader.status() >= 200 && reader.status() < 300;
    const int status = reader.status();
    const bool keep = r == ResponseReader::Result::done && reader.keep_alive();
    std::string why = r == ResponseReader::Result::error ? reader.error() : "";
    if (!keep) close();
    owner_.answered(*this, ok, status, why);
  }
  void on_closed(int error) override {
    if (busy) owner_.answered(*this, false, 0, error ? std::strerror(error) : "connection closed");
  }

 private:
  Publisher& owner_;
};

Publisher::Publisher(Loop& loop, ServerKind kind, std::vector<Target> targets, TagNaming naming,
                     SourceAddresses& sources, int max_connections, std::string pub_path)
    : loop_(loop),
      kind_(kind),
      targets_(std::move(targets)),
      naming_(std::move(naming)),
      sources_(sources),
      max_connections_(max_connections),
      pub_path_(std::move(pub_path)) {}

Publisher::~Publisher() = default;

void Publisher::publish(int tag) {
  backlog_.push_back(tag);
  stats_.max_backlog = std::max<std::uint64_t>(stats_.max_backlog, backlog_.size());
}

bool Publisher::idle() const {
  if (!backlog_.empty()) return false;
  for (const auto& c : conns_)
    if (c->busy) return false;
  return true;
}

bool Publisher::sendable() const {
  if (kind_ != ServerKind::tagstream) return !backlog_.empty();
  for (int tag : backlog_)
    if (!tag_in_flight(tag)) return true;
  return false;
}

bool Publisher::tag_in_flight(int tag) const {
  return static_cast<std::size_t>(tag) < in_flight_.size() && in_flight_[static_cast<std::size_t>(tag)];
}

void Publisher::pump() {
  while (sendable()) {
    Conn* free_conn = nullptr;
    for (auto& c : conns_)
      if (!c->busy) {
        free_conn = c.get();
        break;
      }
    if (!free_conn) {
      if (static_cast<int>(conns_.size()) >= max_connections_) return;
      conns_.push_back(std::make_unique<Conn>(loop_, *this, targets_[conns_.size() % targets_.size()]));
      free_conn = conns_.back().get();
    }
    send_on(*free_conn);
  }
}

void Publisher::send_on(Conn& c) {
  if (!c.is_open()) {
    if (!c.open(c.target.addr, sources_.next())) {
      if (stats_.first_error.empty())
        stats_.first_error = std::string("publisher connect: ") + std::strerror(errno);
      ++stats_.requests_failed;
      ++stats_.updates_failed;
      backlog_.pop_front();  // drop it: the run reports the failure
      return;
    }
  }
  const std::int64_t stamp = wall_us();
  std::string head;
  body_.clear();
  std::size_t n = 0;
  if (kind_ == ServerKind::tagstream) {
    // Every update due goes into one request (as a Telegraf flush would),
    // except those of a tag whose previous request is still unanswered:
    // a tag's samples go in order, as from one data source. (Two requests
    // on different connections may be applied in either order, and a sample
    // older than its tag's newest is late: history only, never streamed.)
    // Updates of one tag that waited together are different samples: each
    // repeat is stamped a microsecond later, or the server would rightly
    // keep them as one point (same tag, same time).
    repeats_.clear();
    c.tags.clear();
    char num[32];
    const std::size_t waiting = backlog_.size();
    for (std::size_t i = 0; i < waiting; ++i) {
      const int tag = backlog_.front();
      backlog_.pop_front();
      if (tag_in_flight(tag) || n >= kMaxLinesPerRequest) {
        backlog_.push_back(tag);  // keeps its place among those left
        continue;
      }
      auto [repeat, first] = repeats_.try_emplace(tag, 0);
      if (first) c.tags.push_back(tag);
      const std::int64_t line_stamp = stamp + repeat->second++;
      const int len = std::snprintf(num, sizeof num, "%lld", static_cast<long long>(line_stamp));
      body_ += naming_.prefix;
      body_ += ",id=";
      body_ += naming_.id(tag);
      body_ += " v=";
      body_.append(num, static_cast<std::size_t>(len));
      body_ += ' ';
      body_.append(num, static_cast<std::size_t>(len));
      body_ += '\n';
      ++n;
      if (on_sent) on_sent(tag, line_stamp);
    }
    for (int tag : c.tags) {
      if (static_cast<std::size_t>(tag) >= in_flight_.size())
        in_flight_.resize(static_cast<std::size_t>(tag) + 1, 0);
      in_flight_[static_cast<std::size_t>(tag)] = 1;
    }
    head = "POST " + pub_path_ + "?precision=us HTTP/1.1\r\nHost: " + c.target.host_header + "\r\n" +
           c.target.extra_headers +
           "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body_.size()) +
           "\r\n\r\n";
  } else {
    const int tag = backlog_.front();
    backlog_.pop_front();
    n = 1;
    char msg[256];
    const int len = std::snprintf(
        msg, sizeof msg,
        "{\"interval\":\"raw\",\"points\":[{\"tag\":\"%s\",\"t\":%lld,\"v\":%lld,\"q\":\"good\"}]}",
        naming_.tagstream_name(tag).c_str(), static_cast<long long>(stamp / 1000),
        static_cast<long long>(stamp));
    body_.assign(msg, static_cast<std::size_t>(len));
    head = "POST " + pub_path_ + naming_.channel(tag) + " HTTP/1.1\r\nHost: " + c.target.host_header +
           "\r\n" + c.target.extra_headers +
           "Content-Type: application/json\r\nContent-Length: " + std::to_string(body_.size()) + "\r\n\r\n";
    if (on_sent) on_sent(tag, stamp);
  }
  c.busy = true;
  c.updates_in_flight = n;
  c.reader.reset();
  stats_.updates_sent += n;
  c.send(head + body_);
}

void Publisher::answered(Conn& c, bool ok, int status, const std::string& why) {
  c.busy = false;
  for (int tag : c.tags) in_flight_[static_cast<std::size_t>(tag)] = 0;
  c.tags.clear();
  if (ok) {
    ++stats_.requests_ok;
  } else {
    ++stats_.requests_failed;
    stats_.updates_failed += c.updates_in_flight;
    if (stats_.first_error.empty())
      stats_.first_error = "publish: " + (status ? "HTTP " + std::to_string(status) : why);
  }
  c.updates_in_flight = 0;
  pump();
}

}  // namespace tagstream_bench
