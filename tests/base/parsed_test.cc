// The shared result of parsers: a value, or what is wrong with the input.
#include "base/parsed.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace tagstream {
namespace {

Parsed<int> parse_digit(char c) {
  if (c < '0' || c > '9') return {std::nullopt, std::string("not a digit: ") + c};
  return {c - '0', {}};
}

TEST(Parsed, ValueOrError) {
  const Parsed<int> seven = parse_digit('7');
  ASSERT_TRUE(seven);
  EXPECT_EQ(*seven, 7);
  EXPECT_TRUE(seven.error.empty());

  const Parsed<int> x = parse_digit('x');
  EXPECT_FALSE(x);
  EXPECT_EQ(x.error, "not a digit: x");
}

TEST(Parsed, MovesTheValueOut) {
  struct Code {
    int value;
  };
  Parsed<std::unique_ptr<int>, Code> p{std::make_unique<int>(3), {}};
  ASSERT_TRUE(p);
  EXPECT_EQ(**p, 3);
  std::unique_ptr<int> taken = *std::move(p);
  EXPECT_EQ(*taken, 3);
}

}  // namespace
}  // namespace tagstream
