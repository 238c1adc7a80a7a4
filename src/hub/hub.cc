#include "hub/hub.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <functional>
#include <utility>

#include "core/log.h"
#include "core/time.h"

namespace tagstream {

namespace asio = boost::asio;

/// Streams with the same tag set and interval. Collects the changes that
/// arrive inside a coalescing window and serializes them once for all.
struct Group {
  struct Pending {
    Seq seq;
    const Change* change;  // valid until the flush: the batch is held in pending_batches
  };

  Group(asio::io_context& io, Interval iv, std::vector<TagId> t, std::string k)
      : interval(iv), tags(std::move(t)), sorted_tags(tags), key(std::move(k)), timer(io) {
    std::sort(sorted_tags.begin(), sorted_tags.end());
  }

  // A sorted list, not a bitmap by tag id: a bitmap would cost every group
  // (one per idle stream, often) a bit for every tag of the server.
  bool has_tag(TagId id) const { return std::binary_search(sorted_tags.begin(), sorted_tags.end(), id); }

  Interval interval;
  std::vector<TagId> tags;
  std::vector<TagId> sorted_tags;
  std::string key;
  std::vector<Member*> members;

  std::vector<Pending> pending;
  std::unordered_map<std::uint64_t, std::size_t> pending_index;  // coalescing key -> pending slot
  std::vector<ChangeBatchPtr> pending_batches;                   // keeps `Pending::change` alive
  std::unordered_map<TagId, std::size_t> last_sent_hash;         // change-only sending
  bool dirty = false;
  bool window_active = false;
  asio::steady_timer timer;
};

namespace {

/// The key under which pending changes replace each other (latest wins):
/// one per tag for raw, one per tag and bucket for aggregates, so a bucket
/// that closes inside a window still goes out with its final value.
std::uint64_t coalescing_key(const Change& c, Interval iv) {
  const std::uint64_t tag = std::uint64_t{c.tag} << 32;
  if (iv == Interval::raw) return tag;
  const TimeNs start = c.buckets[aggregated_index(iv)].start;
  return tag | static_cast<std::uint32_t>(floor_div(start, interval_width(iv)));
}

std::string group_key(const StreamSpec& spec) {
  std::string key(1, static_cast<char>(spec.interval));
  key.append(reinterpret_cast<const char*>(spec.tags.data()), spec.tags.size() * sizeof(TagId));
  return key;
}

}  // namespace

HubShard::HubShard(asio::io_context& io, const TagRegistry& registry, HubOptions options, Seq start_seq,
                   const std::atomic<Seq>& published)
    : io_(io),
      registry_(registry),
      options_(options),
      published_(published),
      position_(start_seq),
      replay_floor_(start_seq),
      start_seq_(start_seq),
      heartbeat_timer_(io) {
  schedule_heartbeat();
}

HubShard::~HubShard() { stop(); }

void HubShard::stop() {
  stopped_ = true;
  heartbeat_timer_.cancel();
  for (auto& [key, group] : groups_) group->timer.cancel();
}

const std::string& HubShard::tag_name(TagId id) {
  if (id >= names_.size()) names_.resize(id + 1);
  if (names_[id].empty()) names_[id] = registry_.name(id);
  return names_[id];
}

void HubShard::append_point(std::string& out, TagId tag, Interval interval, const Change& change) {
  if (interval == Interval::raw)
    append_point_json(out, tag_name(tag), change.sample);
  else
    append_point_json(out, tag_name(tag), change.buckets[aggregated_index(interval)]);
}

std::shared_ptr<Group> HubShard::find_or_create_group(const StreamSpec& spec) {
  std::string key = group_key(spec);
  auto it = groups_.find(key);
  if (it != groups_.end()) return it->second;
  auto group = std::make_shared<Group>(io_, spec.interval, spec.tags, key);
  auto& index = groups_by_tag_[static_cast<std::size_t>(spec.interval)];
  for (TagId id : spec.tags) {
    if (id >= index.size()) index.resize(id + 1);
    index[id].push_back(group.get());
  }
  groups_.emplace(std::move(key), group);
  ++quiet_groups_;
  update_wake_rule();
  return group;
}

void HubShard::release_group(const std::shared_ptr<Group>& group) {
  auto& index = groups_by_tag_[static_cast<std::size_t>(group->interval)];
  for (TagId id : group->tags) {
    auto& list = index[id];
    list.erase(std::remove(list.begin(), list.end(), group.get()), list.end());
  }
  std::erase(dirty_, group.get());
  group->timer.cancel();
  if (!group->window_active) --quiet_groups_;
  group->window_active = false;
  groups_.erase(group->key);
  update_wake_rule();
}

Member* HubShard::subscribe(StreamSink* sink, const StreamSpec& spec) {
  // A snapshot or replay starts from what this shard has applied: apply
  // what is queued first.
  apply_queued();
  auto owned = std::make_unique<Member>();
  Member* m = owned.get();
  m->sink = sink;
  m->group = find_or_create_group(spec);
  m->slot = m->group->members.size();
  m->group->members.push_back(m);
  m->serial = ++next_serial_;
  members_.emplace(m, std::move(owned));

  const auto from_store = [&](Seq id) {
    // Older than the ring: the store has it, unless it was handed out by a
    // run that stopped before committing it (retention is checked by the
    // store's answer).
    return options_.fetch_older && (id <= options_.durable_seq || id >= start_seq_);
  };
  if (!spec.resume_after) {
    send_snapshot(*m, 0);
  } else if (*spec.resume_after > published_.load()) {
    send_history_lost(*m, *spec.resume_after);  // never sent by this server: made up, or lost in a crash
  } else if (*spec.resume_after < replay_floor_) {
    if (!from_store(*spec.resume_after)) {
      send_history_lost(*m, *spec.resume_after);
    } else {
      m->mode = Member::Mode::store_replay;
      m->cursor = *spec.resume_after;
      m->last_offered = *spec.resume_after;
      request_store_chunk(*m);
    }
  } else {
    m->mode = Member::Mode::replay;
    m->cursor = *spec.resume_after;
    m->last_offered = *spec.resume_after;
    send_replay_chunk(*m);
  }
  return m;
}

void HubShard::unsubscribe(Member* m) {
  auto it = members_.find(m);
  if (it == members_.end()) return;
  std::shared_ptr<Group> group = m->group;
  auto& list = group->members;
  list[m->slot] = list.back();
  list[m->slot]->slot = m->slot;
  list.pop_back();
  if (list.empty()) release_group(group);
  members_.erase(it);
}

const std::vector<TagId>& HubShard::tags_of(const Member* m) const { return m->group->tags; }

void HubShard::offer(Member& m, const FramePtr& frame, Seq last_seq) {
  if (m.sink->offer(frame)) {
    m.last_offered = std::max(m.last_offered, last_seq);
    return;
  }
  // The client is not keeping up: stop queueing and, once its queue drains,
  // send it the latest values instead of every change it missed.
  if (m.mode == Member::Mode::live) m.mode = Member::Mode::resync;
}

void HubShard::send_snapshot(Member& m, Seq after) {
  DataEventBuilder builder(m.group->interval);
  for (TagId id : m.group->tags) {
    const Change* c = latest(id);
    if (!c || c->seq <= after) continue;
    append_point(builder.next_point(), id, m.group->interval, *c);
  }
  m.mode = Member::Mode::live;
  m.start_seq = position_;
  if (builder.points() > 0) offer(m, builder.finish(position_), position_);
}

void HubShard::send_history_lost(Member& m, Seq requested) {
  std::string json = "{\"code\":\"history_lost\",\"message\":\"events after id ";
  json += std::to_string(requested);
  json += " are no longer held; a fresh snapshot follows\",\"lastEventId\":";
  json += std::to_string(requested);
  json += ",\"oldestAvailable\":";
  json += std::to_string(replay_floor_);
  json += "}";
  m.sink->offer(make_sse_frame("error", json));
  send_snapshot(m, 0);
}

void HubShard::request_store_chunk(Member& m) {
  if (m.fetching) return;
  // Between the durable history of the previous run and the first id of
  // this one lies a range that was never handed out: skip it.
  if (m.cursor >= options_.durable_seq && m.cursor < replay_floor_ && options_.durable_seq < start_seq_)
    m.cursor = std::max(m.cursor, std::min(start_seq_, replay_floor_));
  if (m.cursor >= replay_floor_) {
    m.mode = Member::Mode::replay;
    send_replay_chunk(m);
    return;
  }
  m.fetching = true;
  ReplayRequest request{m.group->sorted_tags, m.group->interval, m.cursor, replay_floor_,
                        options_.replay_chunk_points};
  options_.fetch_older(std::move(request), [this, member = &m, serial = m.serial](ReplayResult result) {
    boost::asio::post(io_, [this, member, serial, result = std::move(result)]() mutable {
      on_store_chunk(member, serial, std::move(result));
    });
  });
}

void HubShard::on_store_chunk(Member* m, std::uint64_t serial, ReplayResult result) {
  auto it = members_.find(m);
  if (it == members_.end() || m->serial != serial || stopped_) return;  // the stream has gone
  m->fetching = false;
  if (!result.ok) {
    send_history_lost(*m, m->cursor);
    return;
  }
  if (result.reached <= m->cursor && result.points.empty()) {
    // The store has not committed that far yet: ask again shortly.
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::milliseconds(20));
    timer->async_wait([this, m, serial, timer](boost::system::error_code ec) {
      auto again = members_.find(m);
      if (ec || again == members_.end() || m->serial != serial || stopped_) return;
      request_store_chunk(*m);
    });
    return;
  }
  const Interval iv = m->group->interval;
  m->replayed += result.points.size();
  if (m->replayed > options_.max_replay_points) {
    send_history_lost(*m, m->cursor);
    return;
  }
  if (!result.points.empty()) {
    DataEventBuilder builder(iv);
    for (const ReplayPoint& p : result.points) {
      if (iv == Interval::raw)
        append_point_json(builder.next_point(), tag_name(p.tag), p.sample);
      else
        append_point_json(builder.next_point(), tag_name(p.tag), p.bucket);
    }
    // A full queue keeps the cursor: the same span is read again once it
    // drains.
    if (!m->sink->offer(builder.finish(result.reached))) return;
    m->last_offered = result.reached;
  }
  m->cursor = std::max(m->cursor, result.reached);
  // The next chunk is asked for when the sink drains; if nothing was
  // queued, there is nothing to wait for.
  if (result.points.empty()) request_store_chunk(*m);
}

