// The historian, on each Store implementation (the embedded SQLite store in
// three flush modes, and PostgreSQL): samples with replace-on-same-timestamp,
// the four rollup tiers checked bucket by bucket against a brute-force
// aggregate of the final data, paging and bounds of history reads, restore
// after a restart, retention and durability across reopen.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/interval.h"
#include "core/quality.h"
#include "core/time.h"
#include "pg_server.h"
#include "store/pg_store.h"
#include "store/sqlite_store.h"

namespace tagstream {
namespace {

constexpr TimeNs kSec = kNanosPerSecond;
constexpr TimeNs kMs = kNanosPerMilli;
constexpr TimeNs kMin = 60 * kSec;
constexpr TimeNs kHour = 3600 * kSec;
constexpr TimeNs kDay = 86400 * kSec;

// 2026-11-26T00:00:00Z, a UTC midnight.
constexpr TimeNs kMidnight = 1'795'651'200 * kSec;
static_assert(kMidnight % kDay == 0);

/// A fresh directory for one test's database, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sqlite_store_test.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Every test runs on PostgreSQL and three ways on SQLite: everything in the
// unflushed overlay (the default thresholds are never reached by these small
// data sets), flushed into blocks after every write, and flushed every few
// hundred samples one tag per step (so flushes span several writes, and a
// store closed without flushing leaves one half done), so the overlay, the
// blocks and their merge are all checked.
struct Backend {
  bool postgres = false;
  std::size_t flush_samples = 1'000'000;  // SQLite only
};

// The binary's PostgreSQL server, started by the first test that needs it.
[[maybe_unused]] ::testing::Environment* const kPgEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing::PgEnvironment);

class StoreTest : public ::testing::TestWithParam<Backend> {
 public:
  static std::size_t flush_tags_per_step() { return GetParam().flush_samples == 331 ? 1 : 64; }
  void SetUp() override {
    if (!GetParam().postgres) return;
    std::string why;
    pg_ = testing::PgEnvironment::server(&why);
    if (!pg_) GTEST_SKIP() << "PostgreSQL runs skipped: " << why;
    url_ = pg_->create_database();
  }

