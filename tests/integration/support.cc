#include "support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <thread>

#include "hub/hub.h"
#include "ingest/ingestor.h"

extern char** environ;

namespace tagstream::test {

namespace {
/// Temporary data directories, removed when the test process exits.
struct TempDirs {
  std::vector<std::string> paths;
  ~TempDirs() {
    for (const auto& p : paths) {
      std::error_code ec;
      std::filesystem::remove_all(p, ec);
    }
  }
};
TempDirs& temp_dirs() {
  static TempDirs dirs;
  return dirs;
}
}  // namespace

std::string make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "tagstream-test-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  temp_dirs().paths.push_back(pattern);
  return pattern;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= give_up) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

ServerConfig test_config() {
  ServerConfig c;
  c.data_dir = make_temp_dir();
  c.sync_full = false;  // process-crash safe is enough for tests, and much faster
  c.listen = "127.0.0.1:0";
  c.threads = 2;
  c.simulator = false;
  c.heartbeat_interval = 30;
  c.data_check_interval = 0;
  c.log_level = "warn";
  c.shutdown_grace = 2;
  return c;
}

TestServer::TestServer(ServerConfig config) : app_(std::make_unique<App>(std::move(config))) {
  app_->start();
}

TestServer::~TestServer() {
  stop();
}

void TestServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  app_->request_stop();
  app_->wait();
}

TagId TestServer::tag(const std::string& name, const std::string& unit) {
  return app_->registry().upsert(TagInfo{name, unit, "test tag " + name, DataType::number}).value();
}

void TestServer::push(const std::string& name, double value, TimeNs ts, Quality q) {
  TaggedSample s{tag(name), Sample{ts, value, q}};
  if (!app_->ingestor().ingest(std::span<const TaggedSample>(&s, 1), nullptr).queued)
    throw std::runtime_error("store queue full");
}

void TestServer::push_many(const std::vector<std::pair<std::string, double>>& values, TimeNs ts) {
  std::vector<TaggedSample> batch;
  for (const auto& [name, v] : values) batch.push_back({tag(name), Sample{ts, v, Quality::good}});
  if (!app_->ingestor().ingest(batch, nullptr).queued) throw std::runtime_error("store queue full");
}

void TestServer::wait_for_hub() {
  // The marker applies what each shard has queued (a shard inside its
  // coalescing windows is not woken for every batch).
  for (std::size_t i = 0; i < app_->hub().size(); ++i) {
    // Shared: a marker that runs after a timeout must not touch a dead promise.
    auto reached = std::make_shared<std::promise<void>>();
    HubShard& shard = app_->hub().shard(i);
    boost::asio::post(shard.io(), [reached, &shard] {
      shard.apply_queued();
      reached->set_value();
    });
    if (reached->get_future().wait_for(30s) != std::future_status::ready)
      throw std::runtime_error("a hub shard did not catch up");
  }
}

namespace {

int connect_loopback(unsigned short port, int receive_buffer = 0, const std::string& source = "") {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  if (receive_buffer > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  if (!source.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      ::close(fd);
      throw std::runtime_error("bind to " + source + " failed");
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error(std::string("connect failed: ") + std::strerror(errno));
  }
  return fd;
}

void send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("send failed");
    sent += static_cast<std::size_t>(n);
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// Splits a response head into status and headers.
void parse_head(const std::string& head, int& status, std::map<std::string, std::string>& headers) {
  std::size_t pos = head.find("\r\n");
  const std::string status_line = head.substr(0, pos);
  if (status_line.size() >= 12) status = std::stoi(status_line.substr(9, 3));
  while (pos != std::string::npos && pos + 2 < head.size()) {
    const std::size_t next = head.find("\r\n", pos + 2);
    const std::string line =
        head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      headers[lower(line.substr(0, colon))] = value;
    }
    pos = next;
  }
}

/// Decodes a chunked body; throws on a malformed one (the test should fail).
std::string dechunk(const std::string& body) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t eol = body.find("\r\n", pos);
    if (eol == std::string::npos) throw std::runtime_error("chunked body: missing chunk size line");
    const std::size_t size = std::stoul(body.substr(pos, eol - pos), nullptr, 16);
    pos = eol + 2;
    if (size == 0) return out;
    if (pos + size + 2 > body.size()) throw std::runtime_error("chunked body: truncated chunk");
    out.append(body, pos, size);
    pos += size + 2;
  }
}

}  // namespace

