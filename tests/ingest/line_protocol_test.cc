#include "ingest/line_protocol.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace tagstream {
namespace {

// 2025-11-25T10:00:00Z: a synthetic clock.
constexpr TimeNs kNow = 1'764'064'800LL * kNanosPerSecond;

LineParseResult parse(std::string_view body, Precision precision = Precision::ns, TimeNs now = kNow) {
  return parse_line_protocol(body, precision, now);
}

/// Parses a body from an exactly sized heap buffer, so ASan sees any read
/// past its end (a std::string has a terminating NUL inside its allocation).
LineParseResult parse_exact(std::string_view body, Precision precision = Precision::ns) {
  auto buf = std::make_unique<char[]>(body.size());
  std::copy(body.begin(), body.end(), buf.get());
  return parse_line_protocol(std::string_view(buf.get(), body.size()), precision, kNow);
}

std::vector<std::string> messages(const LineParseResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.message);
  return out;
}

std::vector<std::string> names(const LineParseResult& r) {
  std::vector<std::string> out;
  for (const auto& p : r.points) out.push_back(p.tag);
  return out;
}

/// The single error of a one-line body that must be rejected.
std::string error_of(std::string_view body, Precision precision = Precision::ns) {
  const LineParseResult r = parse(body, precision);
  EXPECT_TRUE(r.points.empty()) << body;
  EXPECT_EQ(r.errors.size(), 1u) << body;
  EXPECT_EQ(r.lines, 1u) << body;
  return r.errors.empty() ? std::string() : r.errors[0].message;
}

/// The single point of a one-line body that must be accepted.
LinePoint point_of(std::string_view body, Precision precision = Precision::ns) {
  const LineParseResult r = parse(body, precision);
  EXPECT_EQ(messages(r), std::vector<std::string>{}) << body;
  EXPECT_EQ(r.points.size(), 1u) << body;
  return r.points.empty() ? LinePoint{} : r.points[0];
}

// ---------------------------------------------------------------- precision

TEST(LineProtocolPrecision, ParsesV1AndV2Names) {
  EXPECT_EQ(parse_precision(""), Precision::ns);
  EXPECT_EQ(parse_precision("n"), Precision::ns);
  EXPECT_EQ(parse_precision("ns"), Precision::ns);
  EXPECT_EQ(parse_precision("u"), Precision::us);
  EXPECT_EQ(parse_precision("us"), Precision::us);
  EXPECT_EQ(parse_precision("ms"), Precision::ms);
  EXPECT_EQ(parse_precision("s"), Precision::s);
  EXPECT_EQ(parse_precision("m"), Precision::m);
  EXPECT_EQ(parse_precision("h"), Precision::h);
  EXPECT_EQ(parse_precision("NS"), std::nullopt);
  EXPECT_EQ(parse_precision("sec"), std::nullopt);
  EXPECT_EQ(parse_precision("x"), std::nullopt);
  EXPECT_EQ(parse_precision("hours"), std::nullopt);
}

