#include "http/sse_connection.h"

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <span>
#include <utility>

#include "core/time.h"
#include "http/compression.h"

namespace tagstream {

namespace asio = boost::asio;

namespace {
// Frames gathered into one send (a slow stream's queue goes out in
// several).
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
      "error",
      R"({"code":"server_shutdown","message":"the server is shutting down; reconnect","reconnect":true})",
      std::nullopt, 500);
  return frame;
}

struct SseConnection::GzipOutput {
  GzipStreamEncoder encoder;
  std::string out;  // compressed bytes being written
  std::size_t written = 0;
  bool ended = false;
};

SseConnection::SseConnection(asio::ip::tcp::socket socket, ShardContext& shard, std::string_view headers,
                             bool gzip)
    : shard_(shard),
      socket_(std::move(socket)),
      stall_timer_(socket_.get_executor()),
      write_timeout_(seconds_to_duration(shard.server.config.slow_client_timeout)) {
  boost::system::error_code ec;
  peer_ = socket_.remote_endpoint(ec);
  shard_.connections.insert(this);
  shard_.server.stats.open_connections.fetch_add(1);
  if (gzip) {
    // The head goes out as it is, the gzip member starts right after it.
    gzip_ = std::make_unique<GzipOutput>();
    gzip_->out.assign(headers);
    gzip_->encoder.begin(gzip_->out);
    head_pending_ = false;
    add_queued(gzip_->out.size());
    return;
  }
  push(std::make_shared<const std::string>(headers));
}

SseConnection::~SseConnection() {
  forget_socket();  // when it never finished: the socket closes with this object
  remove_queued(queued_bytes_);
  shard_.connections.erase(this);
  shard_.server.stats.open_connections.fetch_sub(1);
}

void SseConnection::start() {
  started_ = true;
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  shard_.send_batch().register_socket(socket_.native_handle());
  watch_for_peer_close();
  schedule_write();
  // Set up while the server began to shut down: the shutdown pass may
  // already have gone by.
  if (shard_.server.shutting_down.load()) shutdown(false);
}

namespace {
/// Adds to a counter only this thread writes: no atomic read-modify-write.
template <class T>
void add_own(std::atomic<T>& counter, T n) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
}  // namespace

ServerStats::StreamTotals& SseConnection::totals() {
  return shard_.server.stats.per_thread[shard_.index];
}

void SseConnection::add_queued(std::size_t bytes) {
  queued_bytes_ += bytes;
  add_own(totals().queued_bytes, static_cast<std::int64_t>(bytes));
}

void SseConnection::remove_queued(std::size_t bytes) {
  queued_bytes_ -= bytes;
  add_own(totals().queued_bytes, -static_cast<std::int64_t>(bytes));
}

void SseConnection::count_events(std::uint64_t n) {
  events_sent_ += n;
  add_own(totals().events_sent, n);
}

void SseConnection::push(const FramePtr& frame) {
  queue_.push_back(frame);
  add_queued(frame->size());
  schedule_write();
}

bool SseConnection::offer(const FramePtr& frame) {
  if (finished_ || closing_) return true;  // nothing more will be written: drop quietly
  if (!queue_.empty() && queued_bytes_ + frame->size() > shard_.server.config.client_buffer_bytes)
    return false;
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
  finish(EndReason::client_closed);
}

void SseConnection::shutdown(bool force) {
  if (force)
    abort();
  else
    close_after_flush(shutdown_frame(), seconds_to_duration(shard_.server.config.shutdown_grace));
}

void SseConnection::schedule_write() {
  // Frames queued by every handler that is ready to run (fan-outs of every
  // batch that arrived, a snapshot after the connected event) go out
  // together in one write per stream, when the thread next runs out of them.
  if (!started_ || write_scheduled_ || waiting_writable_ || finished_) return;
  write_scheduled_ = true;
  shard_.ready.push_back(shared_from_this());
}

void SseConnection::write_pass(ShardContext& shard) {
  std::vector<std::shared_ptr<SseConnection>> ready;
  ready.swap(shard.ready);
  SendBatch& batch = shard.send_batch();
  // Each round sends every connection's next gather list as one batch; a
  // connection whose socket took everything stays for the next round, if
  // it has more to write.
  std::vector<std::pair<SseConnection*, std::size_t>> sending;  // and the bytes it asked to send
  std::vector<std::shared_ptr<SseConnection>> still_writing;
  for (int round = 0; !ready.empty(); ++round) {
    for (const auto& connection : ready) {
      if (!connection->has_output_to_send()) continue;
      if (round == kWritesPerPass) {
        // Replays can keep a queue full: the thread's other work gets a turn.
        connection->write_scheduled_ = false;
        connection->schedule_write();
        continue;
      }
      boost::system::error_code ec;
      const std::size_t wanted = connection->add_send(batch, ec);
      if (ec) {
        connection->finish(EndReason::write_failed);
        continue;
      }
      sending.emplace_back(connection.get(), wanted);
    }
    if (sending.empty()) break;
    const std::span<const long> results = batch.send_all();
    still_writing.clear();
    for (std::size_t i = 0; i < sending.size(); ++i) {
      SseConnection& connection = *sending[i].first;
      if (connection.complete_send(results[i], sending[i].second))
        still_writing.push_back(connection.shared_from_this());
    }
    sending.clear();
    ready.swap(still_writing);
  }
  ready.clear();
  if (shard.ready.empty()) shard.ready.swap(ready);  // keep the capacity for the next pass
}

