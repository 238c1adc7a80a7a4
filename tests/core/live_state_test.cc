// LiveState: the latest value and open buckets of every tag, and the batches
// of numbered changes it hands the hub.
#include "core/live_state.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/interval.h"
#include "core/time.h"

namespace tagstream {
namespace {

constexpr TimeNs kSec = kNanosPerSecond;
constexpr TimeNs kMin = 60 * kSec;
constexpr TimeNs kHour = 3600 * kSec;
// 2026-11-25T10:00:00Z: a boundary of second, minute and hour.
constexpr TimeNs kT0 = 1'795'600'800 * kSec;

TaggedSample TS(TagId tag, TimeNs ts, double v, Quality q = Quality::good) {
  return TaggedSample{tag, Sample{ts, v, q}};
}

const Aggregate& bucket(const Change& c, Interval iv) {
  return c.buckets[aggregated_index(iv)];
}

struct Recorder {
  std::vector<ChangeBatchPtr> batches;
  LiveState::Publisher publisher() {
    return [this](ChangeBatchPtr b) { batches.push_back(std::move(b)); };
  }
  std::vector<Change> all_changes() const {
    std::vector<Change> out;
    for (const auto& b : batches) out.insert(out.end(), b->changes.begin(), b->changes.end());
    return out;
  }
};

TEST(LiveState, SequenceNumbersStartAfterZeroByDefault) {
  LiveState state;
  Recorder rec;
  state.set_publisher(rec.publisher());
  EXPECT_EQ(state.last_seq(), 0u);
  const std::vector<TaggedSample> in = {TS(0, kT0, 1), TS(1, kT0, 2)};
  ApplyResult r = state.apply(in);
  EXPECT_EQ(r.accepted, 2u);
  EXPECT_EQ(r.late, 0u);
  ASSERT_EQ(rec.batches.size(), 1u);
  ASSERT_EQ(rec.batches[0]->changes.size(), 2u);
  EXPECT_EQ(rec.batches[0]->first_seq(), 1u);
  EXPECT_EQ(rec.batches[0]->last_seq(), 2u);
  EXPECT_EQ(state.last_seq(), 2u);
}

TEST(LiveState, SequenceNumbersAreContiguousAndContinueAfterConstructorSeq) {
  LiveState state(1000);
  Recorder rec;
  state.set_publisher(rec.publisher());
  EXPECT_EQ(state.last_seq(), 1000u);

  std::vector<TaggedSample> a = {TS(0, kT0, 1), TS(1, kT0, 2), TS(0, kT0 + 1, 3)};
  std::vector<TaggedSample> b = {TS(2, kT0, 4)};
  std::vector<TaggedSample> c = {TS(0, kT0 + 2, 5), TS(1, kT0 + 2, 6), TS(2, kT0 + 2, 7), TS(3, kT0, 8)};
  state.apply(a);
  state.apply(b);
  state.apply(c);

  ASSERT_EQ(rec.batches.size(), 3u);
  EXPECT_EQ(rec.batches[0]->first_seq(), 1001u);
  EXPECT_EQ(rec.batches[0]->last_seq(), 1003u);
  EXPECT_EQ(rec.batches[1]->first_seq(), 1004u);
  EXPECT_EQ(rec.batches[1]->last_seq(), 1004u);
  EXPECT_EQ(rec.batches[2]->first_seq(), 1005u);
  EXPECT_EQ(rec.batches[2]->last_seq(), 1008u);
  Seq expect = 1001;
  for (const Change& ch : rec.all_changes()) EXPECT_EQ(ch.seq, expect++);
  EXPECT_EQ(expect, 1009u);
  EXPECT_EQ(state.last_seq(), 1008u);
}

TEST(LiveState, PublisherReceivesEachBatchInOrderWithTheRightChanges) {
  LiveState state(7);
  Recorder rec;
  state.set_publisher(rec.publisher());

  std::vector<TaggedSample> first = {TS(3, kT0 + 5, 1.5, Quality::uncertain), TS(0, kT0 + 6, -2.0)};
  std::vector<TaggedSample> second = {TS(3, kT0 + 9, 4.0, Quality::bad)};
  state.apply(first);
  ASSERT_EQ(rec.batches.size(), 1u);  // published synchronously, once per apply
  state.apply(second);
  ASSERT_EQ(rec.batches.size(), 2u);

  const auto& b0 = rec.batches[0]->changes;
  ASSERT_EQ(b0.size(), 2u);
  EXPECT_EQ(b0[0].seq, 8u);
  EXPECT_EQ(b0[0].tag, 3u);
  EXPECT_EQ(b0[0].sample, (Sample{kT0 + 5, 1.5, Quality::uncertain}));
  EXPECT_EQ(b0[1].seq, 9u);
  EXPECT_EQ(b0[1].tag, 0u);
  EXPECT_EQ(b0[1].sample, (Sample{kT0 + 6, -2.0, Quality::good}));

  const auto& b1 = rec.batches[1]->changes;
  ASSERT_EQ(b1.size(), 1u);
  EXPECT_EQ(b1[0].seq, 10u);
  EXPECT_EQ(b1[0].tag, 3u);
  EXPECT_EQ(b1[0].sample, (Sample{kT0 + 9, 4.0, Quality::bad}));
  // Tag 3's minute bucket now holds both of its samples, with a bad quality.
  const Aggregate& m = bucket(b1[0], Interval::minute);
  EXPECT_EQ(m.count, 2u);
  EXPECT_EQ(m.first, 1.5);
  EXPECT_EQ(m.last, 4.0);
  EXPECT_EQ(m.quality, Quality::bad);
  // The earlier batch is immutable: it still shows the bucket as it was then.
  EXPECT_EQ(bucket(b0[0], Interval::minute).count, 1u);
  EXPECT_EQ(bucket(b0[0], Interval::minute).quality, Quality::uncertain);
  // Tag 0's buckets are its own.
  EXPECT_EQ(bucket(b0[1], Interval::minute).count, 1u);
  EXPECT_EQ(bucket(b0[1], Interval::minute).last, -2.0);
}

TEST(LiveState, LateSamplesAreCountedAndNotPublished) {
  LiveState state;
  Recorder rec;
  state.set_publisher(rec.publisher());
  state.apply(std::vector<TaggedSample>{TS(0, kT0 + 10 * kSec, 1.0), TS(1, kT0, 5.0)});
  ASSERT_EQ(rec.batches.size(), 1u);

  // Tag 0: one late (older than its latest), one new. Tag 1's history does not
  // make tag 0's older sample acceptable, nor the reverse.
  ApplyResult r = state.apply(std::vector<TaggedSample>{TS(0, kT0 + 9 * kSec, 2.0), TS(1, kT0 + kSec, 6.0),
                                                        TS(0, kT0 + 11 * kSec, 3.0), TS(1, kT0, 7.0)});
  EXPECT_EQ(r.accepted, 2u);
  EXPECT_EQ(r.late, 2u);
  ASSERT_EQ(rec.batches.size(), 2u);
  const auto& ch = rec.batches[1]->changes;
  ASSERT_EQ(ch.size(), 2u);
  EXPECT_EQ(ch[0].tag, 1u);
  EXPECT_EQ(ch[0].sample.value, 6.0);
  EXPECT_EQ(ch[0].seq, 3u);
  EXPECT_EQ(ch[1].tag, 0u);
  EXPECT_EQ(ch[1].sample.value, 3.0);
  EXPECT_EQ(ch[1].seq, 4u);  // a late sample consumes no sequence number
  // The late sample did not enter the live bucket either.
  const Aggregate& m = bucket(ch[1], Interval::minute);
  EXPECT_EQ(m.count, 2u);
  EXPECT_EQ(m.sum, 4.0);
  EXPECT_EQ(m.min, 1.0);
  EXPECT_EQ(state.last_seq(), 4u);

  // A batch of nothing but late samples publishes nothing.
  r = state.apply(std::vector<TaggedSample>{TS(0, kT0, 9.0), TS(1, kT0 - 1, 9.0)});
  EXPECT_EQ(r.accepted, 0u);
  EXPECT_EQ(r.late, 2u);
  EXPECT_EQ(rec.batches.size(), 2u);
  EXPECT_EQ(state.last_seq(), 4u);

  // Within one batch too: the second sample is older than the first.
  r = state.apply(std::vector<TaggedSample>{TS(2, kT0 + 5, 1.0), TS(2, kT0 + 4, 2.0)});
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(r.late, 1u);
  ASSERT_EQ(rec.batches.size(), 3u);
  ASSERT_EQ(rec.batches[2]->changes.size(), 1u);
  EXPECT_EQ(rec.batches[2]->changes[0].sample.value, 1.0);
}

TEST(LiveState, EqualTimestampSampleIsAccepted) {
  LiveState state;
  Recorder rec;
  state.set_publisher(rec.publisher());
  state.apply(std::vector<TaggedSample>{TS(0, kT0, 1.0)});
  ApplyResult r = state.apply(std::vector<TaggedSample>{TS(0, kT0, 2.0)});
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(r.late, 0u);
  ASSERT_EQ(rec.batches.size(), 2u);
  const Change& c = rec.batches[1]->changes.at(0);
  EXPECT_EQ(c.seq, 2u);
  EXPECT_EQ(c.sample.value, 2.0);
  const Aggregate& s = bucket(c, Interval::second);
  EXPECT_EQ(s.count, 2u);
  EXPECT_EQ(s.first, 1.0);
  EXPECT_EQ(s.last, 2.0);  // later arrival at the same timestamp is the live value
}

TEST(LiveState, CrossingAMinuteBoundaryStartsANewBucketWhileTheHourKeepsAccumulating) {
  LiveState state;
  Recorder rec;
  state.set_publisher(rec.publisher());
  const TimeNs a = kT0 + 59 * kSec + 500 * kNanosPerMilli;  // 10:00:59.5
  const TimeNs b = kT0 + kMin;                              // 10:01:00.000 exactly
  const TimeNs c = kT0 + kMin + 1;
  state.apply(std::vector<TaggedSample>{TS(0, kT0, 10.0), TS(0, a, 20.0)});
  state.apply(std::vector<TaggedSample>{TS(0, b, 30.0, Quality::uncertain)});
  state.apply(std::vector<TaggedSample>{TS(0, c, 40.0)});
  const auto changes = rec.all_changes();
  ASSERT_EQ(changes.size(), 4u);

  // After the second sample: still the 10:00 minute.
  EXPECT_EQ(bucket(changes[1], Interval::minute).start, kT0);
  EXPECT_EQ(bucket(changes[1], Interval::minute).count, 2u);
  EXPECT_EQ(bucket(changes[1], Interval::second).start, kT0 + 59 * kSec);
  EXPECT_EQ(bucket(changes[1], Interval::second).count, 1u);

  // The sample at exactly 10:01:00 opens a new minute bucket.
  const Aggregate& m = bucket(changes[2], Interval::minute);
  EXPECT_EQ(m.start, kT0 + kMin);
  EXPECT_EQ(m.count, 1u);
  EXPECT_EQ(m.first, 30.0);
  EXPECT_EQ(m.last, 30.0);
  EXPECT_EQ(m.min, 30.0);
  EXPECT_EQ(m.max, 30.0);
  EXPECT_EQ(m.sum, 30.0);
  EXPECT_EQ(m.quality, Quality::uncertain);  // nothing carried over from the old bucket
  EXPECT_EQ(bucket(changes[2], Interval::second).start, kT0 + kMin);
  EXPECT_EQ(bucket(changes[2], Interval::second).count, 1u);
  // ... while the hour bucket keeps all three.
  const Aggregate& h = bucket(changes[2], Interval::hour);
  EXPECT_EQ(h.start, kT0);
  EXPECT_EQ(h.count, 3u);
  EXPECT_EQ(h.first, 10.0);
  EXPECT_EQ(h.last, 30.0);
  EXPECT_EQ(h.min, 10.0);
  EXPECT_EQ(h.max, 30.0);
  EXPECT_DOUBLE_EQ(h.avg(), 20.0);
  EXPECT_EQ(h.quality, Quality::uncertain);
  const Aggregate& d = bucket(changes[2], Interval::day);
  EXPECT_EQ(d.start, bucket_start(kT0, Interval::day));
  EXPECT_EQ(d.count, 3u);

  // The next sample in the same new minute accumulates there.
  const Aggregate& m2 = bucket(changes[3], Interval::minute);
  EXPECT_EQ(m2.start, kT0 + kMin);
  EXPECT_EQ(m2.count, 2u);
  EXPECT_EQ(m2.first, 30.0);
  EXPECT_EQ(m2.last, 40.0);
  EXPECT_EQ(bucket(changes[3], Interval::second).count, 2u);
  EXPECT_EQ(bucket(changes[3], Interval::hour).count, 4u);
}

TEST(LiveState, CrossingAnHourBoundaryResetsMinuteAndHourButNotDay) {
  LiveState state;
  Recorder rec;
  state.set_publisher(rec.publisher());
  state.apply(std::vector<TaggedSample>{TS(5, kT0 + kHour - 1, 1.0), TS(5, kT0 + kHour, 2.0)});
  const auto changes = rec.all_changes();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(bucket(changes[1], Interval::second).count, 1u);
  EXPECT_EQ(bucket(changes[1], Interval::minute).count, 1u);
  EXPECT_EQ(bucket(changes[1], Interval::minute).start, kT0 + kHour);
  EXPECT_EQ(bucket(changes[1], Interval::hour).count, 1u);
  EXPECT_EQ(bucket(changes[1], Interval::hour).start, kT0 + kHour);
  EXPECT_EQ(bucket(changes[1], Interval::day).count, 2u);
}

TEST(LiveState, EveryBucketStartIsAlignedToItsInterval) {
  LiveState state;
  Recorder rec;
  state.set_publisher(rec.publisher());
  const TimeNs t = kT0 + 3 * kHour + 25 * kMin + 7 * kSec + 123;
  state.apply(std::vector<TaggedSample>{TS(0, t, 1.0)});
  const Change& c = rec.batches.at(0)->changes.at(0);
  for (Interval iv : kAggregatedIntervals) {
    EXPECT_EQ(bucket(c, iv).start, bucket_start(t, iv)) << to_string(iv);
    EXPECT_EQ(bucket(c, iv).count, 1u) << to_string(iv);
  }
}

TEST(LiveState, EmptyBatchPublishesNothing) {
  LiveState state(42);
  Recorder rec;
  state.set_publisher(rec.publisher());
  ApplyResult r = state.apply(std::span<const TaggedSample>{});
  EXPECT_EQ(r.accepted, 0u);
  EXPECT_EQ(r.late, 0u);
  EXPECT_TRUE(rec.batches.empty());
  EXPECT_EQ(state.last_seq(), 42u);
  // Numbering is unaffected.
  state.apply(std::vector<TaggedSample>{TS(0, kT0, 1.0)});
  ASSERT_EQ(rec.batches.size(), 1u);
  EXPECT_EQ(rec.batches[0]->first_seq(), 43u);
}

TEST(LiveState, RetractPutsBackWhatHistoryHoldsUnlessANewerSampleTookOver) {
  LiveState live;
  Recorder rec;
  live.set_publisher(rec.publisher());
  std::vector<Seq> seqs;
  live.apply(std::vector{TS(0, kT0, 1), TS(1, kT0, 10)});                       // committed
  live.apply(std::vector{TS(0, kT0 + kSec, 2), TS(1, kT0 + kSec, 20)}, &seqs);  // its commit fails
  const std::vector<std::pair<TagId, Seq>> failed{{0, seqs[0]}, {1, seqs[1]}};
  live.apply(std::vector{TS(1, kT0 + 2 * kSec, 30)});  // newer, and fine
  rec.batches.clear();

  const auto held = [](TagId tag) -> std::optional<HeldValue> {
    const Sample s{kT0, tag == 0 ? 1.0 : 10.0, Quality::good};
    HeldValue h{s, {}};
    for (std::size_t i = 0; i < kTierCount; ++i) h.buckets[i] = aggregate_of(s, kAggregatedIntervals[i]);
    return h;
  };
  EXPECT_EQ(live.retract(failed, held), 1u);

  const auto now = live.current(std::vector<TagId>{0, 1});
  EXPECT_EQ(now[0].latest.value, 1);                                        // back to the stored sample
  EXPECT_EQ(now[0].buckets[aggregated_index(Interval::minute)].count, 1u);  // without the failed sample
  EXPECT_EQ(now[1].latest.value, 30);                                       // the newer value stays
  const auto published = rec.all_changes();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].tag, 0u);
  EXPECT_EQ(published[0].sample.value, 1);
  EXPECT_GT(published[0].seq, seqs[1]);
  // A sample older than the failed one is live again, not late.
  EXPECT_EQ(live.apply(std::vector{TS(0, kT0 + kSec / 2, 1.5)}).accepted, 1u);
}

