#include "http/send_batch.h"

#include <liburing.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/log.h"

namespace tagstream {

namespace {
// Submission slots: a pass over more ready streams submits in chunks.
constexpr unsigned kRingEntries = 1024;
constexpr int kSendFlags = MSG_NOSIGNAL | MSG_DONTWAIT;
// Registered sockets are indexed by descriptor number; higher numbers are
// sent to without registering.
constexpr rlim_t kMaxRegisteredDescriptor = 65536;

long send_now(int fd, const msghdr& header) {
  for (;;) {
    const ssize_t n = ::sendmsg(fd, &header, kSendFlags);
    if (n >= 0) return static_cast<long>(n);
    if (errno != EINTR) return -errno;
  }
}
}  // namespace

struct SendBatch::Ring {
  io_uring ring{};
  std::vector<bool> registered;  // by descriptor: the ring holds this socket
  ~Ring() { io_uring_queue_exit(&ring); }
  bool holds(int fd) const {
    return fd >= 0 && static_cast<std::size_t>(fd) < registered.size() && registered[fd];
  }
};

SendBatch::SendBatch(bool prefer_io_uring) {
  if (!prefer_io_uring) return;
  auto ring = std::make_unique<Ring>();
  // One submitter, completions handed out only when asked: no locking and
  // no interrupting the thread. These need Linux 6.1; older kernels get a
  // plain ring.
  io_uring_params params{};
  params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
                 IORING_SETUP_DEFER_TASKRUN;
  int rc = io_uring_queue_init_params(kRingEntries, &ring->ring, &params);
  if (rc == -EINVAL) {
    params = {};
    rc = io_uring_queue_init_params(kRingEntries, &ring->ring, &params);
  }
  if (rc < 0) {
    static std::atomic<bool> logged{false};
    if (!logged.exchange(true))
      log(LogLevel::info, "io_uring unavailable ({}): streams are written with one sendmsg each",
          std::strerror(-rc));
    return;
  }
  // A slot per descriptor the process may open (the table is the
  // kernel's, a pointer per slot).
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
    const auto slots = static_cast<unsigned>(std::min(files.rlim_cur, kMaxRegisteredDescriptor));
    if (io_uring_register_files_sparse(&ring->ring, slots) == 0) ring->registered.assign(slots, false);
  }
  ring_ = std::move(ring);
}

void SendBatch::register_socket(int fd) {
  if (!ring_ || fd < 0 || static_cast<std::size_t>(fd) >= ring_->registered.size()) return;
  // A failed update leaves the socket unregistered: sends look it up.
  ring_->registered[fd] =
      io_uring_register_files_update(&ring_->ring, static_cast<unsigned>(fd), &fd, 1) == 1;
}

void SendBatch::forget_socket(int fd) {
  if (!ring_ || !ring_->holds(fd)) return;
  ring_->registered[fd] = false;
  int none = -1;
  io_uring_register_files_update(&ring_->ring, static_cast<unsigned>(fd), &none, 1);
}

SendBatch::~SendBatch() = default;

SendBatch::Backend SendBatch::backend() const {
  return ring_ ? Backend::io_uring : Backend::sendmsg;
}

void SendBatch::add(int fd, std::span<const iovec> buffers) {
  entries_.push_back({fd, buffers_.size(), buffers.size()});
  buffers_.insert(buffers_.end(), buffers.begin(), buffers.end());
}

std::span<const long> SendBatch::send_all() {
  const std::size_t n = entries_.size();
  results_.assign(n, 0);
  // The headers point into buffers_, which no longer grows.
  headers_.assign(n, msghdr{});
  for (std::size_t i = 0; i < n; ++i) {
    headers_[i].msg_iov = buffers_.data() + entries_[i].first_buffer;
    headers_[i].msg_iovlen = entries_[i].buffer_count;
  }
  if (ring_)
    send_through_ring();
  else
    send_one_by_one(0);
  entries_.clear();
  buffers_.clear();
  return results_;
}

void SendBatch::send_one_by_one(std::size_t from) {
  for (std::size_t i = from; i < entries_.size(); ++i) results_[i] = send_now(entries_[i].fd, headers_[i]);
}

void SendBatch::send_through_ring() {
  io_uring& ring = ring_->ring;
  std::size_t next = 0;
  while (next < entries_.size()) {
    const std::size_t chunk_start = next;
    while (next < entries_.size()) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      if (sqe == nullptr) break;
      const Entry& e = entries_[next];
      // A single buffer (most events, every gzip write) skips copying a
      // message header and its iovec in.
      if (e.buffer_count == 1)
        io_uring_prep_send(sqe, e.fd, buffers_[e.first_buffer].iov_base, buffers_[e.first_buffer].iov_len,
                           kSendFlags);
      else
        io_uring_prep_sendmsg(sqe, e.fd, &headers_[next], kSendFlags);
      // The descriptor number is also its slot in the ring's table.
      if (ring_->holds(e.fd)) sqe->flags |= IOSQE_FIXED_FILE;
      io_uring_sqe_set_data64(sqe, next);
      ++next;
    }
    const auto queued = static_cast<unsigned>(next - chunk_start);
    int submitted;
    do {
      submitted = io_uring_submit_and_get_events(&ring);
    } while (submitted == -EINTR);
    if (submitted < 0 || static_cast<unsigned>(submitted) != queued) {
      // The ring failed us (it should not): what it did not take is sent
      // directly, and so is everything from now on.
      log(LogLevel::warn, "io_uring submit failed ({}): streams are written with one sendmsg each",
          std::strerror(submitted < 0 ? -submitted : EIO));
      const unsigned taken = submitted < 0 ? 0 : static_cast<unsigned>(submitted);
      unsigned reaped = 0;
      while (reaped < taken) {
        io_uring_cqe* cqe = nullptr;
        if (io_uring_wait_cqe(&ring, &cqe) < 0) break;
        results_[io_uring_cqe_get_data64(cqe)] = cqe->res;
        io_uring_cqe_seen(&ring, cqe);
        ++reaped;
      }
      ring_.reset();
      send_one_by_one(chunk_start + taken);
      return;
    }
    // Non-blocking sends complete during the submit; waiting covers the
    // case where the kernel finishes one later all the same.
    unsigned reaped = 0;
    while (reaped < queued) {
      io_uring_cqe* cqe = nullptr;
      unsigned head = 0;
      unsigned seen = 0;
      io_uring_for_each_cqe(&ring, head, cqe) {
        results_[io_uring_cqe_get_data64(cqe)] = cqe->res;
        ++seen;
      }
      io_uring_cq_advance(&ring, seen);
      reaped += seen;
      if (reaped < queued && io_uring_wait_cqe(&ring, &cqe) < 0) break;
    }
  }
}

}  // namespace tagstream
