#include "store/block_codec.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace tagstream {
namespace {

std::uint64_t bits(double d) {
  return std::bit_cast<std::uint64_t>(d);
}

// Bit for bit: operator== takes -0.0 for 0.0.
void expect_same(const RawPoint& got, const RawPoint& want, std::size_t i) {
  EXPECT_EQ(got.ts, want.ts) << i;
  EXPECT_EQ(bits(got.value), bits(want.value)) << i << ": " << got.value << " for " << want.value;
  EXPECT_EQ(got.quality, want.quality) << i;
  EXPECT_EQ(got.seq, want.seq) << i;
}

void expect_same(const Aggregate& got, const Aggregate& want, std::size_t i) {
  EXPECT_EQ(got.start, want.start) << i;
  EXPECT_EQ(bits(got.sum), bits(want.sum)) << i << ": sum " << got.sum << " for " << want.sum;
  EXPECT_EQ(bits(got.min), bits(want.min)) << i << ": min " << got.min << " for " << want.min;
  EXPECT_EQ(bits(got.max), bits(want.max)) << i << ": max " << got.max << " for " << want.max;
  EXPECT_EQ(bits(got.first), bits(want.first)) << i << ": first " << got.first << " for " << want.first;
  EXPECT_EQ(bits(got.last), bits(want.last)) << i << ": last " << got.last << " for " << want.last;
  EXPECT_EQ(got.first_ts, want.first_ts) << i;
  EXPECT_EQ(got.last_ts, want.last_ts) << i;
  EXPECT_EQ(got.count, want.count) << i;
  EXPECT_EQ(got.quality, want.quality) << i;
}

void expect_same(const StoredSample& got, const StoredSample& want, std::size_t i) {
  EXPECT_EQ(got.tag, want.tag) << i;
  EXPECT_EQ(got.sample.ts, want.sample.ts) << i;
  EXPECT_EQ(bits(got.sample.value), bits(want.sample.value))
      << i << ": " << got.sample.value << " for " << want.sample.value;
  EXPECT_EQ(got.sample.quality, want.sample.quality) << i;
  EXPECT_EQ(got.seq, want.seq) << i;
}

template <class Item>
void expect_same(const std::vector<Item>& got, const std::vector<Item>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) expect_same(got[i], want[i], i);
}

std::vector<RawPoint> round_trip(const std::vector<RawPoint>& points) {
  std::vector<RawPoint> back;
  decode_block(encode_block(std::span<const RawPoint>(points)), back);
  return back;
}
std::vector<Aggregate> round_trip(const std::vector<Aggregate>& buckets) {
  std::vector<Aggregate> back;
  decode_block(encode_block(std::span<const Aggregate>(buckets)), back);
  return back;
}
std::vector<StoredSample> round_trip(const std::vector<StoredSample>& samples) {
  std::vector<StoredSample> back;
  decode_journal(encode_journal(samples), back);
  return back;
}

constexpr TimeNs kT0 = 1'795'651'200'000'000'000;  // 2026-11-26T00:00:00Z

/// Values of the kinds a store sees, one kind per series: decimals with a
/// few digits as a random walk, noise or a ramp, arbitrary doubles, awkward
/// ones, and a mix of all.
class Values {
 public:
  Values(std::mt19937_64& rng, int kind)
      : rng_(rng),
        kind_(kind),
        digits_(static_cast<int>(rng() % 8)),
        walk_(static_cast<std::int64_t>(rng() % 2'000'000)) {}

  double next() {
    switch (kind_) {
      case 0: {  // a random walk of decimals, with runs of equal values
        if (rng_() % 4) walk_ += static_cast<std::int64_t>(rng_() % 201) - 100;
        return static_cast<double>(walk_) / std::pow(10.0, digits_);
      }
      case 1: {  // noise, like the benchmark's values
        return static_cast<double>(100000 + rng_() % 900000) / 1000.0;
      }
      case 2: {  // arbitrary finite doubles, denormals and all
        double d;
        do d = std::bit_cast<double>(rng_());
        while (!std::isfinite(d));
        return d;
      }
      case 3: return awkward();
      default: {
        const int k = static_cast<int>(rng_() % 4);
        if (k == 0) return awkward();
        if (k == 1) return std::bit_cast<double>(rng_() & 0x7fefffffffffffffULL);  // finite
        return static_cast<double>(static_cast<std::int64_t>(rng_() % 2'000'001) - 1'000'000) /
               std::pow(10.0, static_cast<double>(rng_() % 10));
      }
    }
  }

