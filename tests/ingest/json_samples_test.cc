// parse_json_samples: the body of POST /api/samples.
#include "ingest/json_samples.h"

#include <gtest/gtest.h>

#include <string>

namespace tagstream {
namespace {

constexpr TimeNs kNow = 1'795'600'800LL * kNanosPerSecond;  // 2026-11-25T10:00:00Z
constexpr TimeNs kT0 = 1'795'600'800LL * kNanosPerSecond;

std::string errors_of(const JsonSamplesResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += std::to_string(e.index) + "|" + e.message + "\n";
  return out;
}

/// Parses a body holding one item and returns the one error message.
std::string one_error(std::string_view item) {
  const auto r = parse_json_samples("[" + std::string(item) + "]", kNow);
  EXPECT_EQ(r.fatal, "");
  EXPECT_EQ(r.samples.size(), 0u);
  if (r.errors.size() != 1) return "expected one error, got: " + errors_of(r);
  EXPECT_EQ(r.errors[0].index, 0u);
  return r.errors[0].message;
}

// ---------------------------------------------------------------- fields

TEST(JsonSamplesFields, FullItem) {
  const auto r = parse_json_samples(
      R"([{"tag":"boiler1.temperature","ts":"2026-11-25T10:00:00Z","value":81.5,"quality":"uncertain",)"
      R"("unit":"degC","description":"Boiler 1 outlet"}])",
      kNow - 1);
  ASSERT_EQ(r.fatal, "");
  ASSERT_EQ(errors_of(r), "");
  ASSERT_EQ(r.samples.size(), 1u);
  const JsonSample& s = r.samples[0];
  EXPECT_EQ(s.tag, "boiler1.temperature");
  EXPECT_EQ(s.sample.ts, kT0);
  EXPECT_EQ(s.sample.value, 81.5);
  EXPECT_EQ(s.sample.quality, Quality::uncertain);
  EXPECT_EQ(s.type, std::nullopt);
  EXPECT_EQ(s.unit, "degC");
  EXPECT_EQ(s.description, "Boiler 1 outlet");
}

TEST(JsonSamplesFields, Defaults) {
  const auto r = parse_json_samples(R"([{"tag":"a","value":1}])", kNow);
  ASSERT_EQ(r.samples.size(), 1u);
  EXPECT_EQ(r.samples[0].sample.ts, kNow);
  EXPECT_EQ(r.samples[0].sample.value, 1.0);
  EXPECT_EQ(r.samples[0].sample.quality, Quality::good);
  EXPECT_EQ(r.samples[0].type, std::nullopt);
  EXPECT_EQ(r.samples[0].unit, "");
  EXPECT_EQ(r.samples[0].description, "");
}

TEST(JsonSamplesFields, NullOptionalFieldsMeanAbsent) {
  const auto r = parse_json_samples(
      R"({"tag":"a","value":2,"ts":null,"quality":null,"unit":null,"description":null})", kNow);
  ASSERT_EQ(errors_of(r), "");
  ASSERT_EQ(r.samples.size(), 1u);
  EXPECT_EQ(r.samples[0].sample, (Sample{kNow, 2.0, Quality::good}));
  EXPECT_EQ(r.samples[0].unit, "");
}

TEST(JsonSamplesFields, TimestampStringsGoThroughParseTime) {
  const auto r = parse_json_samples(R"([
    {"tag":"a","value":1,"ts":"2026-11-25T11:00:00.250+01:00"},
    {"tag":"a","value":1,"ts":"now-15m"},
    {"tag":"a","value":1,"ts":"1795600800"},
    {"tag":"a","value":1,"ts":"1795600800123"},
    {"tag":"a","value":1,"ts":"2026-11-25"}
  ])",
                                    kNow);
  ASSERT_EQ(errors_of(r), "");
  ASSERT_EQ(r.samples.size(), 5u);
  EXPECT_EQ(r.samples[0].sample.ts, kT0 + 250'000'000);
  EXPECT_EQ(r.samples[1].sample.ts, kNow - 900 * kNanosPerSecond);
  EXPECT_EQ(r.samples[2].sample.ts, kT0);
  EXPECT_EQ(r.samples[3].sample.ts, kT0 + 123'000'000);
  EXPECT_EQ(r.samples[4].sample.ts, kT0 - 36'000 * kNanosPerSecond);
}

TEST(JsonSamplesFields, TimestampNumbersAreEpochMilliseconds) {
  const auto r = parse_json_samples(R"([
    {"tag":"a","value":1,"ts":1795600800123},
    {"tag":"a","value":1,"ts":1795600800},
    {"tag":"a","value":1,"ts":0},
    {"tag":"a","value":1,"ts":-14182940000},
    {"tag":"a","value":1,"ts":1795600800123.5},
    {"tag":"a","value":1,"ts":1.7956008e12},
    {"tag":"a","value":1,"ts":-4102444800000},
    {"tag":"a","value":1,"ts":-1.5}
  ])",
                                    kNow);
  ASSERT_EQ(errors_of(r), "");
  ASSERT_EQ(r.samples.size(), 8u);
  EXPECT_EQ(r.samples[0].sample.ts, kT0 + 123'000'000);
  EXPECT_EQ(r.samples[1].sample.ts, 1'795'600'800LL * kNanosPerMilli);  // ms, whatever the size
  EXPECT_EQ(r.samples[2].sample.ts, 0);
  EXPECT_EQ(r.samples[3].sample.ts, -14'182'940LL * kNanosPerSecond);  // 1969-07-20T20:17:40Z
  EXPECT_EQ(r.samples[4].sample.ts, kT0 + 123'500'000);
  EXPECT_EQ(r.samples[5].sample.ts, kT0);
  EXPECT_EQ(r.samples[6].sample.ts, -4'102'444'800'000LL * kNanosPerMilli);  // 1840
  EXPECT_EQ(r.samples[7].sample.ts, -1'500'000);
}