TEST(LineProtocolPrecision, ScalesEachPrecisionToNanoseconds) {
  const std::pair<const char*, TimeNs> cases[] = {
      {"n", 7},
      {"ns", 7},
      {"u", 7'000},
      {"us", 7'000},
      {"ms", 7'000'000},
      {"s", 7'000'000'000},
      {"m", 420'000'000'000},
      {"h", 25'200'000'000'000},
  };
  for (const auto& [name, expected] : cases) {
    const auto precision = parse_precision(name);
    ASSERT_TRUE(precision) << name;
    EXPECT_EQ(point_of("m v=1 7", *precision).sample.ts, expected) << name;
  }
  EXPECT_EQ(precision_factor(Precision::h), 3'600'000'000'000);
  EXPECT_EQ(point_of("m v=1 1764064800123", Precision::ms).sample.ts, 1'764'064'800'123'000'000);
}

TEST(LineProtocolPrecision, NegativeAndExtremeTimestamps) {
  EXPECT_EQ(point_of("m v=1 -1500", Precision::s).sample.ts, -1'500'000'000'000);
  EXPECT_EQ(point_of("m v=1 0").sample.ts, 0);
  // Times whose bucket arithmetic could overflow are refused, parseable or not.
  for (const char* line : {"m v=1 9223372036854775807", "m v=1 -9223372036854775808"})
    EXPECT_NE(error_of(line).find("outside the supported range"), std::string::npos) << line;
  EXPECT_NE(error_of("m v=1 9223372036854", Precision::ms).find("outside the supported range"),
            std::string::npos);
}

TEST(LineProtocolPrecision, ASampleAheadOfTheClockByMoreThanTheSkewIsALineError) {
  const TimeNs skew = std::chrono::nanoseconds(kDefaultMaxClockSkew).count();
  EXPECT_EQ(point_of("m v=1 " + std::to_string(kNow + skew)).sample.ts, kNow + skew);
  EXPECT_EQ(error_of("m v=1 " + std::to_string(kNow + skew + 1)),
            "line 1: timestamp 2025-11-25T10:05:00.000Z is 300 s ahead of the server clock (at most 300 s "
            "allowed, --max-clock-skew) (column 7)");
  // The year 2200 (past the supported range), and a skew set by the caller.
  const LineParseResult r =
      parse_line_protocol("a v=1 7258118400\nb v=2 1764064860", Precision::s, kNow, std::chrono::seconds(30));
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_NE(r.errors[0].message.find("2200-01-01T00:00:00.000Z is outside the supported range"),
            std::string::npos)
      << r.errors[0].message;
  EXPECT_NE(r.errors[1].message.find("60 s ahead"), std::string::npos) << r.errors[1].message;
  EXPECT_TRUE(r.points.empty());
  EXPECT_EQ(
      parse_line_protocol("b v=2 1764064860", Precision::s, kNow, std::chrono::seconds(60)).points.size(),
      1u);
}

TEST(LineProtocolPrecision, OverflowIsTimestampOutOfRange) {
  EXPECT_EQ(error_of("m v=1 9223372036854775808"),
            "line 1: timestamp out of range: \"9223372036854775808\" (column 7)");
  EXPECT_EQ(error_of("m v=1 -9223372036854775809"),
            "line 1: timestamp out of range: \"-9223372036854775809\" (column 7)");
  EXPECT_EQ(error_of("m v=1 9223372036855", Precision::ms),
            "line 1: timestamp out of range: \"9223372036855\" (column 7)");
  EXPECT_EQ(error_of("m v=1 -9223372036855", Precision::ms),
            "line 1: timestamp out of range: \"-9223372036855\" (column 7)");
  EXPECT_EQ(error_of("m v=1 9223372036854776", Precision::us),
            "line 1: timestamp out of range: \"9223372036854776\" (column 7)");
  EXPECT_EQ(error_of("m v=1 9223372037", Precision::s),
            "line 1: timestamp out of range: \"9223372037\" (column 7)");
  EXPECT_EQ(error_of("m v=1 153722868", Precision::m),
            "line 1: timestamp out of range: \"153722868\" (column 7)");
  EXPECT_EQ(error_of("m v=1 2562048", Precision::h),
            "line 1: timestamp out of range: \"2562048\" (column 7)");
  // The same digits are fine in a smaller unit.
  EXPECT_EQ(point_of("m v=1 2562048", Precision::m).sample.ts, 2'562'048LL * 60'000'000'000);
}

TEST(LineProtocolPrecision, MissingTimestampUsesNow) {
  const LineParseResult r = parse("m v=1\nm w=2 \nm x=3  \t\n", Precision::s, 42);
  ASSERT_EQ(r.points.size(), 3u);
  for (const auto& p : r.points) EXPECT_EQ(p.sample.ts, 42);  // `now` is ns, never scaled
  EXPECT_TRUE(r.errors.empty());
}

TEST(LineProtocolPrecision, BadTimestamps) {
  EXPECT_EQ(error_of("m v=1 12a"), "line 1: invalid timestamp \"12a\" (column 7)");
  EXPECT_EQ(error_of("m v=1 +12"), "line 1: invalid timestamp \"+12\" (column 7)");
  EXPECT_EQ(error_of("m v=1 1.5"), "line 1: invalid timestamp \"1.5\" (column 7)");
  EXPECT_EQ(error_of("m v=1 -"), "line 1: invalid timestamp \"-\" (column 7)");
  EXPECT_EQ(error_of("m v=1 12,3"), "line 1: invalid timestamp \"12,3\" (column 7)");
  EXPECT_EQ(error_of("m v=1 12 x"), "line 1: unexpected text after the timestamp: \"x\" (column 10)");
  EXPECT_EQ(error_of("m v=1 12 13 14\r\n"),
            "line 1: unexpected text after the timestamp: \"13 14\" (column 10)");
}

// ------------------------------------------------------------------- fields

TEST(LineProtocolFields, FloatForms) {
  const LineParseResult r =
      parse("m a=1,b=-1.5,c=1e3,d=.5,e=-.5,f=1E-2,g=0,h=2.5e+2,i=1.,j=-0,k=007,l=1e-400");
  EXPECT_TRUE(r.errors.empty()) << messages(r)[0];
  const std::vector<std::string> expected_names = {"m.a", "m.b", "m.c", "m.d", "m.e", "m.f",
                                                   "m.g", "m.h", "m.i", "m.j", "m.k", "m.l"};
  EXPECT_EQ(names(r), expected_names);
  const std::vector<double> expected = {1, -1.5, 1000, 0.5, -0.5, 0.01, 0, 250, 1, -0.0, 7, 0};
  ASSERT_EQ(r.points.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r.points[i].sample.value, expected[i]) << r.points[i].tag;
    EXPECT_EQ(r.points[i].type, DataType::number) << r.points[i].tag;
    EXPECT_EQ(r.points[i].sample.quality, Quality::good);
    EXPECT_EQ(r.points[i].sample.ts, kNow);
  }
  EXPECT_EQ(point_of("m v=93.1").sample.value, 93.1);
  EXPECT_EQ(point_of("m v=1.7976931348623157e308").sample.value, 1.7976931348623157e308);
}

TEST(LineProtocolFields, IntegerAndUnsigned) {
  const LineParseResult r = parse(
      "m a=12i,b=-9223372036854775808i,c=9223372036854775807i,d=18446744073709551615u,e=0u,"
      "f=-0i,g=42u");
  EXPECT_TRUE(r.errors.empty());
  const std::vector<double> expected = {
      12, -9223372036854775808.0, 9223372036854775807.0, 18446744073709551615.0, 0, 0, 42};
  ASSERT_EQ(r.points.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r.points[i].sample.value, expected[i]) << r.points[i].tag;
    EXPECT_EQ(r.points[i].type, DataType::integer) << r.points[i].tag;
  }
}

TEST(LineProtocolFields, IntegerRangeAndSyntax) {
  EXPECT_EQ(error_of("m a=9223372036854775808i"),
            "line 1: field value \"9223372036854775808i\" out of range for field \"a\" (column 5)");
  EXPECT_EQ(error_of("m a=-9223372036854775809i"),
            "line 1: field value \"-9223372036854775809i\" out of range for field \"a\" (column 5)");
  EXPECT_EQ(error_of("m a=18446744073709551616u"),
            "line 1: field value \"18446744073709551616u\" out of range for field \"a\" (column 5)");
  EXPECT_EQ(error_of("m a=-1u"), "line 1: invalid field value \"-1u\" for field \"a\" (column 5)");
  EXPECT_EQ(error_of("m a=1.5i"), "line 1: invalid field value \"1.5i\" for field \"a\" (column 5)");
  EXPECT_EQ(error_of("m a=i"), "line 1: invalid field value \"i\" for field \"a\" (column 5)");
  EXPECT_EQ(error_of("m a=+1i"), "line 1: invalid field value \"+1i\" for field \"a\" (column 5)");
  EXPECT_EQ(error_of("m a=1I"), "line 1: invalid field value \"1I\" for field \"a\" (column 5)");
}

TEST(LineProtocolFields, Booleans) {
  const LineParseResult r = parse("m a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE");
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.points.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(r.points[i].sample.value, i < 5 ? 1.0 : 0.0) << r.points[i].tag;
    EXPECT_EQ(r.points[i].type, DataType::boolean) << r.points[i].tag;
  }
  EXPECT_EQ(error_of("m a=tRue"), "line 1: invalid field value \"tRue\" for field \"a\" (column 5)");
  EXPECT_EQ(error_of("m a=yes"), "line 1: invalid field value \"yes\" for field \"a\" (column 5)");
  EXPECT_EQ(error_of("m a=FALSe"), "line 1: invalid field value \"FALSe\" for field \"a\" (column 5)");
}

TEST(LineProtocolFields, NanAndInfRejected) {
  for (const char* v : {"nan", "NaN", "-nan", "inf", "-inf", "Inf", "INF", "infinity", "NAN(1)"}) {
    const std::string body = std::string("m v=") + v;
    EXPECT_EQ(error_of(body), "line 1: invalid field value \"" + std::string(v) +
                                  "\" for field \"v\": NaN and Inf are not supported (column 5)");
  }
  EXPECT_EQ(error_of("m v=1e999"), "line 1: field value \"1e999\" out of range for field \"v\" (column 5)");
  EXPECT_EQ(error_of("m v=-1e999"), "line 1: field value \"-1e999\" out of range for field \"v\" (column 5)");
}

TEST(LineProtocolFields, InvalidNumbers) {
  for (const char* v : {"12x", "1.2.3", "0x10", "+1", "1_000", "--1", "1e", ".", "-", "1,5e", "e5", "1 e5"}) {
    const std::string body = std::string("m v=") + v;
    const LineParseResult r = parse(body);
    EXPECT_TRUE(r.points.empty()) << body;
    ASSERT_EQ(r.errors.size(), 1u) << body;
    EXPECT_EQ(r.errors[0].line, 1u);
  }
  EXPECT_EQ(error_of("boiler1,unit=degC temperature=12x"),
            "line 1: invalid field value \"12x\" for field \"temperature\" (column 31)");
  EXPECT_EQ(error_of("m v=1e"), "line 1: invalid field value \"1e\" for field \"v\" (column 5)");
  EXPECT_EQ(error_of("m a=1,v=0x10"), "line 1: invalid field value \"0x10\" for field \"v\" (column 9)");
}

TEST(LineProtocolFields, StringFieldsAreIgnored) {
  LineParseResult r = parse("m s=\"hello world, a=b\",v=1,t=\"x\" 5");
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.points.size(), 1u);
  EXPECT_EQ(r.points[0].tag, "m.v");
  EXPECT_EQ(r.points[0].sample.value, 1.0);
  EXPECT_EQ(r.points[0].sample.ts, 5);
  EXPECT_EQ(r.ignored_fields, 2u);
  EXPECT_EQ(r.lines, 1u);

  r = parse("m s=\"only a string\"\nm t=\"\" 10");
  EXPECT_TRUE(r.points.empty());
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.ignored_fields, 2u);
  EXPECT_EQ(r.lines, 2u);

  // A string on a rejected line is not counted.
  r = parse("m s=\"x\",v=bad");
  EXPECT_EQ(r.ignored_fields, 0u);
  EXPECT_EQ(r.errors.size(), 1u);
}

