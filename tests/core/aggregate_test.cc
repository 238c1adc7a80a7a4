// Buckets, aggregates, qualities and timestamps: the pure core that every
// data event and every history query is built from.
#include "core/aggregate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "core/interval.h"
#include "core/quality.h"
#include "core/time.h"

namespace tagstream {
namespace {

constexpr TimeNs kSec = kNanosPerSecond;
constexpr TimeNs kMin = 60 * kSec;
constexpr TimeNs kHour = 3600 * kSec;
constexpr TimeNs kDay = 86400 * kSec;

// 2026-11-25T10:00:00.123Z
constexpr TimeNs kSomeInstant = 1'795'600'800'123 * kNanosPerMilli;

Sample S(TimeNs ts, double v, Quality q = Quality::good) {
  return Sample{ts, v, q};
}

// ---------------------------------------------------------------- Interval

// The nesting shortcut agrees with bucket_start() in every tier, including
// the first sample (no buckets yet) and a jump across a day.
TEST(Aggregate, TiersNeedingANewBucketAgreesWithBucketStart) {
  std::mt19937_64 rng(7);
  TierBuckets current{};
  TimeNs ts = 1'795'651'200LL * kNanosPerSecond - 3 * kNanosPerSecond;  // 3 s before midnight
  EXPECT_EQ(tiers_needing_a_new_bucket(current, ts), 4u) << "no bucket yet";
  const std::array<TimeNs, 6> steps = {
      0, 1, kNanosPerSecond / 3, kNanosPerSecond, 61 * kNanosPerSecond, 86'400 * kNanosPerSecond};
  for (int i = 0; i < 20'000; ++i) {
    // Worked out the long way: which tiers' current buckets miss ts.
    std::size_t missing = 0;
    for (std::size_t t = 0; t < 4; ++t)
      if (current[t].count == 0 || current[t].start != bucket_start(ts, kAggregatedIntervals[t]))
        missing = t + 1;
    ASSERT_EQ(tiers_needing_a_new_bucket(current, ts), missing) << "sample " << i;
    const Sample s{ts, 1.0, Quality::good};
    for (std::size_t t = 0; t < missing; ++t) current[t] = aggregate_of(s, kAggregatedIntervals[t]);
    for (std::size_t t = missing; t < 4; ++t) current[t].add(s);
    ts += steps[rng() % steps.size()];
  }
}

TEST(Interval, WidthOfEachInterval) {
  EXPECT_EQ(interval_width(Interval::raw), 0);
  EXPECT_EQ(interval_width(Interval::second), 1'000'000'000);
  EXPECT_EQ(interval_width(Interval::minute), 60'000'000'000);
  EXPECT_EQ(interval_width(Interval::hour), 3'600'000'000'000);
  EXPECT_EQ(interval_width(Interval::day), 86'400'000'000'000);
}

TEST(Interval, RawBucketIsTheTimestampItself) {
  for (TimeNs t : {TimeNs{0}, TimeNs{1}, TimeNs{-1}, kSomeInstant, kSomeInstant + 7, -kDay - 3})
    EXPECT_EQ(bucket_start(t, Interval::raw), t);
}

TEST(Interval, BucketStartAtExactBoundaries) {
  struct Case {
    Interval iv;
    TimeNs boundary;  // a bucket start of that interval
    TimeNs width;
  };
  // Boundaries after 1970, at 1970 and before it.
  const TimeNs sec = 1'795'600'800 * kSec;  // 2026-11-25T10:00:00Z: a boundary of every interval but day
  const TimeNs day = 1'795'564'800 * kSec;  // 2026-11-25T00:00:00Z
  const std::vector<Case> cases = {
      {Interval::second, sec + 17 * kSec, kSec},
      {Interval::second, 0, kSec},
      {Interval::second, -5 * kSec, kSec},
      {Interval::minute, sec + 3 * kMin, kMin},
      {Interval::minute, 0, kMin},
      {Interval::minute, -kMin, kMin},
      {Interval::hour, sec, kHour},
      {Interval::hour, 0, kHour},
      {Interval::hour, -kHour, kHour},
      {Interval::day, day, kDay},
      {Interval::day, 0, kDay},
      {Interval::day, -kDay, kDay},
      {Interval::day, -2'208'988'800 * kSec, kDay},  // 1900-01-01T00:00:00Z
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.iv)) + " boundary " + std::to_string(c.boundary));
    EXPECT_EQ(bucket_start(c.boundary, c.iv), c.boundary);
    EXPECT_EQ(bucket_start(c.boundary + 1, c.iv), c.boundary);
    EXPECT_EQ(bucket_start(c.boundary - 1, c.iv), c.boundary - c.width);
    EXPECT_EQ(bucket_start(c.boundary + c.width - 1, c.iv), c.boundary);
    EXPECT_EQ(bucket_start(c.boundary + c.width, c.iv), c.boundary + c.width);
  }
}

TEST(Interval, NegativeTimestampsFloorTowardsNegativeInfinity) {
  // Truncating division would put -1 ns in the bucket starting at 0.
  EXPECT_EQ(bucket_start(-1, Interval::second), -kSec);
  EXPECT_EQ(bucket_start(-1, Interval::minute), -kMin);
  EXPECT_EQ(bucket_start(-1, Interval::hour), -kHour);
  EXPECT_EQ(bucket_start(-1, Interval::day), -kDay);
  EXPECT_EQ(bucket_start(-kSec, Interval::second), -kSec);
  EXPECT_EQ(bucket_start(-kSec - 1, Interval::second), -2 * kSec);
  // 1969-07-20T20:17:40.5Z
  const TimeNs moon = -14'182'940 * kSec + kSec / 2;
  EXPECT_EQ(bucket_start(moon, Interval::second), -14'182'940 * kSec);
  EXPECT_EQ(bucket_start(moon, Interval::minute), -14'182'980 * kSec);  // 20:17:00
  EXPECT_EQ(bucket_start(moon, Interval::hour), -14'184'000 * kSec);    // 20:00:00
  EXPECT_EQ(bucket_start(moon, Interval::day), -14'256'000 * kSec);     // 1969-07-20T00:00:00Z
  EXPECT_EQ(format_iso8601(bucket_start(moon, Interval::day)), "1969-07-20T00:00:00.000Z");
}

TEST(Interval, DayBucketsAlignToUtcMidnight) {
  // Any instant of the day maps to 00:00:00Z of that day, whatever the local
  // time zone of the machine.
  EXPECT_EQ(format_iso8601(bucket_start(kSomeInstant, Interval::day)), "2026-11-25T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(bucket_start(kSomeInstant, Interval::hour)), "2026-11-25T10:00:00.000Z");
  EXPECT_EQ(format_iso8601(bucket_start(kSomeInstant + 59 * kMin, Interval::minute)),
            "2026-11-25T10:59:00.000Z");
  const TimeNs last_ns_of_leap_day = 1'709'251'200 * kSec - 1;  // 2024-02-29T23:59:59.999999999Z
  EXPECT_EQ(format_iso8601(bucket_start(last_ns_of_leap_day, Interval::day)), "2024-02-29T00:00:00.000Z");
  EXPECT_EQ(bucket_start(last_ns_of_leap_day + 1, Interval::day), 1'709'251'200 * kSec);
  for (TimeNs t : {kSomeInstant, TimeNs{-1}, -14'182'940 * kSec, last_ns_of_leap_day}) {
    const TimeNs d = bucket_start(t, Interval::day);
    EXPECT_EQ(d % kDay, 0) << t;
    EXPECT_LE(d, t);
    EXPECT_GT(d + kDay, t);
  }
}

TEST(Interval, ToStringAndParseRoundTrip) {
  const std::vector<std::pair<Interval, std::string_view>> all = {{Interval::raw, "raw"},
                                                                  {Interval::second, "second"},
                                                                  {Interval::minute, "minute"},
                                                                  {Interval::hour, "hour"},
                                                                  {Interval::day, "day"}};
  ASSERT_EQ(all.size(), kIntervalCount);
  for (auto [iv, name] : all) {
    EXPECT_EQ(to_string(iv), name);
    ASSERT_TRUE(parse_interval(name).has_value()) << name;
    EXPECT_EQ(*parse_interval(name), iv);
    EXPECT_EQ(*parse_interval(to_string(iv)), iv);
  }
  for (std::string_view bad : {"", "Minute", "MINUTE", "min", "1m", "minutes", " minute", "week"})
    EXPECT_FALSE(parse_interval(bad).has_value()) << bad;
}

TEST(Interval, AggregatedIntervalsAndIndexes) {
  ASSERT_EQ(kAggregatedIntervals.size(), 4u);
  EXPECT_EQ(kAggregatedIntervals[0], Interval::second);
  EXPECT_EQ(kAggregatedIntervals[3], Interval::day);
  for (std::size_t i = 0; i < kAggregatedIntervals.size(); ++i)
    EXPECT_EQ(aggregated_index(kAggregatedIntervals[i]), i);
}

// ---------------------------------------------------------------- Quality

TEST(Quality, ToStringAndParseRoundTrip) {
  for (Quality q : {Quality::good, Quality::uncertain, Quality::bad}) {
    ASSERT_TRUE(parse_quality(to_string(q)).has_value());
    EXPECT_EQ(*parse_quality(to_string(q)), q);
  }
  EXPECT_EQ(to_string(Quality::good), "good");
  EXPECT_EQ(to_string(Quality::uncertain), "uncertain");
  EXPECT_EQ(to_string(Quality::bad), "bad");
  for (std::string_view bad : {"", "Good", "GOOD", "ok", "0", "uncertain ", "bad\n"})
    EXPECT_FALSE(parse_quality(bad).has_value()) << bad;
}

TEST(Quality, CombineRuleForEveryPair) {
  using Q = Quality;
  EXPECT_EQ(combine(Q::good, Q::good), Q::good);
  EXPECT_EQ(combine(Q::good, Q::uncertain), Q::uncertain);
  EXPECT_EQ(combine(Q::uncertain, Q::good), Q::uncertain);
  EXPECT_EQ(combine(Q::uncertain, Q::uncertain), Q::uncertain);
  EXPECT_EQ(combine(Q::good, Q::bad), Q::bad);
  EXPECT_EQ(combine(Q::bad, Q::good), Q::bad);
  EXPECT_EQ(combine(Q::uncertain, Q::bad), Q::bad);
  EXPECT_EQ(combine(Q::bad, Q::uncertain), Q::bad);
  EXPECT_EQ(combine(Q::bad, Q::bad), Q::bad);
  // Associative, so merge order never matters.
  const Q all[] = {Q::good, Q::uncertain, Q::bad};
  for (Q a : all)
    for (Q b : all)
      for (Q c : all) EXPECT_EQ(combine(combine(a, b), c), combine(a, combine(b, c)));
}

// ---------------------------------------------------------------- Time

TEST(Time, FormatIso8601KnownInstants) {
  EXPECT_EQ(format_iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(kSomeInstant), "2026-11-25T10:00:00.123Z");
  EXPECT_EQ(format_iso8601(951'868'799'999 * kNanosPerMilli), "2000-02-29T23:59:59.999Z");
  EXPECT_EQ(format_iso8601(1'709'164'800'000 * kNanosPerMilli), "2024-02-29T00:00:00.000Z");
  // Before 1970.
  EXPECT_EQ(format_iso8601(-14'182'940 * kSec), "1969-07-20T20:17:40.000Z");
  EXPECT_EQ(format_iso8601(-2'208'988'800 * kSec), "1900-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(-kDay), "1969-12-31T00:00:00.000Z");
}

TEST(Time, FormatIso8601RoundsMillisecondsTowardNegativeInfinity) {
  // Sub-millisecond parts are dropped downwards, never rounded to nearest.
  EXPECT_EQ(format_iso8601(kSomeInstant + 999'999), "2026-11-25T10:00:00.123Z");
  EXPECT_EQ(format_iso8601(kSomeInstant - 1), "2026-11-25T10:00:00.122Z");
  EXPECT_EQ(format_iso8601(999'999), "1970-01-01T00:00:00.000Z");
  // -1 ns is in the last millisecond of 1969, not at 00:00:00.000 of 1970.
  EXPECT_EQ(format_iso8601(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601(-kNanosPerMilli), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601(-kNanosPerMilli - 1), "1969-12-31T23:59:59.998Z");
  EXPECT_EQ(format_iso8601(-14'182'940 * kSec + 1), "1969-07-20T20:17:40.000Z");
  EXPECT_EQ(format_iso8601(-14'182'940 * kSec - 1), "1969-07-20T20:17:39.999Z");
}

TEST(Time, FloorDivAndToMillis) {
  EXPECT_EQ(floor_div(7, 2), 3);
  EXPECT_EQ(floor_div(-7, 2), -4);
  EXPECT_EQ(floor_div(-8, 2), -4);
  EXPECT_EQ(floor_div(0, 5), 0);
  EXPECT_EQ(floor_div(7, -2), -4);
  EXPECT_EQ(floor_div(-7, -2), 3);
  EXPECT_EQ(to_millis(1'999'999), 1);
  EXPECT_EQ(to_millis(-1), -1);
  EXPECT_EQ(to_millis(-1'000'000), -1);
  EXPECT_EQ(to_millis(-1'000'001), -2);
}

// ---------------------------------------------------------------- Aggregate

TEST(Aggregate, EmptyAggregate) {
  Aggregate a;
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.count, 0u);
  EXPECT_EQ(a.avg(), 0.0);
}

TEST(Aggregate, AddComputesAllFields) {
  Aggregate a;
  a.start = 60 * kSec;
  a.add(S(61 * kSec, 4.0));
  a.add(S(62 * kSec, -2.5));
  a.add(S(63 * kSec, 10.0));
  a.add(S(64 * kSec, 1.5));
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a.start, 60 * kSec);  // add never moves the bucket
  EXPECT_EQ(a.count, 4u);
  EXPECT_DOUBLE_EQ(a.sum, 13.0);
  EXPECT_DOUBLE_EQ(a.avg(), 3.25);
  EXPECT_EQ(a.min, -2.5);
  EXPECT_EQ(a.max, 10.0);
  EXPECT_EQ(a.first, 4.0);
  EXPECT_EQ(a.first_ts, 61 * kSec);
  EXPECT_EQ(a.last, 1.5);
  EXPECT_EQ(a.last_ts, 64 * kSec);
  EXPECT_EQ(a.quality, Quality::good);
}

TEST(Aggregate, SingleSample) {
  Aggregate a;
  a.add(S(5, -7.0, Quality::uncertain));
  EXPECT_EQ(a.count, 1u);
  EXPECT_EQ(a.avg(), -7.0);
  EXPECT_EQ(a.min, -7.0);
  EXPECT_EQ(a.max, -7.0);
  EXPECT_EQ(a.first, -7.0);
  EXPECT_EQ(a.last, -7.0);
  EXPECT_EQ(a.first_ts, 5);
  EXPECT_EQ(a.last_ts, 5);
  EXPECT_EQ(a.quality, Quality::uncertain);
}

TEST(Aggregate, AllNegativeValuesMinMax) {
  // min/max must not be seeded with 0.
  Aggregate a;
  a.add(S(1, -3.0));
  a.add(S(2, -1.0));
  a.add(S(3, -2.0));
  EXPECT_EQ(a.min, -3.0);
  EXPECT_EQ(a.max, -1.0);
  Aggregate b;
  b.add(S(1, 3.0));
  b.add(S(2, 5.0));
  EXPECT_EQ(b.min, 3.0);
}

TEST(Aggregate, OutOfOrderFirstAndLastFollowTimestamps) {
  Aggregate a;
  a.add(S(50, 5.0));
  a.add(S(10, 1.0));  // earlier than everything so far: becomes first
  a.add(S(90, 9.0));  // latest: becomes last
  a.add(S(30, 3.0));  // in the middle: changes neither
  EXPECT_EQ(a.first, 1.0);
  EXPECT_EQ(a.first_ts, 10);
  EXPECT_EQ(a.last, 9.0);
  EXPECT_EQ(a.last_ts, 90);
  EXPECT_EQ(a.count, 4u);
  EXPECT_EQ(a.min, 1.0);
  EXPECT_EQ(a.max, 9.0);
  EXPECT_DOUBLE_EQ(a.avg(), 4.5);

  // Arrival in fully reversed order.
  Aggregate r;
  for (int i = 9; i >= 0; --i) r.add(S(i, i * 10.0));
  EXPECT_EQ(r.first, 0.0);
  EXPECT_EQ(r.first_ts, 0);
  EXPECT_EQ(r.last, 90.0);
  EXPECT_EQ(r.last_ts, 9);
}

TEST(Aggregate, EqualTimestampsLaterArrivalWinsLastEarlierKeepsFirst) {
  Aggregate a;
  a.add(S(100, 1.0));
  a.add(S(100, 2.0));
  a.add(S(100, 3.0));
  EXPECT_EQ(a.first, 1.0);
  EXPECT_EQ(a.last, 3.0);
  EXPECT_EQ(a.first_ts, 100);
  EXPECT_EQ(a.last_ts, 100);

  // Ties at the edges after other samples.
  Aggregate b;
  b.add(S(20, 7.0));
  b.add(S(10, 1.0));
  b.add(S(10, 2.0));  // same ts as first: first stays 1
  b.add(S(20, 8.0));  // same ts as last: last becomes 8
  EXPECT_EQ(b.first, 1.0);
  EXPECT_EQ(b.last, 8.0);
}

TEST(Aggregate, BucketQualityCombinations) {
  using Q = Quality;
  struct Case {
    std::vector<Q> qs;
    Q expected;
  };
  const std::vector<Case> cases = {
      {{Q::good}, Q::good},
      {{Q::uncertain}, Q::uncertain},
      {{Q::bad}, Q::bad},
      {{Q::good, Q::good, Q::good}, Q::good},
      {{Q::good, Q::uncertain}, Q::uncertain},
      {{Q::uncertain, Q::good}, Q::uncertain},
      {{Q::good, Q::good, Q::uncertain, Q::good}, Q::uncertain},
      {{Q::good, Q::bad}, Q::bad},
      {{Q::bad, Q::good}, Q::bad},
      {{Q::uncertain, Q::bad, Q::good}, Q::bad},
      {{Q::good, Q::good, Q::good, Q::bad}, Q::bad},
      {{Q::bad, Q::good, Q::good, Q::good}, Q::bad},  // a bad sample is never forgotten
      {{Q::uncertain, Q::uncertain}, Q::uncertain},
  };
  for (const Case& c : cases) {
    Aggregate a;
    TimeNs t = 0;
    for (Q q : c.qs) a.add(S(++t, 1.0, q));
    EXPECT_EQ(a.quality, c.expected) << "case with " << c.qs.size() << " samples";
  }
}

TEST(Aggregate, AggregateOfPutsTheSampleInItsBucket) {
  const Sample s = S(kSomeInstant + 5, 2.5, Quality::uncertain);
  const Aggregate a = aggregate_of(s, Interval::minute);
  EXPECT_EQ(a.start, bucket_start(s.ts, Interval::minute));
  EXPECT_EQ(format_iso8601(a.start), "2026-11-25T10:00:00.000Z");
  EXPECT_EQ(a.count, 1u);
  EXPECT_EQ(a.first, 2.5);
  EXPECT_EQ(a.last, 2.5);
  EXPECT_EQ(a.quality, Quality::uncertain);
  const Aggregate d = aggregate_of(S(-1, 1.0), Interval::day);
  EXPECT_EQ(d.start, -kDay);
}

TEST(Aggregate, MergeWithEmptyIsIdentity) {
  Aggregate a;
  a.start = 1000;
  a.add(S(1010, 3.0, Quality::uncertain));
  a.add(S(1005, -1.0));
  a.add(S(1020, 8.0));
  const Aggregate before = a;

  a.merge(Aggregate{});  // x + empty = x
  EXPECT_EQ(a, before);

  Aggregate empty;
  empty.start = 1000;
  empty.merge(before);  // empty + x = x
  EXPECT_EQ(empty, before);

  Aggregate other_start;
  other_start.start = 4242;
  other_start.merge(before);  // start of the receiving bucket is kept
  EXPECT_EQ(other_start.start, 4242);
  Aggregate expected = before;
  expected.start = 4242;
  EXPECT_EQ(other_start, expected);

  Aggregate e1, e2;
  e1.merge(e2);
  EXPECT_TRUE(e1.empty());
  EXPECT_EQ(e1, Aggregate{});
}

TEST(Aggregate, MergeCombinesFields) {
  Aggregate a, b;
  a.add(S(20, 2.0));
  a.add(S(30, 3.0, Quality::uncertain));
  b.add(S(10, 10.0));
  b.add(S(40, -4.0));
  a.merge(b);
  EXPECT_EQ(a.count, 4u);
  EXPECT_DOUBLE_EQ(a.sum, 11.0);
  EXPECT_EQ(a.min, -4.0);
  EXPECT_EQ(a.max, 10.0);
  EXPECT_EQ(a.first, 10.0);
  EXPECT_EQ(a.first_ts, 10);
  EXPECT_EQ(a.last, -4.0);
  EXPECT_EQ(a.last_ts, 40);
  EXPECT_EQ(a.quality, Quality::uncertain);
}

// Brute force: every field from the whole sample list, independently of add().
struct Expected {
  double sum = 0, min = 0, max = 0, first = 0, last = 0;
  TimeNs first_ts = 0, last_ts = 0;
  std::uint64_t count = 0;
  Quality quality = Quality::good;
};

Expected brute_force(const std::vector<Sample>& samples) {
  Expected e;
  e.count = samples.size();
  e.min = std::numeric_limits<double>::infinity();
  e.max = -std::numeric_limits<double>::infinity();
  bool any_bad = false, all_good = true;
  const Sample* first = &samples.front();
  const Sample* last = &samples.front();
  for (const Sample& s : samples) {
    e.sum += s.value;
    e.min = std::min(e.min, s.value);
    e.max = std::max(e.max, s.value);
    if (s.ts < first->ts) first = &s;
    if (s.ts > last->ts) last = &s;
    any_bad |= s.quality == Quality::bad;
    all_good &= s.quality == Quality::good;
  }
  e.first = first->value;
  e.first_ts = first->ts;
  e.last = last->value;
  e.last_ts = last->ts;
  e.quality = any_bad ? Quality::bad : all_good ? Quality::good : Quality::uncertain;
  return e;
}

void expect_matches(const Aggregate& a, const Expected& e) {
  ASSERT_EQ(a.count, e.count);
  const double avg = e.sum / static_cast<double>(e.count);
  EXPECT_NEAR(a.avg(), avg, 1e-9 * std::max(1.0, std::abs(avg)));
  EXPECT_EQ(a.min, e.min);
  EXPECT_EQ(a.max, e.max);
  EXPECT_EQ(a.first, e.first);
  EXPECT_EQ(a.first_ts, e.first_ts);
  EXPECT_EQ(a.last, e.last);
  EXPECT_EQ(a.last_ts, e.last_ts);
  EXPECT_EQ(a.quality, e.quality);
}

TEST(Aggregate, PropertyMergeEqualsAddingEverySampleDirectly) {
  std::mt19937_64 rng(20261125);
  std::uniform_real_distribution<double> value(-1e6, 1e6);
  std::uniform_int_distribution<int> quality_pick(0, 19);
  std::vector<TimeNs> offsets(kMin / kNanosPerMilli);
  std::iota(offsets.begin(), offsets.end(), TimeNs{0});
  for (int round = 0; round < 300; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 200)(rng);
    // Distinct timestamps (so first/last are unambiguous whatever the merge
    // order), within one minute bucket, in random arrival order.
    const TimeNs bucket = bucket_start(kSomeInstant + round * kMin, Interval::minute);
    std::vector<Sample> samples;
    for (std::size_t i = 0; i < n; ++i) {
      // Partial Fisher-Yates: n distinct millisecond offsets in random order.
      std::swap(offsets[i], offsets[std::uniform_int_distribution<std::size_t>(i, offsets.size() - 1)(rng)]);
      const int qp = quality_pick(rng);
      // Mostly good, so "all good" buckets happen too.
      const Quality q = qp < 16 ? Quality::good : qp < 19 ? Quality::uncertain : Quality::bad;
      samples.push_back(S(bucket + offsets[i] * kNanosPerMilli, value(rng), q));
    }

    // Direct add, in arrival order.
    Aggregate direct;
    direct.start = bucket;
    for (const Sample& s : samples) direct.add(s);
    const Expected expected = brute_force(samples);
    expect_matches(direct, expected);

    // Split randomly into sub-buckets (some possibly empty), merge in random order.
    const std::size_t parts = std::uniform_int_distribution<std::size_t>(1, 12)(rng);
    std::vector<Aggregate> sub(parts);
    for (const Sample& s : samples) sub[std::uniform_int_distribution<std::size_t>(0, parts - 1)(rng)].add(s);
    std::shuffle(sub.begin(), sub.end(), rng);
    Aggregate merged;
    merged.start = bucket;
    for (const Aggregate& a : sub) merged.merge(a);
    EXPECT_EQ(merged.start, bucket);
    expect_matches(merged, expected);

    // Tree-shaped merge (rollups of rollups) gives the same answer.
    std::vector<Aggregate> level = sub;
    while (level.size() > 1) {
      std::vector<Aggregate> next;
      for (std::size_t i = 0; i + 1 < level.size(); i += 2) {
        Aggregate m = level[i + 1];
        m.merge(level[i]);
        next.push_back(m);
      }
      if (level.size() % 2) next.push_back(level.back());
      level = std::move(next);
    }
    expect_matches(level.front(), expected);
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace tagstream
