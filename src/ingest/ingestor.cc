#include "ingest/ingestor.h"

#include "core/log.h"

namespace tagstream {

Ingestor::Outcome Ingestor::ingest(std::span<const TaggedSample> given, CommitQueue::Done done) {
  Outcome out;
  std::lock_guard lock(mutex_);
  if (!queue_.has_room(given.size())) return out;
  // Deadbands are applied under the lock, so the filter sees each tag's
  // samples in the order the live state will.
  std::span<const TaggedSample> samples = given;
  std::vector<TaggedSample> passed;
  if (deadband_ && !deadband_->empty()) {
    passed.assign(given.begin(), given.end());
    deadband_->filter(passed);
    samples = passed;
    out.suppressed = given.size() - passed.size();
  }
  if (shared_log_ && !samples.empty()) {
    if (const auto first = shared_log_->append_or_keep(samples, live_.last_seq())) {
      // Live once read back from the log, on every node alike; a failed
      // commit cannot be taken back out of other nodes' views, so it is
      // only reported.
      std::vector<StoredSample> stored;
      stored.reserve(samples.size());
      for (std::size_t i = 0; i < samples.size(); ++i)
        stored.push_back({samples[i].tag, samples[i].sample, *first + i});
      out.queued = queue_.submit(std::move(stored), std::move(done));
      out.applied.accepted = samples.size();
      if (out.queued) ingested_.fetch_add(samples.size(), std::memory_order_relaxed);
      return out;
    }
  }
  std::vector<Seq> seqs;
  out.applied = live_.apply(samples, &seqs);
  std::vector<StoredSample> stored;
  stored.reserve(samples.size());
  // What a failed commit would have to take back out of the live state.
  std::vector<std::pair<TagId, Seq>> live_changes;
  live_changes.reserve(out.applied.accepted);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    stored.push_back({samples[i].tag, samples[i].sample, seqs[i]});
    if (seqs[i] != 0) live_changes.emplace_back(samples[i].tag, seqs[i]);
  }
  out.queued = queue_.submit(std::move(stored), [this, live_changes = std::move(live_changes),
                                                 done = std::move(done)](const std::string& error) {
    if (!error.empty()) retract(live_changes, error);
    if (done) done(error);
  });
  if (out.queued) {
    ingested_.fetch_add(samples.size(), std::memory_order_relaxed);
  } else {
    // Room was checked under this lock, so only a stopping writer refuses;
    // the samples were made live all the same.
    std::vector<std::pair<TagId, Seq>> made_live;
    for (std::size_t i = 0; i < samples.size(); ++i)
      if (seqs[i] != 0) made_live.emplace_back(samples[i].tag, seqs[i]);
    retract(made_live, "the store's queue refused the samples");
  }
  return out;
}

Ingestor::Outcome Ingestor::ingest_history(std::span<const TaggedSample> samples, CommitQueue::Done done) {
  Outcome out;
  std::lock_guard lock(mutex_);
  if (!queue_.has_room(samples.size())) return out;
  std::vector<StoredSample> stored;
  stored.reserve(samples.size());
  for (const auto& s : samples) stored.push_back({s.tag, s.sample, 0});
  out.queued = queue_.submit(std::move(stored), std::move(done));
  if (out.queued) ingested_.fetch_add(samples.size(), std::memory_order_relaxed);
  return out;
}

void Ingestor::retract(std::span<const std::pair<TagId, Seq>> live_changes, const std::string& error) {
  const std::size_t n = live_.retract(live_changes, [this](TagId tag) { return queue_.held(tag); });
  if (n == 0) return;
  retracted_.fetch_add(n, std::memory_order_relaxed);
  log(LogLevel::warn, "store commit failed ({}): {} live values put back to what history holds", error, n);
}

}  // namespace tagstream
