#pragma once
// The client side of the streaming benchmarks: one thread, one epoll set,
// thousands of non-blocking loopback TCP connections. Asio would do, but a
// bare level-triggered epoll loop costs the client the least CPU per event,
// and on a 2-core machine every cycle the client spends is taken from the
// server being measured.
#include <netinet/in.h>
#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tagstream_bench {

/// Wall-clock microseconds since the epoch (the publish stamps and the
/// delivery times both come from here, so latency needs no clock sync).
std::int64_t wall_us();
/// Monotonic seconds, for pacing and deadlines.
double mono_s();

/// Raises the soft open-file limit to the hard one; returns the new limit.
long raise_fd_limit();

/// Source addresses 127.0.0.1 .. 127.0.0.N, handed out in turn, so that many
/// connections to one server port do not exhaust one address's ephemeral
/// ports (about 28,000, and churn leaves sockets in TIME_WAIT).
class SourceAddresses {
 public:
  explicit SourceAddresses(int count);
  in_addr next();
  int count() const { return count_; }

 private:
  int count_;
  int next_ = 0;
};

class Loop;

/// Something registered in the loop.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual void on_io(std::uint32_t events) = 0;
};

/// One non-blocking client connection: connect from a source address, write a
/// buffer (resuming on EPOLLOUT), read into the loop's shared buffer and hand
/// the bytes to on_data. Subclasses say what the bytes mean.
class TcpConn : public Handler {
 public:
  explicit TcpConn(Loop& loop) : loop_(loop) {}
  ~TcpConn() override;
  TcpConn(const TcpConn&) = delete;
  TcpConn& operator=(const TcpConn&) = delete;

  /// Starts a connection; false (and errno) when the socket could not even
  /// be created or bound.
  bool open(const sockaddr_in& to, in_addr from);
  /// Queues bytes to send (sent once connected).
  void send(std::string_view bytes);
  /// Closes the socket, if open. No callback.
  void close();
  /// Sends FIN (a graceful close from our side) and keeps reading: the
  /// server's close then arrives as on_closed(0).
  void shutdown_write();
  bool is_open() const { return fd_ >= 0; }
  bool connected() const { return connected_; }
  std::uint64_t bytes_in() const { return bytes_in_; }
  /// Asks the kernel to stamp received data (SO_TIMESTAMPNS), before open().
  /// The stamp is when the data reached this host's network stack: for a
  /// loopback connection, when the server wrote it. Latency taken from it
  /// leaves out the time this client's single thread needed to get round to
  /// reading the socket, which is load-generator queueing, not server latency.
  void enable_rx_timestamps() { rx_timestamps_ = true; }
  /// Wall-clock microseconds of the last byte of the last read: the kernel's
  /// receive stamp with enable_rx_timestamps(), else the time of the read.
  std::int64_t last_rx_us() const { return last_rx_us_; }
  std::uint64_t bytes_out() const { return bytes_out_; }

  void on_io(std::uint32_t events) final;

 protected:
  virtual void on_connected() {}
  /// Bytes read; may close() or even destroy-and-replace nothing: after a
  /// close() inside on_data the connection stops reading.
  virtual void on_data(std::string_view bytes) = 0;
  /// The peer closed, or an error happened (`error` = errno, 0 for EOF).
  /// The socket is already closed.
  virtual void on_closed(int error) = 0;
  Loop& loop_;

 private:
  void flush();
  void fail(int error);
  void update_interest();
  int fd_ = -1;
  bool connected_ = false;
  bool want_write_ = false;
  bool rx_timestamps_ = false;
  std::int64_t last_rx_us_ = 0;
  std::string out_;
  std::size_t out_off_ = 0;
  std::uint64_t bytes_in_ = 0, bytes_out_ = 0;
};

class Loop {
 public:
  Loop();
  ~Loop();
  void add(int fd, std::uint32_t events, Handler* h);
  void modify(int fd, std::uint32_t events, Handler* h);
  void remove(int fd);
  /// Waits up to timeout_ms (0: poll) and dispatches what is ready.
  /// Returns the number of events dispatched.
  int run_once(int timeout_ms);
  /// The buffer every connection reads into (one read at a time).
  std::vector<char>& read_buffer() { return buffer_; }
  /// Handlers closed during a dispatch round must not be called again in it.
  void forget(Handler* h);

 private:
  int ep_;
  std::vector<epoll_event> events_;
  std::vector<char> buffer_;
  int dispatch_index_ = 0, dispatch_count_ = 0;
};

}  // namespace tagstream_bench