std::string HttpReply::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

HttpReply http_raw(unsigned short port, const std::string& raw, const std::string& source) {
  const int fd = connect_loopback(port, 0, source);
  send_all(fd, raw);
  std::string all;
  char buf[65536];
  pollfd p{fd, POLLIN, 0};
  // A reply that never ends (an answer turned into a stream by a
  // regression) fails the test within 30 s instead of hanging it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
            .count();
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left, 10000))) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    all.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  HttpReply reply;
  const std::size_t end = all.find("\r\n\r\n");
  if (end == std::string::npos) return reply;
  parse_head(all.substr(0, end), reply.status, reply.headers);
  reply.body = all.substr(end + 4);
  if (lower(reply.header("transfer-encoding")) == "chunked") reply.body = dechunk(reply.body);
  return reply;
}

std::vector<std::pair<std::int64_t, double>> raw_history(unsigned short port, const std::string& tag,
                                                         const std::string& from, const std::string& to) {
  const auto reply =
      http_get(port, "/api/data/history?tags[]=" + tag + "&interval=raw&from=" + from + "&to=" + to);
  EXPECT_EQ(reply.status, 200) << reply.body;
  std::vector<std::pair<std::int64_t, double>> out;
  if (reply.status != 200) return out;
  // Held in a variable: a range-for over a temporary's member would walk a
  // destroyed document.
  const auto doc = boost::json::parse(reply.body);
  for (const auto& s : doc.at("series").as_array())
    for (const auto& p : s.at("points").as_array())
      out.emplace_back(p.at("t").to_number<std::int64_t>(), p.at("v").to_number<double>());
  return out;
}

HttpReply http_post(unsigned short port, const std::string& target, const std::string& body,
                    const std::vector<std::string>& extra, const std::string& method) {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : extra) raw += h + "\r\n";
  raw += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return http_raw(port, raw);
}

HttpReply http_get(unsigned short port, const std::string& target, const std::vector<std::string>& extra,
                   const std::string& source) {
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : extra) req += h + "\r\n";
  req += "\r\n";
  return http_raw(port, req, source);
}

SseClient::SseClient(unsigned short port, const std::string& target, const std::vector<std::string>& extra,
                     int receive_buffer, const std::string& source) {
  fd_ = connect_loopback(port, receive_buffer, source);
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  for (const auto& h : extra) req += h + "\r\n";
  req += "\r\n";
  send_all(fd_, req);
}

SseClient::~SseClient() {
  close();
}

void SseClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool SseClient::fill(std::chrono::steady_clock::time_point deadline) {
  if (eof_ || fd_ < 0) return false;
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buf[65536];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  if (retain_ || !head_done_) raw_.append(buf, static_cast<std::size_t>(n));
  if (!head_done_) {
    const std::size_t end = raw_.find("\r\n\r\n");
    if (end == std::string::npos) return true;
    parse_head(raw_.substr(0, end), status_, headers_);
    head_done_ = true;
    if (header("content-encoding") == "gzip") inflater_ = std::make_shared<GzipStreamInflater>();
    take_body(std::string_view(raw_).substr(end + 4));
    return true;
  }
  if (!retain_) {
    raw_.clear();
    if (next_event_ == events_.size()) {
      events_.clear();
      next_event_ = 0;
    }
  }
  take_body(std::string_view(buf, static_cast<std::size_t>(n)));
  return true;
}