void HubShard::send_replay_chunk(Member& m) {
  if (m.cursor < replay_floor_) {  // evicted while the client was catching up
    if (options_.fetch_older) {
      m.mode = Member::Mode::store_replay;
      request_store_chunk(m);
    } else {
      send_history_lost(m, m.cursor);
    }
    return;
  }
  const Group& g = *m.group;
  const Interval iv = g.interval;
  // First batch holding a change after the cursor.
  auto it = std::upper_bound(ring_.begin(), ring_.end(), m.cursor,
                             [](Seq s, const ChangeBatchPtr& b) { return s < b->last_seq(); });
  std::vector<const Change*> picked;
  std::unordered_map<std::uint64_t, std::size_t> slot_of;
  Seq scanned = m.cursor;
  for (; it != ring_.end() && picked.size() < options_.replay_chunk_points; ++it) {
    for (const Change& c : (*it)->changes) {
      if (c.seq <= scanned) continue;
      if (picked.size() >= options_.replay_chunk_points) break;
      scanned = c.seq;
      if (!g.has_tag(c.tag)) continue;
      if (iv == Interval::raw) {
        picked.push_back(&c);
        continue;
      }
      auto [slot, inserted] = slot_of.try_emplace(coalescing_key(c, iv), picked.size());
      if (inserted)
        picked.push_back(&c);
      else
        picked[slot->second] = &c;  // a later state of the same bucket
    }
  }
  // An id this shard has not reached yet (sent by another shard a moment
  // ago) is caught up with by the live path: start_seq below filters it.
  if (it == ring_.end() && picked.size() < options_.replay_chunk_points) scanned = std::max(scanned, position_);
  if (!picked.empty()) {
    m.replayed += picked.size();
    if (m.replayed > options_.max_replay_points) {
      send_history_lost(m, m.cursor);
      return;
    }
    DataEventBuilder builder(iv);
    for (const Change* c : picked) append_point(builder.next_point(), c->tag, iv, *c);
    // The id is the scan position, so a client that resumes from it
    // continues exactly where this event stopped.
    if (!m.sink->offer(builder.finish(scanned))) return;  // retried when the queue drains
    m.last_offered = scanned;
  }
  m.cursor = scanned;
  if (scanned >= position_) {
    m.mode = Member::Mode::live;
    m.start_seq = scanned;
  }
}