TEST(JsonSamplesFields, Values) {
  const auto r = parse_json_samples(R"([
    {"tag":"a","value":-3},
    {"tag":"a","value":18446744073709551615},
    {"tag":"a","value":1.5e300},
    {"tag":"a","value":-0.0},
    {"tag":"a","value":true},
    {"tag":"a","value":false}
  ])",
                                    kNow);
  ASSERT_EQ(errors_of(r), "");
  ASSERT_EQ(r.samples.size(), 6u);
  EXPECT_EQ(r.samples[0].sample.value, -3.0);
  EXPECT_EQ(r.samples[0].type, std::nullopt);  // integers: the tag's type decides
  EXPECT_EQ(r.samples[1].sample.value, 18446744073709551615.0);
  EXPECT_EQ(r.samples[2].sample.value, 1.5e300);
  EXPECT_EQ(r.samples[3].sample.value, 0.0);
  EXPECT_EQ(r.samples[4].sample.value, 1.0);
  EXPECT_EQ(r.samples[4].type, DataType::boolean);
  EXPECT_EQ(r.samples[5].sample.value, 0.0);
  EXPECT_EQ(r.samples[5].type, DataType::boolean);
}

TEST(JsonSamplesFields, QualityIsCaseInsensitive) {
  const auto r = parse_json_samples(R"([
    {"tag":"a","value":1,"quality":"good"},
    {"tag":"a","value":1,"quality":"Uncertain"},
    {"tag":"a","value":1,"quality":"BAD"}
  ])",
                                    kNow);
  ASSERT_EQ(errors_of(r), "");
  ASSERT_EQ(r.samples.size(), 3u);
  EXPECT_EQ(r.samples[0].sample.quality, Quality::good);
  EXPECT_EQ(r.samples[1].sample.quality, Quality::uncertain);
  EXPECT_EQ(r.samples[2].sample.quality, Quality::bad);
}