bool SseConnection::has_output() const {
  return !queue_.empty() || (gzip_ && gzip_->written < gzip_->out.size());
}

bool SseConnection::end_output() {
  if (!gzip_ || gzip_->ended) return false;
  // A client that reads to the end sees a complete gzip member.
  gzip_->out.clear();
  gzip_->written = 0;
  gzip_->encoder.finish(gzip_->out);
  gzip_->ended = true;
  add_queued(gzip_->out.size());
  return true;
}

bool SseConnection::has_output_to_send() {
  if (finished_) return false;
  if (!has_output()) {
    if (closing_) {
      if (!end_output()) {
        finish(EndReason::shutdown);
        return false;
      }
    } else {
      on_drained();
      if (!has_output() || finished_) {
        write_scheduled_ = false;
        return false;
      }
    }
  }
  return true;
}

std::size_t SseConnection::add_send(SendBatch& batch, boost::system::error_code& ec) {
  std::array<iovec, kMaxFramesPerWrite> buffers;
  std::size_t count = 0;
  std::size_t wanted = 0;
  if (gzip_) {
    GzipOutput& g = *gzip_;
    if (g.written == g.out.size()) {
      // Everything compressed so far is out: compress what is queued. The
      // frames count as sent from here on; they no longer exist apart.
      g.out.clear();
      g.written = 0;
      const std::size_t n = std::min(queue_.size(), kMaxFramesPerWrite);
      const std::span<const FramePtr> frames(queue_.data(), n);
      if (!g.encoder.append(g.out, frames)) {
        ec = asio::error::no_memory;
        return 0;
      }
      std::size_t raw = 0;
      for (const FramePtr& f : frames) raw += f->size();
      remove_queued(raw);
      add_queued(g.out.size());
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      count_events(n);
    }
    wanted = g.out.size() - g.written;
    buffers[count++] = {g.out.data() + g.written, wanted};
  } else {
    for (const FramePtr& frame : queue_) {
      if (count == buffers.size()) break;
      const std::size_t skip = count == 0 ? front_written_ : 0;
      // sendmsg takes non-const buffers; nothing writes through them.
      buffers[count++] = {const_cast<char*>(frame->data()) + skip, frame->size() - skip};
      wanted += frame->size() - skip;
    }
  }
  batch.add(socket_.native_handle(), std::span(buffers.data(), count));
  return wanted;
}

bool SseConnection::complete_send(long result, std::size_t wanted) {
  if (finished_) return false;
  std::size_t bytes = 0;
  if (result < 0) {
    const boost::system::error_code ec(static_cast<int>(-result), boost::system::system_category());
    if (!would_block(ec)) {
      finish(EndReason::write_failed);
      return false;
    }
  } else {
    bytes = static_cast<std::size_t>(result);
  }
  if (bytes > 0) add_own(totals().writes, std::uint64_t{1});
  if (gzip_) {
    GzipOutput& g = *gzip_;
    g.written += bytes;
    count_written(bytes);
    // An idle stream keeps no large buffer (a snapshot can be big).
    if (g.written == g.out.size() && g.out.capacity() > 16 * 1024) {
      std::string().swap(g.out);
      g.written = 0;
    }
  } else {
    consume(bytes);
  }
  if (bytes < wanted) {
    write_scheduled_ = false;
    wait_writable();
    return false;
  }
  return true;
}

void SseConnection::count_written(std::size_t n) {
  bytes_sent_ += n;
  add_own(totals().bytes_sent, static_cast<std::uint64_t>(n));
  remove_queued(n);
}

void SseConnection::consume(std::size_t n) {
  count_written(n);
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
  // One frame is one event (the replay and snapshot frames too), the
  // response head aside.
  std::uint64_t events = done;
  if (head_pending_) {
    head_pending_ = false;
    --events;
  }
  count_events(events);
}

void SseConnection::wait_writable() {
  // A client that takes nothing for the whole timeout is dropped (its
  // queue is bounded meanwhile: the hub resyncs it when it catches up).
  waiting_writable_ = true;
  stall_timer_.expires_after(write_timeout_);
  stall_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->finished_) return;
    self->finish(EndReason::slow_client);
  });
  socket_.async_wait(asio::socket_base::wait_write,
                     [self = shared_from_this()](boost::system::error_code ec) {
                       self->waiting_writable_ = false;
                       if (self->finished_) return;
                       self->stall_timer_.cancel();
                       if (ec) {
                         self->finish(EndReason::write_failed);
                         return;
                       }
                       self->schedule_write();
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
    self->finish(EndReason::client_closed);
  });
}

void SseConnection::finish(EndReason reason) {
  if (finished_) return;
  finished_ = true;
  // Whatever ends a stream that was closing, it ended by the shutdown.
  if (closing_) reason = EndReason::shutdown;
  on_end(reason);
  remove_queued(queued_bytes_);
  queue_.clear();
  gzip_.reset();
  stall_timer_.cancel();
  // Pending waits complete (aborted) and release their hold on this object.
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  forget_socket();
  socket_.close(ignored);
}

void SseConnection::forget_socket() {
  if (started_ && shard_.sends && socket_.is_open()) shard_.sends->forget_socket(socket_.native_handle());
}

}  // namespace tagstream
