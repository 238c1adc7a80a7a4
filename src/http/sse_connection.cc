#include "http/sse_connection.h"

#include <array>
#include <iterator>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <vector>

namespace tagstream {

namespace asio = boost::asio;

namespace {
constexpr std::size_t kMaxFramesPerWrite = 256;
constexpr int kWritesBeforeYield = 16;

}  // namespace

SseConnection::SseConnection(boost::beast::tcp_stream& stream, ServerContext& server, std::size_t byte_bound,
                             std::chrono::nanoseconds write_timeout)
    : stream_(stream),
      server_(server),
      byte_bound_(byte_bound),
      write_timeout_(write_timeout),
      wake_(stream.get_executor()) {
  wake_.expires_at(std::chrono::steady_clock::time_point::max());
}

SseConnection::~SseConnection() {
  server_.stats.queued_bytes.fetch_sub(static_cast<std::int64_t>(queued_bytes_), std::memory_order_relaxed);
}

void SseConnection::push(const FramePtr& frame) {
  queue_.push_back(frame);
  queued_bytes_ += frame->size();
  server_.stats.queued_bytes.fetch_add(static_cast<std::int64_t>(frame->size()), std::memory_order_relaxed);
  wake_.cancel();
}

bool SseConnection::offer(const FramePtr& frame) {
  if (finished_ || closing_) return true;  // nothing more will be written: drop quietly
  if (!queue_.empty() && queued_bytes_ + frame->size() > byte_bound_) return false;
  push(frame);
  return true;
}

void SseConnection::force(const FramePtr& frame) {
  if (!finished_) push(frame);
}

void SseConnection::close_after_flush(const FramePtr& final_frame, std::chrono::nanoseconds deadline) {
  if (closing_ || finished_) return;
  push(final_frame);
  closing_ = true;
  write_timeout_ = deadline;
}

void SseConnection::abort() {
  boost::system::error_code ec;
  stream_.socket().close(ec);
  peer_closed_ = true;
  wake_.cancel();
}

void SseConnection::watch_for_peer_close() {
  // An SSE client sends nothing after its request, so readability means it
  // closed (or sent junk, which is read and ignored).
  stream_.socket().async_wait(asio::socket_base::wait_read,
                              [self = shared_from_this()](boost::system::error_code ec) {
                                if (self->finished_) return;
                                if (!ec) {
                                  std::array<char, 512> junk;
                                  boost::system::error_code read_ec;
                                  const std::size_t n = self->stream_.socket().read_some(asio::buffer(junk), read_ec);
                                  if (!read_ec && n > 0) {
                                    self->watch_for_peer_close();
                                    return;
                                  }
                                  if (read_ec == asio::error::would_block || read_ec == asio::error::try_again) {
                                    self->watch_for_peer_close();
                                    return;
                                  }
                                }
                                self->peer_closed_ = true;
                                self->wake_.cancel();
                              });
}

asio::awaitable<SseConnection::EndReason> SseConnection::run() {
  stream_.socket().non_blocking(true);
  watch_for_peer_close();
  std::vector<FramePtr> inflight;
  std::vector<asio::const_buffer> buffers;
  int writes_without_yield = 0;
  EndReason reason = EndReason::client_closed;
  while (!peer_closed_) {
    if (queue_.empty()) {
      if (closing_) {
        reason = EndReason::shutdown;
        break;
      }
      if (on_drained_) on_drained_();
      if (queue_.empty()) {
        wake_.expires_at(std::chrono::steady_clock::time_point::max());
        co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
    }
    inflight.clear();
    buffers.clear();
    if (queue_.size() <= kMaxFramesPerWrite) {
      inflight.swap(queue_);
    } else {
      const auto take = queue_.begin() + static_cast<std::ptrdiff_t>(kMaxFramesPerWrite);
      inflight.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(take));
      queue_.erase(queue_.begin(), take);
    }
    std::size_t bytes = 0;
    for (const FramePtr& frame : inflight) {
      buffers.emplace_back(asio::buffer(*frame));
      bytes += frame->size();
    }
    queued_bytes_ -= bytes;
    server_.stats.queued_bytes.fetch_sub(static_cast<std::int64_t>(bytes), std::memory_order_relaxed);

    // Most writes fit in the socket's send buffer: try a plain non-blocking
    // write first, and arm the stall timeout and wait only for what did not
    // go. At high event rates the timer and the asynchronous write
    // machinery cost more than the write itself.
    boost::system::error_code ec;
    std::size_t written = stream_.socket().write_some(buffers, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      written = 0;
    }
    if (!ec && written < bytes) {
      boost::beast::buffers_suffix<std::vector<asio::const_buffer>> rest(buffers);
      rest.consume(written);
      stream_.expires_after(write_timeout_);
      auto [async_ec, n] = co_await asio::async_write(stream_, rest, asio::as_tuple(asio::use_awaitable));
      ec = async_ec;
      written += n;
    } else if (!ec && ++writes_without_yield >= kWritesBeforeYield) {
      // Written at once, without giving up the thread: now and then let
      // the thread's other connections run (replays can keep the queue full).
      writes_without_yield = 0;
      co_await asio::post(stream_.get_executor(), asio::use_awaitable);
    }
    if (ec) {
      if (ec == boost::beast::error::timeout) {
        reason = closing_ ? EndReason::shutdown : EndReason::slow_client;
      } else {
        reason = closing_ ? EndReason::shutdown : EndReason::write_failed;
      }
      break;
    }
    // One frame is one event (the replay and snapshot frames too).
    const std::uint64_t events = inflight.size();
    inflight.clear();  // an idle stream holds no frames
    events_sent_ += events;
    bytes_sent_ += written;
    server_.stats.events_sent.fetch_add(events, std::memory_order_relaxed);
    server_.stats.bytes_sent.fetch_add(written, std::memory_order_relaxed);
  }
  stream_.expires_never();
  finished_ = true;
  server_.stats.queued_bytes.fetch_sub(static_cast<std::int64_t>(queued_bytes_), std::memory_order_relaxed);
  queued_bytes_ = 0;
  queue_.clear();
  boost::system::error_code ignored;
  stream_.socket().cancel(ignored);
  co_return reason;
}

}  // namespace tagstream