 protected:
  std::string db_path() const { return (dir_.path() / "history.db").string(); }
  /// The test's store (reopened on each call).
  std::unique_ptr<Store> open(bool sync_full = false, bool flush_on_close = true) {
    if (GetParam().postgres) return std::make_unique<PgStore>(PgOptions{url_});
    return open_sqlite(db_path(), sync_full, flush_on_close);
  }
  /// Another store, empty, apart from the test's.
  std::unique_ptr<Store> open_other() {
    if (GetParam().postgres) return std::make_unique<PgStore>(PgOptions{pg_->create_database()});
    others_.push_back(std::make_unique<TempDir>());
    return open_sqlite((others_.back()->path() / "other.db").string(), false, true);
  }
  std::unique_ptr<Store> open_sqlite(const std::string& path, bool sync_full, bool flush_on_close) {
    SqliteOptions options{path, sync_full};
    options.flush_samples = GetParam().flush_samples;
    options.flush_tags_per_step = flush_tags_per_step();
    options.flush_on_close = flush_on_close;
    return std::make_unique<SqliteStore>(options);
  }
  TempDir dir_;
  std::vector<std::unique_ptr<TempDir>> others_;
  testing::PgServer* pg_ = nullptr;
  std::string url_;
};

TagRecord tag_record(TagId id, std::string name, std::string unit = "", std::string description = "",
                     DataType type = DataType::number) {
  TagRecord r;
  r.id = id;
  r.info.name = std::move(name);
  r.info.unit = std::move(unit);
  r.info.description = std::move(description);
  r.info.type = type;
  return r;
}

StoredSample ss(TagId tag, TimeNs ts, double v, Quality q = Quality::good, Seq seq = 0) {
  return StoredSample{tag, Sample{ts, v, q}, seq};
}

/// What the store writer does with each batch: commit it, then take one
/// step of deferred work (a flush step, when one is due).
void commit(Store& store, const WriteBatch& batch) {
  store.write(batch);
  store.maintain();
}

/// Every point of [from, to) in `interval`, read in pages of `page` via `after`.
std::vector<Aggregate> read_all(Store& store, TagId tag, Interval interval, TimeNs from, TimeNs to,
                                std::size_t page = 997) {
  std::vector<Aggregate> out;
  std::optional<TimeNs> after;
  while (true) {
    HistoryRequest r;
    r.tag = tag;
    r.interval = interval;
    r.from = from;
    r.to = to;
    r.after = after;
    r.limit = page;
    HistoryPage p = store.read_history(r);
    if (p.size() > page) ADD_FAILURE() << "page larger than limit";
    out.insert(out.end(), p.begin(), p.end());
    if (p.size() < page) break;
    after = p.back().start;
  }
  return out;
}

// ---------------------------------------------------------------- brute force

/// The final content of the store: (tag, ts) -> the last sample written there.
using SampleMap = std::map<std::pair<TagId, TimeNs>, Sample>;

struct Expected {
  TimeNs start = 0;
  std::uint64_t count = 0;
  double sum = 0;
  double abs_sum = 0;
  double min = 0, max = 0, first = 0, last = 0;
  TimeNs first_ts = 0, last_ts = 0;
  bool any_bad = false, all_good = true;
  Quality quality() const {
    if (any_bad) return Quality::bad;
    return all_good ? Quality::good : Quality::uncertain;
  }
};

/// Per (tag, bucket start), computed directly from the samples (no Aggregate code).
std::map<std::pair<TagId, TimeNs>, Expected> brute_force(const SampleMap& samples, Interval interval) {
  std::map<std::pair<TagId, TimeNs>, Expected> out;
  const TimeNs w = interval_width(interval);
  for (const auto& [key, s] : samples) {
    const TimeNs start = floor_div(s.ts, w) * w;
    Expected& e = out[{key.first, start}];
    if (e.count == 0) {
      e.start = start;
      e.min = e.max = e.first = e.last = s.value;
      e.first_ts = e.last_ts = s.ts;
    }
    ++e.count;
    e.sum += s.value;
    e.abs_sum += std::fabs(s.value);
    e.min = std::min(e.min, s.value);
    e.max = std::max(e.max, s.value);
    if (s.ts < e.first_ts) {
      e.first_ts = s.ts;
      e.first = s.value;
    }
    if (s.ts > e.last_ts) {
      e.last_ts = s.ts;
      e.last = s.value;
    }
    if (s.quality == Quality::bad) e.any_bad = true;
    if (s.quality != Quality::good) e.all_good = false;
  }
  return out;
}

/// Empty when equal; otherwise what differs.
std::string diff(const Aggregate& got, const Expected& want) {
  std::ostringstream o;
  o.precision(17);
  if (got.start != want.start) o << " start " << got.start << " != " << want.start;
  if (got.count != want.count) o << " count " << got.count << " != " << want.count;
  const double tol = 1e-9 * std::max(1.0, want.abs_sum);
  if (std::fabs(got.sum - want.sum) > tol) o << " sum " << got.sum << " != " << want.sum;
  if (want.count && std::fabs(got.avg() - want.sum / static_cast<double>(want.count)) > tol)
    o << " avg " << got.avg();
  if (got.min != want.min) o << " min " << got.min << " != " << want.min;
  if (got.max != want.max) o << " max " << got.max << " != " << want.max;
  if (got.first != want.first) o << " first " << got.first << " != " << want.first;
  if (got.last != want.last) o << " last " << got.last << " != " << want.last;
  if (got.first_ts != want.first_ts) o << " first_ts " << got.first_ts << " != " << want.first_ts;
  if (got.last_ts != want.last_ts) o << " last_ts " << got.last_ts << " != " << want.last_ts;
  if (got.quality != want.quality())
    o << " quality " << to_string(got.quality) << " != " << to_string(want.quality());
  return o.str();
}

/// Checks every tier and raw history of `tags` against `samples`. `per_bucket`
/// also reads each bucket on its own, from a point inside it.
void verify_against_brute_force(Store& store, const SampleMap& samples, TagId tags, TimeNs from, TimeNs to,
                                bool per_bucket, std::mt19937_64& rng, const std::string& when) {
  SCOPED_TRACE(when);
  // Raw: exactly the map.
  for (TagId tag = 0; tag < tags; ++tag) {
    const auto got = read_all(store, tag, Interval::raw, from, to);
    std::vector<Sample> want;
    for (auto it = samples.lower_bound({tag, std::numeric_limits<TimeNs>::min()});
         it != samples.end() && it->first.first == tag; ++it)
      want.push_back(it->second);
    ASSERT_EQ(got.size(), want.size()) << "raw tag " << tag;
    int bad = 0;
    for (std::size_t i = 0; i < got.size() && bad < 10; ++i) {
      const Aggregate& a = got[i];
      const Sample& w = want[i];
      const bool ok = a.start == w.ts && a.count == 1 && a.first_ts == w.ts && a.last_ts == w.ts &&
                      a.sum == w.value && a.first == w.value && a.last == w.value && a.min == w.value &&
                      a.max == w.value && a.quality == w.quality;
      if (!ok) {
        ++bad;
        ADD_FAILURE() << "raw tag " << tag << " #" << i << " ts " << a.start << " value " << a.first
                      << " quality " << to_string(a.quality) << "; want ts " << w.ts << " value " << w.value
                      << " quality " << to_string(w.quality);
      }
    }
  }

  for (Interval iv : kAggregatedIntervals) {
    SCOPED_TRACE(std::string("tier ") + std::string(to_string(iv)));
    const auto want = brute_force(samples, iv);
    const TimeNs w = interval_width(iv);
    int bad = 0;
    std::size_t seen = 0;
    for (TagId tag = 0; tag < tags; ++tag) {
      const auto got = read_all(store, tag, iv, from, to);
      std::set<TimeNs> got_starts;
      for (const Aggregate& a : got) {
        EXPECT_TRUE(got_starts.insert(a.start).second) << "duplicate bucket " << a.start;
        auto it = want.find({tag, a.start});
        if (it == want.end()) {
          if (bad++ < 10) ADD_FAILURE() << "extra bucket tag " << tag << " start " << a.start;
          continue;
        }
        ++seen;
        const std::string d = diff(a, it->second);
        if (!d.empty() && bad++ < 10) ADD_FAILURE() << "tag " << tag << " bucket " << a.start << ":" << d;
      }
      for (auto it = want.lower_bound({tag, std::numeric_limits<TimeNs>::min()});
           it != want.end() && it->first.first == tag; ++it) {
        if (!got_starts.count(it->first.second) && bad++ < 10)
          ADD_FAILURE() << "missing bucket tag " << tag << " start " << it->first.second;
      }
      // Ordered by start.
      EXPECT_TRUE(std::is_sorted(got.begin(), got.end(),
                                 [](const Aggregate& a, const Aggregate& b) { return a.start < b.start; }));
    }
    EXPECT_EQ(seen, want.size());

    if (!per_bucket) continue;
    // Each bucket on its own: `from` anywhere inside the bucket, `to` its end.
    std::uniform_int_distribution<TimeNs> offset(0, w - 1);
    for (const auto& [key, e] : want) {
      HistoryRequest r;
      r.tag = key.first;
      r.interval = iv;
      r.from = key.second + offset(rng);
      r.to = key.second + w;
      r.limit = 10;
      const HistoryPage p = store.read_history(r);
      if (p.size() != 1) {
        if (bad++ < 10) ADD_FAILURE() << "single bucket read of " << key.second << " gave " << p.size();
        continue;
      }
      const std::string d = diff(p[0], e);
      if (!d.empty() && bad++ < 10)
        ADD_FAILURE() << "single read tag " << key.first << " bucket " << key.second << ":" << d;
    }
    EXPECT_EQ(bad, 0);
  }
}

// ---------------------------------------------------------------- rollups

// The key test. Random data over three hours that cross a UTC midnight,
// written in random order in batches of random size, with same-timestamp
// overwrites (within and across batches) and bad/uncertain qualities; every
// bucket of every tier must equal the aggregate of the final samples.
TEST_P(StoreTest, RollupsMatchBruteForceUnderOutOfOrderWritesAndOverwrites) {
  auto store = open();
  std::mt19937_64 rng(20261126);
  constexpr TagId kTags = 4;
  const TimeNs start = kMidnight - 90 * kMin;  // 22:30Z, so the data crosses midnight
  constexpr std::int64_t kSeconds = 3 * 3600;
  constexpr int kSamplesPerTag = 7000;

  std::uniform_int_distribution<std::int64_t> second(0, kSeconds - 1);
  std::uniform_int_distribution<int> quarter(0, 3);
  std::uniform_int_distribution<int> pct(0, 99);
  std::uniform_real_distribution<double> value(-1000.0, 1000.0);
  const auto quality = [&] {
    const int p = pct(rng);
    return p < 85 ? Quality::good : p < 93 ? Quality::uncertain : Quality::bad;
  };

  // Writes, in the order they will be applied. Timestamps sit on a 250 ms
  // grid (so bucket boundaries, :00.000, are hit exactly and random repeats
  // happen), plus a few at 1 ns before/after a boundary.
  std::vector<StoredSample> events;
  for (TagId tag = 0; tag < kTags; ++tag) {
    for (int i = 0; i < kSamplesPerTag; ++i) {
      TimeNs ts = start + second(rng) * kSec + quarter(rng) * 250 * kMs;
      if (pct(rng) < 2) ts = bucket_start(ts, Interval::minute) + (pct(rng) < 50 ? -1 : 1);
      events.push_back(ss(tag, ts, value(rng), quality()));
      if (pct(rng) < 15)
        events.push_back(ss(tag, ts, value(rng), quality()));  // overwritten later (or earlier)
    }
    // Samples exactly on the midnight and the hours.
    for (TimeNs t : {kMidnight, kMidnight - kHour, kMidnight + kHour, kMidnight - 1})
      events.push_back(ss(tag, t, value(rng), quality()));
  }
  std::shuffle(events.begin(), events.end(), rng);
  Seq seq = 0;
  for (StoredSample& e : events) e.seq = pct(rng) < 20 ? 0 : ++seq;  // some late, history-only

  // Split into batches of random size; some batches repeat one of their own
  // samples' (tag, ts) with a new value later in the same batch.
  std::vector<WriteBatch> batches;
  {
    std::uniform_int_distribution<std::size_t> batch_size(1, 400);
    std::size_t i = 0;
    bool first = true;
    while (i < events.size()) {
      WriteBatch b;
      if (first) {
        for (TagId t = 0; t < kTags; ++t) b.tags.push_back(tag_record(t, "area.tag" + std::to_string(t)));
        first = false;
      }
      const std::size_t n = std::min(batch_size(rng), events.size() - i);
      b.samples.assign(events.begin() + static_cast<std::ptrdiff_t>(i),
                       events.begin() + static_cast<std::ptrdiff_t>(i + n));
      i += n;
      if (pct(rng) < 30) {
        std::uniform_int_distribution<std::size_t> pick(0, b.samples.size() - 1);
        StoredSample again = b.samples[pick(rng)];
        again.sample.value = value(rng);
        again.sample.quality = quality();
        b.samples.insert(b.samples.begin() + static_cast<std::ptrdiff_t>(pick(rng)), again);
        // Now possibly before the original: order within the batch matters.
      }
      for (const StoredSample& s : b.samples) b.last_seq = std::max(b.last_seq, s.seq);
      batches.push_back(std::move(b));
    }
  }
  ASSERT_GT(batches.size(), 100u);

  SampleMap samples;
  Seq max_seq = 0;
  std::size_t overwrites = 0;
  const TimeNs from = start - kDay;
  const TimeNs to = start + 2 * kDay;
  for (std::size_t b = 0; b < batches.size(); ++b) {
    commit(*store, batches[b]);
    for (const StoredSample& s : batches[b].samples) {
      auto [it, fresh] = samples.insert_or_assign({s.tag, s.sample.ts}, s.sample);
      if (!fresh) ++overwrites;
    }
    max_seq = std::max(max_seq, batches[b].last_seq);
    if (b == batches.size() / 3 || b == 2 * batches.size() / 3) {
      verify_against_brute_force(*store, samples, kTags, from, to, false, rng,
                                 "after batch " + std::to_string(b));
      if (HasFailure()) return;
    }
  }
  // The data must really exercise what it claims to.
  ASSERT_GT(overwrites, 1000u);
  std::size_t not_good = 0;
  for (const auto& [k, s] : samples) not_good += s.quality != Quality::good;
  ASSERT_GT(not_good, 1000u);
  const auto days = brute_force(samples, Interval::day);
  ASSERT_EQ(days.size(), 2u * kTags);  // both sides of midnight

  verify_against_brute_force(*store, samples, kTags, from, to, true, rng, "at the end");

  // restore() agrees too: last_seq, latest sample per tag and its buckets.
  const RestoredState state = store->restore();
  EXPECT_EQ(state.last_seq, max_seq);
  ASSERT_EQ(state.tags.size(), kTags);
  ASSERT_EQ(state.live.size(), kTags);
  std::array<std::map<std::pair<TagId, TimeNs>, Expected>, 4> tiers;
  for (std::size_t i = 0; i < 4; ++i) tiers[i] = brute_force(samples, kAggregatedIntervals[i]);
  for (const auto& live : state.live) {
    auto last = samples.lower_bound({live.tag + 1, std::numeric_limits<TimeNs>::min()});
    --last;
    ASSERT_EQ(last->first.first, live.tag);
    EXPECT_EQ(live.latest, last->second) << "tag " << live.tag;
    for (std::size_t i = 0; i < 4; ++i) {
      const TimeNs b = bucket_start(last->second.ts, kAggregatedIntervals[i]);
      EXPECT_EQ(diff(live.buckets[i], tiers[i].at({live.tag, b})), "") << "tag " << live.tag << " tier " << i;
    }
  }
}

// The usual plant shape: one sample per tag per second, in requests that
// several writers race to commit (so some arrive after newer ones), plus
// samples that join a second already holding one, and replacements of a
// second's only sample. The store keeps no bucket for a second whose only
// sample is unflushed; every tier must still match the brute force.
TEST_P(StoreTest, RollupsMatchBruteForceAtOneSamplePerSecondFromRacingWriters) {
  auto store = open();
  std::mt19937_64 rng(20261127);
  constexpr TagId kTags = 5;
  constexpr int kSeconds = 2 * 3600;
  constexpr int kRoundsPerRequest = 7;
  const TimeNs start = kMidnight - kHour;
  std::uniform_int_distribution<int> pct(0, 99);
  std::uniform_real_distribution<double> value(-1000.0, 1000.0);

  std::vector<WriteBatch> requests;
  Seq seq = 0;
  for (int round = 0; round < kSeconds; round += kRoundsPerRequest) {
    WriteBatch b;
    for (int r = round; r < std::min(kSeconds, round + kRoundsPerRequest); ++r)
      for (TagId tag = 0; tag < kTags; ++tag) {
        const TimeNs ts = start + r * kSec;
        b.samples.push_back(ss(tag, ts, value(rng)));
        const int p = pct(rng);
        if (p < 3)
          b.samples.push_back(ss(tag, ts + 300 * kMs, value(rng), Quality::uncertain));  // joins its second
        if (p >= 97) b.samples.push_back(ss(tag, ts, value(rng), Quality::bad));         // replaces it
      }
    requests.push_back(std::move(b));
  }
  // Racing writers: a request is often committed after the one behind it;
  // now and then one arrives far behind, or re-sends an old second.
  for (std::size_t i = 1; i < requests.size(); ++i)
    if (pct(rng) < 30) std::swap(requests[i - 1], requests[i]);
  for (std::size_t i = 0; i + 20 < requests.size(); i += 50)
    std::rotate(&requests[i], &requests[i + 1], &requests[i + 20]);
  for (std::size_t i = 40; i < requests.size(); i += 37) {
    const TimeNs old = start + static_cast<TimeNs>(pct(rng)) * kSec;
    requests[i].samples.push_back(ss(static_cast<TagId>(i % kTags), old + 500 * kMs, value(rng)));
    requests[i].samples.push_back(ss(static_cast<TagId>((i + 1) % kTags), old, value(rng)));
  }
  for (TagId t = 0; t < kTags; ++t)
    requests.front().tags.push_back(tag_record(t, "plant.tag" + std::to_string(t)));

  SampleMap samples;
  const TimeNs from = start - kDay;
  const TimeNs to = start + kDay;
  for (std::size_t b = 0; b < requests.size(); ++b) {
    for (StoredSample& s : requests[b].samples) s.seq = ++seq;
    requests[b].last_seq = seq;
    commit(*store, requests[b]);
    for (const StoredSample& s : requests[b].samples)
      samples.insert_or_assign({s.tag, s.sample.ts}, s.sample);
    if (b == requests.size() / 2) {
      verify_against_brute_force(*store, samples, kTags, from, to, false, rng,
                                 "after request " + std::to_string(b));
      if (HasFailure()) return;
    }
  }
  verify_against_brute_force(*store, samples, kTags, from, to, true, rng, "at the end");
}

// A second sample at the same tag and timestamp replaces the first: raw
// history and every tier reflect only the new value, including min/max that
// the old value set and a bad quality that is gone.
TEST_P(StoreTest, SameTimestampReplacesInRawAndEveryTier) {
  auto store = open();
  const TimeNs t = kMidnight - 500 * kMs;  // 23:59:59.5
  WriteBatch b1;
  b1.tags.push_back(tag_record(0, "a"));
  b1.samples = {ss(0, t, 100.0, Quality::bad), ss(0, t - 10 * kSec, 5.0), ss(0, t + 1 * kSec, 7.0)};
  commit(*store, b1);

  WriteBatch b2;
  b2.samples = {ss(0, t, 1.0, Quality::good)};
  commit(*store, b2);

  const auto raw = read_all(*store, 0, Interval::raw, t, t + 1);
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(raw[0].first, 1.0);
  EXPECT_EQ(raw[0].quality, Quality::good);

  // Second 23:59:59 holds only the replaced sample.
  auto sec = read_all(*store, 0, Interval::second, t, t + 1);
  ASSERT_EQ(sec.size(), 1u);
  EXPECT_EQ(sec[0].start, kMidnight - kSec);
  EXPECT_EQ(sec[0].count, 1u);
  EXPECT_EQ(sec[0].sum, 1.0);
  EXPECT_EQ(sec[0].max, 1.0);
  EXPECT_EQ(sec[0].quality, Quality::good);

  // Minute 23:59 and hour 23 and the day hold the 5.0 and the 1.0.
  for (Interval iv : {Interval::minute, Interval::hour, Interval::day}) {
    SCOPED_TRACE(std::string(to_string(iv)));
    const auto got = read_all(*store, 0, iv, t, t + 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].start, bucket_start(t, iv));
    EXPECT_EQ(got[0].count, 2u);
    EXPECT_DOUBLE_EQ(got[0].sum, 6.0);
    EXPECT_EQ(got[0].min, 1.0);
    EXPECT_EQ(got[0].max, 5.0);
    EXPECT_EQ(got[0].first, 5.0);
    EXPECT_EQ(got[0].first_ts, t - 10 * kSec);
    EXPECT_EQ(got[0].last, 1.0);
    EXPECT_EQ(got[0].last_ts, t);
    EXPECT_EQ(got[0].quality, Quality::good);
  }
  // The next day's buckets are untouched by the replacement.
  const auto next_day = read_all(*store, 0, Interval::day, kMidnight, kMidnight + kDay);
  ASSERT_EQ(next_day.size(), 1u);
  EXPECT_EQ(next_day[0].count, 1u);
  EXPECT_EQ(next_day[0].sum, 7.0);
}

