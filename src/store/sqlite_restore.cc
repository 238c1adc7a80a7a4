// SqliteStore's start-up: what the database holds, and the journal's
// batches (committed since the last flush) replayed into the overlay.
#include "store/sqlite_db.h"
#include "store/sqlite_store.h"
#include "store/sqlite_writer.h"

namespace tagstream {

RestoredState SqliteStore::restore() {
  // Restoring a store already in use starts over from what is on disk.
  writer_->flush();
  mem_.clear();
  sqlite::Connection& db = writer_->connection();
  RestoredState state;
  {
    sqlite::Statement s(db, "SELECT value FROM meta WHERE key = 'last_seq'");
    if (s.step()) state.last_seq = static_cast<Seq>(s.i64(0));
  }
  {
    sqlite::Statement s(db, "SELECT value FROM meta WHERE key = 'retained_after'");
    if (s.step()) state.retained_after = static_cast<Seq>(s.i64(0));
    retained_after_ = state.retained_after;
  }
  {
    sqlite::Statement s(db, "SELECT id, name, unit, description, type FROM tags ORDER BY id");
    while (s.step()) {
      TagRecord t;
      t.id = static_cast<TagId>(s.i64(0));
      t.info.name = s.text(1);
      t.info.unit = s.text(2);
      t.info.description = s.text(3);
      t.info.type = static_cast<DataType>(s.i64(4));
      state.tags.push_back(std::move(t));
    }
  }
  for (const TagRecord& t : state.tags) {
    const TierBuckets newest = writer_->newest_buckets(t.id);
    mem_.init_tag(t.id, writer_->newest_point(t.id), newest);
  }
  std::vector<StoredSample> journaled;
  for (const std::string& record : writer_->journal()) {
    journaled.clear();
    decode_journal(record, journaled);
    writer_->apply(journaled);
  }
  for (const TagRecord& t : state.tags) {
    const MemTable::TagState* m = mem_.state(t.id);
    if (!m || !m->latest) continue;
    RestoredState::Live live;
    live.tag = t.id;
    live.latest = m->latest->sample();
    for (std::size_t i = 0; i < kTierCount; ++i) {
      const Aggregate& open = m->open[i];
      const bool holds_latest =
          open.count > 0 && open.start == bucket_start(live.latest.ts, kAggregatedIntervals[i]);
      live.buckets[i] = holds_latest ? open : aggregate_of(live.latest, kAggregatedIntervals[i]);
    }
    state.live.push_back(live);
  }
  return state;
}

}  // namespace tagstream
