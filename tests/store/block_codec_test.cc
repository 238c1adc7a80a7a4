#include "store/block_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace tagstream {
namespace {

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
  points.push_back(RawPoint{std::numeric_limits<TimeNs>::max(), std::numeric_limits<double>::max(), Quality::bad,
                            std::numeric_limits<Seq>::max()});
  std::vector<RawPoint> back;
  decode_block(encode_block(std::span<const RawPoint>(points)), back);
  ASSERT_EQ(back.size(), points.size());
  for (std::size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(back[i].ts, points[i].ts) << i;
    EXPECT_EQ(std::bit_cast<std::uint64_t>(back[i].value), std::bit_cast<std::uint64_t>(points[i].value)) << i;
    EXPECT_EQ(back[i].quality, points[i].quality) << i;
    EXPECT_EQ(back[i].seq, points[i].seq) << i;
  }
}

TEST(BlockCodec, BucketsRoundTripIncludingSingleSampleBuckets) {
  std::vector<Aggregate> buckets;
  const TimeNs t0 = 1'795'651'200'000'000'000;
  buckets.push_back(aggregate_of(Sample{t0 + 250'000'000, 81.5, Quality::uncertain}, Interval::second));
  Aggregate many = aggregate_of(Sample{t0 + kNanosPerSecond + 10, 3.0, Quality::good}, Interval::second);
  many.add(Sample{t0 + kNanosPerSecond + 5, -1.0, Quality::bad});
  many.add(Sample{t0 + kNanosPerSecond + 900'000'000, 7.25, Quality::good});
  buckets.push_back(many);
  // A one-sample bucket whose fields disagree is not taken for a single sample.
  Aggregate odd = aggregate_of(Sample{t0 + 2 * kNanosPerSecond, 1.0, Quality::good}, Interval::second);
  odd.max = 2.0;
  buckets.push_back(odd);
  std::vector<Aggregate> back;
  decode_block(encode_block(std::span<const Aggregate>(buckets)), back);
  ASSERT_EQ(back.size(), buckets.size());
  for (std::size_t i = 0; i < buckets.size(); ++i) EXPECT_EQ(back[i], buckets[i]) << i;
}

TEST(BlockCodec, JournalRoundTrip) {
  std::vector<StoredSample> samples = {{3, Sample{100, 1.5, Quality::good}, 10},
                                       {0, Sample{50, -2.0, Quality::bad}, 0},
                                       {4'000'000'000u, Sample{-7, 0.0, Quality::uncertain}, 11}};
  std::vector<StoredSample> back = {{9, Sample{1, 1, Quality::good}, 1}};  // appended to
  decode_journal(encode_journal(samples), back);
  ASSERT_EQ(back.size(), 4u);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(back[i + 1].tag, samples[i].tag);
    EXPECT_EQ(back[i + 1].sample, samples[i].sample);
    EXPECT_EQ(back[i + 1].seq, samples[i].seq);
  }
}

TEST(BlockCodec, DamagedBlobsThrowInsteadOfReadingPastTheEnd) {
  std::vector<RawPoint> points = {{1, 1.0, Quality::good, 1}, {2, 2.0, Quality::good, 2}};
  const std::string blob = encode_block(std::span<const RawPoint>(points));
  for (std::size_t cut = 0; cut < blob.size(); ++cut) {
    std::vector<RawPoint> out;
    EXPECT_THROW(decode_block(std::string_view(blob).substr(0, cut), out), std::runtime_error) << cut;
  }
  std::string bad_quality = blob;
  bad_quality[1 + 1 + 8] = 9;  // count, ts delta, value, then quality
  std::vector<RawPoint> out;
  EXPECT_THROW(decode_block(bad_quality, out), std::runtime_error);
  std::vector<Aggregate> buckets;
  EXPECT_THROW(decode_block(std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11), buckets),
               std::runtime_error);
  std::vector<StoredSample> journal;
  EXPECT_THROW(decode_journal(std::string("\x05\x01", 2), journal), std::runtime_error);
}

}  // namespace
}  // namespace tagstream