// Within one batch the later of two same-timestamp samples wins.
TEST_P(StoreTest, SameTimestampWithinOneBatchLastWins) {
  auto store = open();
  const TimeNs t = kMidnight + 3 * kSec;
  WriteBatch b;
  b.tags.push_back(tag_record(0, "a"));
  b.samples = {ss(0, t, 1.0, Quality::bad), ss(0, t + kMs, 2.0), ss(0, t, 3.0, Quality::uncertain)};
  commit(*store, b);
  const auto raw = read_all(*store, 0, Interval::raw, t, t + kSec);
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[0].first, 3.0);
  EXPECT_EQ(raw[0].quality, Quality::uncertain);
  for (Interval iv : kAggregatedIntervals) {
    SCOPED_TRACE(std::string(to_string(iv)));
    const auto got = read_all(*store, 0, iv, t, t + 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].count, 2u);
    EXPECT_EQ(got[0].sum, 5.0);
    EXPECT_EQ(got[0].min, 2.0);
    EXPECT_EQ(got[0].max, 3.0);
    EXPECT_EQ(got[0].first, 3.0);
    EXPECT_EQ(got[0].last, 2.0);
    EXPECT_EQ(got[0].quality, Quality::uncertain);
  }
}

// ---------------------------------------------------------------- paging and bounds

class StorePaging : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped()) return;
    store_ = open();
    WriteBatch b;
    b.tags = {tag_record(0, "a"), tag_record(1, "b")};
    // Tag 0: one sample every 700 ms for 2 h 10 min around midnight.
    for (TimeNs t = kMidnight - 70 * kMin; t < kMidnight + 60 * kMin; t += 700 * kMs)
      b.samples.push_back(ss(0, t, static_cast<double>(t / kMs % 1000)));
    // Tag 1: a few, to check tags do not leak into each other.
    b.samples.push_back(ss(1, kMidnight, 1.0));
    b.samples.push_back(ss(1, kMidnight + kSec, 2.0));
    commit(*store_, b);
  }
  std::unique_ptr<Store> store_;
};

