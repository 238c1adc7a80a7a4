#include "event_loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bench_args.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace tagstream_bench {

std::int64_t wall_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

double mono_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

long raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  return static_cast<long>(rl.rlim_cur);
}

SourceAddresses::SourceAddresses(int count) : count_(count) {
  if (count < 1 || count > 254) die("--source-addresses must be 1..254");
}

in_addr SourceAddresses::next() {
  in_addr a{};
  a.s_addr = htonl((127u << 24) | static_cast<std::uint32_t>(1 + next_));
  next_ = (next_ + 1) % count_;
  return a;
}

// ---------------------------------------------------------------------------

TcpConn::~TcpConn() {
  close();
}

bool TcpConn::open(const sockaddr_in& to, in_addr from) {
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Let connect() pick the port for the whole 4-tuple instead of bind()
  // reserving one per source address: many more connections fit.
  setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  if (rx_timestamps_) setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  src.sin_addr = from;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    errno = e;
    return false;
  }
  connected_ = false;
  out_.clear();
  out_off_ = 0;
  const int rc = ::connect(fd_, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  if (rc != 0 && errno != EINPROGRESS) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    errno = e;
    return false;
  }
  want_write_ = true;  // writable = connected (or failed)
  loop_.add(fd_, EPOLLOUT | EPOLLIN | EPOLLRDHUP, this);
  return true;
}

void TcpConn::send(std::string_view bytes) {
  out_.append(bytes);
  if (connected_) flush();
}

void TcpConn::close() {
  if (fd_ < 0) return;
  loop_.remove(fd_);
  loop_.forget(this);
  ::close(fd_);
  fd_ = -1;
  connected_ = false;
  out_.clear();
  out_off_ = 0;
}

void TcpConn::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void TcpConn::fail(int error) {
  close();
  on_closed(error);
}

void TcpConn::update_interest() {
  const bool want = out_off_ < out_.size() || !connected_;
  if (want == want_write_ || fd_ < 0) return;
  want_write_ = want;
  const std::uint32_t out = want ? static_cast<std::uint32_t>(EPOLLOUT) : 0u;
  loop_.modify(fd_, static_cast<std::uint32_t>(EPOLLIN | EPOLLRDHUP) | out, this);
}

void TcpConn::flush() {
  while (out_off_ < out_.size()) {
    const ssize_t n = ::send(fd_, out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL);
    if (n > 0) {
      out_off_ += static_cast<std::size_t>(n);
      bytes_out_ += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    fail(errno);
    return;
  }
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  }
  update_interest();
}

void TcpConn::on_io(std::uint32_t events) {
  if (fd_ < 0) return;
  if (!connected_) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      fail(err);
      return;
    }
    connected_ = true;
    on_connected();
    if (fd_ < 0) return;
    flush();
    if (fd_ < 0) return;
    update_interest();
    return;
  }
  if (events & EPOLLOUT) {
    flush();
    if (fd_ < 0) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    // One read per wake-up: the loop is level-triggered, so a busy
    // connection cannot starve the others.
    auto& buf = loop_.read_buffer();
    ssize_t n;
    if (rx_timestamps_) {
      iovec iov{buf.data(), buf.size()};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      n = ::recvmsg(fd_, &msg, 0);
      last_rx_us_ = 0;
      if (n > 0) {
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            timespec ts{};
            std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
            last_rx_us_ = static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
          }
        }
      }
      if (last_rx_us_ == 0) last_rx_us_ = wall_us();
    } else {
      n = ::recv(fd_, buf.data(), buf.size(), 0);
      last_rx_us_ = wall_us();
    }
    if (n > 0) {
      bytes_in_ += static_cast<std::uint64_t>(n);
      on_data(std::string_view(buf.data(), static_cast<std::size_t>(n)));
      return;
    }
    if (n == 0) {
      fail(0);
      return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    fail(errno);
  }
}

// ---------------------------------------------------------------------------

Loop::Loop() : ep_(epoll_create1(EPOLL_CLOEXEC)), events_(1024), buffer_(256 * 1024) {
  if (ep_ < 0) die(std::string("epoll_create1: ") + std::strerror(errno));
}

Loop::~Loop() {
  ::close(ep_);
}

void Loop::add(int fd, std::uint32_t events, Handler* h) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = h;
  if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) die(std::string("epoll_ctl add: ") + std::strerror(errno));
}

void Loop::modify(int fd, std::uint32_t events, Handler* h) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = h;
  epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &ev);
}

void Loop::remove(int fd) {
  epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
}

void Loop::forget(Handler* h) {
  // A connection closed (and maybe reopened on a new fd) while this round's
  // events are being dispatched: drop its remaining events of the round.
  for (int i = dispatch_index_ + 1; i < dispatch_count_; ++i)
    if (events_[static_cast<std::size_t>(i)].data.ptr == h)
      events_[static_cast<std::size_t>(i)].data.ptr = nullptr;
}

int Loop::run_once(int timeout_ms) {
  const int n = epoll_wait(ep_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
  if (n <= 0) return 0;
  dispatch_count_ = n;
  for (dispatch_index_ = 0; dispatch_index_ < n; ++dispatch_index_) {
    auto& ev = events_[static_cast<std::size_t>(dispatch_index_)];
    if (auto* h = static_cast<Handler*>(ev.data.ptr)) h->on_io(ev.events);
  }
  dispatch_count_ = 0;
  dispatch_index_ = 0;
  return n;
}

}  // namespace tagstream_bench
