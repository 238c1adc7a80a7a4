#include "store/sqlite_reader.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <unordered_map>

#include "store/sqlite_blocks.h"

namespace tagstream {

SqliteReader::SqliteReader(const std::string& path, const MemTable& mem)
    : mem_(mem),
      db_(path, true),
      changes_(
          db_,
          "SELECT min_seq, tag, data FROM blocks_raw WHERE max_seq > ?1 AND min_seq <= ?2 ORDER BY min_seq") {
  for (std::size_t t = 0; t < kIntervalCount; ++t)
    ranges_[t] = std::make_unique<sqlite::Statement>(db_, block_range_sql(kBlockTables[t]));
}

HistoryPage SqliteReader::history(const HistoryRequest& r) {
  if (r.to <= std::numeric_limits<TimeNs>::min() + 1 || r.limit == 0) return {};
  const bool raw = r.interval == Interval::raw;
  TimeNs from = raw ? r.from : bucket_start(r.from, r.interval);
  if (r.after) from = std::max(from, *r.after + 1);
  const TimeNs to = r.to - 1;
  if (from > to) return {};
  if (!raw) {
    const std::size_t tier = aggregated_index(r.interval);
    return read_merged(*ranges_[tier + 1], r.tag, from, to,
                       mem_.buckets_between(tier, r.tag, from, to, r.limit), r.limit);
  }
  const std::vector<RawPoint> points =
      read_merged(*ranges_[kRawTable], r.tag, from, to, mem_.raw_between(r.tag, from, to, r.limit), r.limit);
  HistoryPage page;
  page.reserve(points.size());
  for (const RawPoint& p : points) {
    Aggregate a;
    a.start = p.ts;
    a.add(p.sample());
    page.push_back(a);
  }
  return page;
}

std::vector<StoredSample> SqliteReader::changes(Seq after, Seq upto, std::size_t limit) {
  if (limit == 0) return {};
  const std::vector<StoredSample> overlay =
      mem_.changes_between(after, upto);  // copied first, see read_merged
  const auto by_seq = [](const StoredSample& a, const StoredSample& b) { return a.seq < b.seq; };
  std::vector<StoredSample> out;
  {
    sqlite::Statement& s = changes_;
    sqlite::ResetOnExit guard{s};
    s.bind(1, static_cast<std::int64_t>(after)).bind(2, static_cast<std::int64_t>(upto));
    // Blocks come by their lowest id; once `limit` ids are held, a block
    // whose lowest id is above the highest of them cannot contribute.
    Seq bound = std::numeric_limits<Seq>::max();
    std::vector<RawPoint> block;
    while (s.step()) {
      if (static_cast<Seq>(s.i64(0)) > bound) break;
      const auto tag = static_cast<TagId>(s.i64(1));
      block.clear();
      decode_block(s.blob(2), block);
      for (const RawPoint& p : block)
        if (p.seq > after && p.seq <= upto) out.push_back(StoredSample{tag, p.sample(), p.seq});
      if (out.size() >= limit) {
        std::nth_element(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(limit - 1), out.end(),
                         by_seq);
        out.resize(limit);
        bound = out[limit - 1].seq;
      }
    }
  }
  mem_.drop_replaced(out);
  out.insert(out.end(), overlay.begin(), overlay.end());
  std::sort(out.begin(), out.end(), by_seq);
  out.erase(std::unique(out.begin(), out.end(),
                        [](const StoredSample& a, const StoredSample& b) {
                          return a.seq == b.seq && a.tag == b.tag && a.sample.ts == b.sample.ts;
                        }),
            out.end());
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::optional<Aggregate> SqliteReader::bucket(TagId tag, Interval interval, TimeNs start) {
  const std::size_t tier = aggregated_index(interval);
  auto items =
      read_merged(*ranges_[tier + 1], tag, start, start, mem_.buckets_between(tier, tag, start, start), 1);
  if (items.empty()) return std::nullopt;
  return items.front();
}

namespace {

std::uint64_t next_readers_id() {
  static std::atomic<std::uint64_t> id{0};
  return ++id;
}

}  // namespace

SqliteReaders::SqliteReaders(std::string path, const MemTable& mem)
    : path_(std::move(path)), mem_(mem), id_(next_readers_id()) {}

SqliteReader& SqliteReaders::mine() {
  thread_local std::unordered_map<std::uint64_t, SqliteReader*> mine;
  auto it = mine.find(id_);
  if (it != mine.end()) return *it->second;
  auto reader = std::make_unique<SqliteReader>(path_, mem_);
  SqliteReader* raw = reader.get();
  {
    std::lock_guard lock(mutex_);
    readers_.push_back(std::move(reader));
  }
  mine.emplace(id_, raw);
  return *raw;
}

}  // namespace tagstream