TEST(LineProtocolFields, DuplicateFieldKeysLastWins) {
  const LineParseResult r = parse("m a=1,b=2,a=3i,b=\"str\",c=t,c=4");
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.points.size(), 3u);
  EXPECT_EQ(r.points[0].tag, "m.a");
  EXPECT_EQ(r.points[0].sample.value, 3.0);
  EXPECT_EQ(r.points[0].type, DataType::integer);
  EXPECT_EQ(r.points[1].tag, "m.b");  // a string field is skipped entirely
  EXPECT_EQ(r.points[1].sample.value, 2.0);
  EXPECT_EQ(r.points[2].tag, "m.c");
  EXPECT_EQ(r.points[2].sample.value, 4.0);
  EXPECT_EQ(r.points[2].type, DataType::number);
  EXPECT_EQ(r.ignored_fields, 1u);
}

TEST(LineProtocolFields, ManyFieldsWithDuplicates) {
  // More fields than the linear duplicate scan handles: the hash set path.
  std::string body = "m ";
  for (int i = 0; i < 50; ++i) body += "f" + std::to_string(i) + "=" + std::to_string(i) + ",";
  for (int i = 0; i < 50; i += 2) body += "f" + std::to_string(i) + "=" + std::to_string(i + 1000) + "i,";
  body += "g=1 77";
  const LineParseResult r = parse(body);
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.points.size(), 51u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(r.points[i].tag, "m.f" + std::to_string(i));
    EXPECT_EQ(r.points[i].sample.value, i % 2 == 0 ? i + 1000 : i);
    EXPECT_EQ(r.points[i].type, i % 2 == 0 ? DataType::integer : DataType::number);
    EXPECT_EQ(r.points[i].sample.ts, 77);
  }
  EXPECT_EQ(r.points[50].tag, "m.g");
  // And the next line starts afresh.
  const LineParseResult r2 = parse(body + "\n" + body);
  EXPECT_EQ(r2.points.size(), 102u);
}

// ------------------------------------------------------------------ escapes

TEST(LineProtocolEscapes, MeasurementEscapes) {
  EXPECT_EQ(point_of("bo\\ iler\\,1 t=1").tag, "bo_iler_1.t");
  // `\\` is one backslash, so the comma after it separates a tag.
  LinePoint p = point_of("m\\\\,unit=x t=1");
  EXPECT_EQ(p.tag, "m_.t");
  EXPECT_EQ(p.unit(), "x");
  // `=` needs no escape in a measurement; `\=` there is a literal backslash.
  EXPECT_EQ(point_of("a=b t=1").tag, "a_b.t");
  EXPECT_EQ(point_of("a\\=b t=1").tag, "a__b.t");
  // A backslash before any other character is literal.
  EXPECT_EQ(point_of("m\\x t=1").tag, "m_x.t");
}

TEST(LineProtocolEscapes, TrailingBackslashes) {
  EXPECT_EQ(error_of("m\\"), "line 1: missing fields (column 3)");
  EXPECT_EQ(error_of("m,t=a\\"), "line 1: missing fields (column 7)");
  // `\ ` escapes the space: the whole line is a measurement.
  EXPECT_EQ(error_of("m\\ v=1"), "line 1: missing fields (column 7)");
}