TEST(JsonSamplesFields, UnknownMembersAreIgnored) {
  const auto r =
      parse_json_samples(R"({"tag":"a","value":1,"extra":{"nested":[1,2]},"type":"integer"})", kNow);
  ASSERT_EQ(errors_of(r), "");
  ASSERT_EQ(r.samples.size(), 1u);
  EXPECT_EQ(r.samples[0].type, std::nullopt);
}

TEST(JsonSamplesFields, UnicodeStringsAreKept) {
  const auto r =
      parse_json_samples(R"({"tag":"a","value":1,"unit":"\u00b0C","description":"Kessel \"1\""})", kNow);
  ASSERT_EQ(r.samples.size(), 1u);
  EXPECT_EQ(r.samples[0].unit,
            "\xc2\xb0"
            "C");
  EXPECT_EQ(r.samples[0].description, "Kessel \"1\"");
}

// ---------------------------------------------------------------- item errors

TEST(JsonSamplesErrors, Tag) {
  EXPECT_EQ(one_error(R"({"value":1})"), R"(item 0: "tag" is required)");
  EXPECT_EQ(one_error(R"({"tag":null,"value":1})"), R"(item 0: "tag" is required)");
  EXPECT_EQ(one_error(R"({"tag":5,"value":1})"), R"(item 0: "tag" must be a string, not a number)");
  EXPECT_EQ(
      one_error(R"({"tag":"bad name","value":1})"),
      R"(item 0: invalid tag name "bad name" (1-200 characters of A-Z a-z 0-9 _ - : and dots, no empty dotted segment))");
  EXPECT_EQ(
      one_error(R"({"tag":"","value":1})"),
      R"(item 0: invalid tag name "" (1-200 characters of A-Z a-z 0-9 _ - : and dots, no empty dotted segment))");
  EXPECT_EQ(
      one_error(R"({"tag":"a..b","value":1})"),
      R"(item 0: invalid tag name "a..b" (1-200 characters of A-Z a-z 0-9 _ - : and dots, no empty dotted segment))");
}

TEST(JsonSamplesErrors, LongTagNameIsTruncatedOnACharacterBoundary) {
  // 63 ASCII bytes then a 2-byte character straddling the 64-byte cut.
  const std::string name = std::string(63, 'x') + "\xc3\xa9" + std::string(300, 'y');
  EXPECT_EQ(one_error(R"({"tag":")" + name + R"(","value":1})"),
            "item 0: invalid tag name \"" + std::string(63, 'x') +
                "\"... (1-200 characters of A-Z a-z 0-9 _ - : and dots, no empty dotted segment)");
}

TEST(JsonSamplesErrors, Timestamp) {
  EXPECT_EQ(
      one_error(R"({"tag":"a","value":1,"ts":"yesterday"})"),
      R"(item 0: "ts" is not a valid time: "yesterday" (expected RFC 3339 like "2026-11-25T10:00:00Z", epoch digits, or "now-15m"))");
  EXPECT_EQ(
      one_error(R"({"tag":"a","value":1,"ts":"2023-02-29T00:00:00Z"})"),
      R"(item 0: "ts" is not a valid time: "2023-02-29T00:00:00Z" (expected RFC 3339 like "2026-11-25T10:00:00Z", epoch digits, or "now-15m"))");
  EXPECT_EQ(one_error(R"({"tag":"a","value":1,"ts":true})"),
            R"(item 0: "ts" must be a string or a number of epoch milliseconds, not a boolean)");
  EXPECT_EQ(one_error(R"({"tag":"a","value":1,"ts":[1]})"),
            R"(item 0: "ts" must be a string or a number of epoch milliseconds, not an array)");
  EXPECT_EQ(one_error(R"({"tag":"a","value":1,"ts":9223372036855})"),
            R"(item 0: "ts" is out of range (a number is epoch milliseconds))");
  EXPECT_EQ(one_error(R"({"tag":"a","value":1,"ts":18446744073709551615})"),
            R"(item 0: "ts" is out of range (a number is epoch milliseconds))");
  EXPECT_EQ(one_error(R"({"tag":"a","value":1,"ts":1e300})"),
            R"(item 0: "ts" is out of range (a number is epoch milliseconds))");
  EXPECT_EQ(one_error(R"({"tag":"a","value":1,"ts":-1e999})"),
            R"(item 0: "ts" is out of range (a number is epoch milliseconds))");
}

