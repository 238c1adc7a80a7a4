#include "cluster/redis_log.h"

#include <algorithm>
#include <string>

#include "core/log.h"
#include "core/thread_name.h"

namespace tagstream::cluster {

namespace {

// KEYS[1]: the stream. ARGV: ids wanted, the caller's floor, MAXLEN, then
// the entry's fields. Returns the first id. Lua numbers are doubles: exact
// for integers up to 2^53, microseconds since 1970 stay below 2^52 until
// the year 2112.
constexpr std::string_view kAppendScript = R"lua(
local newest = 0
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #top == 1 then newest = tonumber(string.match(top[1][1], '^(%d+)')) end
local t = redis.call('TIME')
local first = tonumber(t[1]) * 1000000 + tonumber(t[2])
if first <= newest then first = newest + 1 end
local floor = tonumber(ARGV[2])
if first <= floor then first = floor + 1 end
local last = first + tonumber(ARGV[1]) - 1
local entry = {'XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], string.format('%d', last) .. '-0',
               'f', string.format('%d', first)}
for i = 4, #ARGV do entry[#entry + 1] = ARGV[i] end
redis.call(unpack(entry))
return first
)lua";

constexpr std::size_t kCatchUpChunk = 2000;  // samples per entry when appending what was kept
constexpr std::size_t kTagsPerEntry = 1000;
constexpr std::size_t kMaxPendingTags = 100'000;
constexpr std::size_t kEntriesPerRead = 512;

thread_local bool t_applying_remote = false;

}  // namespace

RedisLog::RedisLog(RedisLogOptions options, const TagRegistry& registry, Handlers handlers)
    : options_(std::move(options)), registry_(registry), handlers_(std::move(handlers)) {}

RedisLog::~RedisLog() {
  stop();
}

bool RedisLog::applying_remote() {
  return t_applying_remote;
}

std::optional<Seq> RedisLog::open() {
  try {
    auto db = std::make_unique<RedisConnection>(options_.address, options_.timeout);
    const RedisReply top = db->command({"XREVRANGE", options_.stream_key, "+", "-", "COUNT", "1"});
    if (top.is_error()) throw std::runtime_error("XREVRANGE: " + std::string(top.text()));
    Seq newest = 0;
    if (top.size() == 1) {
      const auto seq = entry_seq(ReplyView{top.raw()}[0][0].text());
      if (!seq)
        throw std::runtime_error("the stream " + options_.stream_key + " is not tagstream's: " + seq.error);
      newest = *seq;
    }
    std::lock_guard lock(mutex_);
    writer_ = std::move(db);
    up_ = true;
    state_ = "connected";
    log(LogLevel::info, "cluster: shared log on Redis {} ({}), newest entry {}", options_.address.endpoint(),
        options_.stream_key, newest);
    return newest;
  } catch (const std::runtime_error& e) {
    std::lock_guard lock(mutex_);
    went_down_locked(e.what());
    return std::nullopt;
  }
}

void RedisLog::start(Seq after) {
  reader_ = std::thread([this, after] {
    name_this_thread("ts-cluster-rd");
    read_loop(after);
  });
  tag_sender_ = std::thread([this] {
    name_this_thread("ts-cluster-tag");
    tag_loop();
  });
}

void RedisLog::stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard lock(stop_mutex_);
    stop_cv_.notify_all();
  }
  {
    std::lock_guard lock(tags_mutex_);
    tags_cv_.notify_all();
  }
  {
    std::lock_guard lock(reading_mutex_);
    if (reading_) reading_->interrupt();
  }
  if (reader_.joinable()) reader_.join();
  if (tag_sender_.joinable()) tag_sender_.join();
}

Seq RedisLog::append(RedisConnection& db, std::size_t n, Seq floor,
                     std::span<const std::string_view> fields) {
  const std::string ids = std::to_string(n);
  const std::string floor_text = std::to_string(floor);
  const std::string max_entries = std::to_string(options_.max_entries);
  std::vector<std::string_view> args{"EVAL", kAppendScript, "1",        options_.stream_key,
                                     ids,    floor_text,    max_entries};
  args.insert(args.end(), fields.begin(), fields.end());
  const RedisReply reply = db.command(args);
  if (reply.is_error()) throw std::runtime_error("append: " + std::string(reply.text()));
  appended_.fetch_add(1, std::memory_order_relaxed);
  return static_cast<Seq>(reply.integer());
}

std::optional<Seq> RedisLog::append_samples_locked(std::span<const TaggedSample> samples, Seq floor) {
  std::vector<NamedSample> named;
  named.reserve(samples.size());
  for (const TaggedSample& s : samples) named.push_back({registry_.name(s.tag), s.sample});
  const std::string payload = encode_samples(named);
  const std::string_view fields[] = {"k", "s", "d", payload};
  return append(*writer_, samples.size(), floor, fields);
}

