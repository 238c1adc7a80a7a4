#include "ingest/ingestor.h"

namespace tagstream {

Ingestor::Outcome Ingestor::ingest(std::span<const TaggedSample> samples, CommitQueue::Done done) {
  Outcome out;
  std::lock_guard lock(mutex_);
  if (!queue_.has_room(samples.size())) return out;
  std::vector<Seq> seqs;
  out.applied = live_.apply(samples, &seqs);
  std::vector<StoredSample> stored;
  stored.reserve(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i)
    stored.push_back({samples[i].tag, samples[i].sample, seqs[i]});
  out.queued = queue_.submit(std::move(stored), std::move(done));
  if (out.queued) ingested_.fetch_add(samples.size(), std::memory_order_relaxed);
  return out;
}

}  // namespace tagstream