void HubShard::on_drained(Member* m) {
  if (!members_.count(m)) return;
  switch (m->mode) {
    case Member::Mode::live: return;
    case Member::Mode::replay: send_replay_chunk(*m); return;
    case Member::Mode::store_replay: request_store_chunk(*m); return;
    case Member::Mode::resync: send_snapshot(*m, m->last_offered); return;
  }
}

void HubShard::restore(const std::vector<Change>& latest) {
  for (const Change& c : latest) {
    if (c.tag >= latest_kept_.size()) latest_kept_.resize(c.tag + 1);
    latest_kept_[c.tag] = c;
  }
}

void HubShard::keep_latest_of(const ChangeBatch& evicted) {
  auto keep = [this](TagId tag) {
    if (tag >= latest_kept_.size()) latest_kept_.resize(tag + 1);
    latest_kept_[tag] = *latest_in_ring_[tag];
    latest_in_ring_[tag] = nullptr;
  };
  // Whichever is shorter: the batch, whose changes are cold by now (a cache
  // miss each), or the view, a dense array of pointers.
  if (evicted.changes.size() <= latest_in_ring_.size()) {
    for (const Change& c : evicted.changes)
      if (latest_in_ring_[c.tag] == &c) keep(c.tag);
    return;
  }
  const auto first = reinterpret_cast<std::uintptr_t>(evicted.changes.data());
  const auto end = reinterpret_cast<std::uintptr_t>(evicted.changes.data() + evicted.changes.size());
  for (TagId tag = 0; tag < latest_in_ring_.size(); ++tag) {
    const auto at = reinterpret_cast<std::uintptr_t>(latest_in_ring_[tag]);
    if (at >= first && at < end) keep(tag);
  }
}