TEST(LineProtocolEscapes, TagKeyAndValueEscapes) {
  LinePoint p = point_of("m,description=hot\\ water\\,\\=tank\\\\1\\x f=1");
  EXPECT_EQ(p.description(), "hot water,=tank\\1\\x");
  EXPECT_EQ(p.tag, "m.f");
  p = point_of("m,unit=deg\\ C t=1");
  EXPECT_EQ(p.unit(), "deg C");
  // Keys are compared unescaped: "a b" < "a!" although the raw `a\ b` > `a!`.
  EXPECT_EQ(point_of("m,a!=X,a\\ b=Y f=1").tag, "m.Y.X.f");
  EXPECT_EQ(point_of("m,k\\=1=v\\=1 f=1").tag, "m.v_1.f");
  EXPECT_EQ(error_of("m,t=a=b f=1"), "line 1: unescaped '=' in the value of tag \"t\" (column 6)");
}

TEST(LineProtocolEscapes, FieldKeyEscapes) {
  EXPECT_EQ(point_of("m f\\ 1\\,x\\=y=2").tag, "m.f_1_x_y");
  EXPECT_EQ(point_of("m f\\ 1\\,x\\=y=2").sample.value, 2.0);
  EXPECT_EQ(point_of("m a\\\\=3").tag, "m.a_");
  EXPECT_EQ(point_of("m a\\b=3").tag, "m.a_b");
}

TEST(LineProtocolEscapes, QuotedStrings) {
  LineParseResult r = parse("m s=\"a \\\"quoted\\\" \\\\ text, with comma=eq and spaces\",v=1 9");
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.points.size(), 1u);
  EXPECT_EQ(r.points[0].tag, "m.v");
  EXPECT_EQ(r.points[0].sample.ts, 9);
  EXPECT_EQ(r.ignored_fields, 1u);

  // A string ending in an escaped backslash, then in an escaped quote.
  r = parse("m s=\"ends with backslash\\\\\",v=2\nm s=\"\\\\\\\"\",v=3\nm s=\"a\\b\",v=4");
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.points.size(), 3u);
  EXPECT_EQ(r.points[0].sample.value, 2.0);
  EXPECT_EQ(r.points[1].sample.value, 3.0);
  EXPECT_EQ(r.points[2].sample.value, 4.0);
  EXPECT_EQ(r.ignored_fields, 3u);

  EXPECT_EQ(error_of("m s=\"x\"y,v=1"),
            "line 1: unexpected character after the string of field \"s\" (column 8)");
}

TEST(LineProtocolEscapes, QuotedStringSpanningNewlines) {
  const LineParseResult r = parse("m s=\"first\nsecond\r\nthird\",v=1 10\nm v=2 20\nbad\nm v=3 30");
  ASSERT_EQ(r.points.size(), 3u);
  EXPECT_EQ(r.points[0].sample.ts, 10);
  EXPECT_EQ(r.points[1].sample.ts, 20);
  EXPECT_EQ(r.points[2].sample.ts, 30);
  EXPECT_EQ(r.lines, 4u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 5u);  // physical line numbers
  EXPECT_EQ(r.errors[0].message, "line 5: missing fields (column 4)");
}

TEST(LineProtocolEscapes, UnterminatedQuoteEndsAtItsNewline) {
  // No quote closes it before the end of the body: the line ends at its
  // first newline and the next lines are parsed.
  LineParseResult r = parse("m s=\"abc,v=1\nm v=2\nm,t=x v=3\n");
  EXPECT_EQ(names(r), (std::vector<std::string>{"m.v", "m.x.v"}));
  ASSERT_EQ(r.points.size(), 2u);
  EXPECT_EQ(r.points[0].sample.value, 2.0);
  EXPECT_EQ(r.points[1].sample.value, 3.0);
  EXPECT_EQ(messages(r),
            std::vector<std::string>{"line 1: unterminated quoted string in field \"s\" (column 5)"});
  EXPECT_EQ(r.errors[0].line, 1u);
  EXPECT_EQ(r.lines, 3u);

  // A later quote does close it (a string may span lines), whatever is in
  // between; what follows that quote is then judged as the rest of line 1.
  r = parse("m s=\"abc\nm v=2\nm x=\"y\",v=3\nm v=4");
  EXPECT_EQ(names(r), std::vector<std::string>{"m.v"});
  ASSERT_EQ(r.points.size(), 1u);
  EXPECT_EQ(r.points[0].sample.value, 4.0);
  EXPECT_EQ(messages(r), std::vector<std::string>{
                             "line 1: unexpected character after the string of field \"s\" (column 21)"});
  EXPECT_EQ(r.lines, 2u);
}

TEST(LineProtocolEscapes, RejectedLineWithQuotedNewlineSkipsWholeLine) {
  // The line is rejected before its string field; the string's newline
  // must still not start a new line.
  const LineParseResult r = parse("m,t=a=b s=\"x\ny\",v=1\nm v=2");
  ASSERT_EQ(r.points.size(), 1u);
  EXPECT_EQ(r.points[0].sample.value, 2.0);
  EXPECT_EQ(messages(r),
            std::vector<std::string>{"line 1: unescaped '=' in the value of tag \"t\" (column 6)"});
  EXPECT_EQ(r.lines, 2u);
}

// -------------------------------------------------------------------- lines

TEST(LineProtocolLines, CommentsBlankLinesAndCrlf) {
  const LineParseResult r = parse(
      "# comment\r\n\r\n  \t# indented comment, with \"quote\r\n"
      "m v=1 5\r\n   \r\n\t m,unit=C w=2\r\n\n#last\r\n");
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.lines, 2u);
  ASSERT_EQ(r.points.size(), 2u);
  EXPECT_EQ(r.points[0].tag, "m.v");
  EXPECT_EQ(r.points[0].sample.ts, 5);
  EXPECT_EQ(r.points[1].tag, "m.w");
  EXPECT_EQ(r.points[1].unit(), "C");
  EXPECT_EQ(r.points[1].sample.ts, kNow);
  EXPECT_EQ(parse("").lines, 0u);
  EXPECT_EQ(parse("\n\n\r\n  \n").lines, 0u);
  EXPECT_TRUE(parse("\n\n\r\n  \n").errors.empty());
  // A lone '\r' at the very end is a line end too; elsewhere it is a character.
  EXPECT_EQ(point_of("m v=1 5\r").sample.ts, 5);
  EXPECT_EQ(point_of("m\rx v=1").tag, "m_x.v");
}