TEST_P(StorePaging, PagesAreConsecutiveWithNoGapAndNoOverlap) {
  const TimeNs from = kMidnight - 2 * kHour;
  const TimeNs to = kMidnight + 2 * kHour;
  for (Interval iv : {Interval::raw, Interval::second, Interval::minute, Interval::hour, Interval::day}) {
    SCOPED_TRACE(std::string(to_string(iv)));
    HistoryRequest all{0, iv, from, to, std::nullopt, 1'000'000};
    const HistoryPage whole = store_->read_history(all);
    ASSERT_FALSE(whole.empty());
    // Small pages on the small tiers; the large ones (thousands of points)
    // with pages that still take a few thousand reads.
    std::vector<std::size_t> limits = {7, 100, whole.size() - 1, whole.size(), whole.size() + 1};
    if (whole.size() < 1000)
      limits.insert(limits.end(), {1, 2});
    else
      limits.push_back(3);
    for (std::size_t limit : limits) {
      if (limit == 0) continue;
      std::vector<Aggregate> paged;
      std::optional<TimeNs> after;
      std::size_t pages = 0;
      while (true) {
        HistoryRequest r{0, iv, from, to, after, limit};
        const HistoryPage p = store_->read_history(r);
        ASSERT_LE(p.size(), limit);
        if (p.empty()) break;
        if (after) {
          ASSERT_GT(p.front().start, *after);
        }
        paged.insert(paged.end(), p.begin(), p.end());
        after = p.back().start;
        ++pages;
        ASSERT_LT(pages, 100'000u);
      }
      EXPECT_EQ(paged, whole) << "limit " << limit;
      EXPECT_EQ(pages, (whole.size() + limit - 1) / limit) << "limit " << limit;
    }
  }
  // Known sizes: raw has every sample; there are exactly 3 hours and 2 days.
  const auto raw = store_->read_history({0, Interval::raw, from, to, std::nullopt, 1'000'000});
  EXPECT_EQ(raw.size(), static_cast<std::size_t>((130 * kMin + 700 * kMs - 1) / (700 * kMs)));
  EXPECT_EQ(store_->read_history({0, Interval::hour, from, to, std::nullopt, 100}).size(), 3u);
  EXPECT_EQ(store_->read_history({0, Interval::day, from, to, std::nullopt, 100}).size(), 2u);
  EXPECT_EQ(store_->read_history({0, Interval::minute, from, to, std::nullopt, 1000}).size(), 130u);
  EXPECT_EQ(store_->read_history({1, Interval::raw, from, to, std::nullopt, 100}).size(), 2u);
}

TEST_P(StorePaging, RawBoundsAreHalfOpen) {
  // Samples of tag 0 at kMidnight - 70 min + k * 700 ms.
  const TimeNs t0 = kMidnight - 70 * kMin;
  const TimeNs from = t0 + 10 * 700 * kMs;  // exactly a sample
  const TimeNs to = t0 + 20 * 700 * kMs;    // exactly a sample, excluded
  const auto got = store_->read_history({0, Interval::raw, from, to, std::nullopt, 1000});
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got.front().start, from);
  EXPECT_EQ(got.back().start, to - 700 * kMs);
  // One nanosecond later / earlier moves each end by one sample.
  EXPECT_EQ(store_->read_history({0, Interval::raw, from + 1, to + 1, std::nullopt, 1000}).size(), 10u);
  EXPECT_EQ(store_->read_history({0, Interval::raw, from + 1, to + 1, std::nullopt, 1000}).front().start,
            from + 700 * kMs);
  EXPECT_EQ(store_->read_history({0, Interval::raw, from - 1, to - 1, std::nullopt, 1000}).front().start,
            from);
  // `after` is exclusive and combines with `from`.
  const auto after = store_->read_history({0, Interval::raw, from, to, from + 3 * 700 * kMs, 1000});
  ASSERT_EQ(after.size(), 6u);
  EXPECT_EQ(after.front().start, from + 4 * 700 * kMs);
  // `after` before `from` does not widen the range.
  EXPECT_EQ(store_->read_history({0, Interval::raw, from, to, from - kHour, 1000}).size(), 10u);
  // Empty and inverted ranges.
  EXPECT_TRUE(store_->read_history({0, Interval::raw, from, from, std::nullopt, 1000}).empty());
  EXPECT_TRUE(store_->read_history({0, Interval::raw, to, from, std::nullopt, 1000}).empty());
  // An unknown tag has no history.
  EXPECT_TRUE(store_->read_history({7, Interval::raw, from, to, std::nullopt, 1000}).empty());
}

TEST_P(StorePaging, AggregatedFromIncludesTheBucketHoldingIt) {
  // `from` in the middle of minute 23:00 (22:50 is the first minute with data).
  const TimeNs from = kMidnight - kHour + 30 * kSec + 1;
  const TimeNs to = kMidnight - kHour + 5 * kMin;  // a minute start: excluded
  const auto minutes = store_->read_history({0, Interval::minute, from, to, std::nullopt, 1000});
  ASSERT_EQ(minutes.size(), 5u);
  EXPECT_EQ(minutes.front().start, kMidnight - kHour);
  EXPECT_EQ(minutes.back().start, kMidnight - kHour + 4 * kMin);
  // `to` one ns past a bucket start includes that bucket (its start is < to).
  EXPECT_EQ(store_->read_history({0, Interval::minute, from, to + 1, std::nullopt, 1000}).size(), 6u);
  // The whole first minute is counted although `from` is inside it.
  EXPECT_GT(minutes.front().count, 80u);

  // Hour: from at 23:59:59.999 gives the 23:00 bucket; day: the 26th's
  // midnight as `to` excludes that day.
  const auto hours =
      store_->read_history({0, Interval::hour, kMidnight - 1, kMidnight + 1, std::nullopt, 10});
  ASSERT_EQ(hours.size(), 2u);
  EXPECT_EQ(hours[0].start, kMidnight - kHour);
  EXPECT_EQ(hours[1].start, kMidnight);
  const auto days = store_->read_history({0, Interval::day, kMidnight - 1, kMidnight, std::nullopt, 10});
  ASSERT_EQ(days.size(), 1u);
  EXPECT_EQ(days[0].start, kMidnight - kDay);
  // Seconds: `from` inside a second gives that second.
  const auto secs = store_->read_history(
      {0, Interval::second, kMidnight + 700 * kMs + 5, kMidnight + 2 * kSec, std::nullopt, 10});
  ASSERT_EQ(secs.size(), 2u);
  EXPECT_EQ(secs[0].start, kMidnight);
  EXPECT_EQ(secs[1].start, kMidnight + kSec);
  // `after` on an aggregated tier is compared with bucket starts.
  const auto after = store_->read_history({0, Interval::minute, from, to, kMidnight - kHour, 1000});
  ASSERT_EQ(after.size(), 4u);
  EXPECT_EQ(after.front().start, kMidnight - kHour + kMin);
}

// ---------------------------------------------------------------- restore

TEST_P(StoreTest, RestoreOnEmptyDatabase) {
  auto store = open();
  const RestoredState s = store->restore();
  EXPECT_EQ(s.last_seq, 0u);
  EXPECT_TRUE(s.tags.empty());
  EXPECT_TRUE(s.live.empty());
  EXPECT_TRUE(store->read_history({0, Interval::raw, 0, std::numeric_limits<TimeNs>::max(), std::nullopt, 10})
                  .empty());
}