const Change* HubShard::latest(TagId id) const {
  if (id < latest_in_ring_.size() && latest_in_ring_[id]) return latest_in_ring_[id];
  if (id < latest_kept_.size() && latest_kept_[id].seq > 0) return &latest_kept_[id];
  return nullptr;
}

namespace {
// Batches a shard inside its windows may hold before it is woken all the
// same (a window's timer normally applies them well before).
constexpr std::size_t kMaxParkedBatches = 256;
}  // namespace

void HubShard::enqueue(const ChangeBatchPtr& batch) {
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.push_back(batch);
    if (drain_posted_) return;
    if (!wake_on_enqueue_ && inbox_.size() < kMaxParkedBatches) return;
    drain_posted_ = true;
  }
  post_drain();
}

void HubShard::post_drain() {
  asio::post(io_, [this] { apply_queued(); });
}

void HubShard::apply_queued() {
  std::vector<ChangeBatchPtr> batches;
  {
    std::lock_guard lock(inbox_mutex_);
    batches.swap(inbox_);
    drain_posted_ = false;
  }
  for (const ChangeBatchPtr& b : batches) on_batch(b);
}

void HubShard::update_wake_rule() {
  // Without coalescing every change goes out at once; with no group at all
  // there is no window timer to apply the inbox.
  const bool wake = options_.coalesce_window.count() == 0 || groups_.empty() || quiet_groups_ > 0;
  {
    std::lock_guard lock(inbox_mutex_);
    wake_on_enqueue_ = wake;
    // Checked under the same lock as enqueue: a batch queued while the
    // rule said "park" is picked up here, not stranded.
    if (!wake || inbox_.empty() || drain_posted_) return;
    drain_posted_ = true;
  }
  post_drain();
}

void HubShard::on_batch(const ChangeBatchPtr& batch) {
  if (batch->changes.empty() || batch->last_seq() <= position_) return;
  ring_.push_back(batch);
  ring_changes_ += batch->changes.size();
  while (ring_changes_ > options_.replay_capacity && ring_.size() > 1) {
    const ChangeBatch& evicted = *ring_.front();
    keep_latest_of(evicted);
    replay_floor_ = evicted.last_seq();
    ring_changes_ -= evicted.changes.size();
    ring_.pop_front();
  }

  for (const Change& c : batch->changes) {
    if (c.tag >= latest_in_ring_.size()) latest_in_ring_.resize(c.tag + 1);
    latest_in_ring_[c.tag] = &c;
    for (std::size_t iv = 0; iv < kIntervalCount; ++iv) {
      const auto& index = groups_by_tag_[iv];
      if (c.tag >= index.size()) continue;
      for (Group* g : index[c.tag]) {
        if (iv == 0 && options_.coalesce_window.count() == 0) {
          g->pending.push_back({c.seq, &c});  // every raw change goes out
        } else {
          auto [slot, inserted] = g->pending_index.try_emplace(coalescing_key(c, g->interval), g->pending.size());
          if (inserted)
            g->pending.push_back({c.seq, &c});
          else
            g->pending[slot->second] = {c.seq, &c};
        }
        if (g->pending_batches.empty() || g->pending_batches.back() != batch) g->pending_batches.push_back(batch);
        if (!g->dirty) {
          g->dirty = true;
          dirty_.push_back(g);
        }
      }
    }
  }
  position_ = batch->last_seq();

  std::vector<Group*> dirty;
  dirty.swap(dirty_);
  for (Group* g : dirty) {
    g->dirty = false;
    if (options_.coalesce_window.count() == 0) {
      flush(*g);
    } else if (!g->window_active) {
      // Leading edge: a change after a quiet window goes out at once.
      flush(*g);
      start_window(groups_.at(g->key));
    }
  }
  if (!dirty.empty() && options_.coalesce_window.count() > 0) update_wake_rule();
}

