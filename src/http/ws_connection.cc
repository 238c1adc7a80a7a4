#include "http/ws_connection.h"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <unordered_map>

#include "auth/authenticator.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/time.h"
#include "http/client_address.h"
#include "http/cross_site.h"
#include "http/setpoint.h"
#include "http/stream_endpoints.h"
#include "http/tag_resolution.h"
#include "http/ws_protocol.h"
#include "hub/hub.h"

namespace tagstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string endpoint_text(const asio::ip::tcp::endpoint& ep) {
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

class WsConnection;

/// The completion of a connection's coroutines: what ends one by an
/// exception is logged, never rethrown into the I/O thread.
void log_failure(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log(LogLevel::error, "WS message handling failed: {}", ex.what());
  } catch (...) {
    log(LogLevel::error, "WS message handling failed");
  }
}

/// One subscription of a connection: the hub's sink for it. Its frames go
/// into the connection's one queue, tagged with the subscription's id.
struct WsSubscription final : StreamSink {
  WsSubscription(WsConnection& c, std::string i, Interval iv)
      : connection(c), id(std::move(i)), id_json(ws_json_string(id)), interval(iv) {}
  bool offer(const FramePtr& frame) override;

  WsConnection& connection;
  std::string id;
  std::shared_ptr<const std::string> id_json;
  Interval interval;
  std::size_t tags = 0;
  Member* member = nullptr;
};

/// A WebSocket connection on one shard's thread; not thread safe.
///
/// Writes: one queue of messages for every subscription, bounded in bytes by
/// --client-buffer-bytes as an SSE stream's is (an event that does not fit
/// is refused, and the hub resyncs that subscription once the queue drains),
/// and one async_write at a time: Beast sends a message as one frame, head
/// and payload in one writev. A write that makes no progress for
/// --slow-client-timeout drops the connection. The watchdog that checks is
/// one timer armed once per timeout period, not per write.
///
/// Reads: one message at a time, bounded by kWsMaxMessageBytes; the next is
/// read only once the last is handled (a subscribe may wait for its patterns
/// to resolve on the reader pool), so the messages of a connection take
/// effect in the order sent.
class WsConnection final : public Closable, public std::enable_shared_from_this<WsConnection> {
 public:
  enum class EndReason { client_closed, protocol_error, write_failed, slow_client, revoked, shutdown };

  WsConnection(asio::ip::tcp::socket socket, ShardContext& shard, StreamLimiter::Ticket ticket,
               const Access& access, std::string client)
      : shard_(shard),
        ws_(std::move(socket)),
        watchdog_(ws_.get_executor()),
        ticket_(std::move(ticket)),
        access_(access),
        client_(std::move(client)),
        number_(++shard.next_stream),
        started_(Clock::now()) {
    boost::system::error_code ec;
    peer_ = beast::get_lowest_layer(ws_).remote_endpoint(ec);
    if (access_.principal) expires_ = access_.principal->expires;
    key_generation_ = shard_.server.services.auth->generation();
    shard_.connections.insert(this);
    ServerStats& stats = shard_.server.stats;
    stats.open_connections.fetch_add(1);
    stats.streams_opened.fetch_add(1, std::memory_order_relaxed);
  }

  ~WsConnection() override {
    shard_.connections.erase(this);
    shard_.server.stats.open_connections.fetch_sub(1);
  }

  std::string id() const { return std::to_string(shard_.index) + "-" + std::to_string(number_); }