TEST_P(StoreTest, RestoreReturnsTagsLastSeqLatestSampleAndItsBuckets) {
  auto store = open();
  {
    WriteBatch b;
    b.tags = {tag_record(0, "boiler1.temperature", "degC", "Boiler 1 water temperature", DataType::number),
              tag_record(1, "pump1.running", "", "Pump 1 on", DataType::boolean),
              tag_record(2, "line1.count", "pcs", "", DataType::integer)};
    b.samples = {ss(0, kMidnight - 2 * kSec, 70.0, Quality::good, 1),
                 ss(0, kMidnight - 400 * kMs, 71.0, Quality::good, 2),
                 ss(1, kMidnight + 5 * kSec, 1.0, Quality::uncertain, 3)};
    b.last_seq = 100;
    commit(*store, b);
  }
  {
    // A late sample (older than the latest) does not become the latest, but
    // joins its buckets; a lower last_seq does not lower the stored one.
    WriteBatch b;
    b.samples = {ss(0, kMidnight - 800 * kMs, 80.0, Quality::bad, 0)};
    b.last_seq = 50;
    commit(*store, b);
  }
  {
    // Re-sending a tag's record updates it.
    WriteBatch b;
    b.tags = {tag_record(2, "line1.count", "pieces", "Line 1 counter", DataType::integer)};
    commit(*store, b);
  }
  const RestoredState s = store->restore();
  EXPECT_EQ(s.last_seq, 100u);
  ASSERT_EQ(s.tags.size(), 3u);
  EXPECT_EQ(s.tags[0].id, 0u);
  EXPECT_EQ(s.tags[0].info.name, "boiler1.temperature");
  EXPECT_EQ(s.tags[0].info.unit, "degC");
  EXPECT_EQ(s.tags[0].info.description, "Boiler 1 water temperature");
  EXPECT_EQ(s.tags[0].info.type, DataType::number);
  EXPECT_EQ(s.tags[1].id, 1u);
  EXPECT_EQ(s.tags[1].info.name, "pump1.running");
  EXPECT_EQ(s.tags[1].info.unit, "");
  EXPECT_EQ(s.tags[1].info.type, DataType::boolean);
  EXPECT_EQ(s.tags[2].id, 2u);
  EXPECT_EQ(s.tags[2].info.unit, "pieces");
  EXPECT_EQ(s.tags[2].info.description, "Line 1 counter");
  EXPECT_EQ(s.tags[2].info.type, DataType::integer);

  // Tag 2 has no samples, so no live entry.
  ASSERT_EQ(s.live.size(), 2u);
  const auto& l0 = s.live[0];
  EXPECT_EQ(l0.tag, 0u);
  EXPECT_EQ(l0.latest, (Sample{kMidnight - 400 * kMs, 71.0, Quality::good}));
  // Second 23:59:59 holds 71 and the late 80 (bad).
  EXPECT_EQ(l0.buckets[0].start, kMidnight - kSec);
  EXPECT_EQ(l0.buckets[0].count, 2u);
  EXPECT_EQ(l0.buckets[0].sum, 151.0);
  EXPECT_EQ(l0.buckets[0].first, 80.0);
  EXPECT_EQ(l0.buckets[0].first_ts, kMidnight - 800 * kMs);
  EXPECT_EQ(l0.buckets[0].last, 71.0);
  EXPECT_EQ(l0.buckets[0].last_ts, kMidnight - 400 * kMs);
  EXPECT_EQ(l0.buckets[0].min, 71.0);
  EXPECT_EQ(l0.buckets[0].max, 80.0);
  EXPECT_EQ(l0.buckets[0].quality, Quality::bad);
  for (std::size_t i = 1; i < 4; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(l0.buckets[i].start, bucket_start(kMidnight - kSec, kAggregatedIntervals[i]));
    EXPECT_EQ(l0.buckets[i].count, 3u);
    EXPECT_EQ(l0.buckets[i].sum, 221.0);
    EXPECT_EQ(l0.buckets[i].min, 70.0);
    EXPECT_EQ(l0.buckets[i].max, 80.0);
    EXPECT_EQ(l0.buckets[i].first, 70.0);
    EXPECT_EQ(l0.buckets[i].first_ts, kMidnight - 2 * kSec);
    EXPECT_EQ(l0.buckets[i].last, 71.0);
    EXPECT_EQ(l0.buckets[i].last_ts, kMidnight - 400 * kMs);
    EXPECT_EQ(l0.buckets[i].quality, Quality::bad);
  }
  const auto& l1 = s.live[1];
  EXPECT_EQ(l1.tag, 1u);
  EXPECT_EQ(l1.latest, (Sample{kMidnight + 5 * kSec, 1.0, Quality::uncertain}));
  for (std::size_t i = 0; i < 4; ++i)
    EXPECT_EQ(l1.buckets[i], aggregate_of(l1.latest, kAggregatedIntervals[i])) << i;
}

// ---------------------------------------------------------------- retention

class StoreRetention : public StoreTest {
 protected:
  // "now" for retention; samples every 10 s for the 3 hours before it, on two tags.
  static constexpr TimeNs kNow = kMidnight + 30 * kMin + 5 * kSec;
  static constexpr int kCount = 3 * 360;
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped()) return;
    store_ = open();
    WriteBatch b;
    b.tags = {tag_record(0, "a"), tag_record(1, "b")};
    for (TagId tag = 0; tag < 2; ++tag)
      for (int k = 0; k < kCount; ++k) b.samples.push_back(ss(tag, kNow - k * 10 * kSec, k));
    commit(*store_, b);
  }
  std::size_t rows(TagId tag, Interval iv) {
    return read_all(*store_, tag, iv, kNow - 10 * kDay, kNow + kDay).size();
  }
  TimeNs oldest(TagId tag, Interval iv) {
    return read_all(*store_, tag, iv, kNow - 10 * kDay, kNow + kDay).front().start;
  }
  std::unique_ptr<Store> store_;
};

TEST_P(StoreRetention, DeletesOnlyExpiredRowsPerTier) {
  const std::array<std::size_t, 5> before = {rows(0, Interval::raw), rows(0, Interval::second),
                                             rows(0, Interval::minute), rows(0, Interval::hour),
                                             rows(0, Interval::day)};
  EXPECT_EQ(before[0], static_cast<std::size_t>(kCount));
  EXPECT_EQ(before[1], static_cast<std::size_t>(kCount));
  EXPECT_EQ(before[2], 181u);  // samples at :x5 from 21:30:15 to 00:30:05: minutes 21:30 .. 00:30
  EXPECT_EQ(before[3], 4u);    // 21:30..00:30 touches hours 21, 22, 23, 00
  EXPECT_EQ(before[4], 2u);

  Retention r;
  r.seconds[static_cast<std::size_t>(Interval::raw)] = 3600;     // raw: last hour
  r.seconds[static_cast<std::size_t>(Interval::second)] = 0;     // forever
  r.seconds[static_cast<std::size_t>(Interval::minute)] = 7200;  // two hours
  r.seconds[static_cast<std::size_t>(Interval::hour)] = 0;       // forever
  r.seconds[static_cast<std::size_t>(Interval::day)] = 3600;     // cutoff 2026-11-25T23:30:05Z

  // Raw: ts < now - 3600 s, i.e. k*10 s > 3600 s → k > 360: kCount - 361 rows per tag.
  const std::size_t raw_expired = kCount - 361;
  // Minutes: start < now - 7200 s = 22:30:05 → minutes 21:30 .. 22:30 (61 of them) per tag.
  const std::size_t minute_expired = 61;
  // Day: the 25th starts before the cutoff, the 26th after it → 1 per tag.
  const std::size_t day_expired = 1;
  const std::size_t total = 2 * (raw_expired + minute_expired + day_expired);

  EXPECT_EQ(store_->enforce_retention(r, kNow, 1'000'000), total);
  for (TagId tag = 0; tag < 2; ++tag) {
    SCOPED_TRACE(tag);
    EXPECT_EQ(rows(tag, Interval::raw), 361u);
    EXPECT_EQ(oldest(tag, Interval::raw), kNow - 3600 * kSec);  // exactly at the cutoff: kept
    EXPECT_EQ(rows(tag, Interval::second), static_cast<std::size_t>(kCount));
    EXPECT_EQ(rows(tag, Interval::minute), 181u - minute_expired);
    EXPECT_EQ(oldest(tag, Interval::minute), bucket_start(kNow - 7200 * kSec, Interval::minute) + kMin);
    EXPECT_EQ(rows(tag, Interval::hour), 4u);
    EXPECT_EQ(rows(tag, Interval::day), 1u);
    EXPECT_EQ(oldest(tag, Interval::day), kMidnight);
  }
  // Nothing more to do.
  EXPECT_EQ(store_->enforce_retention(r, kNow, 1'000'000), 0u);
  // What is kept is unchanged in content: the newest raw sample still reads back.
  const auto newest = read_all(*store_, 0, Interval::raw, kNow, kNow + 1);
  ASSERT_EQ(newest.size(), 1u);
  EXPECT_EQ(newest[0].first, 0.0);
}

TEST_P(StoreRetention, ZeroKeepsForever) {
  Retention r;  // all zero
  EXPECT_EQ(store_->enforce_retention(r, kNow + 100 * kDay, 1'000'000), 0u);
  EXPECT_EQ(rows(0, Interval::raw), static_cast<std::size_t>(kCount));
  EXPECT_EQ(rows(1, Interval::day), 2u);
}

TEST_P(StoreRetention, RespectsMaxRowsAndDeletesOldestFirst) {
  Retention r;
  r.seconds[static_cast<std::size_t>(Interval::raw)] = 3600;
  const std::size_t expired_per_tag = kCount - 361;
  std::size_t total = 0;
  int passes = 0;
  while (true) {
    const std::size_t n = store_->enforce_retention(r, kNow, 100);
    ASSERT_LE(n, 100u);
    if (n == 0) break;
    total += n;
    ++passes;
    // Rows go oldest first: whatever is left is a contiguous newest suffix per tag.
    for (TagId tag = 0; tag < 2; ++tag) {
      const auto raw = read_all(*store_, tag, Interval::raw, kNow - 10 * kDay, kNow + kDay);
      if (raw.empty()) continue;
      const std::size_t left = raw.size();
      EXPECT_EQ(raw.front().start, kNow - static_cast<TimeNs>(left - 1) * 10 * kSec);
    }
    ASSERT_LT(passes, 100);
  }
  EXPECT_EQ(total, 2 * expired_per_tag);
  EXPECT_EQ(passes, static_cast<int>((2 * expired_per_tag + 99) / 100));
  EXPECT_EQ(rows(0, Interval::raw), 361u);
  EXPECT_EQ(rows(1, Interval::raw), 361u);
  // Rollups untouched (their retention is 0).
  EXPECT_EQ(rows(0, Interval::second), static_cast<std::size_t>(kCount));

  // A first pass of exactly 5 deletes the 5 oldest samples of the first tag.
  auto other = open_other();
  Store& s2 = *other;
  WriteBatch b;
  b.tags = {tag_record(0, "a")};
  for (int k = 0; k < 20; ++k) b.samples.push_back(ss(0, kNow - k * kHour, k));
  commit(s2, b);
  EXPECT_EQ(s2.enforce_retention(r, kNow, 5), 5u);
  const auto left = read_all(s2, 0, Interval::raw, kNow - 100 * kDay, kNow + 1);
  ASSERT_EQ(left.size(), 15u);
  EXPECT_EQ(left.front().start, kNow - 14 * kHour);
}

