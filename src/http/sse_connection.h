#pragma once
// One open SSE stream, after its request was answered: a byte-bounded queue
// of shared frames written to the socket, driven by callbacks.
//
// An open stream is mostly idle, and there can be tens of thousands, so it
// owns only what it needs to write: the socket, the queue, one timer used
// only while the socket is full. The HTTP session that set it up (its
// coroutine frames, parser, Beast stream) ends when it hands the socket
// over; that is most of what a connection costs while it reads requests.
//
// Lives on its shard's thread; not thread safe. Subclasses say what feeds
// the queue (on_drained) and what to undo when the stream ends (on_end).
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "http/server_context.h"
#include "hub/hub.h"

namespace tagstream {

class SseConnection : public StreamSink, public Closable, public std::enable_shared_from_this<SseConnection> {
 public:
  enum class EndReason { client_closed, write_failed, slow_client, shutdown };

  /// Takes the socket of a request that was accepted as a stream; `headers`
  /// (the response head) is written first, ahead of any event. With `gzip`
  /// the events that follow are one gzip stream (the head must say so).
  SseConnection(boost::asio::ip::tcp::socket socket, ShardContext& shard, std::string_view headers,
                bool gzip);
  ~SseConnection() override;
  SseConnection(const SseConnection&) = delete;
  SseConnection& operator=(const SseConnection&) = delete;

  /// Starts writing and watching for the client to leave. Until then,
  /// frames only queue.
  void start();

  bool offer(const FramePtr& frame) override;
  /// Queues a frame whatever the bound (the few control frames we send).
  void force(const FramePtr& frame);

  /// Graceful end: queue `final_frame`, write what is queued, then close.
  void close_after_flush(const FramePtr& final_frame, std::chrono::nanoseconds deadline);
  /// Closes the socket now.
  void abort();
  /// Closable: graceful shutdown sends shutdown_frame() first.
  void shutdown(bool force) override;

  /// Writes every stream of the shard that has something due, each one's
  /// queue as one gather list, all of them in one batch of sends per round.
  /// Called by the shard's thread when nothing else is ready to run.
  static void write_pass(ShardContext& shard);

  std::uint64_t events_sent() const { return events_sent_; }
  std::uint64_t bytes_sent() const { return bytes_sent_; }
  std::size_t queued_bytes() const { return queued_bytes_; }
  const boost::asio::ip::tcp::endpoint& peer() const { return peer_; }

 protected:
  /// The queue has been written out: the source may queue more (replay
  /// chunks, a resync snapshot).
  virtual void on_drained() {}
  /// Called once when the stream ends, before the socket closes.
  virtual void on_end(EndReason reason) = 0;

  ShardContext& shard_;

 private:
  void push(const FramePtr& frame);
  void schedule_write();
  bool has_output() const;
  /// Whether a send is due, after asking the source for more (on_drained)
  /// or adding the end of the body when closing. May finish the stream.
  bool has_output_to_send();
  /// Adds the next gather list to `batch` (compressing queued frames
  /// first on a gzip stream); returns the bytes it asks to send.
  std::size_t add_send(SendBatch& batch, boost::system::error_code& ec);
  /// Takes the result of that send: drops what went out, waits for the
  /// socket if it took less. True when it took everything.
  bool complete_send(long result, std::size_t wanted);
  /// On a graceful end: queues what closes the body (the gzip trailer).
  /// False when there is nothing to add.
  bool end_output();
  /// Drops what `n` written bytes covered from the queue.
  void consume(std::size_t n);
  ServerStats::StreamTotals& totals();
  void add_queued(std::size_t bytes);
  void remove_queued(std::size_t bytes);
  /// `n` bytes left the queue for the socket.
  void count_written(std::size_t n);
  void count_events(std::uint64_t n);
  void wait_writable();
  void watch_for_peer_close();
  void finish(EndReason reason);
  /// Before the socket closes: the shard's send ring lets go of it.
  void forget_socket();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::ip::tcp::endpoint peer_;
  // A vector, not a deque: an idle stream's empty queue should cost
  // nothing (libstdc++'s deque allocates ~600 bytes up front).
  std::vector<FramePtr> queue_;
  std::size_t front_written_ = 0;  // bytes of queue_.front() already sent
  std::size_t queued_bytes_ = 0;   // frames queued plus compressed bytes not yet written
  struct GzipOutput;
  std::unique_ptr<GzipOutput> gzip_;       // only on compressed streams
  boost::asio::steady_timer stall_timer_;  // armed only while the socket is full
  std::chrono::nanoseconds write_timeout_;
  std::uint64_t events_sent_ = 0;
  std::uint64_t bytes_sent_ = 0;
  bool started_ = false;
  bool write_scheduled_ = false;  // a write pass is posted or running
  bool waiting_writable_ = false;
  bool closing_ = false;
  bool finished_ = false;
  bool head_pending_ = true;  // the response head is the first frame, not an event
};

/// The final event a stream gets on graceful shutdown: a short retry and an
/// error with code server_shutdown, so clients reconnect (elsewhere) soon.
FramePtr shutdown_frame();

}  // namespace tagstream
