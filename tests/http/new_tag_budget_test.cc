#include "http/new_tag_budget.h"

#include <gtest/gtest.h>

namespace tagstream {
namespace {

using namespace std::chrono_literals;

TEST(NewTagBudget, AWindowPerClientThatReopensAfterAMinute) {
  NewTagBudget budget(100);
  const auto t0 = NewTagBudget::Clock::time_point{} + 1h;
  EXPECT_TRUE(budget.take("10.0.0.1", 60, t0));
  EXPECT_FALSE(budget.take("10.0.0.1", 41, t0 + 1s)) << "60 + 41 > 100: nothing taken";
  EXPECT_TRUE(budget.take("10.0.0.1", 40, t0 + 2s)) << "the refused 41 took nothing";
  EXPECT_FALSE(budget.take("10.0.0.1", 1, t0 + 3s));
  EXPECT_EQ(budget.retry_after("10.0.0.1", t0 + 3s), 57s);
  EXPECT_TRUE(budget.take("10.0.0.2", 100, t0 + 3s)) << "each client has its own window";
  EXPECT_FALSE(budget.take("10.0.0.3", 101, t0)) << "more than a whole window at once";

  EXPECT_TRUE(budget.take("10.0.0.1", 100, t0 + 60s)) << "a new window after a minute";
  EXPECT_EQ(budget.retry_after("10.0.0.1", t0 + 119s + 500ms), 1s);
}

TEST(NewTagBudget, ExpiredWindowsAreSweptSoTheMapStaysSmall) {
  NewTagBudget budget(10);
  const auto t0 = NewTagBudget::Clock::time_point{} + 1h;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(budget.take("client" + std::to_string(i), 1, t0));
  EXPECT_EQ(budget.clients(), 1000u);
  ASSERT_TRUE(budget.take("late", 1, t0 + 61s));
  EXPECT_EQ(budget.clients(), 1u);
}

}  // namespace
}  // namespace tagstream
