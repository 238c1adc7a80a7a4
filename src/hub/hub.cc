// HubShard, live path: the inbox and its wake rule, fan-out into groups,
// coalescing windows, heartbeats; and Hub.
#include "hub/hub.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <functional>
#include <utility>

#include "core/time.h"
#include "hub/group.h"

namespace tagstream {

namespace asio = boost::asio;
using namespace std::chrono_literals;

HubShard::HubShard(asio::io_context& io, const TagRegistry& registry, HubOptions options, Seq start_seq,
                   const std::atomic<Seq>& published)
    : io_(io),
      registry_(registry),
      options_(options),
      published_(published),
      position_(start_seq),
      replay_floor_(start_seq),
      start_seq_(start_seq),
      heartbeat_timer_(options_.clock->make_timer(io)) {
  schedule_heartbeat();
}

HubShard::~HubShard() {
  stop();
}

void HubShard::stop() {
  stopped_ = true;
  heartbeat_timer_->cancel();
  for (auto& [key, group] : groups_) group->timer->cancel();
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
  const std::chrono::nanoseconds window = std::max(spec.window.value_or(options_.coalesce_window), 0ns);
  std::string key = group_key(spec, window);
  auto it = groups_.find(key);
  if (it != groups_.end()) return it->second;
  auto group =
      std::make_shared<Group>(options_.clock->make_timer(io_), spec.interval, window, spec.tags, key);
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
  group->timer->cancel();
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
  send_first_content(*m, spec.resume_after);
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

const std::vector<TagId>& HubShard::tags_of(const Member* m) const {
  return m->group->tags;
}

void HubShard::offer(Member& m, const FramePtr& frame, Seq last_seq) {
  if (m.sink->offer(frame)) {
    m.last_offered = std::max(m.last_offered, last_seq);
    return;
  }
  // The client is not keeping up: stop queueing and, once its queue drains,
  // send it the latest values instead of every change it missed.
  if (m.mode == Member::Mode::live) m.mode = Member::Mode::resync;
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
  // A group without a window (0) is always quiet: its changes go out at
  // once. With no group at all there is no window timer to apply the inbox.
  const bool wake = groups_.empty() || quiet_groups_ > 0;
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
  remember(batch);

  for (const Change& c : batch->changes) {
    if (c.tag >= latest_in_ring_.size()) latest_in_ring_.resize(c.tag + 1);
    latest_in_ring_[c.tag] = &c;
    for (std::size_t iv = 0; iv < kIntervalCount; ++iv) {
      const auto& index = groups_by_tag_[iv];
      if (c.tag >= index.size()) continue;
      for (Group* g : index[c.tag]) {
        if (iv == 0 && g->window.count() == 0) {
          g->pending.push_back({c.seq, &c});  // every raw change goes out
        } else {
          auto [slot, inserted] =
              g->pending_index.try_emplace(coalescing_key(c, g->interval), g->pending.size());
          if (inserted)
            g->pending.push_back({c.seq, &c});
          else
            g->pending[slot->second] = {c.seq, &c};
        }
        if (g->pending_batches.empty() || g->pending_batches.back() != batch)
          g->pending_batches.push_back(batch);
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
  bool opened = false;
  for (Group* g : dirty) {
    g->dirty = false;
    if (g->window.count() == 0) {
      flush(*g);
    } else if (!g->window_active) {
      // Leading edge: a change after a quiet window goes out at once.
      flush(*g);
      start_window(groups_.at(g->key));
      opened = true;
    }
  }
  if (opened) update_wake_rule();
}

void HubShard::start_window(const std::shared_ptr<Group>& group) {
  if (!group->window_active) --quiet_groups_;
  group->window_active = true;
  group->timer->arm(group->window, [this, weak = std::weak_ptr<Group>(group)] {
    auto g = weak.lock();
    if (!g || stopped_) return;
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
  heartbeat_timer_->arm(options_.heartbeat_interval, [this] {
    if (stopped_) return;
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
