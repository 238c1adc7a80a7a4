#include "core/natural_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace tagstream {
namespace {

TEST(NaturalOrder, DigitRunsCompareByValue) {
  std::vector<std::string> names = {"area0.t10", "area0.t2", "area10.t1",
                                    "area2.t1",  "area0.t1", "area0.t02"};
  std::sort(names.begin(), names.end(), [](const auto& a, const auto& b) { return natural_less(a, b); });
  EXPECT_EQ(names, (std::vector<std::string>{"area0.t1", "area0.t2", "area0.t02", "area0.t10", "area2.t1",
                                             "area10.t1"}));
}

TEST(NaturalOrder, ZeroOnlyForEqualNamesAndAnyLengthOfDigits) {
  EXPECT_EQ(natural_compare("a1", "a1"), 0);
  EXPECT_NE(natural_compare("a01", "a1"), 0);
  EXPECT_LT(natural_compare("a", "a0"), 0);
  EXPECT_GT(natural_compare("b", "a9"), 0);
  EXPECT_LT(natural_compare("x99999999999999999999999", "x100000000000000000000000"), 0);
  EXPECT_GT(natural_compare("x100000000000000000000000", "x99999999999999999999999"), 0);
}

}  // namespace
}  // namespace tagstream
