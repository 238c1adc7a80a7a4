#pragma once
// The cluster's shared log on Redis Streams (issue 18).
//
// Event ids: every append runs one Lua script on Redis that takes the ids
// first..last after the stream's newest entry, never below Redis's clock in
// microseconds (so a Redis that lost its last second of writes in a crash
// still hands out ids above every one it handed out before) nor below the
// caller's floor, and adds the entry under the stream id "<last>-0". An
// event id is therefore a plain integer, as on one node (JavaScript-safe,
// Last-Event-ID unchanged), the stream's order is the ids' order, and the
// node that wrote a sample and every other node give it the same id.
//
// Every node, the writer included, makes entries live only as its reader
// thread reads them back (XREAD BLOCK): one path and one order everywhere.
//
// Redis down: append_or_keep() keeps the samples (bounded) and the node
// streams them itself under local ids; the reader thread reconnects with
// backoff, appends what was kept, then the node is back on the shared log.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "cluster/log_entry.h"
#include "cluster/redis_connection.h"
#include "core/shared_log.h"
#include "core/tag_registry.h"

namespace tagstream::cluster {

struct RedisLogOptions {
  RedisAddress address;
  std::string stream_key = "tagstream:events";
  /// Entries Redis keeps (MAXLEN ~): how far behind a node's reader may
  /// fall (a Redis restart, a slow node) and still catch up from the stream.
  std::size_t max_entries = 1'000'000;
  /// Samples kept while Redis is down; past it they are only in the store.
  std::size_t max_kept_samples = 1'000'000;
  std::chrono::milliseconds timeout{2000};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
  /// Blocking time of one XREAD: how often the reader looks around.
  std::chrono::milliseconds read_block{500};
};

class RedisLog final : public SharedLog {
 public:
  struct Handlers {
    /// Reader thread, in id order: the samples of one entry, sample i under
    /// the id first + i.
    std::function<void(Seq first, std::vector<NamedSample> samples)> samples;
    /// Reader thread: tags created or changed on some node (this one too).
    std::function<void(std::vector<TagInfo> tags)> tags;
  };

  RedisLog(RedisLogOptions options, const TagRegistry& registry, Handlers handlers);
  ~RedisLog() override;

  /// Connects and returns the id of the stream's newest entry (0: empty),
  /// where the reader will start; nothing when Redis cannot be reached (the
  /// node starts in local mode and keeps trying).
  std::optional<Seq> open();
  /// Starts the reader thread, reading entries after `after`.
  void start(Seq after);
  void stop();

  std::optional<Seq> append_or_keep(std::span<const TaggedSample> samples, Seq floor) override;
  /// Any thread (the registry's observer: must not block): a tag was created
  /// or changed here; it is sent to the other nodes shortly.
  void publish_tag(const TagInfo& info);
  SharedLogStatus status() const override;

  /// True on the reader thread while it applies an entry, so the registry's
  /// observer does not send the tags it creates or changes back.
  static bool applying_remote();

 private:
  /// Runs the script: appends one entry of `n` ids with `fields`. Throws.
  Seq append(RedisConnection& db, std::size_t n, Seq floor, std::span<const std::string_view> fields);
  std::optional<Seq> append_samples_locked(std::span<const TaggedSample> samples, Seq floor);
  void keep_locked(std::span<const TaggedSample> samples, Seq floor);
  void went_down_locked(const std::string& why);
  void read_loop(Seq after);
  void tag_loop();
  /// Reader thread: appends what was kept while Redis was down, then puts
  /// the node back on the log. False when Redis failed again.
  bool catch_up();
  void read_once(RedisConnection& db, Seq& after);
  void wait_backoff(std::chrono::milliseconds& backoff);

  const RedisLogOptions options_;
  const TagRegistry& registry_;
  const Handlers handlers_;

  mutable std::mutex mutex_;  // the writer connection, the kept samples and the state
  std::unique_ptr<RedisConnection> writer_;
  bool up_ = false;
  std::deque<TaggedSample> kept_;  // written while Redis was down, in order
  Seq kept_floor_ = 0;
  std::chrono::steady_clock::time_point down_since_{};
  std::chrono::steady_clock::duration down_total_{};
  std::string last_error_;
  std::string state_ = "connecting";

  std::mutex tags_mutex_;
  std::condition_variable tags_cv_;
  std::vector<TagInfo> pending_tags_;

  std::atomic<bool> stopping_{false};
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  std::mutex reading_mutex_;
  RedisConnection* reading_ = nullptr;  // the reader's connection, for stop() to interrupt its XREAD
  std::thread reader_;
  std::thread tag_sender_;

  std::atomic<std::uint64_t> appended_{0};
  std::atomic<std::uint64_t> read_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<Seq> last_read_{0};
};

}  // namespace tagstream::cluster