 private:
  double awkward() {
    static const double kAwkward[] = {0.0,
                                      -0.0,
                                      1.0,
                                      -1.0,
                                      0.1 + 0.2,
                                      0.1,
                                      1e300,
                                      -1e300,
                                      std::numeric_limits<double>::max(),
                                      std::numeric_limits<double>::lowest(),
                                      std::numeric_limits<double>::min(),
                                      std::numeric_limits<double>::denorm_min(),
                                      -std::numeric_limits<double>::denorm_min(),
                                      3 * std::numeric_limits<double>::denorm_min(),
                                      0x1p53,
                                      0x1p53 + 2,
                                      -0x1p53,
                                      0x1p53 - 1,
                                      0x1p63,
                                      -0x1p63,
                                      0x1p64,
                                      1e22,
                                      1e23,
                                      9007199.254740993,
                                      123456789.123456789,
                                      0.000000001,
                                      0.0000000015,
                                      1e-300,
                                      512.34,
                                      512.340000001,
                                      81.30000305175781,  // a float widened to double
                                      -4.5,
                                      2.5,
                                      0.5};
    return kAwkward[rng_() % std::size(kAwkward)];
  }

  std::mt19937_64& rng_;
  int kind_;
  int digits_;
  std::int64_t walk_;
};

/// Timestamps: regular, jittered, irregular, late (going back), and from
/// anywhere in the int64 range.
class Times {
 public:
  Times(std::mt19937_64& rng, int kind)
      : rng_(rng), kind_(kind), t_(kT0 + static_cast<TimeNs>(rng() % 1000)) {}
  TimeNs next() {
    switch (kind_) {
      case 0: return t_ += kNanosPerSecond;
      case 1: return t_ += kNanosPerSecond + static_cast<TimeNs>(rng_() % 2001) - 1000;
      case 2: return t_ += static_cast<TimeNs>(rng_() % 3'000'000'000ULL);
      case 3: return t_ += static_cast<TimeNs>(rng_() % 3'000'000'000ULL) - 1'000'000'000;
      default: {
        static const TimeNs kEdges[] = {std::numeric_limits<TimeNs>::min(),
                                        std::numeric_limits<TimeNs>::max(), 0, -1, 1};
        if (rng_() % 3 == 0) return kEdges[rng_() % std::size(kEdges)];
        return static_cast<TimeNs>(rng_());
      }
    }
  }

 private:
  std::mt19937_64& rng_;
  int kind_;
  TimeNs t_;
};

/// Event ids: regular steps, jittered, 0 (late samples) among them, going
/// back (blocks merged out of order), and anything.
class Seqs {
 public:
  Seqs(std::mt19937_64& rng, int kind) : rng_(rng), kind_(kind), s_(rng() % 1'000'000) {}
  Seq next() {
    switch (kind_) {
      case 0: return s_ += 1000;
      case 1: return s_ += 990 + rng_() % 21;
      case 2: return rng_() % 3 == 0 ? 0 : s_ += 1 + rng_() % 5000;
      case 3: return s_ += rng_() % 5000 - 2500;
      default: return rng_() % 4 == 0 ? std::numeric_limits<Seq>::max() : rng_();
    }
  }

 private:
  std::mt19937_64& rng_;
  int kind_;
  Seq s_;
};

Quality random_quality(std::mt19937_64& rng) {
  return static_cast<Quality>(rng() % 3);
}

TEST(BlockCodec, RawPointsRoundTripBitExact) {
  std::mt19937_64 rng(1);
  std::vector<RawPoint> points;
  TimeNs ts = -5'000'000'000;  // before the epoch too
  for (int i = 0; i < 1000; ++i) {
    ts += static_cast<TimeNs>(rng() % 3'000'000'000ULL) + 1;
    points.push_back(RawPoint{ts, std::ldexp(static_cast<double>(rng() % 100000) - 50000, -7),
                              static_cast<Quality>(rng() % 3), i % 5 == 0 ? 0 : 1000 + rng() % 100000});
  }
  points.push_back(RawPoint{ts + 1, -0.0, Quality::good, 7});
  points.push_back(RawPoint{std::numeric_limits<TimeNs>::max(), std::numeric_limits<double>::max(),
                            Quality::bad, std::numeric_limits<Seq>::max()});
  points.push_back(RawPoint{std::numeric_limits<TimeNs>::min(), 0.1 + 0.2, Quality::good, 0});
  expect_same(round_trip(points), points);
}

TEST(BlockCodec, RawPointsRoundTripRandomSeries) {
  std::mt19937_64 rng(2);
  for (int round = 0; round < 600; ++round) {
    Values values(rng, round % 5);
    Times times(rng, round / 5 % 5);
    Seqs seqs(rng, round / 25 % 5);
    std::vector<RawPoint> points(1 + rng() % (round % 7 == 0 ? 3 : 300));
    for (RawPoint& p : points) p = RawPoint{times.next(), values.next(), random_quality(rng), seqs.next()};
    SCOPED_TRACE(round);
    expect_same(round_trip(points), points);
    if (HasFatalFailure() || HasNonfatalFailure()) return;
  }
}

TEST(BlockCodec, ValuesNeedingMoreDigitsLaterInTheBlockRoundTrip) {
  // The scale is guessed from the first points; later ones that need more
  // digits, or fit no scale, must come back all the same.
  std::vector<RawPoint> points;
  for (int i = 0; i < 10; ++i) points.push_back(RawPoint{kT0 + i, static_cast<double>(i), Quality::good, 1});
  points.push_back(RawPoint{kT0 + 10, 0.123456789, Quality::good, 2});   // 9 digits
  points.push_back(RawPoint{kT0 + 11, 0.1234567891, Quality::good, 3});  // 10: raw
  points.push_back(RawPoint{kT0 + 12, 8e6, Quality::good, 4});           // 8e15 at 9 digits: still fits
  points.push_back(RawPoint{kT0 + 13, 1e7, Quality::good, 5});           // 1e16 does not: raw
  points.push_back(RawPoint{kT0 + 14, -0.0, Quality::good, 6});
  for (int i = 0; i < 30; ++i) points.push_back(RawPoint{kT0 + 20 + i, 1.0 / (i + 3), Quality::good, 7});
  for (int i = 0; i < 10; ++i) points.push_back(RawPoint{kT0 + 50 + i, i + 0.5, Quality::good, 8});
  expect_same(round_trip(points), points);

  // Arbitrary doubles first, decimals after: the search for a scale gives
  // up on the former and still finds one.
  std::vector<RawPoint> mixed;
  for (int i = 0; i < 40; ++i) mixed.push_back(RawPoint{kT0 + i, std::sqrt(i + 2.0), Quality::good, 0});
  for (int i = 0; i < 40; ++i)
    mixed.push_back(RawPoint{kT0 + 40 + i, (512340 + i) / 1000.0, Quality::good, 0});
  expect_same(round_trip(mixed), mixed);
}

Aggregate random_bucket(std::mt19937_64& rng, Values& values, TimeNs start, TimeNs width) {
  const int kind = static_cast<int>(rng() % 4);
  if (kind == 0) {  // one sample: stored as that sample alone
    const TimeNs ts = start + static_cast<TimeNs>(rng() % static_cast<std::uint64_t>(width));
    Aggregate a = aggregate_of(Sample{ts, values.next(), random_quality(rng)}, Interval::second);
    a.start = start;
    return a;
  }
  Aggregate a;
  a.start = start;
  if (kind == 3) {  // any fields at all
    a.sum = values.next();
    a.min = values.next();
    a.max = values.next();
    a.first = values.next();
    a.last = values.next();
    a.first_ts = static_cast<TimeNs>(rng());
    a.last_ts = rng() % 2 ? static_cast<TimeNs>(rng()) : a.first_ts;
    a.count = rng() % 2 ? rng() : 1;
    a.quality = random_quality(rng);
    return a;
  }
  const int n = 1 + static_cast<int>(rng() % 60);
  for (int i = 0; i < n; ++i) {
    const Sample s{start + static_cast<TimeNs>(rng() % static_cast<std::uint64_t>(width)), values.next(),
                   random_quality(rng)};
    if (i == 0) {
      a = Aggregate{};
      a.start = start;
      a.sum = a.min = a.max = a.first = a.last = s.value;
      a.first_ts = a.last_ts = s.ts;
      a.count = 1;
      a.quality = s.quality;
    } else {
      a.add(s);
    }
  }
  if (kind == 2) a.max += 1;  // fields that disagree: a one-sample bucket is then not "single"
  return a;
}

TEST(BlockCodec, BucketsRoundTripIncludingSingleSampleBuckets) {
  std::vector<Aggregate> buckets;
  const TimeNs t0 = kT0;
  buckets.push_back(aggregate_of(Sample{t0 + 250'000'000, 81.5, Quality::uncertain}, Interval::second));
  Aggregate many = aggregate_of(Sample{t0 + kNanosPerSecond + 10, 3.0, Quality::good}, Interval::second);
  many.add(Sample{t0 + kNanosPerSecond + 5, -1.0, Quality::bad});
  many.add(Sample{t0 + kNanosPerSecond + 900'000'000, 7.25, Quality::good});
  buckets.push_back(many);
  // A one-sample bucket whose fields disagree is not taken for a single sample.
  Aggregate odd = aggregate_of(Sample{t0 + 2 * kNanosPerSecond, 1.0, Quality::good}, Interval::second);
  odd.max = 2.0;
  buckets.push_back(odd);
  buckets.push_back(aggregate_of(Sample{t0 + 3 * kNanosPerSecond, -0.0, Quality::good}, Interval::second));
  Aggregate extreme = many;
  extreme.start = std::numeric_limits<TimeNs>::min();
  extreme.first_ts = std::numeric_limits<TimeNs>::max();
  extreme.last_ts = std::numeric_limits<TimeNs>::min();
  extreme.count = std::numeric_limits<std::uint64_t>::max();
  extreme.sum = 0.1 + 0.2;
  buckets.push_back(extreme);
  expect_same(round_trip(buckets), buckets);
}

TEST(BlockCodec, BucketsRoundTripRandomTiers) {
  std::mt19937_64 rng(3);
  const TimeNs widths[] = {kNanosPerSecond, 60 * kNanosPerSecond, 3600 * kNanosPerSecond,
                           86400 * kNanosPerSecond};
  for (int round = 0; round < 400; ++round) {
    Values values(rng, round % 5);
    const TimeNs width = widths[round / 5 % 4];
    const bool gaps = round / 20 % 2;
    std::vector<Aggregate> buckets(1 + rng() % 256);
    TimeNs start = kT0 - static_cast<TimeNs>(round) * 10 * width;
    for (Aggregate& a : buckets) {
      a = random_bucket(rng, values, start, width);
      start += width * (gaps ? 1 + static_cast<TimeNs>(rng() % 5) : 1);
    }
    SCOPED_TRACE(round);
    expect_same(round_trip(buckets), buckets);
    if (HasFatalFailure() || HasNonfatalFailure()) return;
  }
}

TEST(BlockCodec, JournalRoundTrip) {
  std::vector<StoredSample> samples = {
      {3, Sample{100, 1.5, Quality::good}, 10},
      {0, Sample{50, -2.0, Quality::bad}, 0},
      {4'000'000'000u, Sample{-7, 0.0, Quality::uncertain}, 11},
      {UINT32_MAX, Sample{std::numeric_limits<TimeNs>::max(), -0.0, Quality::good}, 1},
      {0, Sample{std::numeric_limits<TimeNs>::min(), 1e300, Quality::good}, std::numeric_limits<Seq>::max()}};
  std::vector<StoredSample> back = {{9, Sample{1, 1, Quality::good}, 1}};  // appended to
  decode_journal(encode_journal(samples), back);
  ASSERT_EQ(back.size(), samples.size() + 1);
  expect_same(back[0], StoredSample{9, Sample{1, 1, Quality::good}, 1}, 0);
  for (std::size_t i = 0; i < samples.size(); ++i) expect_same(back[i + 1], samples[i], i);
}

TEST(BlockCodec, JournalRoundTripRandomRecords) {
  std::mt19937_64 rng(4);
  for (int round = 0; round < 300; ++round) {
    Values values(rng, round % 5);
    Seqs seqs(rng, round / 5 % 5);
    const int tag_kind = round / 25 % 3;
    const std::uint32_t tags = 1 + static_cast<std::uint32_t>(rng() % 2000);
    std::vector<StoredSample> samples(1 + rng() % 3000);
    for (std::size_t i = 0; i < samples.size(); ++i) {
      TagId tag = static_cast<TagId>(i % tags);
      if (tag_kind == 1) tag = static_cast<TagId>(rng());
      if (tag_kind == 2) tag = rng() % 2 ? 0 : UINT32_MAX;
      TimeNs ts = kT0 + static_cast<TimeNs>(i / tags) * kNanosPerSecond;
      if (round % 3 == 1) ts -= static_cast<TimeNs>(rng() % 10'000'000'000ULL);
      if (round % 3 == 2) ts = static_cast<TimeNs>(rng());
      samples[i] = StoredSample{tag, Sample{ts, values.next(), random_quality(rng)}, seqs.next()};
    }
    SCOPED_TRACE(round);
    expect_same(round_trip(samples), samples);
    if (HasFatalFailure() || HasNonfatalFailure()) return;
  }
}

// Version 1 blobs, as written by the v1 encoder (the one before version 2)
// for the items below: every database made before version 2 holds these.
const std::string kV1Raw(
    "\x04\x80\x80\x88\xc8\x95\xd0\xb7\xeb\x31\x1f\x85\xeb\x51\xb8\x02\x80\x40\x00\xd0\x0f\x80\xa8\xd6"
    "\xb9\x07\x00\x00\x00\x00\x00\x00\x00\x80\x01\xd0\x0f\xff\x93\xeb\xdc\x03\x9c\x75\x00\x88\x3c\xe4"
    "\x37\x7e\x02\x9f\x1f\x80\xbc\xc1\x96\x0b\x34\x33\x33\x33\x33\x33\xd3\x3f\x00\xb8\x17",
    69);
const std::string kV1Buckets(
    "\x02\x80\x80\x88\xc8\x95\xd0\xb7\xeb\x31\x03\x01\x00\x00\x00\x00\x00\x60\x54\x40\x80\xca\xb5\xee"
    "\x01\x80\xe0\xba\x84\xbf\x03\x06\x02\x00\x00\x00\x00\x00\x80\x22\x40\x00\x00\x00\x00\x00\x00\xf0"
    "\xbf\x00\x00\x00\x00\x00\x00\x1d\x40\x00\x00\x00\x00\x00\x00\x08\x40\x00\x00\x00\x00\x00\x00\x1d"
    "\x40\x0a\x80\xb8\xe4\xca\xb7\x03",
    80);
const std::string kV1Journal(
    "\x03\x03\x80\x80\x88\xc8\x95\xd0\xb7\xeb\x31\x00\x00\x00\x00\x00\x00\xf8\x3f\x00\x14\x00\x0d\x00"
    "\x00\x00\x00\x00\x00\x00\xc0\x02\x13\x80\xd0\xac\xf3\x0e\x10\x77\xbe\x9f\x1a\x2f\xdd\x5e\x40\x01"
    "\x16",
    49);

std::vector<RawPoint> v1_raw_points() {
  return {{kT0, 512.34, Quality::good, 1000},
          {kT0 + 1'000'000'000, -0.0, Quality::uncertain, 2000},
          {kT0 + 500'000'000, 1e300, Quality::bad, 0},
          {kT0 + 2'000'000'000, 0.1 + 0.2, Quality::good, 1500}};
}

std::vector<Aggregate> v1_buckets() {
  Aggregate single;
  single.start = kT0;
  single.sum = single.min = single.max = single.first = single.last = 81.5;
  single.first_ts = single.last_ts = kT0 + 250'000'000;
  single.count = 1;
  single.quality = Quality::uncertain;
  Aggregate full;
  full.start = kT0 + 60'000'000'000;
  full.sum = 9.25;
  full.min = -1.0;
  full.max = 7.25;
  full.first = 3.0;
  full.last = 7.25;
  full.first_ts = full.start + 5;
  full.last_ts = full.start + 59'000'000'000;
  full.count = 3;
  full.quality = Quality::bad;
  return {single, full};
}

std::vector<StoredSample> v1_journal() {
  return {{3, Sample{kT0, 1.5, Quality::good}, 10},
          {0, Sample{kT0 - 7, -2.0, Quality::bad}, 0},
          {4'000'000'000u, Sample{kT0 + 1, 123.456, Quality::uncertain}, 11}};
}

TEST(BlockCodec, ReadsVersion1Blobs) {
  std::vector<RawPoint> raw;
  decode_block(kV1Raw, raw);
  expect_same(raw, v1_raw_points());
  std::vector<Aggregate> buckets;
  decode_block(kV1Buckets, buckets);
  expect_same(buckets, v1_buckets());
  std::vector<StoredSample> journal;
  decode_journal(kV1Journal, journal);
  expect_same(journal, v1_journal());
  // What v1 made of an empty span.
  raw.clear();
  decode_block(std::string("\x00", 1), raw);
  EXPECT_TRUE(raw.empty());
}

// The v1 encoder, kept here to make old blobs of random items; it matches
// the literals above, which the real one wrote.
struct V1Writer {
  std::string out;
  void varint(std::uint64_t v) {
    for (; v >= 0x80; v >>= 7) out += static_cast<char>(v | 0x80);
    out += static_cast<char>(v);
  }
  void svarint(std::uint64_t delta) {
    varint(delta << 1 ^ static_cast<std::uint64_t>(static_cast<std::int64_t>(delta) >> 63));
  }
  void f64(double d) { out.append(reinterpret_cast<const char*>(&d), 8); }
  void point(std::uint64_t& ts, std::uint64_t& seq, const RawPoint& p) {
    svarint(static_cast<std::uint64_t>(p.ts) - ts);
    f64(p.value);
    out += static_cast<char>(p.quality);
    svarint(p.seq - seq);
    ts = static_cast<std::uint64_t>(p.ts);
    seq = p.seq;
  }
};

std::string v1_encode(const std::vector<RawPoint>& points) {
  V1Writer w;
  w.varint(points.size());
  std::uint64_t ts = 0, seq = 0;
  for (const RawPoint& p : points) w.point(ts, seq, p);
  return w.out;
}

std::string v1_encode(const std::vector<Aggregate>& buckets) {
  V1Writer w;
  w.varint(buckets.size());
  std::uint64_t prev = 0;
  for (const Aggregate& a : buckets) {
    const auto start = static_cast<std::uint64_t>(a.start);
    w.svarint(start - prev);
    prev = start;
    const bool single = a.count == 1 && a.first_ts == a.last_ts && bits(a.min) == bits(a.sum) &&
                        bits(a.max) == bits(a.sum) && bits(a.first) == bits(a.sum) &&
                        bits(a.last) == bits(a.sum);
    w.varint(a.count << 1 | (single ? 1 : 0));
    w.out += static_cast<char>(a.quality);
    w.f64(a.sum);
    if (!single) {
      w.f64(a.min);
      w.f64(a.max);
      w.f64(a.first);
      w.f64(a.last);
    }
    w.svarint(static_cast<std::uint64_t>(a.first_ts) - start);
    if (!single) w.svarint(static_cast<std::uint64_t>(a.last_ts) - start);
  }
  return w.out;
}

std::string v1_encode(const std::vector<StoredSample>& samples) {
  V1Writer w;
  w.varint(samples.size());
  std::uint64_t ts = 0, seq = 0;
  for (const StoredSample& s : samples) {
    w.varint(s.tag);
    w.point(ts, seq, RawPoint{s.sample.ts, s.sample.value, s.sample.quality, s.seq});
  }
  return w.out;
}

TEST(BlockCodec, ReadsRandomVersion1Blobs) {
  ASSERT_EQ(v1_encode(v1_raw_points()), kV1Raw);
  ASSERT_EQ(v1_encode(v1_buckets()), kV1Buckets);
  ASSERT_EQ(v1_encode(v1_journal()), kV1Journal);
  std::mt19937_64 rng(5);
  for (int round = 0; round < 100; ++round) {
    SCOPED_TRACE(round);
    Values values(rng, round % 5);
    Times times(rng, round / 5 % 5);
    Seqs seqs(rng, round / 25 % 5);
    std::vector<RawPoint> points(1 + rng() % 256);
    for (RawPoint& p : points) p = RawPoint{times.next(), values.next(), random_quality(rng), seqs.next()};
    std::vector<RawPoint> raw;
    decode_block(v1_encode(points), raw);
    expect_same(raw, points);
    std::vector<Aggregate> buckets(1 + rng() % 64);
    TimeNs start = kT0;
    for (Aggregate& a : buckets) {
      a = random_bucket(rng, values, start += 60 * kNanosPerSecond, 60 * kNanosPerSecond);
      a.count &= ~std::uint64_t{0} >> 1;  // v1 kept 63 bits of it
    }
    std::vector<Aggregate> buckets_back;
    decode_block(v1_encode(buckets), buckets_back);
    expect_same(buckets_back, buckets);
    std::vector<StoredSample> samples(1 + rng() % 500);
    for (StoredSample& s : samples)
      s = StoredSample{static_cast<TagId>(rng()), Sample{times.next(), values.next(), random_quality(rng)},
                       seqs.next()};
    std::vector<StoredSample> journal;
    decode_journal(v1_encode(samples), journal);
    expect_same(journal, samples);
    if (HasFatalFailure() || HasNonfatalFailure()) return;
  }
}

TEST(BlockCodec, WritesVersion2) {
  const std::vector<RawPoint> points = v1_raw_points();
  EXPECT_EQ(encode_block(std::span<const RawPoint>(points)).substr(0, 2), std::string("\x00\x02", 2));
  const std::vector<Aggregate> buckets = v1_buckets();
  EXPECT_EQ(encode_block(std::span<const Aggregate>(buckets)).substr(0, 2), std::string("\x00\x02", 2));
  EXPECT_EQ(encode_journal(v1_journal()).substr(0, 2), std::string("\x00\x02", 2));
}

// Sizes. Version 1 took 16 bytes for each raw point and one-sample bucket
// (ts delta 5, value 8, quality 1, seq delta 2) and about 13 for each journal
// sample; the bounds below are about 3x under that.

TEST(BlockCodec, RegularRawSeriesOfDecimalsTakesAboutTwoToFourBytesAPoint) {
  // 1 Hz, 512.340, 512.341, ... with event ids 1000 apart: 2.1 bytes a point.
  std::vector<RawPoint> ramp;
  for (int i = 0; i < 256; ++i)
    ramp.push_back(
        RawPoint{kT0 + i * kNanosPerSecond, (512340 + i) / 1000.0, Quality::good, 5000 + 1000ULL * i});
  const std::size_t ramp_bytes = encode_block(std::span<const RawPoint>(ramp)).size();
  EXPECT_LE(ramp_bytes, 3 * ramp.size()) << ramp_bytes;
  // Noise of +-50 around 500 with 3 decimals, like the benchmark's values,
  // event ids about 1000 apart: 3.9 bytes a point (the value takes 2-3).
  std::mt19937_64 rng(6);
  std::vector<RawPoint> noisy;
  Seq seq = 5000;
  for (int i = 0; i < 256; ++i)
    noisy.push_back(RawPoint{kT0 + i * kNanosPerSecond, static_cast<double>(450000 + rng() % 100001) / 1000.0,
                             Quality::good, seq += 999 + rng() % 3});
  const std::size_t noisy_bytes = encode_block(std::span<const RawPoint>(noisy)).size();
  EXPECT_LE(noisy_bytes, 5 * noisy.size()) << noisy_bytes;
  expect_same(round_trip(noisy), noisy);
}

TEST(BlockCodec, SingleSampleSecondBucketsTakeAboutFourBytes) {
  // A tag written once a second, 250 ms into each: every second-tier
  // bucket holds one sample; noisy 3-decimal values: 4.0 bytes a bucket.
  std::mt19937_64 rng(7);
  std::vector<Aggregate> buckets;
  for (int i = 0; i < 256; ++i)
    buckets.push_back(
        aggregate_of(Sample{kT0 + i * kNanosPerSecond + 250'000'000,
                            static_cast<double>(450000 + rng() % 100001) / 1000.0, Quality::good},
                     Interval::second));
  const std::size_t bytes = encode_block(std::span<const Aggregate>(buckets)).size();
  EXPECT_LE(bytes, 5 * buckets.size()) << bytes;
  expect_same(round_trip(buckets), buckets);
}

TEST(BlockCodec, JournalRecordOfManyTagsTakesAboutFourBytesASample) {
  // 5,000 samples of 1,000 tags, a round of all tags per second, values in
  // [100.000, 999.999] as the benchmark sends, event ids one apart: 4.0
  // bytes a sample (the value takes 3).
  std::mt19937_64 rng(8);
  std::vector<StoredSample> samples;
  for (int i = 0; i < 5000; ++i)
    samples.push_back(
        StoredSample{static_cast<TagId>(i % 1000),
                     Sample{kT0 + (i / 1000) * kNanosPerSecond,
                            static_cast<double>(100000 + rng() % 900000) / 1000.0, Quality::good},
                     1'000'000ULL + static_cast<Seq>(i)});
  const std::size_t bytes = encode_journal(samples).size();
  EXPECT_LE(bytes, 5 * samples.size()) << bytes;
  expect_same(round_trip(samples), samples);
}

TEST(BlockCodec, DamagedBlobsThrowInsteadOfReadingPastTheEnd) {
  std::vector<RawPoint> points = {{1, 1.0, Quality::good, 1}, {2, 2.0, Quality::good, 2}};
  const std::string blob = encode_block(std::span<const RawPoint>(points));
  for (std::size_t cut = 0; cut < blob.size(); ++cut) {
    std::vector<RawPoint> out;
    if (cut == 1) continue;  // a lone 0: an empty v1 block
    EXPECT_THROW(decode_block(std::string_view(blob).substr(0, cut), out), std::runtime_error) << cut;
  }
  std::vector<RawPoint> out;
  // v1, quality 9: count, ts delta, value, then quality.
  std::string bad_quality = v1_encode(points);
  bad_quality[1 + 1 + 8] = 9;
  EXPECT_THROW(decode_block(bad_quality, out), std::runtime_error);
  // v2, quality 3: header, then (seq dd + 1) << 4 | ts regular | quality, value delta.
  EXPECT_THROW(decode_block(std::string("\x00\x02\x01\x00\x1b\x00", 6), out), std::runtime_error);
  EXPECT_NO_THROW(decode_block(std::string("\x00\x02\x01\x00\x1a\x00", 6), out));  // quality 2 is fine
  EXPECT_THROW(decode_block(std::string("\x00\x03\x01\x00\x1a\x00", 6), out), std::runtime_error);  // version
  EXPECT_THROW(decode_block(std::string("\x00\x02\x01\x17\x1a\x00", 6), out), std::runtime_error);  // k = 23
  EXPECT_THROW(decode_block(std::string("\x00\x02\x01\x00\x1a\x00\x00", 7), out),
               std::runtime_error);  // trailing
  EXPECT_THROW(decode_block(std::string("\x00\x02\x09\x00\x1a\x00", 6), out), std::runtime_error);  // count
  std::vector<Aggregate> buckets;
  EXPECT_THROW(decode_block(std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11), buckets),
               std::runtime_error);
  std::vector<StoredSample> journal;
  EXPECT_THROW(decode_journal(std::string("\x05\x01", 2), journal), std::runtime_error);
  // A tag past UINT32_MAX: the first tag is taken from UINT32_MAX, + 1.
  EXPECT_THROW(decode_journal(std::string("\x00\x02\x01\x00\x20\x02\x00\x00", 8), journal),
               std::runtime_error);
  EXPECT_NO_THROW(decode_journal(std::string("\x00\x02\x01\x00\x20\x01\x00\x00", 8), journal));
}

/// Decoding must end in items or std::runtime_error, never read out of
/// bounds or loop; anything else fails the test (or the sanitizers).
template <class Decode>
void decode_or_throw(std::string_view blob, Decode decode) {
  try {
    decode(blob);
  } catch (const std::runtime_error&) {
  }
}

void decode_all_ways(std::string_view blob) {
  decode_or_throw(blob, [](std::string_view b) {
    std::vector<RawPoint> out;
    decode_block(b, out);
  });
  decode_or_throw(blob, [](std::string_view b) {
    std::vector<Aggregate> out;
    decode_block(b, out);
  });
  decode_or_throw(blob, [](std::string_view b) {
    std::vector<StoredSample> out;
    decode_journal(b, out);
  });
}

TEST(BlockCodec, GarbageDecodesOrThrows) {
  std::mt19937_64 rng(9);
  std::vector<std::string> valid;
  for (int round = 0; round < 10; ++round) {
    Values values(rng, round % 5);
    Times times(rng, round % 5);
    Seqs seqs(rng, round % 5);
    std::vector<RawPoint> points(1 + rng() % 40);
    for (RawPoint& p : points) p = RawPoint{times.next(), values.next(), random_quality(rng), seqs.next()};
    valid.push_back(encode_block(std::span<const RawPoint>(points)));
    valid.push_back(v1_encode(points));
    std::vector<Aggregate> buckets(1 + rng() % 20);
    TimeNs start = kT0;
    for (Aggregate& a : buckets) a = random_bucket(rng, values, start += kNanosPerSecond, kNanosPerSecond);
    valid.push_back(encode_block(std::span<const Aggregate>(buckets)));
    valid.push_back(v1_encode(buckets));
    std::vector<StoredSample> samples(1 + rng() % 40);
    for (StoredSample& s : samples)
      s = StoredSample{static_cast<TagId>(rng() % 50),
                       Sample{times.next(), values.next(), random_quality(rng)}, seqs.next()};
    valid.push_back(encode_journal(samples));
    valid.push_back(v1_encode(samples));
  }
  // Every truncation of a valid blob, and single bytes changed.
  for (const std::string& blob : valid) {
    for (std::size_t cut = 0; cut < blob.size(); ++cut)
      decode_all_ways(std::string_view(blob).substr(0, cut));
    for (int i = 0; i < 50; ++i) {
      std::string changed = blob;
      changed[rng() % changed.size()] = static_cast<char>(rng());
      decode_all_ways(changed);
    }
  }
  // Random bytes, bare and behind each version's start.
  for (int i = 0; i < 3000; ++i) {
    std::string junk(rng() % 64, '\0');
    for (char& c : junk)
      c = static_cast<char>(rng() % 4 ? rng() : rng() % 4);  // small bytes are varints' ends
    decode_all_ways(junk);
    decode_all_ways(std::string("\x00\x02", 2) + junk);
    decode_all_ways(std::string("\x00\x02", 2) + static_cast<char>(rng() % 8) +
                    static_cast<char>(rng() % 10) + junk);
  }
}

}  // namespace
}  // namespace tagstream