TEST(LiveState, RetractOfATagHistoryHoldsNothingOfLeavesItWithoutAValue) {
  LiveState live;
  std::vector<Seq> seqs;
  live.apply(std::vector{TS(3, kT0, 1)}, &seqs);
  const std::vector<std::pair<TagId, Seq>> failed{{3, seqs[0]}};
  EXPECT_EQ(live.retract(failed, [](TagId) { return std::optional<HeldValue>(); }), 1u);
  EXPECT_FALSE(live.current(std::vector<TagId>{3})[0].present);
}

}  // namespace
}  // namespace tagstream

namespace tagstream {
namespace {

TEST(LiveStateSequenced, AppliesGivenIdsSkipsLateAndRepeatedPoints) {
  LiveState live(10);
  std::vector<ChangeBatchPtr> batches;
  live.set_publisher([&](ChangeBatchPtr b) { batches.push_back(std::move(b)); });
  const std::vector<TaggedSample> first = {{0, {100, 1, Quality::good}}, {1, {100, 2, Quality::good}}};
  const std::vector<Seq> first_ids = {500, 501};
  auto r = live.apply_sequenced(first, first_ids);
  EXPECT_EQ(r.accepted, 2u);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0]->first_seq(), 500u);
  EXPECT_EQ(batches[0]->last_seq(), 501u);
  EXPECT_EQ(live.last_seq(), 501u);
  // The same point again (read back after being streamed locally), an older
  // one, and a newer one: only the newer one is a change, under its own id.
  const std::vector<TaggedSample> second = {
      {0, {100, 1, Quality::good}}, {1, {50, 9, Quality::good}}, {1, {101, 3, Quality::good}}};
  const std::vector<Seq> second_ids = {700, 701, 702};
  r = live.apply_sequenced(second, second_ids);
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(r.late, 2u);
  ASSERT_EQ(batches.size(), 2u);
  ASSERT_EQ(batches[1]->changes.size(), 1u);
  EXPECT_EQ(batches[1]->changes[0].seq, 702u);
  EXPECT_EQ(batches[1]->changes[0].sample.value, 3);
  EXPECT_EQ(live.last_seq(), 702u);  // ids may have gaps; numbering goes on after the highest
  // The same timestamp with another value replaces it, as on one node.
  const std::vector<TaggedSample> third = {{0, {100, 5, Quality::good}}};
  const std::vector<Seq> third_ids = {703};
  EXPECT_EQ(live.apply_sequenced(third, third_ids).accepted, 1u);
  const TagId tags[] = {0};
  EXPECT_EQ(live.current(tags)[0].latest.value, 5);
}

}  // namespace
}  // namespace tagstream
