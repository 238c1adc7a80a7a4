#pragma once
// Sends to many sockets at once. A write pass hands over every ready
// stream's gather list and the kernel takes them all in one system call
// (io_uring), instead of one sendmsg per stream: on loopback-speed networks
// the per-call entry, exit and file lookup are a tenth of a small send's
// cost. Where io_uring is missing or forbidden (old kernels, container
// sandboxes) it sends them one by one, with the same results.
//
// Every send is non-blocking: a full socket answers -EAGAIN at once, and
// nothing is left in flight when send_all() returns.
//
// Not thread safe; with io_uring, it must be used only on the thread that
// made it (the ring accepts one submitter, which saves it locking).
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace tagstream {

class SendBatch {
 public:
  enum class Backend { io_uring, sendmsg };

  /// With `prefer_io_uring` false, or when the kernel refuses a ring,
  /// sends one sendmsg per socket.
  explicit SendBatch(bool prefer_io_uring);
  ~SendBatch();
  SendBatch(const SendBatch&) = delete;
  SendBatch& operator=(const SendBatch&) = delete;

  Backend backend() const;

  /// Lets the ring hold socket `fd` on its side, so that sends to it skip
  /// the kernel's file lookup: for a socket sent to many times. Call
  /// forget_socket(fd) before closing it, or the ring keeps the
  /// connection open (and a new socket given the same number would be
  /// sent the old one's data until registered itself).
  void register_socket(int fd);
  void forget_socket(int fd);

  /// Queues a send of `buffers` to socket `fd`. The bytes they point to
  /// must stay valid until send_all() returns; the list itself is copied.
  /// Add a socket once per batch: should its send come back short, a
  /// later one to it could still go out, out of order.
  void add(int fd, std::span<const iovec> buffers);
  std::size_t size() const { return entries_.size(); }

  /// Sends everything queued, in order, and empties the batch. Result i is
  /// the byte count sent by the i-th add (possibly short), or -errno.
  std::span<const long> send_all();

 private:
  struct Ring;
  struct Entry {
    int fd;
    std::size_t first_buffer;
    std::size_t buffer_count;
  };
  void send_one_by_one(std::size_t from);
  void send_through_ring();

  std::unique_ptr<Ring> ring_;
  std::vector<Entry> entries_;
  std::vector<iovec> buffers_;
  std::vector<msghdr> headers_;
  std::vector<long> results_;
};

}  // namespace tagstream
