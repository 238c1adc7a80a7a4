#include "core/change.h"

#include <gtest/gtest.h>

namespace tagstream {
namespace {

constexpr TimeNs kSecond = 1'000'000'000;

TEST(EventIds, ContinueAfterTheLastStoredIdWhenItIsAheadOfTheClock) {
  const TimeNs now = 1'800'000'000 * kSecond;
  const Seq stored = static_cast<Seq>(now / 1000) + 5'000;
  EXPECT_EQ(seq_before_first_event(stored, now), stored);
}

TEST(EventIds, NeverFallBehindTheClockInMicroseconds) {
  // An earlier run handed out ids up to ~now/1000 + k but stored only up to
  // 42: starting at the clock keeps every new id past the lost ones, as
  // long as that run gave out fewer than a million ids per second.
  const TimeNs now = 1'800'000'000 * kSecond + 123'456'789;
  EXPECT_EQ(seq_before_first_event(42, now), static_cast<Seq>(1'800'000'000'123'456));
  EXPECT_EQ(seq_before_first_event(0, now), static_cast<Seq>(1'800'000'000'123'456));
}

TEST(EventIds, AClockBeforeTheEpochCountsAsZero) {
  EXPECT_EQ(seq_before_first_event(7, -5 * kSecond), 7u);
  EXPECT_EQ(seq_before_first_event(0, -5 * kSecond), 0u);
}

}  // namespace
}  // namespace tagstream