TEST(JsonSamplesErrors, Value) {
  EXPECT_EQ(one_error(R"({"tag":"a"})"), R"(item 0: "value" is required)");
  EXPECT_EQ(one_error(R"({"tag":"a","value":"81.5"})"),
            R"(item 0: "value" must be a number or boolean, not a string)");
  EXPECT_EQ(one_error(R"({"tag":"a","value":null})"),
            R"(item 0: "value" must be a number or boolean, not null)");
  EXPECT_EQ(one_error(R"({"tag":"a","value":{}})"),
            R"(item 0: "value" must be a number or boolean, not an object)");
  EXPECT_EQ(one_error(R"({"tag":"a","value":1e999})"), R"(item 0: "value" must be a finite number)");
  EXPECT_EQ(one_error(R"({"tag":"a","value":-1e999})"), R"(item 0: "value" must be a finite number)");
}

TEST(JsonSamplesErrors, Quality) {
  EXPECT_EQ(one_error(R"({"tag":"a","value":1,"quality":"great"})"),
            R"(item 0: "quality" must be "good", "uncertain" or "bad")");
  EXPECT_EQ(one_error(R"({"tag":"a","value":1,"quality":192})"),
            R"(item 0: "quality" must be "good", "uncertain" or "bad")");
}

TEST(JsonSamplesErrors, UnitAndDescription) {
  EXPECT_EQ(one_error(R"({"tag":"a","value":1,"unit":5})"),
            R"(item 0: "unit" must be a string, not a number)");
  EXPECT_EQ(one_error(R"({"tag":"a","value":1,"description":["x"]})"),
            R"(item 0: "description" must be a string, not an array)");
}

TEST(JsonSamplesErrors, ItemNotAnObject) {
  EXPECT_EQ(one_error("42"), "item 0: must be an object, not a number");
  EXPECT_EQ(one_error("null"), "item 0: must be an object, not null");
  EXPECT_EQ(one_error(R"("a")"), "item 0: must be an object, not a string");
  EXPECT_EQ(one_error("[]"), "item 0: must be an object, not an array");
}

TEST(JsonSamplesErrors, PartialSuccessKeepsGoodItemsAndIndexesBadOnes) {
  const auto r = parse_json_samples(R"([
    {"tag":"a","value":1},
    {"tag":"b"},
    {"tag":"c","value":3},
    {"tag":"d","value":"x"},
    7,
    {"tag":"f","value":false}
  ])",
                                    kNow);
  EXPECT_EQ(r.fatal, "");
  ASSERT_EQ(r.samples.size(), 3u);
  EXPECT_EQ(r.samples[0].tag, "a");
  EXPECT_EQ(r.samples[1].tag, "c");
  EXPECT_EQ(r.samples[1].sample.value, 3.0);
  EXPECT_EQ(r.samples[2].tag, "f");
  EXPECT_EQ(errors_of(r),
            "1|item 1: \"value\" is required\n"
            "3|item 3: \"value\" must be a number or boolean, not a string\n"
            "4|item 4: must be an object, not a number\n");
}

// ---------------------------------------------------------------- shapes