TEST(LineProtocolLines, PartialFailureKeepsGoodLines) {
  const std::string body =
      "boiler1,unit=degC temperature=81.5 1000\n"  // 1 good
      "boiler1 temperature=12x 1000\n"             // 2 bad value
      "# a comment\n"                              // 3
      "\n"                                         // 4
      "boiler2 pressure=2.5,flow=3i 2000\n"        // 5 good (2 points)
      "boiler2\n"                                  // 6 no fields
      "boiler3 level=1 20x0\n"                     // 7 bad timestamp
      "  boiler3 level=2\n";                       // 8 good
  const LineParseResult r = parse(body);
  EXPECT_EQ(r.lines, 6u);
  EXPECT_EQ(names(r), (std::vector<std::string>{"boiler1.temperature", "boiler2.pressure", "boiler2.flow",
                                                "boiler3.level"}));
  ASSERT_EQ(r.points.size(), 4u);
  EXPECT_EQ(r.points[0].sample.value, 81.5);
  EXPECT_EQ(r.points[0].sample.ts, 1000);
  EXPECT_EQ(r.points[0].unit(), "degC");
  EXPECT_EQ(r.points[1].sample.value, 2.5);
  EXPECT_EQ(r.points[2].sample.value, 3.0);
  EXPECT_EQ(r.points[2].type, DataType::integer);
  EXPECT_EQ(r.points[3].sample.value, 2.0);
  EXPECT_EQ(r.points[3].sample.ts, kNow);
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].line, 2u);
  EXPECT_EQ(r.errors[1].line, 6u);
  EXPECT_EQ(r.errors[2].line, 7u);
  EXPECT_EQ(messages(r),
            (std::vector<std::string>{
                "line 2: invalid field value \"12x\" for field \"temperature\" (column 21)",
                "line 6: missing fields (column 8)", "line 7: invalid timestamp \"20x0\" (column 17)"}));
}

TEST(LineProtocolLines, LaterBadFieldDropsEarlierPointsOfTheLine) {
  const LineParseResult r = parse("m a=1,b=2,c=x\nm d=4");
  EXPECT_EQ(names(r), std::vector<std::string>{"m.d"});
  EXPECT_EQ(messages(r),
            std::vector<std::string>{"line 1: invalid field value \"x\" for field \"c\" (column 13)"});
}

TEST(LineProtocolLines, MalformedLineMessages) {
  EXPECT_EQ(error_of("m"), "line 1: missing fields (column 2)");
  EXPECT_EQ(error_of("m   "), "line 1: missing fields (column 5)");
  EXPECT_EQ(error_of("m,t=1"), "line 1: missing fields (column 6)");
  EXPECT_EQ(error_of(",t=1 f=1"), "line 1: empty measurement (column 1)");
  EXPECT_EQ(error_of("  ,t=1 f=1"), "line 1: empty measurement (column 3)");
  EXPECT_EQ(error_of("m,t f=1"), "line 1: missing '=' after tag key \"t\" (column 4)");
  EXPECT_EQ(error_of("m,t,u=1 f=1"), "line 1: missing '=' after tag key \"t\" (column 4)");
  EXPECT_EQ(error_of("m,=v f=1"), "line 1: empty tag key (column 3)");
  EXPECT_EQ(error_of("m, f=1"), "line 1: empty tag key (column 3)");
  EXPECT_EQ(error_of("m,t= f=1"), "line 1: empty value for tag \"t\" (column 5)");
  EXPECT_EQ(error_of("m,t=,u=1 f=1"), "line 1: empty value for tag \"t\" (column 5)");
  EXPECT_EQ(error_of("m f"), "line 1: missing '=' after field key \"f\" (column 4)");
  EXPECT_EQ(error_of("m f 1"), "line 1: missing '=' after field key \"f\" (column 4)");
  EXPECT_EQ(error_of("m f,g=1"), "line 1: missing '=' after field key \"f\" (column 4)");
  EXPECT_EQ(error_of("m =1"), "line 1: empty field key (column 3)");
  EXPECT_EQ(error_of("m f=1,"), "line 1: empty field key (column 7)");
  EXPECT_EQ(error_of("m f=1,,g=2"), "line 1: empty field key (column 7)");
  EXPECT_EQ(error_of("m f="), "line 1: missing value for field \"f\" (column 5)");
  EXPECT_EQ(error_of("m f=,g=1"), "line 1: missing value for field \"f\" (column 5)");
  EXPECT_EQ(error_of("m f= 1"), "line 1: missing value for field \"f\" (column 5)");
  EXPECT_EQ(error_of("m f=\"open"), "line 1: unterminated quoted string in field \"f\" (column 5)");
  EXPECT_EQ(error_of("m\tf=1"), "line 1: missing fields (column 6)");  // a tab is no separator
}

TEST(LineProtocolLines, ExcerptsAreBoundedAndEscaped) {
  const std::string long_value(100, 'x');
  EXPECT_EQ(error_of("m v=" + long_value),
            "line 1: invalid field value \"" + std::string(61, 'x') + "\"... for field \"v\" (column 5)");
  EXPECT_EQ(error_of("m v=1\"2"), "line 1: invalid field value \"1\\\"2\" for field \"v\" (column 5)");
  EXPECT_EQ(error_of("m v=1\\2"), "line 1: invalid field value \"1\\\\2\" for field \"v\" (column 5)");
  EXPECT_EQ(error_of(std::string("m v=1\x01")),
            "line 1: invalid field value \"1\\x01\" for field \"v\" (column 5)");
  EXPECT_EQ(error_of("m v=\xff\xfe"),
            "line 1: invalid field value \"\\xff\\xfe\" for field \"v\" (column 5)");
  EXPECT_EQ(error_of("m v=25\xc2\xb0"
                     "C"),
            "line 1: invalid field value \"25\xc2\xb0"
            "C\" for field \"v\" (column 5)");
  // A multi-byte character is never cut in two by the truncation.
  std::string utf8_value = std::string(60, 'y') + "\xe2\x82\xac" + std::string(10, 'z');
  EXPECT_EQ(error_of("m v=" + utf8_value),
            "line 1: invalid field value \"" + std::string(60, 'y') + "\"... for field \"v\" (column 5)");
  // Every message stays short, whatever the input.
  const std::string long_key(5000, 'k');
  const std::string msg = error_of("m " + long_key);
  EXPECT_LT(msg.size(), 200u);
  EXPECT_EQ(msg, "line 1: missing '=' after field key \"" + std::string(61, 'k') + "\"... (column 5003)");
}

