#include "http/sse_connection.h"

#include <array>
#include <span>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>

#include "core/time.h"

namespace tagstream {

namespace asio = boost::asio;

namespace {
// Asio gathers at most 64 buffers into one sendmsg.
constexpr std::size_t kMaxFramesPerWrite = 64;
// Writes in one pass before the thread's other connections get a turn
// (replays can keep a queue full).
constexpr int kWritesPerPass = 16;

bool would_block(const boost::system::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}
}  // namespace

FramePtr shutdown_frame() {
  static const FramePtr frame = make_sse_frame(
      "error", R"({"code":"server_shutdown","message":"the server is shutting down; reconnect","reconnect":true})",
      std::nullopt, 500);
  return frame;
}

SseConnection::SseConnection(asio::ip::tcp::socket socket, ShardContext& shard, std::string_view headers)
    : shard_(shard),
      socket_(std::move(socket)),
      stall_timer_(socket_.get_executor()),
      write_timeout_(seconds_to_duration(shard.server.config.slow_client_timeout)) {
  boost::system::error_code ec;
  peer_ = socket_.remote_endpoint(ec);
  shard_.connections.insert(this);
  shard_.server.stats.open_connections.fetch_add(1);
  push(std::make_shared<const std::string>(headers));
}

SseConnection::~SseConnection() {
  shard_.server.stats.queued_bytes.fetch_sub(static_cast<std::int64_t>(queued_bytes_), std::memory_order_relaxed);
  shard_.connections.erase(this);
  shard_.server.stats.open_connections.fetch_sub(1);
}

void SseConnection::start() {
  started_ = true;
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  watch_for_peer_close();
  schedule_write();
  // Set up while the server began to shut down: the shutdown pass may
  // already have gone by.
  if (shard_.server.shutting_down.load()) shutdown(false);
}

void SseConnection::push(const FramePtr& frame) {
  queue_.push_back(frame);
  queued_bytes_ += frame->size();
  shard_.server.stats.queued_bytes.fetch_add(static_cast<std::int64_t>(frame->size()), std::memory_order_relaxed);
  schedule_write();
}

bool SseConnection::offer(const FramePtr& frame) {
  if (finished_ || closing_) return true;  // nothing more will be written: drop quietly
  if (!queue_.empty() && queued_bytes_ + frame->size() > shard_.server.config.client_buffer_bytes) return false;
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

void SseConnection::abort() { finish(closing_ ? EndReason::shutdown : EndReason::client_closed); }

void SseConnection::shutdown(bool force) {
  if (force)
    abort();
  else
    close_after_flush(shutdown_frame(), seconds_to_duration(shard_.server.config.shutdown_grace));
}

void SseConnection::schedule_write() {
  // Frames queued in one handler (a fan-out, a snapshot after the
  // connected event) go out together in one write, after it returns.
  if (!started_ || write_scheduled_ || waiting_writable_ || finished_) return;
  write_scheduled_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->write_queued(); });
}

void SseConnection::write_queued() {
  if (finished_) return;
  for (int writes = 0;; ++writes) {
    if (queue_.empty()) {
      if (closing_) {
        finish(EndReason::shutdown);
        return;
      }
      on_drained();
      if (queue_.empty() || finished_) break;
    }
    if (writes == kWritesPerPass) {
      write_scheduled_ = false;
      schedule_write();
      return;
    }
    std::array<asio::const_buffer, kMaxFramesPerWrite> buffers;
    std::size_t count = 0;
    std::size_t bytes = 0;
    for (const FramePtr& frame : queue_) {
      if (count == buffers.size()) break;
      const std::size_t skip = count == 0 ? front_written_ : 0;
      buffers[count++] = asio::buffer(frame->data() + skip, frame->size() - skip);
      bytes += frame->size() - skip;
    }
    boost::system::error_code ec;
    const std::size_t written = socket_.write_some(std::span(buffers.data(), count), ec);
    if (ec && !would_block(ec)) {
      finish(closing_ ? EndReason::shutdown : EndReason::write_failed);
      return;
    }
    consume(ec ? 0 : written);
    if (ec || written < bytes) {
      write_scheduled_ = false;
      wait_writable();
      return;
    }
  }
  write_scheduled_ = false;
}

void SseConnection::consume(std::size_t n) {
  bytes_sent_ += n;
  queued_bytes_ -= n;
  shard_.server.stats.bytes_sent.fetch_add(n, std::memory_order_relaxed);
  shard_.server.stats.queued_bytes.fetch_sub(static_cast<std::int64_t>(n), std::memory_order_relaxed);
  std::size_t done = 0;
  while (n > 0) {
    const std::size_t left = queue_[done]->size() - front_written_;
    if (n < left) {
      front_written_ += n;
      break;
    }
    n -= left;
    front_written_ = 0;
    ++done;
  }
  if (done == 0) return;
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(done));
  // One frame is one event (the replay and snapshot frames too).
  std::uint64_t events = done;
  if (head_pending_) {
    head_pending_ = false;
    --events;
  }
  events_sent_ += events;
  shard_.server.stats.events_sent.fetch_add(events, std::memory_order_relaxed);
}

void SseConnection::wait_writable() {
  // A client that takes nothing for the whole timeout is dropped (its
  // queue is bounded meanwhile: the hub resyncs it when it catches up).
  waiting_writable_ = true;
  stall_timer_.expires_after(write_timeout_);
  stall_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->finished_) return;
    self->finish(self->closing_ ? EndReason::shutdown : EndReason::slow_client);
  });
  socket_.async_wait(asio::socket_base::wait_write, [self = shared_from_this()](boost::system::error_code ec) {
    self->waiting_writable_ = false;
    if (self->finished_) return;
    self->stall_timer_.cancel();
    if (ec) {
      self->finish(self->closing_ ? EndReason::shutdown : EndReason::write_failed);
      return;
    }
    self->write_scheduled_ = true;
    self->write_queued();
  });
}

void SseConnection::watch_for_peer_close() {
  // An SSE client sends nothing after its request, so readability means it
  // closed (or sent junk, which is read and ignored).
  socket_.async_wait(asio::socket_base::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
    if (self->finished_) return;
    if (!ec) {
      std::array<char, 512> junk;
      boost::system::error_code read_ec;
      const std::size_t n = self->socket_.read_some(asio::buffer(junk), read_ec);
      if ((!read_ec && n > 0) || would_block(read_ec)) {
        self->watch_for_peer_close();
        return;
      }
    }
    self->finish(self->closing_ ? EndReason::shutdown : EndReason::client_closed);
  });
}

void SseConnection::finish(EndReason reason) {
  if (finished_) return;
  finished_ = true;
  on_end(reason);
  shard_.server.stats.queued_bytes.fetch_sub(static_cast<std::int64_t>(queued_bytes_), std::memory_order_relaxed);
  queued_bytes_ = 0;
  queue_.clear();
  stall_timer_.cancel();
  // Pending waits complete (aborted) and release their hold on this object.
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  socket_.close(ignored);
}

}  // namespace tagstream