std::optional<Seq> RedisLog::append_or_keep(std::span<const TaggedSample> samples, Seq floor) {
  std::lock_guard lock(mutex_);
  if (up_ && writer_) {
    try {
      return append_samples_locked(samples, floor);
    } catch (const std::runtime_error& e) {
      went_down_locked(e.what());
    }
  }
  keep_locked(samples, floor);
  return std::nullopt;
}

void RedisLog::keep_locked(std::span<const TaggedSample> samples, Seq floor) {
  kept_floor_ = std::max(kept_floor_, floor + samples.size());
  if (kept_.size() + samples.size() > options_.max_kept_samples) {
    if (dropped_.fetch_add(samples.size(), std::memory_order_relaxed) == 0)
      log(LogLevel::warn,
          "cluster: {} samples kept while Redis is down; newer ones are stored but will not reach the other "
          "nodes' live views",
          kept_.size());
    return;
  }
  kept_.insert(kept_.end(), samples.begin(), samples.end());
}

void RedisLog::went_down_locked(const std::string& why) {
  writer_.reset();
  last_error_ = why;
  if (up_ || state_ == "connecting") {
    log(LogLevel::warn,
        "cluster: Redis {} unreachable ({}): this node streams its own writes until it is back",
        options_.address.endpoint(), why);
    down_since_ = std::chrono::steady_clock::now();
  }
  up_ = false;
  state_ = "local";
}

void RedisLog::wait_backoff(std::chrono::milliseconds& backoff) {
  std::unique_lock lock(stop_mutex_);
  stop_cv_.wait_for(lock, backoff, [this] { return stopping_.load(); });
  backoff = std::min(backoff * 2, options_.backoff_max);
}

bool RedisLog::catch_up() {
  {
    std::lock_guard lock(mutex_);
    if (up_) return true;
  }
  // Connected outside the lock: a Redis that accepts connections but does
  // not answer (hung, or a black hole) must not hold up ingest, which keeps
  // going into kept_ meanwhile.
  std::unique_ptr<RedisConnection> fresh;
  try {
    fresh = std::make_unique<RedisConnection>(options_.address, options_.timeout);
    const RedisReply pong = fresh->command({"PING"});
    if (pong.is_error()) throw std::runtime_error("PING: " + std::string(pong.text()));
  } catch (const std::runtime_error& e) {
    std::lock_guard lock(mutex_);
    went_down_locked(e.what());
    return false;
  }
  std::unique_lock lock(mutex_);
  if (up_) return true;
  try {
    writer_ = std::move(fresh);
    std::size_t sent = 0;
    while (!kept_.empty()) {
      const std::size_t n = std::min(kCatchUpChunk, kept_.size());
      const std::vector<TaggedSample> chunk(kept_.begin(), kept_.begin() + static_cast<std::ptrdiff_t>(n));
      append_samples_locked(chunk, kept_floor_);
      kept_.erase(kept_.begin(), kept_.begin() + static_cast<std::ptrdiff_t>(n));
      sent += n;
      // Ingest goes on between chunks (into kept_, in order, while up_ is false).
      lock.unlock();
      lock.lock();
      if (!writer_) return false;
    }
    up_ = true;
    state_ = "connected";
    if (down_since_ != std::chrono::steady_clock::time_point{})
      down_total_ += std::chrono::steady_clock::now() - down_since_;
    log(LogLevel::info, "cluster: Redis {} is back; {} samples written meanwhile appended",
        options_.address.endpoint(), sent);
    return true;
  } catch (const std::runtime_error& e) {
    went_down_locked(e.what());
    return false;
  }
}

void RedisLog::read_loop(Seq after) {
  std::chrono::milliseconds backoff = options_.backoff_min;
  bool was_connected = false;
  std::unique_ptr<RedisConnection> db;
  while (!stopping_) {
    try {
      if (!db) {
        auto fresh = std::make_unique<RedisConnection>(options_.address, options_.timeout);
        fresh->set_timeout(options_.read_block + options_.timeout);
        std::lock_guard lock(reading_mutex_);
        if (stopping_) break;
        db = std::move(fresh);
        reading_ = db.get();
        if (was_connected) reconnects_.fetch_add(1, std::memory_order_relaxed);
        was_connected = true;
      }
      // Reading first: only a Redis that answered is given what was kept.
      read_once(*db, after);
      if (!catch_up()) throw std::runtime_error(status().last_error);
      backoff = options_.backoff_min;
    } catch (const std::runtime_error& e) {
      {
        std::lock_guard lock(reading_mutex_);
        reading_ = nullptr;
        db.reset();
      }
      if (stopping_) break;
      {
        std::lock_guard lock(mutex_);
        went_down_locked(e.what());
      }
      wait_backoff(backoff);
    }
  }
  std::lock_guard lock(reading_mutex_);
  reading_ = nullptr;
}

