#include "http/responses.h"

#include <gtest/gtest.h>

namespace tagstream {
namespace {

HttpRequest with_if_none_match(const char* value) {
  HttpRequest req{boost::beast::http::verb::get, "/", 11};
  if (value) req.set(boost::beast::http::field::if_none_match, value);
  return req;
}

TEST(IfNoneMatch, MatchesTheTagItselfWeakOrInAList) {
  const std::string etag = "\"abc\"";
  EXPECT_TRUE(matches_if_none_match(with_if_none_match("\"abc\""), etag));
  EXPECT_TRUE(matches_if_none_match(with_if_none_match("W/\"abc\""), etag));
  EXPECT_TRUE(matches_if_none_match(with_if_none_match("\"x\", \"abc\""), etag));
  EXPECT_TRUE(matches_if_none_match(with_if_none_match("\"x\",W/\"abc\" "), etag));
  EXPECT_TRUE(matches_if_none_match(with_if_none_match("*"), etag));
}

TEST(IfNoneMatch, DoesNotMatchOtherTagsOrNone) {
  const std::string etag = "\"abc\"";
  EXPECT_FALSE(matches_if_none_match(with_if_none_match(nullptr), etag));
  EXPECT_FALSE(matches_if_none_match(with_if_none_match(""), etag));
  EXPECT_FALSE(matches_if_none_match(with_if_none_match("\"abcd\""), etag));
  EXPECT_FALSE(matches_if_none_match(with_if_none_match("abc"), etag));
  EXPECT_FALSE(matches_if_none_match(with_if_none_match("\"x\", \"y\""), etag));
}

}  // namespace
}  // namespace tagstream