TEST(JsonSamplesShapes, ArraySingleObjectAndWrapper) {
  const auto array = parse_json_samples(R"([{"tag":"a","value":1},{"tag":"b","value":2}])", kNow);
  const auto single = parse_json_samples(R"({"tag":"a","value":1})", kNow);
  const auto wrapped =
      parse_json_samples(R"({"samples":[{"tag":"a","value":1},{"tag":"b","value":2}]})", kNow);
  for (const auto* r : {&array, &single, &wrapped}) {
    EXPECT_EQ(r->fatal, "");
    EXPECT_EQ(errors_of(*r), "");
  }
  ASSERT_EQ(array.samples.size(), 2u);
  EXPECT_EQ(array.samples[1].tag, "b");
  EXPECT_EQ(array.samples[1].sample.value, 2.0);
  ASSERT_EQ(single.samples.size(), 1u);
  EXPECT_EQ(single.samples[0].tag, "a");
  ASSERT_EQ(wrapped.samples.size(), 2u);
  EXPECT_EQ(wrapped.samples[1].tag, "b");
}

TEST(JsonSamplesShapes, SingleBadObjectIsItemZero) {
  const auto r = parse_json_samples(R"({"tag":"a"})", kNow);
  EXPECT_EQ(r.fatal, "");
  EXPECT_EQ(r.samples.size(), 0u);
  EXPECT_EQ(errors_of(r), "0|item 0: \"value\" is required\n");
}

TEST(JsonSamplesShapes, WrapperErrorsIndexIntoItsArray) {
  const auto r = parse_json_samples(R"({"samples":[{"tag":"a","value":1},{"tag":"a","value":[]}]})", kNow);
  EXPECT_EQ(r.samples.size(), 1u);
  EXPECT_EQ(errors_of(r), "1|item 1: \"value\" must be a number or boolean, not an array\n");
}

TEST(JsonSamplesShapes, EmptyArraysAreFine) {
  for (const char* body : {"[]", " [ ] ", R"({"samples":[]})"}) {
    const auto r = parse_json_samples(body, kNow);
    EXPECT_EQ(r.fatal, "") << body;
    EXPECT_EQ(r.samples.size(), 0u) << body;
    EXPECT_EQ(r.errors.size(), 0u) << body;
  }
}

TEST(JsonSamplesShapes, WrapperMustHoldAnArray) {
  EXPECT_EQ(parse_json_samples(R"({"samples":{"tag":"a","value":1}})", kNow).fatal,
            R"("samples" must be an array, not an object)");
  EXPECT_EQ(parse_json_samples(R"({"samples":null})", kNow).fatal, R"("samples" must be an array, not null)");
}

