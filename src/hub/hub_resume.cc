// HubShard, resume: a new stream's first content (snapshot, ring replay or
// store replay), the replay ring and the latest-value view.
#include <algorithm>
#include <boost/asio/post.hpp>
#include <cassert>
#include <utility>

#include "hub/group.h"
#include "hub/hub.h"

namespace tagstream {

namespace {
// How often a resume waiting for an id another node handed out looks again.
constexpr std::chrono::milliseconds kResumeWaitStep{20};
}  // namespace

void HubShard::send_first_content(Member& m, std::optional<Seq> resume_after) {
  const auto from_store = [&](Seq id) {
    // Older than the ring: the store has it, unless it was handed out by a
    // run that stopped before committing it (retention is checked by the
    // store's answer).
    return options_.fetch_older && (id <= options_.durable_seq || id >= start_seq_);
  };
  if (!resume_after) {
    send_snapshot(m, 0);
  } else if (*resume_after > published_.load()) {
    if (m.waits * kResumeWaitStep < options_.resume_wait) {
      wait_for(m, *resume_after);
      return;
    }
    send_history_lost(m, *resume_after);  // never sent by this server: made up, or lost in a crash
  } else if (*resume_after < replay_floor_) {
    if (!from_store(*resume_after)) {
      send_history_lost(m, *resume_after);
    } else {
      m.mode = Member::Mode::store_replay;
      m.cursor = *resume_after;
      m.last_offered = *resume_after;
      request_store_chunk(m);
    }
  } else {
    m.mode = Member::Mode::replay;
    m.cursor = *resume_after;
    m.last_offered = *resume_after;
    send_replay_chunk(m);
  }
}

void HubShard::wait_for(Member& m, Seq id) {
  m.mode = Member::Mode::waiting;
  ++m.waits;
  if (!m.retry_timer) m.retry_timer = options_.clock->make_timer(io_);
  m.retry_timer->arm(kResumeWaitStep, [this, member = &m, serial = m.serial, id] {
    auto it = members_.find(member);
    if (it == members_.end() || member->serial != serial || stopped_) return;
    send_first_content(*member, id);
  });
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
    if (!m->retry_timer) m->retry_timer = options_.clock->make_timer(io_);
    m->retry_timer->arm(std::chrono::milliseconds(20), [this, m, serial] {
      auto again = members_.find(m);
      if (again == members_.end() || m->serial != serial || stopped_) return;
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
  if (it == ring_.end() && picked.size() < options_.replay_chunk_points)
    scanned = std::max(scanned, position_);
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
  assert(members_.count(m));
  switch (m->mode) {
    case Member::Mode::live: return;  // nothing to add
    case Member::Mode::replay: send_replay_chunk(*m); return;
    case Member::Mode::store_replay: request_store_chunk(*m); return;
    case Member::Mode::resync: send_snapshot(*m, m->last_offered); return;
    case Member::Mode::waiting: return;  // its timer carries on
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

void HubShard::remember(const ChangeBatchPtr& batch) {
  ring_.push_back(batch);
  ring_changes_ += batch->changes.size();
  while (ring_changes_ > options_.replay_capacity && ring_.size() > 1) {
    const ChangeBatch& evicted = *ring_.front();
    keep_latest_of(evicted);
    replay_floor_ = evicted.last_seq();
    ring_changes_ -= evicted.changes.size();
    ring_.pop_front();
  }
}

}  // namespace tagstream
