#include <gtest/gtest.h>

#include <chrono>
#include <limits>

#include "core/interval.h"
#include "core/time.h"

namespace tagstream {
namespace {

constexpr TimeNs kNow = 1'800'000'000LL * kNanosPerSecond;  // 2027-01-15
constexpr std::chrono::nanoseconds kSkew = std::chrono::minutes(5);

TEST(SampleTime, AcceptsThePastAndUpToTheSkewAhead) {
  EXPECT_EQ(sample_time_error(kNow, kNow, kSkew), "");
  EXPECT_EQ(sample_time_error(kNow - 365LL * 86400 * kNanosPerSecond, kNow, kSkew), "");
  EXPECT_EQ(sample_time_error(kNow + kSkew.count(), kNow, kSkew), "");
  EXPECT_EQ(sample_time_error(0, kNow, kSkew), "");
}

TEST(SampleTime, RefusesWhatIsFurtherAheadThanTheSkew) {
  const std::string e = sample_time_error(kNow + kSkew.count() + 1, kNow, kSkew);
  EXPECT_NE(e.find("ahead of the server clock"), std::string::npos) << e;
  EXPECT_NE(e.find("at most 300 s"), std::string::npos) << e;
  const TimeNs y2100 = 4'102'444'800LL * kNanosPerSecond;
  EXPECT_NE(sample_time_error(y2100, kNow, kSkew).find("2100-01-01T00:00:00.000Z is"), std::string::npos);
  // The year 2200, the sample that froze a tag's live value, is past the range.
  const TimeNs y2200 = 7'258'118'400LL * kNanosPerSecond;
  EXPECT_NE(sample_time_error(y2200, kNow, kSkew).find("2200-01-01T00:00:00.000Z is outside"),
            std::string::npos);
}

TEST(SampleTime, RefusesTimesWhoseBucketArithmeticCouldOverflow) {
  constexpr TimeNs kMax = std::numeric_limits<TimeNs>::max();
  constexpr TimeNs kMin = std::numeric_limits<TimeNs>::min();
  const auto far_skew = std::chrono::nanoseconds(kMax);  // only the range applies
  EXPECT_NE(sample_time_error(kMax, kNow, far_skew).find("outside the supported range"), std::string::npos);
  EXPECT_NE(sample_time_error(kMin, kNow, far_skew).find("outside the supported range"), std::string::npos);
  EXPECT_NE(sample_time_error(kMaxSampleTime + 1, kNow, far_skew), "");
  EXPECT_NE(sample_time_error(kMinSampleTime - 1, kNow, far_skew), "");
  // At the ends of the range, a day bucket's start and end are representable
  // and hold the sample.
  for (TimeNs ts : {kMinSampleTime, kMaxSampleTime}) {
    EXPECT_EQ(sample_time_error(ts, kMaxSampleTime, far_skew), "");
    const TimeNs start = bucket_start(ts, Interval::day);
    EXPECT_LE(start, ts);
    EXPECT_GT(start + 86400 * kNanosPerSecond, ts);
  }
}

TEST(SampleTime, AClockFarInThePastDoesNotOverflowTheComparison) {
  EXPECT_NE(sample_time_error(kMaxSampleTime, kMinSampleTime, kSkew), "");
  EXPECT_EQ(sample_time_error(kMinSampleTime, kMaxSampleTime, kSkew), "");
}

}  // namespace
}  // namespace tagstream