// A late sample at a new timestamp joins its buckets as they stand, even
// when the raw samples and seconds they were built from have expired: the
// minute, hour and day keep what they had and gain the new sample.
TEST_P(StoreRetention, LateSampleAfterExpiryAddsToWhatTheBucketsKept) {
  auto other = open_other();
  Store& store = *other;
  const TimeNs t0 = kMidnight + 10 * kMin;
  WriteBatch b;
  b.tags = {tag_record(0, "a")};
  for (int k = 0; k < 10; ++k) b.samples.push_back(ss(0, t0 + k * kSec, 1.0 + k, Quality::good, 1 + k));
  commit(store, b);
  Retention r;
  r.seconds[static_cast<std::size_t>(Interval::raw)] = 3600;
  r.seconds[static_cast<std::size_t>(Interval::second)] = 3600;
  ASSERT_EQ(store.enforce_retention(r, t0 + 2 * kHour, 1'000'000), 20u);
  ASSERT_TRUE(read_all(store, 0, Interval::second, t0 - kDay, t0 + kDay).empty());

  WriteBatch late;
  late.samples = {ss(0, t0 + 5500 * kMs, 100.0)};  // between two expired samples
  commit(store, late);
  for (Interval iv : {Interval::minute, Interval::hour, Interval::day}) {
    SCOPED_TRACE(to_string(iv));
    const auto rows = read_all(store, 0, iv, t0 - kDay, t0 + kDay);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].count, 11u);
    EXPECT_EQ(rows[0].sum, 55.0 + 100.0);
    EXPECT_EQ(rows[0].min, 1.0);
    EXPECT_EQ(rows[0].max, 100.0);
    EXPECT_EQ(rows[0].first, 1.0);
    EXPECT_EQ(rows[0].last, 10.0);
    EXPECT_EQ(rows[0].last_ts, t0 + 9 * kSec);
  }
  const auto seconds = read_all(store, 0, Interval::second, t0 - kDay, t0 + kDay);
  ASSERT_EQ(seconds.size(), 1u);
  EXPECT_EQ(seconds[0].count, 1u);
}

// Raw retention removed the first half of a minute's samples while its
// seconds are kept. Replacing a sample still kept rebuilds its second from
// raw and the minute from the seconds, never the minute from the raw rows
// that are left; a late sample in the expired half joins the buckets as
// they stand.
TEST_P(StoreRetention, ReplacementAfterRawExpiryRebuildsOnlyFromWhatIsKept) {
  auto other = open_other();
  Store& store = *other;
  const TimeNs t0 = kMidnight + 10 * kMin;
  WriteBatch b;
  b.tags = {tag_record(0, "a")};
  for (int k = 0; k < 10; ++k) b.samples.push_back(ss(0, t0 + k * kSec, 1.0 + k, Quality::good, 1 + k));
  commit(store, b);
  Retention r;
  r.seconds[static_cast<std::size_t>(Interval::raw)] = 3600;
  ASSERT_EQ(store.enforce_retention(r, t0 + 3600 * kSec + 4500 * kMs, 1'000'000), 5u);
  ASSERT_EQ(read_all(store, 0, Interval::raw, t0 - kDay, t0 + kDay).size(), 5u);

  WriteBatch replace;
  replace.samples = {ss(0, t0 + 7 * kSec, 100.0, Quality::uncertain)};  // was 8.0
  commit(store, replace);
  WriteBatch late;
  late.samples = {ss(0, t0 + 2500 * kMs, -1.0)};  // in expired second t0 + 2 s (3.0)
  commit(store, late);

  const auto seconds = read_all(store, 0, Interval::second, t0 - kDay, t0 + kDay);
  ASSERT_EQ(seconds.size(), 10u);
  EXPECT_EQ(seconds[2].count, 2u);
  EXPECT_EQ(seconds[2].sum, 2.0);
  EXPECT_EQ(seconds[2].min, -1.0);
  EXPECT_EQ(seconds[2].first, 3.0);
  EXPECT_EQ(seconds[2].last, -1.0);
  EXPECT_EQ(seconds[7].count, 1u);
  EXPECT_EQ(seconds[7].sum, 100.0);
  EXPECT_EQ(seconds[7].quality, Quality::uncertain);
  for (Interval iv : {Interval::minute, Interval::hour, Interval::day}) {
    SCOPED_TRACE(to_string(iv));
    const auto rows = read_all(store, 0, iv, t0 - kDay, t0 + kDay);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].count, 11u);
    EXPECT_EQ(rows[0].sum, 55.0 - 8.0 + 100.0 - 1.0);
    EXPECT_EQ(rows[0].min, -1.0);
    EXPECT_EQ(rows[0].max, 100.0);
    EXPECT_EQ(rows[0].first, 1.0);
    EXPECT_EQ(rows[0].first_ts, t0);
    EXPECT_EQ(rows[0].last, 10.0);
    EXPECT_EQ(rows[0].quality, Quality::uncertain);
  }
}

// ---------------------------------------------------------------- durability

// The first run ends as a crash would (no flush on close: what was not yet
// folded into blocks is replayed from the journal), the second one cleanly.
TEST_P(StoreTest, ReopenSeesEverythingAndKeepsAggregating) {
  std::mt19937_64 rng(7);
  SampleMap samples;
  {
    auto store = open(true, false);
    WriteBatch b;
    b.tags = {tag_record(0, "a", "bar", "A"), tag_record(1, "b", "m3/h", "B", DataType::integer)};
    for (int i = 0; i < 500; ++i) {
      const TagId tag = static_cast<TagId>(i % 2);
      const TimeNs ts = kMidnight - 10 * kMin + static_cast<TimeNs>(rng() % (20 * 60)) * kSec;
      const Quality q = i % 17 == 0 ? Quality::bad : Quality::good;
      b.samples.push_back(ss(tag, ts, static_cast<double>(i), q, static_cast<Seq>(i + 1)));
      samples[{tag, ts}] = Sample{ts, static_cast<double>(i), q};
    }
    b.last_seq = 500;
    commit(*store, b);
    // Read once so a reader connection exists while the store closes.
    EXPECT_FALSE(read_all(*store, 0, Interval::raw, kMidnight - kDay, kMidnight + kDay).empty());
  }
  {
    auto store = open(true);
    const RestoredState s = store->restore();
    EXPECT_EQ(s.last_seq, 500u);
    ASSERT_EQ(s.tags.size(), 2u);
    EXPECT_EQ(s.tags[1].info.name, "b");
    EXPECT_EQ(s.tags[1].info.unit, "m3/h");
    EXPECT_EQ(s.tags[1].info.type, DataType::integer);
    verify_against_brute_force(*store, samples, 2, kMidnight - kDay, kMidnight + kDay, true, rng, "reopened");

    // New samples (and an overwrite) merge into the buckets written by the first run.
    WriteBatch b;
    const TimeNs overwrite_ts = samples.begin()->first.second;
    b.samples = {ss(0, kMidnight + 11 * kMin, -5.0), ss(0, overwrite_ts, 1e6, Quality::uncertain)};
    b.last_seq = 501;
    commit(*store, b);
    samples[{0, kMidnight + 11 * kMin}] = Sample{kMidnight + 11 * kMin, -5.0, Quality::good};
    samples[{0, overwrite_ts}] = Sample{overwrite_ts, 1e6, Quality::uncertain};
  }
  {
    auto store = open(true);
    EXPECT_EQ(store->restore().last_seq, 501u);
    verify_against_brute_force(*store, samples, 2, kMidnight - kDay, kMidnight + kDay, true, rng,
                               "reopened twice");
  }
}

TEST_P(StoreTest, ReaderSeesLaterCommits) {
  auto store = open();
  WriteBatch b;
  b.tags = {tag_record(0, "a")};
  b.samples = {ss(0, kMidnight, 1.0)};
  commit(*store, b);
  EXPECT_EQ(read_all(*store, 0, Interval::raw, 0, kMidnight + kDay).size(), 1u);
  b.tags.clear();
  b.samples = {ss(0, kMidnight + kSec, 2.0)};
  commit(*store, b);
  EXPECT_EQ(read_all(*store, 0, Interval::raw, 0, kMidnight + kDay).size(), 2u);
  EXPECT_EQ(read_all(*store, 0, Interval::day, 0, kMidnight + kDay).at(0).count, 2u);
}