void RedisLog::read_once(RedisConnection& db, Seq& after) {
  const std::string from = std::to_string(after) + "-0";
  const std::string block = std::to_string(options_.read_block.count());
  const std::string count = std::to_string(kEntriesPerRead);
  const RedisReply reply =
      db.command({"XREAD", "COUNT", count, "BLOCK", block, "STREAMS", options_.stream_key, from});
  if (reply.is_error()) throw std::runtime_error("XREAD: " + std::string(reply.text()));
  if (reply.is_nil() || reply.size() == 0) return;
  const ReplyView entries = ReplyView{reply.raw()}[0][1];
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const ReplyView entry = entries[i];
    const auto seq = entry_seq(entry[0].text());
    if (!seq) throw std::runtime_error(seq.error);
    after = *seq;
    last_read_.store(*seq, std::memory_order_relaxed);
    read_.fetch_add(1, std::memory_order_relaxed);
    std::string_view kind, first_text, data;
    const ReplyView fields = entry[1];
    for (std::size_t f = 0; f + 1 < fields.size(); f += 2) {
      const std::string_view name = fields[f].text();
      if (name == "k") kind = fields[f + 1].text();
      if (name == "f") first_text = fields[f + 1].text();
      if (name == "d") data = fields[f + 1].text();
    }
    if (kind == "s") {
      auto samples = decode_samples(data);
      const auto first = entry_seq(std::string(first_text) + "-0");
      if (!samples || !first || samples->empty() || *first + samples->size() - 1 != *seq) {
        log(LogLevel::error, "cluster: entry {} skipped: {}", entry[0].text(),
            !samples ? samples.error : "its ids do not match its samples");
        continue;
      }
      t_applying_remote = true;
      handlers_.samples(*first, std::move(*samples));
      t_applying_remote = false;
    } else if (kind == "t") {
      auto tags = decode_tags(data);
      if (!tags) {
        log(LogLevel::error, "cluster: entry {} skipped: {}", entry[0].text(), tags.error);
        continue;
      }
      t_applying_remote = true;
      handlers_.tags(std::move(*tags));
      t_applying_remote = false;
    }
  }
}

void RedisLog::publish_tag(const TagInfo& info) {
  std::lock_guard lock(tags_mutex_);
  if (pending_tags_.size() >= kMaxPendingTags) return;  // names still travel with their samples
  pending_tags_.push_back(info);
  tags_cv_.notify_one();
}

void RedisLog::tag_loop() {
  std::chrono::milliseconds backoff = options_.backoff_min;
  while (!stopping_) {
    std::vector<TagInfo> batch;
    {
      std::unique_lock lock(tags_mutex_);
      tags_cv_.wait(lock, [this] { return stopping_ || !pending_tags_.empty(); });
      if (stopping_) return;
      const std::size_t n = std::min(kTagsPerEntry, pending_tags_.size());
      batch.assign(pending_tags_.begin(), pending_tags_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    bool sent = false;
    {
      std::lock_guard lock(mutex_);
      if (up_ && writer_) {
        try {
          const std::string payload = encode_tags(batch);
          const std::string_view fields[] = {"k", "t", "d", payload};
          append(*writer_, 1, 0, fields);
          sent = true;
        } catch (const std::runtime_error& e) {
          went_down_locked(e.what());
        }
      }
    }
    if (!sent) {
      wait_backoff(backoff);  // the reader thread brings the connection back
      continue;
    }
    backoff = options_.backoff_min;
    std::lock_guard lock(tags_mutex_);
    pending_tags_.erase(pending_tags_.begin(),
                        pending_tags_.begin() + static_cast<std::ptrdiff_t>(batch.size()));
  }
}

SharedLogStatus RedisLog::status() const {
  SharedLogStatus s;
  s.endpoint = options_.address.endpoint();
  std::lock_guard lock(mutex_);
  s.up = up_;
  s.state = state_;
  s.kept_samples = kept_.size();
  s.last_error = last_error_;
  auto local = down_total_;
  if (!up_ && down_since_ != std::chrono::steady_clock::time_point{})
    local += std::chrono::steady_clock::now() - down_since_;
  s.local_seconds =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(local).count());
  s.appended_entries = appended_.load(std::memory_order_relaxed);
  s.read_entries = read_.load(std::memory_order_relaxed);
  s.dropped_samples = dropped_.load(std::memory_order_relaxed);
  s.reconnects = reconnects_.load(std::memory_order_relaxed);
  s.last_read = last_read_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace tagstream::cluster