TEST(LineProtocolLines, NeverReadsPastTheBody) {
  // Views that end inside a larger buffer: the rest must be ignored.
  const std::string buffer = "m v=1 12345678\nnext v=2";
  const LineParseResult r = parse(std::string_view(buffer).substr(0, 9));
  ASSERT_EQ(r.points.size(), 1u);
  EXPECT_EQ(r.points[0].sample.ts, 123);
  const std::string escaped = "m,t=a\\ b v=1";
  EXPECT_EQ(parse(std::string_view(escaped).substr(0, 6)).errors[0].message,
            "line 1: missing fields (column 7)");
  const std::string quoted = "m s=\"a\\\"b\",v=1";
  EXPECT_EQ(parse(std::string_view(quoted).substr(0, 8)).errors[0].message,
            "line 1: unterminated quoted string in field \"s\" (column 5)");
  for (std::string_view body : {"m s=\"\\", "m s=\"", "m\\", "m,t\\", "m v=1 1\r", "m v=1\\"}) {
    const LineParseResult e = parse_exact(body);
    EXPECT_EQ(e.lines, 1u) << body;
  }
}

// -------------------------------------------------------------------- names

TEST(LineProtocolNames, TagSetOrderingAndReservedKeys) {
  LinePoint p = point_of("boiler1,unit=degC temperature=81.5");
  EXPECT_EQ(p.tag, "boiler1.temperature");
  EXPECT_EQ(p.unit(), "degC");
  EXPECT_EQ(p.description(), "");
  EXPECT_EQ(p.sample.quality, Quality::good);

  EXPECT_EQ(point_of("cpu,host=web1,cpu=cpu0 usage_idle=93.1").tag, "cpu.cpu0.web1.usage_idle");
  EXPECT_EQ(point_of("cpu,cpu=cpu0,host=web1 usage_idle=93.1").tag, "cpu.cpu0.web1.usage_idle");
  // Byte-wise: upper case before lower case, shorter prefix first.
  EXPECT_EQ(point_of("m,b=2,a=1,B=3,aa=4 f=1").tag, "m.3.1.4.2.f");

  p = point_of("plant,quality=bad,area=north,description=North\\ loop,unit=m3/h flow=3i");
  EXPECT_EQ(p.tag, "plant.north.flow");
  EXPECT_EQ(p.sample.quality, Quality::bad);
  EXPECT_EQ(p.description(), "North loop");
  EXPECT_EQ(p.unit(), "m3/h");
  EXPECT_EQ(p.type, DataType::integer);
  EXPECT_EQ(p.sample.value, 3.0);

  // All fields of a line share the reserved tags.
  const LineParseResult r = parse("m,quality=uncertain,unit=bar a=1,b=2");
  ASSERT_EQ(r.points.size(), 2u);
  for (const auto& pt : r.points) {
    EXPECT_EQ(pt.sample.quality, Quality::uncertain);
    EXPECT_EQ(pt.unit(), "bar");
  }
}

TEST(LineProtocolNames, QualityValues) {
  EXPECT_EQ(point_of("m,quality=good v=1").sample.quality, Quality::good);
  EXPECT_EQ(point_of("m,quality=uncertain v=1").sample.quality, Quality::uncertain);
  EXPECT_EQ(point_of("m,quality=bad v=1").sample.quality, Quality::bad);
  EXPECT_EQ(point_of("m,quality=BAD v=1").sample.quality, Quality::bad);
  EXPECT_EQ(point_of("m,quality=Uncertain v=1").sample.quality, Quality::uncertain);
  EXPECT_EQ(error_of("m,quality=meh v=1"),
            "line 1: invalid quality \"meh\" (expected good, uncertain or bad) (column 11)");
  EXPECT_EQ(error_of("m,quality=goodish v=1"),
            "line 1: invalid quality \"goodish\" (expected good, uncertain or bad) (column 11)");
}

TEST(LineProtocolNames, DuplicateTagKeys) {
  EXPECT_EQ(error_of("m,a=1,b=2,a=3 f=1"), "line 1: duplicate tag key \"a\" (column 11)");
  EXPECT_EQ(error_of("m,unit=a,unit=b f=1"), "line 1: duplicate tag key \"unit\" (column 10)");
}

TEST(LineProtocolNames, Sanitising) {
  LinePoint p = point_of("tank\\ 1,area=N\xc3\xb6rd level%=42");
  EXPECT_EQ(p.tag, "tank_1.N_rd.level_");
  EXPECT_EQ(p.sample.value, 42.0);
  // Dots are kept as hierarchy; empty dotted segments are dropped.
  EXPECT_EQ(point_of("a.b,x=.c..d. e.f=1").tag, "a.b.c.d.e.f");
  EXPECT_EQ(point_of("..,x=y ..f..=1").tag, "y.f");
  EXPECT_EQ(point_of("m,x=... f=1").tag, "m.f");
  EXPECT_EQ(point_of("site:1/a-b v=1").tag, "site:1_a-b.v");
  EXPECT_EQ(point_of("m,t=\xe2\x82\xac\xe2\x82\xac v=1").tag, "m.__.v");
  EXPECT_EQ(point_of("a\\ b,x=y\\,z d\\ e=1").tag, "a_b.y_z.d_e");
  EXPECT_EQ(error_of(". .=1"),
            "line 1: empty tag name (measurement, tag values and field key have no usable "
            "character) (column 3)");
}