TEST_P(StoreTest, ReadsFromManyThreadsAgree) {
  auto store = open();
  WriteBatch b;
  b.tags = {tag_record(0, "a")};
  for (int i = 0; i < 1000; ++i) b.samples.push_back(ss(0, kMidnight + i * 100 * kMs, i));
  commit(*store, b);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int k = 0; k < 50; ++k) {
        if (read_all(*store, 0, Interval::raw, kMidnight, kMidnight + kDay, 33).size() != 1000u) ++wrong;
        const auto m = read_all(*store, 0, Interval::minute, kMidnight, kMidnight + kDay);
        if (m.size() != 2u || m[0].count != 600u || m[1].count != 400u) ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

// ---------------------------------------------------------------- failures

// A failed commit changes nothing, and the store keeps working after it.
TEST_P(StoreTest, FailedWriteRollsBackAndLaterWritesSucceed) {
  auto store = open();
  WriteBatch ok;
  ok.tags = {tag_record(0, "a")};
  ok.samples = {ss(0, kMidnight, 1.0)};
  ok.last_seq = 1;
  commit(*store, ok);

  // A NaN value is refused, and with it the good sample before it in the
  // same batch.
  WriteBatch bad;
  bad.samples = {ss(0, kMidnight + kSec, 2.0), ss(0, kMidnight + 2 * kSec, std::nan(""))};
  bad.last_seq = 7;
  EXPECT_THROW(commit(*store, bad), std::runtime_error);
  EXPECT_EQ(read_all(*store, 0, Interval::raw, 0, kMidnight + kDay).size(), 1u);
  EXPECT_EQ(read_all(*store, 0, Interval::day, 0, kMidnight + kDay).at(0).count, 1u);
  EXPECT_EQ(store->restore().last_seq, 1u);

  // A tag whose name is taken by another id also fails the batch.
  WriteBatch dup;
  dup.tags = {tag_record(1, "a")};
  dup.samples = {ss(0, kMidnight + 3 * kSec, 3.0)};
  EXPECT_THROW(commit(*store, dup), std::runtime_error);

  // The next good batches commit, with their own values.
  WriteBatch later;
  later.tags = {tag_record(1, "b")};
  later.samples = {ss(0, kMidnight + 4 * kSec, 4.0), ss(1, kMidnight, 5.0)};
  later.last_seq = 2;
  ASSERT_NO_THROW(commit(*store, later));
  const auto raw = read_all(*store, 0, Interval::raw, 0, kMidnight + kDay);
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[1].start, kMidnight + 4 * kSec);
  EXPECT_EQ(raw[1].first, 4.0);
  const auto day = read_all(*store, 0, Interval::day, 0, kMidnight + kDay);
  ASSERT_EQ(day.size(), 1u);
  EXPECT_EQ(day[0].count, 2u);
  EXPECT_EQ(day[0].sum, 5.0);
  const RestoredState s = store->restore();
  EXPECT_EQ(s.last_seq, 2u);
  ASSERT_EQ(s.tags.size(), 2u);
  EXPECT_EQ(s.tags[1].info.name, "b");
}

TEST_P(StoreTest, OpenFailsWithRuntimeErrorOnBadPath) {
  if (GetParam().postgres) {
    // A database that does not exist on the server.
    EXPECT_THROW(PgStore(PgOptions{pg_->url("no_such_database")}), std::runtime_error);
    return;
  }
  EXPECT_THROW(SqliteStore(SqliteOptions{(dir_.path() / "no" / "such" / "dir" / "h.db").string(), false}),
               std::runtime_error);
}

// Grouped history (Store::read_groups, what maxPoints reads) equals a
// brute-force grouping of the samples, for raw and every tier, several tags
// at once (a tag without samples and an unknown tag give empty pages), with
// groups that do not line up with the tiers' buckets and a `from` inside a
// bucket. On PostgreSQL this is the database's GROUP BY; on SQLite the
// default that merges pages.
TEST_P(StoreTest, GroupedHistoryMatchesBruteForce) {
  auto store = open();
  std::mt19937_64 rng(21);
  std::uniform_real_distribution<double> value(-100.0, 100.0);
  std::uniform_int_distribution<int> pct(0, 99);
  SampleMap samples;
  WriteBatch b;
  b.tags = {tag_record(0, "g.a"), tag_record(1, "g.b"), tag_record(2, "g.empty")};
  const TimeNs start = kMidnight - 3 * kHour;
  for (TagId tag = 0; tag < 2; ++tag)
    for (TimeNs t = start; t < kMidnight + 3 * kHour; t += 7 * kSec + (tag ? 300 * kMs : 0)) {
      const Quality q = pct(rng) < 90 ? Quality::good : pct(rng) < 50 ? Quality::uncertain : Quality::bad;
      const double v = value(rng);
      b.samples.push_back(ss(tag, t, v, q));
      samples[{tag, t}] = Sample{t, v, q};
    }
  commit(*store, b);

  for (Interval iv : {Interval::raw, Interval::second, Interval::minute, Interval::hour, Interval::day}) {
    SCOPED_TRACE(std::string(to_string(iv)));
    GroupRequest r;
    r.tags = {1, 0, 2, 7};
    r.interval = iv;
    r.from = start + 90 * kSec + 123 * kMs;  // inside a minute bucket
    r.to = kMidnight + 2 * kHour;
    r.group_width = iv == Interval::day ? kDay : 37 * kMin;
    const std::vector<HistoryPage> got = store->read_groups(r);
    ASSERT_EQ(got.size(), r.tags.size());
    EXPECT_TRUE(got[2].empty());
    EXPECT_TRUE(got[3].empty());
    for (std::size_t i = 0; i < 2; ++i) {
      const TagId tag = r.tags[i];
      // The points history would return (buckets holding `from` on),
      // merged by group, from the samples alone.
      std::map<TimeNs, Expected> want;
      const TimeNs w = iv == Interval::raw ? 1 : interval_width(iv);
      const TimeNs first_key = iv == Interval::raw ? r.from : floor_div(r.from, w) * w;
      for (const auto& [key, s] : samples) {
        if (key.first != tag) continue;
        const TimeNs bucket = floor_div(s.ts, w) * w;
        if (bucket < first_key || bucket >= r.to) continue;
        const TimeNs g = group_start(bucket, r.from, r.group_width);
        Expected& e = want[g];
        if (e.count == 0) {
          e.start = g;
          e.min = e.max = e.first = e.last = s.value;
          e.first_ts = e.last_ts = s.ts;
        }
        ++e.count;
        e.sum += s.value;
        e.abs_sum += std::fabs(s.value);
        e.min = std::min(e.min, s.value);
        e.max = std::max(e.max, s.value);
        if (s.ts < e.first_ts) e.first_ts = s.ts, e.first = s.value;
        if (s.ts > e.last_ts) e.last_ts = s.ts, e.last = s.value;
        if (s.quality == Quality::bad) e.any_bad = true;
        if (s.quality != Quality::good) e.all_good = false;
      }
      ASSERT_EQ(got[i].size(), want.size()) << "tag " << tag;
      auto it = want.begin();
      for (const Aggregate& a : got[i]) {
        const std::string d = diff(a, (it++)->second);
        EXPECT_TRUE(d.empty()) << "tag " << tag << " group " << a.start << ":" << d;
      }
    }
  }
}

// ---------------------------------------------------------------- several nodes, one database