void SseClient::take_body(std::string_view wire) {
  wire_body_ += wire.size();
  std::string decoded;
  std::string_view text = wire;
  if (inflater_) {
    if (!gzip_end_ && !gzip_error_) {
      char scratch[65536];
      const auto r = inflater_->feed(wire, scratch, [&](std::string_view out) { decoded.append(out); });
      gzip_end_ = r == GzipStreamInflater::Result::end;
      gzip_error_ = r == GzipStreamInflater::Result::error;
    }
    text = decoded;
  }
  if (retain_) body_.append(text);
  parser_.feed(text, [this](const SseEvent& e) { events_.push_back(e); });
}

bool SseClient::read_head(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!head_done_)
    if (!fill(deadline)) return false;
  return true;
}

std::string SseClient::header(const std::string& name) const {
  auto it = headers_.find(name);
  return it == headers_.end() ? std::string() : it->second;
}

std::optional<SseEvent> SseClient::next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (next_event_ >= events_.size())
    if (!fill(deadline)) return std::nullopt;
  return events_[next_event_++];
}

std::optional<SseEvent> SseClient::next_of(const std::string& type, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto e = next(std::max(left, std::chrono::milliseconds(0)));
    if (!e) return std::nullopt;
    if (e->type == type) return e;
  }
}

bool SseClient::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_)
    if (!fill(deadline) && !eof_) return false;
  return true;
}

std::vector<Point> points_of(const SseEvent& event) {
  std::vector<Point> out;
  const auto doc = boost::json::parse(event.data);
  for (const auto& v : doc.at("points").as_array()) {
    const auto& o = v.as_object();
    Point p;
    p.tag = std::string(o.at("tag").as_string());
    p.t = o.at("t").to_number<std::int64_t>();
    if (o.contains("v"))
      p.value = o.at("v").to_number<double>();
    else {
      p.value = o.at("last").to_number<double>();
      p.count = o.at("count").to_number<std::uint64_t>();
    }
    p.quality = std::string(o.at("q").as_string());
    out.push_back(std::move(p));
  }
  return out;
}

Child::Child(const std::vector<std::string>& args) {
  int err_pipe[2], out_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  // The test process holds servers' listening sockets: the child must not.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(err_pipe[1]);
  ::close(out_pipe[1]);
  err_fd = err_pipe[0];
  out_fd = out_pipe[0];
  if (rc != 0) throw std::runtime_error("spawn failed");
}

Child::~Child() {
  if (pid > 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  if (err_fd >= 0) ::close(err_fd);
  if (out_fd >= 0) ::close(out_fd);
}

void Child::pump(int wait_ms) {
  pollfd p[2] = {{err_fd, POLLIN, 0}, {out_fd, POLLIN, 0}};
  if (::poll(p, 2, wait_ms) <= 0) return;
  char buf[4096];
  for (int i = 0; i < 2; ++i) {
    if (!(p[i].revents & (POLLIN | POLLHUP))) continue;
    const ssize_t n = ::read(p[i].fd, buf, sizeof buf);
    if (n > 0) (i == 0 ? err : out).append(buf, static_cast<std::size_t>(n));
  }
}

std::optional<std::vector<std::string>> Child::wait_for(const std::regex& pattern,
                                                        std::chrono::milliseconds timeout, bool on_stdout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    std::smatch m;
    if (std::regex_search(on_stdout ? out : err, m, pattern))
      return std::vector<std::string>(m.begin(), m.end());
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    pump(50);
  }
}

int Child::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      pump(0);
      pump(0);
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    pump(20);
  }
  return -1;
}

std::size_t heap_in_use_bytes() {
  const struct mallinfo2 m = ::mallinfo2();
  const auto sqlite = static_cast<std::size_t>(sqlite3_memory_used());
  return m.uordblks + m.hblkhd - std::min(m.uordblks + m.hblkhd, sqlite);
}

}  // namespace tagstream::test
