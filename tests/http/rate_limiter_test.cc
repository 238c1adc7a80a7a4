#include "http/rate_limiter.h"

#include <gtest/gtest.h>

namespace tagstream {
namespace {

using namespace std::chrono_literals;

struct TestClock {
  RateLimiter::Clock::time_point now{};
  std::function<RateLimiter::Clock::time_point()> fn() {
    return [this] { return now; };
  }
};

TEST(RateLimiter, AdmitsTheBurstThenRefusesWithRetryAfter) {
  TestClock clock;
  RateLimiter limiter(2, 4, 100, clock.fn());
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter.take("a").allowed) << i;
  const auto refused = limiter.take("a");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, 1s);  // half a second, rounded up to a whole one
  // Other clients have buckets of their own.
  EXPECT_TRUE(limiter.take("b").allowed);
}

TEST(RateLimiter, RefillsAtTheRate) {
  TestClock clock;
  RateLimiter limiter(2, 2, 100, clock.fn());
  EXPECT_TRUE(limiter.take("a").allowed);
  EXPECT_TRUE(limiter.take("a").allowed);
  EXPECT_FALSE(limiter.take("a").allowed);
  clock.now += 500ms;
  EXPECT_TRUE(limiter.take("a").allowed);
  EXPECT_FALSE(limiter.take("a").allowed);
  clock.now += 1h;  // never more than the burst
  EXPECT_TRUE(limiter.take("a").allowed);
  EXPECT_TRUE(limiter.take("a").allowed);
  EXPECT_FALSE(limiter.take("a").allowed);
}

TEST(RateLimiter, RetryAfterIsWholeSecondsUntilATokenIsBack) {
  TestClock clock;
  RateLimiter limiter(0.1, 1, 100, clock.fn());
  EXPECT_TRUE(limiter.take("a").allowed);
  EXPECT_EQ(limiter.take("a").retry_after, 10s);
  clock.now += 2500ms;
  EXPECT_EQ(limiter.take("a").retry_after, 8s);
}

TEST(RateLimiter, ZeroRateAdmitsEverything) {
  TestClock clock;
  RateLimiter limiter(0, 1, 100, clock.fn());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.take("a").allowed);
  EXPECT_EQ(limiter.keys(), 0u);
}

TEST(RateLimiter, MillionsOfAddressesKeepTheTableBounded) {
  TestClock clock;
  RateLimiter limiter(10, 20, 1000, clock.fn());
  for (int i = 0; i < 200000; ++i) {
    limiter.take("10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) + "." +
                 std::to_string(i % 256));
    ASSERT_LE(limiter.keys(), 1000u);
  }
}

TEST(RateLimiter, ForgetsBucketsThatRefilled) {
  TestClock clock;
  RateLimiter limiter(10, 20, 1000, clock.fn());
  for (int i = 0; i < 500; ++i) limiter.take("client" + std::to_string(i));
  EXPECT_EQ(limiter.keys(), 500u);
  clock.now += 1s;  // one token taken each, refilled in 0.1 s
  limiter.take("another");
  EXPECT_EQ(limiter.keys(), 1u);
}

TEST(RateLimiter, ABusyClientKeepsItsBucketWhileAFloodOfNewKeysPasses) {
  TestClock clock;
  RateLimiter limiter(1, 2, 100, clock.fn());
  EXPECT_TRUE(limiter.take("busy").allowed);
  EXPECT_TRUE(limiter.take("busy").allowed);
  for (int i = 0; i < 50; ++i) limiter.take("new" + std::to_string(i));
  EXPECT_FALSE(limiter.take("busy").allowed);
}

}  // namespace
}  // namespace tagstream