// Every output is JSON, which must be UTF-8: bytes that are not are refused
// with the line, whichever part of it holds them, instead of being rewritten.
TEST(LineProtocolNames, InvalidUtf8RejectsTheLine) {
  EXPECT_EQ(error_of("m,t=\x80\x80 v=1"),
            "line 1: the value of tag \"t\" is not valid UTF-8: \"\\x80\\x80\" (column 5)");
  EXPECT_EQ(error_of("m\xff v=1"), "line 1: measurement \"m\\xff\" is not valid UTF-8 (column 1)");
  EXPECT_EQ(error_of("m,k\xc3=a v=1"), "line 1: tag key \"k\\xc3\" is not valid UTF-8 (column 3)");
  EXPECT_EQ(error_of("m v\xed\xa0\x80=1"),
            "line 1: field key \"v\\xed\\xa0\\x80\" is not valid UTF-8 (column 3)");
  EXPECT_EQ(error_of("m,unit=\xc0\xaf v=1"),
            "line 1: the value of tag \"unit\" is not valid UTF-8: \"\\xc0\\xaf\" (column 8)");
  // The other lines of the body are kept.
  const LineParseResult r = parse("m,description=caf\xc3\xa9 v=1\nm,description=caf\xe9 v=2\nm v=3");
  EXPECT_EQ(r.points.size(), 2u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 2u);
  EXPECT_EQ(r.points[0].description(), "caf\xc3\xa9");
}

TEST(LineProtocolNames, UnitAndDescriptionLengthLimits) {
  EXPECT_EQ(point_of("m,unit=" + std::string(kMaxUnitLength, 'u') + " v=1").unit(),
            std::string(kMaxUnitLength, 'u'));
  EXPECT_EQ(error_of("m,unit=" + std::string(kMaxUnitLength + 1, 'u') + " v=1"),
            "line 1: unit is 65 bytes long, at most 64 allowed (column 8)");
  EXPECT_EQ(
      point_of("m,description=" + std::string(kMaxDescriptionLength, 'd') + " v=1").description().size(),
      kMaxDescriptionLength);
  EXPECT_EQ(error_of("m,description=" + std::string(kMaxDescriptionLength + 1, 'd') + " v=1"),
            "line 1: description is 1025 bytes long, at most 1024 allowed (column 15)");
}

// A line's metadata is held once, whatever the number of its fields: the
// points share it rather than each holding a copy (attack 1 of issue 15:
// a 100 KB unit on 2,000 fields was 200 MB of copies).
TEST(LineProtocolNames, MetadataIsSharedByTheFieldsOfALine) {
  std::string body = "m,unit=degC,description=" + std::string(kMaxDescriptionLength, 'd') + " ";
  for (int i = 0; i < 1000; ++i) body += (i ? ",f" : "f") + std::to_string(i) + "=1";
  body += "\nm,unit=bar v=2";
  const LineParseResult r = parse(body);
  ASSERT_EQ(r.points.size(), 1001u);
  ASSERT_TRUE(r.points[0].metadata);
  for (std::size_t i = 1; i < 1000; ++i) EXPECT_EQ(r.points[i].metadata, r.points[0].metadata);
  EXPECT_EQ(r.points[0].unit(), "degC");
  EXPECT_EQ(r.points[1000].unit(), "bar");
  EXPECT_EQ(r.points[1000].description(), "");
  EXPECT_FALSE(point_of("m v=1").metadata) << "no metadata, no allocation";
}

TEST(LineProtocolNames, NameLengthLimit) {
  const std::string m190(190, 'm');
  EXPECT_EQ(point_of(m190 + " abcdefghi=1").tag, m190 + ".abcdefghi");  // 200 characters
  EXPECT_EQ(error_of(m190 + " abcdefghij=1"), "line 1: tag name \"" + std::string(61, 'm') +
                                                  "\"... is longer than 200 characters (column 192)");
  // A line with only string fields needs no name.
  const LineParseResult r = parse(std::string(300, 'm') + " s=\"x\"");
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.ignored_fields, 1u);
}

// --------------------------------------------------------------------- fuzz

bool same_point(const LinePoint& a, const LinePoint& b) {
  return a.tag == b.tag && a.sample == b.sample && a.type == b.type && a.unit() == b.unit() &&
         a.description() == b.description();
}

/// A random body: raw bytes, characters of line protocol's alphabet, or
/// well-formed lines from random pieces with a few random mutations.
std::string random_body(std::mt19937& rng, int mode) {
  static constexpr char kAlphabet[] = "ab m,=\" \\\n\r\t#01-.eitfTu9\"=, ";
  static const char* const kPieces[] = {"boiler1",
                                        "cpu",
                                        "m\\ x",
                                        "a.b",
                                        ",unit=degC",
                                        ",quality=bad",
                                        ",quality=nope",
                                        ",host=web1",
                                        ",description=hot\\ water",
                                        ",t=a\\,b",
                                        " ",
                                        " ",
                                        " ",
                                        "temp=81.5",
                                        "v=1i",
                                        "v=-3u",
                                        "on=t",
                                        "off=FALSE",
                                        "s=\"str, \\\" x\"",
                                        "s=\"a\nb\"",
                                        ",w=2",
                                        ",x=1e3",
                                        "=",
                                        ",",
                                        " 1764064800",
                                        " -5",
                                        " 99999999999999999999",
                                        "\n",
                                        "\r\n",
                                        "\n",
                                        "# c\n",
                                        "nan",
                                        "\\",
                                        "\""};
  const std::size_t n = rng() % 120;
  std::string body;
  if (mode == 0) {
    for (std::size_t i = 0; i < n; ++i) body += static_cast<char>(rng() % 256);
  } else if (mode == 1) {
    for (std::size_t i = 0; i < n; ++i) body += kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
  } else {
    const int lines = 1 + static_cast<int>(rng() % 6);
    for (int l = 0; l < lines; ++l) {
      body += kPieces[rng() % 4];
      if (rng() % 2) body += kPieces[4 + rng() % 6];
      body += ' ';
      body += kPieces[13 + rng() % 8];
      if (rng() % 2) body += kPieces[20 + rng() % 2];
      if (rng() % 2) body += kPieces[24 + rng() % 3];
      body += '\n';
    }
    const int mutations = static_cast<int>(rng() % 3);
    for (int k = 0; k < mutations && !body.empty(); ++k) {
      const std::size_t at = rng() % body.size();
      const char* piece = kPieces[rng() % std::size(kPieces)];
      if (rng() % 2)
        body.insert(at, piece);
      else
        body[at] = piece[0];
    }
  }
  return body;
}