TEST(JsonSamplesShapes, AtMostOneHundredThousandItems) {
  std::string body = "[";
  for (std::size_t i = 0; i < kMaxJsonSamples; ++i) body += R"({"tag":"t","value":1},)";
  body.back() = ']';
  const auto ok = parse_json_samples(body, kNow);
  EXPECT_EQ(ok.fatal, "");
  EXPECT_EQ(ok.samples.size(), 100'000u);
  EXPECT_EQ(ok.errors.size(), 0u);

  body.back() = ',';
  body += "1]";
  const auto over = parse_json_samples(body, kNow);
  EXPECT_EQ(over.fatal, "too many samples in one request: 100001, at most 100000");
  EXPECT_EQ(over.samples.size(), 0u);
  EXPECT_EQ(over.errors.size(), 0u);
}

// ---------------------------------------------------------------- garbage

TEST(JsonSamplesGarbage, NotJsonIsFatalWithOffset) {
  EXPECT_EQ(parse_json_samples("boiler1.temperature value=81.5", kNow).fatal,
            "invalid JSON at offset 0: syntax error");
  EXPECT_EQ(parse_json_samples(R"([{"tag":"a","value":1},,])", kNow).fatal,
            "invalid JSON at offset 23: syntax error");
  EXPECT_EQ(parse_json_samples(R"([{"tag":"a","value":1})", kNow).fatal,
            "invalid JSON at offset 22: incomplete JSON");
  EXPECT_EQ(parse_json_samples(R"([{"tag":"a","value":1}] [])", kNow).fatal,
            "invalid JSON at offset 24: extra data");
  EXPECT_EQ(parse_json_samples("[{\"tag\":\"\xff\",\"value\":1}]", kNow).fatal,
            "invalid JSON at offset 9: syntax error");  // invalid UTF-8
  EXPECT_EQ(parse_json_samples(R"([{"tag":'a',"value":1}])", kNow).fatal,
            "invalid JSON at offset 8: syntax error");
  EXPECT_EQ(parse_json_samples(R"([{"tag":"a","value":NaN}])", kNow).fatal,
            "invalid JSON at offset 20: syntax error");
  EXPECT_EQ(parse_json_samples(R"([{"tag":"a","value":1},])", kNow).fatal,
            "invalid JSON at offset 23: syntax error");  // no trailing commas
  EXPECT_EQ(parse_json_samples("[1] // comment", kNow).fatal, "invalid JSON at offset 4: extra data");
}

TEST(JsonSamplesGarbage, EmptyBody) {
  EXPECT_EQ(parse_json_samples("", kNow).fatal, "empty body: expected a JSON array or object of samples");
  EXPECT_EQ(parse_json_samples(" \r\n\t", kNow).fatal,
            "empty body: expected a JSON array or object of samples");
}

TEST(JsonSamplesGarbage, ScalarsAreFatal) {
  EXPECT_EQ(parse_json_samples("42", kNow).fatal, "expected a JSON array or object of samples, not a number");
  EXPECT_EQ(parse_json_samples("null", kNow).fatal, "expected a JSON array or object of samples, not null");
  EXPECT_EQ(parse_json_samples(R"("x")", kNow).fatal,
            "expected a JSON array or object of samples, not a string");
  EXPECT_EQ(parse_json_samples("true", kNow).fatal,
            "expected a JSON array or object of samples, not a boolean");
}

TEST(JsonSamplesGarbage, DepthLimitIs32) {
  // 32 levels: the body array holds 31 nested arrays; parses, then fails per item.
  const std::string deep32 = std::string(32, '[') + std::string(32, ']');
  const auto ok = parse_json_samples(deep32, kNow);
  EXPECT_EQ(ok.fatal, "");
  EXPECT_EQ(errors_of(ok), "0|item 0: must be an object, not an array\n");

  const std::string deep33 = std::string(33, '[') + std::string(33, ']');
  EXPECT_EQ(parse_json_samples(deep33, kNow).fatal, "invalid JSON at offset 32: too deep");

  // A deeply nested unknown member counts too.
  std::string nested = R"({"tag":"a","value":1,"x":)" + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_EQ(parse_json_samples(nested, kNow).fatal, "invalid JSON at offset 56: too deep");

  // A hostile 1 MB of '[' fails fast, without recursion.
  EXPECT_EQ(parse_json_samples(std::string(1'000'000, '['), kNow).fatal,
            "invalid JSON at offset 32: too deep");
}

TEST(JsonSamples, ASampleAheadOfTheClockByMoreThanTheSkewIsAnItemError) {
  const auto r = parse_json_samples(R"([{"tag":"a","ts":"2200-01-01T00:00:00Z","value":1},)"
                                    R"({"tag":"b","ts":"2026-11-25T10:04:00Z","value":2},)"
                                    R"({"tag":"c","ts":4102444800000,"value":3}])",
                                    kNow, std::chrono::minutes(5));
  ASSERT_EQ(r.samples.size(), 1u);
  EXPECT_EQ(r.samples[0].tag, "b");
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].index, 0u);
  EXPECT_NE(r.errors[0].message.find("2200-01-01T00:00:00.000Z is outside the supported range"),
            std::string::npos)
      << r.errors[0].message;
  EXPECT_EQ(r.errors[1].index, 2u);  // 2100, as epoch milliseconds
  EXPECT_NE(r.errors[1].message.find("ahead of the server clock"), std::string::npos) << r.errors[1].message;
}

}  // namespace
}  // namespace tagstream