  /// Answers the upgrade, then starts reading messages.
  void accept(const HttpRequest& req) {
    const HttpOptions& config = shard_.server.config;
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = seconds_to_duration(config.header_timeout);
    // An idle connection is normal: heartbeats and the write watchdog
    // find a dead peer.
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "tagstream"); }));
    websocket::permessage_deflate deflate;
    deflate.server_enable = true;
    // A 4 KiB window instead of the default 32 KiB: deflate's state is
    // about four times its window plus the hash table (4 KiB at memLevel
    // 4), so about 20 KiB per compressing connection instead of about 135
    // KiB. Events are short and repeat their keys and tag names within a
    // few hundred bytes, well inside the window. Messages under 64 bytes
    // are not worth a deflate call.
    deflate.server_max_window_bits = 12;
    deflate.memLevel = 4;
    deflate.compLevel = 6;
    deflate.msg_size_threshold = 64;
    ws_.set_option(deflate);
    ws_.read_message_max(kWsMaxMessageBytes);
    // One frame per message: Beast would otherwise cut messages into 4 KiB
    // frames, a write each.
    ws_.auto_fragment(false);
    ws_.text(true);
    upgrade_ = std::make_unique<HttpRequest>(req);
    ws_.async_accept(*upgrade_, [self = shared_from_this()](boost::system::error_code ec) {
      self->upgrade_.reset();
      if (ec) {
        self->finish(EndReason::client_closed);
        return;
      }
      self->accepted_ = true;
      if (log_enabled(LogLevel::info))
        log(LogLevel::info, "WS connection opened id={} client={}", self->id(), endpoint_text(self->peer_));
      self->write_next();
      self->read_next();
      if (self->shard_.server.shutting_down.load()) self->shutdown(false);
    });
  }

  /// Queues an event of subscription `sub`, unless it would take the queue
  /// past its bound (an empty queue takes any one message).
  bool offer(const WsEvent& event, const std::shared_ptr<const std::string>& sub) {
    if (finished_ || closing_) return true;  // nothing more will be written: drop quietly
    const std::size_t bytes = event.text->size() + sub->size();
    if (!queue_empty() && queued_bytes_ + bytes > shard_.server.config.client_buffer_bytes) return false;
    push(Out{event.text, event.split, sub, bytes});
    return true;
  }

  /// Queues a message whatever the bound (answers, errors, connected).
  void force(const WsEvent& event, const std::shared_ptr<const std::string>& sub) {
    if (finished_) return;
    push(Out{event.text, event.split, sub, event.text->size() + sub->size()});
  }
  void force(const FramePtr& message) {
    if (finished_) return;
    push(Out{message, std::string::npos, nullptr, message->size()});
  }

  void shutdown(bool force) override {
    if (force) {
      finish(EndReason::shutdown);
      return;
    }
    close_after_flush(
        ws_message("error", R"({"code":"server_shutdown","message":"the server is shutting down; )"
                            R"(reconnect","reconnect":true})"),
        websocket::close_code::going_away, "server shutting down");
  }

  void recheck_access(std::uint64_t key_generation, TimeNs now) override {
    if (access_.credential.empty() || finished_ || closing_) return;
    if (key_generation == key_generation_ && (!expires_ || now < *expires_)) return;
    key_generation_ = key_generation;
    auto who = shard_.server.services.auth->authenticate(access_.credential);
    if (who) {
      // The same credential may now name a principal with other rights;
      // what it may read is checked at subscribe time with these.
      access_.principal = std::move(*who);
      expires_ = access_.principal->expires;
      return;
    }
    access_.credential.clear();
    const std::string why =
        who.error.code == "token_expired" ? who.error.message : "the token is no longer valid (revoked)";
    end_reason_ = EndReason::revoked;
    close_after_flush(ws_message("error", error_json("token_expired", why)),
                      websocket::close_code::policy_error, "token expired or revoked");
  }

 private:
  struct Out {
    FramePtr text;
    std::size_t split;  // npos: no subscription id goes in
    std::shared_ptr<const std::string> sub;
    std::size_t bytes;
  };

  bool queue_empty() const { return head_ == queue_.size(); }

  ServerStats::StreamTotals& totals() { return shard_.server.stats.per_thread[shard_.index]; }

  template <class T>
  static void add_own(std::atomic<T>& counter, T n) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  void push(Out out) {
    queued_bytes_ += out.bytes;
    add_own(totals().queued_bytes, static_cast<std::int64_t>(out.bytes));
    queue_.push_back(std::move(out));
    write_next();
  }

  void write_next() {
    if (!accepted_ || writing_ || finished_) return;
    if (queue_empty()) {
      if (closing_) send_close();
      return;
    }
    const Out& out = queue_[head_];
    std::array<asio::const_buffer, 3> buffers;
    if (out.split == std::string::npos) {
      buffers = {asio::buffer(*out.text), asio::const_buffer(), asio::const_buffer()};
    } else {
      buffers = {asio::buffer(out.text->data(), out.split), asio::buffer(*out.sub),
                 asio::buffer(out.text->data() + out.split, out.text->size() - out.split)};
    }
    writing_ = true;
    write_started_ = Clock::now();
    arm_watchdog();
    ws_.async_write(buffers, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      self->on_written(ec);
    });
  }

  void on_written(boost::system::error_code ec) {
    writing_ = false;
    if (finished_) return;
    if (ec) {
      finish(EndReason::write_failed);
      return;
    }
    Out& out = queue_[head_];
    queued_bytes_ -= out.bytes;
    add_own(totals().queued_bytes, -static_cast<std::int64_t>(out.bytes));
    add_own(totals().bytes_sent, static_cast<std::uint64_t>(out.bytes));
    add_own(totals().events_sent, std::uint64_t{1});
    add_own(totals().writes, std::uint64_t{1});
    ++events_sent_;
    bytes_sent_ += out.bytes;
    // Sent messages leave by moving an index; the vector is reset once all
    // went out, and the sent part dropped once it is half of it (a queue
    // that never empties does not grow by a slot per message sent).
    out = Out{};
    if (++head_ == queue_.size()) {
      head_ = 0;
      queue_.clear();
    } else if (head_ >= 64 && 2 * head_ >= queue_.size()) {
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    if (queue_empty() && !closing_) {
      // Subscriptions catching up (replay, resync) queue their next part.
      for (auto& [name, sub] : subs_)
        if (sub->member) shard_.hub.on_drained(sub->member);
      // A vector, not a deque (as SseConnection's queue): an idle
      // connection's empty queue costs nothing.
      if (queue_empty()) std::vector<Out>().swap(queue_);
    }
    write_next();
  }

  /// Arms the watchdog for the earlier of the write's stall limit and the
  /// close deadline, unless it is armed already (`again`: set it anew).
  void arm_watchdog(bool again = false) {
    if (watchdog_armed_ && !again) return;
    if (!writing_ && !closing_) return;
    watchdog_armed_ = true;
    Clock::time_point at = closing_ ? close_deadline_ : Clock::time_point::max();
    if (writing_)
      at = std::min(at, write_started_ + std::chrono::duration_cast<Clock::duration>(
                                             seconds_to_duration(shard_.server.config.slow_client_timeout)));
    watchdog_.expires_at(at);  // cancels a wait under way, whose handler then leaves the flag alone
    watchdog_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec == asio::error::operation_aborted || self->finished_) return;
      self->watchdog_armed_ = false;
      self->on_watchdog();
    });
  }

  void on_watchdog() {
    const auto now = Clock::now();
    const auto timeout = seconds_to_duration(shard_.server.config.slow_client_timeout);
    if (closing_ && now >= close_deadline_) {
      finish(end_reason_.value_or(EndReason::shutdown));
      return;
    }
    if (writing_ && now - write_started_ >= timeout) {
      finish(EndReason::slow_client);
      return;
    }
    arm_watchdog();
  }

  /// Graceful end: `final_message` goes out after what is queued, then the
  /// close frame with `code`; the connection ends by the grace period
  /// (--shutdown-grace) whatever the client does.
  void close_after_flush(const FramePtr& final_message, websocket::close_code code, std::string_view reason) {
    if (closing_ || finished_) return;
    force(final_message);
    closing_ = true;
    close_reason_ = websocket::close_reason(code, reason);
    close_deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                         seconds_to_duration(shard_.server.config.shutdown_grace));
    arm_watchdog(true);
    if (!accepted_) {
      finish(end_reason_.value_or(EndReason::shutdown));
      return;
    }
    write_next();
  }

  void send_close() {
    if (close_sent_) return;
    close_sent_ = true;
    writing_ = true;  // nothing else is written after the close frame
    ws_.async_close(close_reason_, [self = shared_from_this()](boost::system::error_code) {
      self->writing_ = false;
      self->finish(self->end_reason_.value_or(EndReason::shutdown));
    });
  }

  void read_next() {
    if (finished_) return;
    ws_.async_read(
        in_, [self = shared_from_this()](boost::system::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(boost::system::error_code ec) {
    if (finished_) return;
    if (ec) {
      // Closing: the close handshake (or its deadline) ends the connection.
      if (closing_) return;
      // Beast has sent the close frame a protocol error calls for (1009
      // for a message over read_message_max, 1002 for a bad frame).
      const bool protocol =
          ec != websocket::error::closed &&
          &ec.category() == &websocket::make_error_code(websocket::error::closed).category();
      finish(protocol ? EndReason::protocol_error : EndReason::client_closed);
      return;
    }
    if (closing_) {
      in_.consume(in_.size());
      read_next();
      return;
    }
    if (ws_.got_binary()) {
      in_.consume(in_.size());
      end_reason_ = EndReason::protocol_error;
      close_after_flush(ws_message("error", error_json("bad_message", "messages are JSON text, not binary")),
                        websocket::close_code::unknown_data, "binary messages are not accepted");
      return;
    }
    std::string text = beast::buffers_to_string(in_.data());
    in_.consume(in_.size());
    if (in_.capacity() > 4096) in_.shrink_to_fit();  // an idle connection keeps no large buffer
    handle(std::move(text));
  }

  /// Handles one message; reads the next when done.
  void handle(std::string text) {
    WsParseResult parsed = parse_ws_message(text);
    if (!parsed) {
      if (parsed.error.fatal) {
        end_reason_ = EndReason::protocol_error;
        close_after_flush(ws_message("error", error_json(parsed.error.code, parsed.error.message)),
                          websocket::close_code::policy_error, "malformed message");
        return;
      }
      refuse(parsed.error);
      read_next();
      return;
    }
    std::visit(
        [this](auto& m) {
          using T = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<T, WsSubscribe>) {
            asio::co_spawn(ws_.get_executor(), subscribe(shared_from_this(), std::move(m)),
                           [self = shared_from_this()](std::exception_ptr e) {
                             log_failure(e);
                             self->read_next();
                           });
            return;
          } else if constexpr (std::is_same_v<T, WsUnsubscribe>) {
            unsubscribe(m.id);
          } else if constexpr (std::is_same_v<T, WsWrite>) {
            write_setpoint(std::move(m));
          } else {
            force(pong_message());
          }
          read_next();
        },
        *parsed);
  }

  static const FramePtr& pong_message() {
    static const FramePtr pong = std::make_shared<const std::string>(R"({"event":"pong"})");
    return pong;
  }

  /// An error event answering a refused message: for its subscription or
  /// write when it named one.
  void refuse(const WsMessageError& e) {
    const std::string data = error_json(e.code, e.message);
    if (!e.subscription.empty()) {
      force(ws_event("error", data), ws_json_string(e.subscription));
    } else if (!e.request_id.empty()) {
      std::string extra = "\"requestId\":";
      append_json_string(extra, e.request_id);
      force(ws_message("error", data, extra));
    } else {
      force(ws_message("error", data));
    }
  }

  void refuse_subscription(const std::string& sub, std::string_view code, std::string_view message) {
    force(ws_event("error", error_json(code, message)), ws_json_string(sub));
  }

  static asio::awaitable<void> subscribe(std::shared_ptr<WsConnection> self, WsSubscribe m) {
    ServerContext& server = self->shard_.server;
    if (self->subs_.contains(m.id)) {
      self->refuse_subscription(
          m.id, "duplicate_subscription",
          "a subscription with this id is open: unsubscribe it first or choose another id");
      co_return;
    }
    if (self->subs_.size() >= kWsMaxSubscriptions) {
      self->refuse_subscription(m.id, "too_many_subscriptions",
                                "a connection holds at most " + std::to_string(kWsMaxSubscriptions) +
                                    " subscriptions: unsubscribe one or combine their tags");
      co_return;
    }
    const HttpRequest no_request;  // the errors' HTTP framing is not used
    ReadableTags resolved = co_await resolve_readable_tags(server, self->access_, no_request, m.query.tags);
    if (self->finished_ || self->closing_) co_return;
    if (!resolved) {
      self->force(ws_event("error", resolved.error.body()), ws_json_string(m.id));
      co_return;
    }
    const std::size_t budget = server.config.max_tags_per_query;
    if (self->total_tags_ + resolved->size() > budget) {
      self->refuse_subscription(m.id, "too_many_tags",
                                "the subscriptions of a connection resolve to at most " +
                                    std::to_string(budget) +
                                    " tags in all (--max-tags-per-query); this one would make " +
                                    std::to_string(self->total_tags_ + resolved->size()));
      co_return;
    }
    StreamSpec spec;
    spec.tags = std::move(*resolved);
    spec.interval = m.query.interval;
    spec.resume_after = m.query.last_event_id;
    spec.window = display_window(m.query, self->shard_.server.config);
    auto sub = std::make_unique<WsSubscription>(*self, m.id, spec.interval);
    sub->tags = spec.tags.size();
    self->force(ws_event("connected", self->connected_json(spec)), sub->id_json);
    WsSubscription& s = *sub;
    self->subs_.emplace(m.id, std::move(sub));
    self->total_tags_ += s.tags;
    if (log_enabled(LogLevel::info))
      log(LogLevel::info, "WS subscribe id={} sub={} tags={} interval={} resume={}", self->id(), m.id, s.tags,
          to_string(spec.interval),
          spec.resume_after ? std::to_string(*spec.resume_after) : std::string("none"));
    s.member = self->shard_.hub.subscribe(&s, spec);
  }

  /// The connected event's data, as an SSE stream's: the settings, then
  /// every tag with its metadata.
  std::string connected_json(const StreamSpec& spec) const {
    const HttpOptions& config = shard_.server.config;
    json::object hello = connected_settings(id(), spec, config);
    std::string text = json_text(hello);
    text.pop_back();
    text += ",\"tags\":[";
    const TagRegistry& registry = shard_.server.registry;
    bool first = true;
    for (TagId tag : spec.tags) {
      const auto info = registry.info(tag);
      if (!info) continue;
      if (!first) text += ',';
      first = false;
      text += "{\"name\":";
      append_json_string(text, info->name);
      text += ",\"unit\":";
      append_json_string(text, info->unit);
      text += ",\"description\":";
      append_json_string(text, info->description);
      text += ",\"type\":\"";
      text += to_string(info->type);
      text += "\"}";
    }
    text += "]}";
    return text;
  }

  void unsubscribe(const std::string& sub_id) {
    auto it = subs_.find(sub_id);
    if (it == subs_.end()) {
      refuse_subscription(sub_id, "unknown_subscription", "no open subscription has this id");
      return;
    }
    release(*it->second);
    force(ws_event("unsubscribed", "{}"), it->second->id_json);
    subs_.erase(it);
  }

  void release(WsSubscription& sub) {
    if (sub.member) shard_.hub.unsubscribe(sub.member);
    sub.member = nullptr;
    total_tags_ -= sub.tags;
  }

  /// A write message: the same checks, device call and audit line as
  /// POST /api/tags/{name}/value (http/setpoint.h), and the same request
  /// rate limit; answered with a write_result carrying that endpoint's
  /// status and body. Writes run while the connection goes on reading; at
  /// most kWsMaxWritesInFlight wait for their devices at once.
  void write_setpoint(WsWrite m) {
    if (writes_in_flight_ >= kWsMaxWritesInFlight) {
      answer_write(m.request_id,
                   {429, error_json("too_many_writes",
                                    "a connection has at most " + std::to_string(kWsMaxWritesInFlight) +
                                        " writes waiting for their devices; wait for a write_result")});
      return;
    }
    ServerContext& server = shard_.server;
    RateLimiter::Verdict verdict = server.write_rate.take(client_);
    if (verdict.allowed && access_.principal)
      verdict = server.write_rate.take("token:" + access_.principal->id);
    if (!verdict.allowed) {
      server.stats.requests_rate_limited.fetch_add(1, std::memory_order_relaxed);
      answer_write(m.request_id,
                   {429, error_json("rate_limited", "writes from this client or token exceed " +
                                                        fmt::format("{:g}", server.config.write_rate_limit) +
                                                        " per second; retry after " +
                                                        std::to_string(verdict.retry_after.count()) + " s")});
      return;
    }
    ++writes_in_flight_;
    asio::co_spawn(ws_.get_executor(), perform_write(shared_from_this(), std::move(m)), log_failure);
  }

  static asio::awaitable<void> perform_write(std::shared_ptr<WsConnection> self, WsWrite m) {
    // The Access as it is now: a key revoked since the upgrade no longer writes.
    const Access access = self->access_;
    SetpointAnswer answer;
    if (self->access_.credential.empty() && self->shard_.server.services.auth->enabled())
      answer = {401, error_json("token_expired", "the token is no longer valid")};
    else
      answer = co_await await_setpoint_write(self->shard_.server, access, m.tag, m.value);
    --self->writes_in_flight_;
    self->answer_write(m.request_id, std::move(answer));
  }

  void answer_write(const std::string& request_id, SetpointAnswer answer) {
    std::string extra = "\"requestId\":";
    append_json_string(extra, request_id);
    extra += ",\"status\":";
    append_json_integer(extra, answer.status);
    force(ws_message("write_result", answer.body, extra));
  }

  void finish(EndReason reason) {
    if (finished_) return;
    finished_ = true;
    for (auto& [name, sub] : subs_) release(*sub);
    subs_.clear();
    add_own(totals().queued_bytes, -static_cast<std::int64_t>(queued_bytes_));
    queued_bytes_ = 0;
    queue_.clear();
    head_ = 0;
    watchdog_.cancel();
    boost::system::error_code ignored;
    auto& socket = beast::get_lowest_layer(ws_);
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    ServerStats& stats = shard_.server.stats;
    stats.streams_closed.fetch_add(1, std::memory_order_relaxed);
    if (reason == EndReason::slow_client) stats.slow_streams_dropped.fetch_add(1, std::memory_order_relaxed);
    if (log_enabled(LogLevel::info)) {
      const double secs = std::chrono::duration<double>(Clock::now() - started_).count();
      log(LogLevel::info,
          "WS connection closed id={} client={} duration={:.3f}s events={} bytes={} reason={}", id(),
          endpoint_text(peer_), secs, events_sent_, bytes_sent_, reason_name(reason));
    }
  }

  static std::string_view reason_name(EndReason r) {
    switch (r) {
      case EndReason::client_closed: return "client_closed";
      case EndReason::protocol_error: return "protocol_error";
      case EndReason::write_failed: return "write_failed";
      case EndReason::slow_client: return "slow_client";
      case EndReason::revoked: return "revoked";
      case EndReason::shutdown: return "shutdown";
    }
    return "unknown";
  }

  ShardContext& shard_;
  websocket::stream<asio::ip::tcp::socket> ws_;
  asio::steady_timer watchdog_;
  StreamLimiter::Ticket ticket_;
  Access access_;
  std::string client_;  // client_key(): the key rate limits count by
  std::optional<TimeNs> expires_;
  std::uint64_t key_generation_ = 0;
  std::uint64_t number_;
  Clock::time_point started_;
  asio::ip::tcp::endpoint peer_;
  std::unique_ptr<HttpRequest> upgrade_;  // until the handshake is answered
  beast::flat_buffer in_{kWsMaxMessageBytes + 1024};
  std::vector<Out> queue_;  // messages from head_ on are still to be sent
  std::size_t head_ = 0;
  std::size_t queued_bytes_ = 0;
  std::unordered_map<std::string, std::unique_ptr<WsSubscription>> subs_;
  std::size_t total_tags_ = 0;
  std::size_t writes_in_flight_ = 0;
  std::uint64_t events_sent_ = 0;
  std::uint64_t bytes_sent_ = 0;
  Clock::time_point write_started_{};
  Clock::time_point close_deadline_{};
  websocket::close_reason close_reason_;
  std::optional<EndReason> end_reason_;
  bool accepted_ = false;
  bool writing_ = false;
  bool watchdog_armed_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
  bool finished_ = false;
};

bool WsSubscription::offer(const FramePtr& frame) {
  return connection.offer(ws_event_of(frame), id_json);
}

}  // namespace

std::optional<HttpResponse> serve_websocket(beast::tcp_stream& stream, const HttpRequest& req,
                                            const ParsedTarget& target, ShardContext& shard,
                                            const Access& access) {
  ServerContext& server = shard.server;
  if (!websocket::is_upgrade(req)) {
    auto res = error_response(http::status::upgrade_required, "websocket_upgrade_required",
                              "/api/ws speaks WebSocket: send a GET with Upgrade: websocket (or use "
                              "/api/sse/stream for a plain HTTP stream)",
                              req.version(), req.keep_alive());
    res.set(http::field::upgrade, "websocket");
    res.set(http::field::connection, "Upgrade");
    return res;
  }
  if (auto refused = check_websocket_origin(req, server.config)) {
    server.stats.requests_cross_origin.fetch_add(1, std::memory_order_relaxed);
    return refused;
  }
  StreamLimiter::Ticket ticket;
  const std::string client = client_key(stream, req, server.config);
  if (auto refused = admit_stream(shard, req, client, ticket)) return refused;
  auto connection =
      std::make_shared<WsConnection>(stream.release_socket(), shard, std::move(ticket), access, client);
  connection->accept(req);
  return std::nullopt;
}

}  // namespace tagstream
