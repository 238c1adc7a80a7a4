#include "core/json_text.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <random>
#include <string>

namespace tagstream {
namespace {

std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

constexpr const char* kReplacement = "\xEF\xBF\xBD";

TEST(JsonText, WellFormedUtf8PassesThrough) {
  for (const char* s :
       {"\xC3\xA9", "\xE2\x82\xAC", "\xED\x9F\xBF", "\xEF\xBF\xBF", "\xF0\x9F\x94\xA5", "\xF4\x8F\xBF\xBF"})
    EXPECT_EQ(json_string(s), "\"" + std::string(s) + "\"") << s;
}

TEST(JsonText, MalformedUtf8BecomesTheReplacementCharacter) {
  const std::string r = kReplacement;
  EXPECT_EQ(json_string("degC\xFF"), "\"degC" + r + "\"");  // a byte no sequence starts with
  EXPECT_EQ(json_string("\xC3"), "\"" + r + "\"");          // truncated at the end
  EXPECT_EQ(json_string("\xC3"
                        "a"),
            "\"" + r + "a\"");                                      // a lead byte without its continuation
  EXPECT_EQ(json_string("\x80"), "\"" + r + "\"");                  // a lone continuation byte
  EXPECT_EQ(json_string("\xC0\xAF"), "\"" + r + r + "\"");          // overlong '/'
  EXPECT_EQ(json_string("\xE0\x80\xAF"), "\"" + r + r + r + "\"");  // overlong, three bytes
  EXPECT_EQ(json_string("\xED\xA0\x80"), "\"" + r + r + r + "\"");  // a UTF-16 surrogate
  EXPECT_EQ(json_string("\xF4\x90\x80\x80"), "\"" + r + r + r + r + "\"");  // past U+10FFFF
}

TEST(JsonText, AnyBytesMakeJsonThatAStrictParserReadsBack) {
  std::mt19937_64 rng(2026);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 5000; ++round) {
    std::string s(std::uniform_int_distribution<std::size_t>(0, 24)(rng), '\0');
    for (char& c : s) c = static_cast<char>(byte(rng));
    const std::string j = json_string(s);
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(j, ec);  // refuses invalid UTF-8
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(v.is_string());
  }
}

}  // namespace
}  // namespace tagstream