TEST(LineProtocolFuzz, RandomBytesNeverCrashAndStayConsistent) {
  std::mt19937 rng(20251125);
  std::size_t total_points = 0, total_errors = 0, checked_split = 0;
  for (int iter = 0; iter < 10'000; ++iter) {
    const std::string body = random_body(rng, iter % 3);
    const LineParseResult r = parse_exact(body, Precision::s);
    const std::size_t physical_lines =
        static_cast<std::size_t>(std::count(body.begin(), body.end(), '\n')) + 1;
    ASSERT_LE(r.errors.size(), r.lines) << body;
    ASSERT_LE(r.lines, physical_lines) << body;
    std::size_t prev_line = 0;
    for (const auto& e : r.errors) {
      ASSERT_GT(e.line, prev_line) << body;
      ASSERT_LE(e.line, physical_lines) << body;
      prev_line = e.line;
      const std::string prefix = "line " + std::to_string(e.line) + ": ";
      ASSERT_EQ(e.message.compare(0, prefix.size(), prefix), 0) << e.message;
      ASSERT_EQ(e.message.back(), ')') << e.message;
      ASSERT_LT(e.message.size(), 400u) << e.message;
      for (const char c : e.message) ASSERT_GE(static_cast<unsigned char>(c), 0x20) << e.message;
    }
    for (const auto& p : r.points) {
      ASSERT_TRUE(is_valid_tag_name(p.tag)) << p.tag;
      ASSERT_TRUE(std::isfinite(p.sample.value)) << body;
      ASSERT_EQ(p.sample.ts % kNanosPerSecond == 0 || p.sample.ts == kNow, true) << body;
    }

    // Deterministic.
    const LineParseResult again = parse(body, Precision::s);
    ASSERT_EQ(again.points.size(), r.points.size());
    for (std::size_t i = 0; i < r.points.size(); ++i)
      ASSERT_TRUE(same_point(again.points[i], r.points[i])) << body;
    ASSERT_EQ(messages(again), messages(r));

    // Without quotes, lines are independent: parsing each physical line on
    // its own gives the same points and the same errors.
    if (body.find('"') == std::string::npos) {
      ++checked_split;
      std::vector<LinePoint> points;
      std::vector<std::string> errors;
      std::size_t lines = 0;
      std::size_t start = 0, line_no = 1;
      for (;;) {
        const std::size_t nl = body.find('\n', start);
        const std::string_view one =
            std::string_view(body).substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        const LineParseResult part = parse_exact(one, Precision::s);
        lines += part.lines;
        points.insert(points.end(), part.points.begin(), part.points.end());
        for (const auto& e : part.errors) {
          ASSERT_EQ(e.line, 1u);
          // Renumber "line 1: ..." to the physical line.
          errors.push_back("line " + std::to_string(line_no) + e.message.substr(6));
        }
        if (nl == std::string::npos) break;
        start = nl + 1;
        ++line_no;
      }
      ASSERT_EQ(lines, r.lines) << body;
      ASSERT_EQ(errors, messages(r)) << body;
      ASSERT_EQ(points.size(), r.points.size()) << body;
      for (std::size_t i = 0; i < points.size(); ++i) ASSERT_TRUE(same_point(points[i], r.points[i])) << body;
    }
    total_points += r.points.size();
    total_errors += r.errors.size();
  }
  // The generator reaches both outcomes.
  EXPECT_GT(total_points, 5000u);
  EXPECT_GT(total_errors, 3000u);
  EXPECT_GT(checked_split, 3000u);
  std::cout << "[ fuzz ] " << total_points << " points, " << total_errors << " errors, " << checked_split
            << " bodies checked line by line\n";
}

TEST(LineProtocolFuzz, HugeLines) {
  // 100k fields on one line, the first repeated at the end, and 20k tags on
  // another. Duplicate fields are found through a hash set past a few fields
  // per line, tag keys by sorting: a pairwise scan here would take minutes,
  // which only the test timeout would notice (no clock in the test: these
  // machines are shared and noisy).
  std::string body = "m ";
  for (int i = 0; i < 100'000; ++i) body += "f" + std::to_string(i) + "=1,";
  body += "f0=3,last=2\nn";
  for (int i = 0; i < 20'000; ++i) body += ",k" + std::to_string(i) + "=v";
  body += " x=1";
  const LineParseResult r = parse(body);
  ASSERT_EQ(r.points.size(), 100'001u);
  EXPECT_EQ(r.points[0].tag, "m.f0");
  EXPECT_EQ(r.points[0].sample.value, 3.0);  // the last of a repeated field wins
  EXPECT_EQ(r.points[99'999].tag, "m.f99999");
  EXPECT_EQ(r.points[100'000].tag, "m.last");
  // 20k tag values make a name far over 200 characters.
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 2u);
  EXPECT_EQ(r.errors[0].message.substr(0, 30), "line 2: tag name \"n.v.v.v.v.v.");
}

// --------------------------------------------------------------------- perf

TEST(LineProtocolPerf, Parse200kLines) {
  constexpr int kLines = 200'000;
  std::string body;
  body.reserve(kLines * 64);
  for (int i = 0; i < kLines; ++i) {
    body += "boiler";
    body += std::to_string(i % 100);
    body += ",site=north temperature=81.5 ";
    body += std::to_string(1'764'064'800'000'000'000LL + i);
    body += '\n';
  }
  const auto t0 = std::chrono::steady_clock::now();
  const LineParseResult r = parse(body);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.points.size(), static_cast<std::size_t>(kLines));
  ASSERT_TRUE(r.errors.empty());
  EXPECT_EQ(r.points[12345].tag, "boiler45.north.temperature");
  EXPECT_EQ(r.points[12345].sample.ts, 1'764'064'800'000'012'345LL);
  std::cout << "[ perf ] line protocol: " << kLines << " lines, " << body.size() << " bytes in " << secs * 1e3
            << " ms = " << static_cast<long long>(kLines / secs) << " lines/s\n";
}

}  // namespace
}  // namespace tagstream