void HubShard::start_window(const std::shared_ptr<Group>& group) {
  if (!group->window_active) --quiet_groups_;
  group->window_active = true;
  group->timer.expires_after(options_.coalesce_window);
  group->timer.async_wait([this, weak = std::weak_ptr<Group>(group)](boost::system::error_code ec) {
    auto g = weak.lock();
    if (ec || !g || stopped_) return;
    // Batches parked while every window was open are due now.
    apply_queued();
    if (g->pending.empty()) {
      g->window_active = false;
      ++quiet_groups_;
      update_wake_rule();
      return;
    }
    flush(*g);
    start_window(g);
  });
}

void HubShard::flush(Group& g) {
  if (g.pending.empty()) return;
  // Change-only: a point whose serialized form is what this group last sent
  // for the tag is dropped.
  std::vector<std::pair<Seq, std::string>> points;
  points.reserve(g.pending.size());
  Seq last_seq = 0;
  std::string scratch;
  for (const auto& p : g.pending) {
    last_seq = std::max(last_seq, p.seq);
    scratch.clear();
    append_point(scratch, p.change->tag, g.interval, *p.change);
    const std::size_t hash = std::hash<std::string>{}(scratch);
    auto [it, inserted] = g.last_sent_hash.try_emplace(p.change->tag, hash);
    if (!inserted) {
      if (it->second == hash) continue;
      it->second = hash;
    }
    points.emplace_back(p.seq, scratch);
  }
  g.pending.clear();
  g.pending_index.clear();
  g.pending_batches.clear();
  if (points.empty()) return;

  const Seq min_seq = std::min_element(points.begin(), points.end())->first;
  FramePtr shared;
  for (Member* m : g.members) {
    if (m->mode != Member::Mode::live || m->start_seq >= last_seq) continue;
    if (m->start_seq >= min_seq) {
      // Joined mid-window: its snapshot already holds the older points.
      DataEventBuilder own(g.interval);
      for (const auto& [seq, json] : points)
        if (seq > m->start_seq) own.next_point() += json;
      if (own.points() > 0) offer(*m, own.finish(last_seq), last_seq);
      continue;
    }
    if (!shared) {
      DataEventBuilder builder(g.interval);
      for (const auto& [seq, json] : points) builder.next_point() += json;
      shared = builder.finish(last_seq);
    }
    offer(*m, shared, last_seq);
  }
}

void HubShard::schedule_heartbeat() {
  if (options_.heartbeat_interval.count() <= 0) return;
  heartbeat_timer_.expires_after(options_.heartbeat_interval);
  heartbeat_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    if (!members_.empty()) {
      std::string json = "{\"t\":";
      append_json_integer(json, to_millis(now_ns()));
      json += "}";
      FramePtr frame = make_sse_frame("heartbeat", json);
      // A heartbeat that does not fit is not needed: the queue is not idle.
      for (auto& [ptr, member] : members_) member->sink->offer(frame);
    }
    schedule_heartbeat();
  });
}

Hub::Hub(const std::vector<asio::io_context*>& contexts, const TagRegistry& registry, HubOptions options,
         Seq start_seq)
    : published_(start_seq) {
  for (asio::io_context* io : contexts)
    shards_.push_back(std::make_unique<HubShard>(*io, registry, options, start_seq, published_));
}

Hub::~Hub() = default;

void Hub::restore(const std::vector<Change>& latest) {
  for (auto& shard : shards_) shard->restore(latest);
}

void Hub::publish(const ChangeBatchPtr& batch) {
  published_.store(batch->last_seq());
  for (auto& shard : shards_) shard->enqueue(batch);
}

}  // namespace tagstream
