#pragma once
// The writing half of one SSE stream: a byte-bounded queue of shared frames
// and one writer coroutine that gathers everything queued into one write.
// Lives on its connection's thread; not thread safe.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hub/hub.h"
#include "http/server_context.h"

namespace tagstream {

class SseConnection : public StreamSink, public std::enable_shared_from_this<SseConnection> {
 public:
  enum class EndReason { client_closed, write_failed, slow_client, shutdown };

  SseConnection(boost::beast::tcp_stream& stream, ServerContext& server, std::size_t byte_bound,
                std::chrono::nanoseconds write_timeout);
  ~SseConnection() override;

  bool offer(const FramePtr& frame) override;
  /// Queues a frame whatever the bound (the few control frames we send).
  void force(const FramePtr& frame);

  /// Called when the queue has been written out, before waiting: the source
  /// may queue more (replay chunks, a resync snapshot).
  void set_on_drained(std::function<void()> f) { on_drained_ = std::move(f); }

  /// Writes until the client goes away, a write stalls past the timeout, or
  /// close_after_flush() was called and the queue is empty.
  boost::asio::awaitable<EndReason> run();

  /// Graceful end: queue `final_frame`, write what is queued, then return.
  void close_after_flush(const FramePtr& final_frame, std::chrono::nanoseconds deadline);
  /// Closes the socket now.
  void abort();

  std::uint64_t events_sent() const { return events_sent_; }
  std::uint64_t bytes_sent() const { return bytes_sent_; }
  std::size_t queued_bytes() const { return queued_bytes_; }

 private:
  void watch_for_peer_close();
  void push(const FramePtr& frame);

  boost::beast::tcp_stream& stream_;
  ServerContext& server_;
  const std::size_t byte_bound_;
  std::chrono::nanoseconds write_timeout_;
  // A vector, not a deque: an idle stream's empty queue should cost
  // nothing (libstdc++'s deque allocates ~600 bytes up front).
  std::vector<FramePtr> queue_;
  std::size_t queued_bytes_ = 0;
  boost::asio::steady_timer wake_;
  std::function<void()> on_drained_;
  bool closing_ = false;
  bool peer_closed_ = false;
  bool finished_ = false;
  std::uint64_t events_sent_ = 0;
  std::uint64_t bytes_sent_ = 0;
};

}  // namespace tagstream