// Two PostgreSQL stores on one database, as two nodes: each has its own
// local tag ids (they register the tags in opposite orders) and both write
// the same tags at once, in small batches with overlapping timestamps, so
// their transactions touch the same buckets concurrently. Afterwards both
// read the same raw history, and every bucket of every tier on both equals
// a brute-force aggregate of that raw history.
TEST(PgStoreNodes, ConcurrentWritersOnTwoNodesAgreeWithBruteForce) {
  std::string why;
  testing::PgServer* pg = testing::PgEnvironment::server(&why);
  if (!pg) GTEST_SKIP() << "PostgreSQL runs skipped: " << why;
  const std::string url = pg->create_database();
  constexpr TagId kTags = 3;
  std::array<std::unique_ptr<PgStore>, 2> nodes;
  for (auto& n : nodes) n = std::make_unique<PgStore>(PgOptions{url});
  const auto name_on = [](std::size_t node, TagId local) {
    return "plant.tag" + std::to_string(node == 0 ? local : kTags - 1 - local);
  };
  const TimeNs start = kMidnight - 2 * kMin;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (std::size_t node = 0; node < 2; ++node) {
    writers.emplace_back([&, node] {
      std::mt19937_64 rng(100 + node);
      std::uniform_int_distribution<int> tenth(0, 4 * 60 * 10 - 1);  // 4 minutes at 100 ms
      std::uniform_real_distribution<double> value(-50.0, 50.0);
      std::uniform_int_distribution<int> pct(0, 99);
      for (int batch = 0; batch < 120; ++batch) {
        WriteBatch b;
        if (batch == 0)
          for (TagId t = 0; t < kTags; ++t) b.tags.push_back(tag_record(t, name_on(node, t)));
        for (int i = 0; i < 40; ++i) {
          const Quality q = pct(rng) < 90 ? Quality::good : pct(rng) < 50 ? Quality::uncertain : Quality::bad;
          b.samples.push_back(
              ss(static_cast<TagId>(rng() % kTags), start + tenth(rng) * 100 * kMs, value(rng), q));
        }
        try {
          commit(*nodes[node], b);
        } catch (const std::exception& e) {
          ADD_FAILURE() << "node " << node << ": " << e.what();
          ++failures;
          return;
        }
      }
    });
  }
  for (auto& w : writers) w.join();
  ASSERT_EQ(failures.load(), 0);

  std::array<SampleMap, 2> raw;
  for (std::size_t node = 0; node < 2; ++node)
    for (TagId tag = 0; tag < kTags; ++tag)
      for (const Aggregate& a : read_all(*nodes[node], tag, Interval::raw, start - kDay, start + kDay))
        raw[node][{tag, a.start}] = Sample{a.start, a.first, a.quality};
  // The same points on both nodes, under each node's own ids.
  ASSERT_EQ(raw[0].size(), raw[1].size());
  for (const auto& [key, sample] : raw[0]) {
    const auto it = raw[1].find({kTags - 1 - key.first, key.second});
    ASSERT_NE(it, raw[1].end());
    EXPECT_EQ(it->second, sample);
  }
  ASSERT_GT(raw[0].size(), 5000u);  // both nodes' points, few collisions
  std::mt19937_64 rng(9);
  for (std::size_t node = 0; node < 2; ++node)
    verify_against_brute_force(*nodes[node], raw[node], kTags, start - kDay, start + kDay, true, rng,
                               "node " + std::to_string(node));
  // A restart of either node restores each tag once, with dense ids (in
  // the database's order: whichever node created a tag first).
  const RestoredState state = nodes[1]->restore();
  ASSERT_EQ(state.tags.size(), kTags);
  std::set<std::string> names;
  for (TagId i = 0; i < kTags; ++i) {
    EXPECT_EQ(state.tags[i].id, i);
    names.insert(state.tags[i].info.name);
  }
  EXPECT_EQ(names, (std::set<std::string>{"plant.tag0", "plant.tag1", "plant.tag2"}));
}

// Two nodes adding to the same buckets at once: both write every tag, each
// every other 100 ms slot (all samples new, so both take the adding path
// with its shared locks and add to the same second, minute, hour and day
// buckets concurrently), and each sends some of its batches twice, as a
// client retrying after a lost answer would (the same points again: no
// duplicate, no bucket counted twice). Every bucket must equal a
// brute-force aggregate of the samples.
TEST(PgStoreNodes, ConcurrentAddsToSharedBucketsAgreeWithBruteForce) {
  std::string why;
  testing::PgServer* pg = testing::PgEnvironment::server(&why);
  if (!pg) GTEST_SKIP() << "PostgreSQL runs skipped: " << why;
  const std::string url = pg->create_database();
  constexpr TagId kTags = 4;
  // Both nodes open at once on the empty database: schema creation must
  // not race.
  std::array<std::unique_ptr<PgStore>, 2> nodes;
  {
    std::vector<std::thread> openers;
    std::atomic<int> failures{0};
    for (auto& n : nodes)
      openers.emplace_back([&n, &url, &failures] {
        try {
          n = std::make_unique<PgStore>(PgOptions{url});
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
          ++failures;
        }
      });
    for (auto& t : openers) t.join();
    ASSERT_EQ(failures.load(), 0);
  }
  // Tags first, from node 0; node 1 maps the same names to the same ids.
  {
    WriteBatch b;
    for (TagId t = 0; t < kTags; ++t) b.tags.push_back(tag_record(t, "shared.tag" + std::to_string(t)));
    commit(*nodes[0], b);
    commit(*nodes[1], b);
  }
  const TimeNs start = kMidnight - 90 * kSec;  // the batches cross a minute, an hour and a day
  constexpr int kBatches = 60;
  constexpr int kSlotsPerBatch = 30;  // per node; 100 ms slots
  std::array<SampleMap, 2> written;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (std::size_t node = 0; node < 2; ++node) {
    writers.emplace_back([&, node] {
      std::mt19937_64 rng(300 + node);
      std::uniform_real_distribution<double> value(-50.0, 50.0);
      std::uniform_int_distribution<int> pct(0, 99);
      for (int batch = 0; batch < kBatches; ++batch) {
        WriteBatch b;
        for (int i = 0; i < kSlotsPerBatch; ++i) {
          const TimeNs slot = (batch * kSlotsPerBatch + i) * 2 + static_cast<int>(node);
          for (TagId tag = 0; tag < kTags; ++tag) {
            const Quality q = pct(rng) < 95 ? Quality::good : Quality::uncertain;
            const TimeNs ts = start + slot * 100 * kMs;
            const double v = value(rng);
            b.samples.push_back(ss(tag, ts, v, q, static_cast<Seq>(slot + 1)));
            written[node][{tag, ts}] = Sample{ts, v, q};
          }
        }
        try {
          commit(*nodes[node], b);
          if (batch % 7 == 3) commit(*nodes[node], b);  // a retry: the same points again
        } catch (const std::exception& e) {
          ADD_FAILURE() << "node " << node << ": " << e.what();
          ++failures;
          return;
        }
      }
    });
  }
  for (auto& w : writers) w.join();
  ASSERT_EQ(failures.load(), 0);
  SampleMap all = written[0];
  all.insert(written[1].begin(), written[1].end());
  ASSERT_EQ(all.size(), 2u * kBatches * kSlotsPerBatch * kTags);
  std::mt19937_64 rng(10);
  for (std::size_t node = 0; node < 2; ++node)
    verify_against_brute_force(*nodes[node], all, kTags, start - kDay, start + kDay, false, rng,
                               "node " + std::to_string(node));
}

// The database drops every connection of the store (as a restart of
// PostgreSQL would): the write that finds its connection lost fails, the
// next one reconnects and commits, upserting the tag record that came with
// the failed batch; reads reconnect by themselves.
TEST(PgStoreNodes, LostConnectionsAreOpenedAgain) {
  std::string why;
  testing::PgServer* pg = testing::PgEnvironment::server(&why);
  if (!pg) GTEST_SKIP() << "PostgreSQL runs skipped: " << why;
  const std::string url = pg->create_database();
  PgStore store(PgOptions{url});
  WriteBatch first;
  first.tags = {tag_record(0, "a")};
  first.samples = {ss(0, kMidnight, 1.0)};
  commit(store, first);
  ASSERT_EQ(read_all(store, 0, Interval::raw, 0, kMidnight + kDay).size(), 1u);

  PGconn* admin = PQconnectdb(url.c_str());
  ASSERT_EQ(PQstatus(admin), CONNECTION_OK);
  PGresult* r = PQexec(admin,
                       "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  EXPECT_EQ(std::string(PQgetvalue(r, 0, 0)), "3");  // the writer, this thread's reader and its side session
  PQclear(r);
  PQfinish(admin);

  WriteBatch lost;
  lost.tags = {tag_record(1, "b")};
  lost.samples = {ss(1, kMidnight, 2.0)};
  EXPECT_THROW(commit(store, lost), std::runtime_error);
  WriteBatch next;
  next.samples = {ss(1, kMidnight + kSec, 3.0), ss(0, kMidnight + kSec, 4.0)};
  ASSERT_NO_THROW(commit(store, next));

  EXPECT_EQ(read_all(store, 0, Interval::raw, 0, kMidnight + kDay).size(), 2u);
  const auto b = read_all(store, 1, Interval::raw, 0, kMidnight + kDay);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].first, 3.0);
  const RestoredState state = store.restore();
  ASSERT_EQ(state.tags.size(), 2u);
  EXPECT_EQ(state.tags[1].info.name, "b");
}

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  if (info.param.postgres) return "Postgres";
  const std::size_t n = info.param.flush_samples;
  return n == 1 ? "FlushEveryWrite" : n < 100000 ? "FlushEvery" + std::to_string(n) : "Unflushed";
}

const auto kBackends =
    ::testing::Values(Backend{false, 1'000'000}, Backend{false, 1}, Backend{false, 331}, Backend{true, 0});

INSTANTIATE_TEST_SUITE_P(Store, StoreTest, kBackends, backend_name);
INSTANTIATE_TEST_SUITE_P(Store, StorePaging, kBackends, backend_name);
INSTANTIATE_TEST_SUITE_P(Store, StoreRetention, kBackends, backend_name);

}  // namespace
}  // namespace tagstream
