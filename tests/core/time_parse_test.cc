// parse_time: RFC 3339 / ISO 8601, epoch integers by digit count, and
// relative "now-15m" forms. Expected values were computed independently
// (Python's calendar.timegm and `date -u -d @N`).
#include "core/time_parse.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace tagstream {
namespace {

constexpr TimeNs kNow = 1'795'600'800LL * kNanosPerSecond;  // 2026-11-25T10:00:00Z
constexpr TimeNs s(std::int64_t secs) {
  return secs * kNanosPerSecond;
}

std::optional<TimeNs> parse(std::string_view text) {
  return parse_time(text, kNow);
}

// ---------------------------------------------------------------- calendar

TEST(Iso8601Calendar, KnownInstantsInUtc) {
  EXPECT_EQ(parse("2026-11-25T10:00:00Z"), s(1'795'600'800));
  EXPECT_EQ(parse("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse("2000-01-01T00:00:00Z"), s(946'684'800));
  EXPECT_EQ(parse("1999-12-31T23:59:59Z"), s(946'684'799));
  EXPECT_EQ(parse("2026-03-01T00:00:00Z"), s(1'772'323'200));
  EXPECT_EQ(parse("2100-03-01T00:00:00Z"), s(4'107'542'400));
}

TEST(Iso8601Calendar, SeparatorAndDesignatorVariants) {
  EXPECT_EQ(parse("2026-11-25t10:00:00z"), s(1'795'600'800));
  EXPECT_EQ(parse("2026-11-25 10:00:00Z"), s(1'795'600'800));
  EXPECT_EQ(parse("2026-11-25T10:00:00"), s(1'795'600'800));  // no offset = UTC
  EXPECT_EQ(parse("2026-11-25T10:00"), s(1'795'600'800));     // datetime-local
  EXPECT_EQ(parse("2026-11-25T10:00Z"), s(1'795'600'800));
  EXPECT_EQ(parse("  2026-11-25T10:00:00Z \n"), s(1'795'600'800));
}

TEST(Iso8601Calendar, DateAloneIsMidnightUtc) {
  EXPECT_EQ(parse("2026-11-25"), s(1'795'564'800));
  EXPECT_EQ(parse("1970-01-01"), 0);
  EXPECT_EQ(parse("2024-02-29"), s(1'709'164'800));
}

TEST(Iso8601Calendar, Offsets) {
  // 11:00+01:00 and 04:30-05:30 are both 10:00Z.
  EXPECT_EQ(parse("2026-11-25T11:00:00+01:00"), s(1'795'600'800));
  EXPECT_EQ(parse("2026-11-25T04:30:00-05:30"), s(1'795'600'800));
  EXPECT_EQ(parse("2026-11-25T15:30:00+05:30"), s(1'795'600'800));
  EXPECT_EQ(parse("2026-11-25T10:00:00+00:00"), s(1'795'600'800));
  EXPECT_EQ(parse("2026-11-25T10:00:00-00:00"), s(1'795'600'800));
  EXPECT_EQ(parse("2026-11-25T11:00:00+0100"), s(1'795'600'800));
  EXPECT_EQ(parse("2026-11-25T11:00:00+01"), s(1'795'600'800));
  EXPECT_EQ(parse("2026-11-25T11:00+01:00"), s(1'795'600'800));
  // An unencoded '+' in a query string arrives as a space.
  EXPECT_EQ(parse("2026-11-25T11:00:00 01:00"), s(1'795'600'800));
  EXPECT_EQ(parse("2026-11-25 11:00:00 01:00"), s(1'795'600'800));
  // An offset can move the instant across a day and a year boundary.
  EXPECT_EQ(parse("2000-01-01T01:00:00+02:00"), s(946'684'800 - 3600));
  EXPECT_EQ(parse("1999-12-31T23:00:00-01:00"), s(946'684'800));
  EXPECT_EQ(parse("2026-11-25T23:59:00+23:59"), s(1'795'564'800));
}

TEST(Iso8601Calendar, FractionalSeconds) {
  EXPECT_EQ(parse("2026-11-25T10:00:00.5Z"), s(1'795'600'800) + 500'000'000);
  EXPECT_EQ(parse("2026-11-25T10:00:00.123Z"), s(1'795'600'800) + 123'000'000);
  EXPECT_EQ(parse("2026-11-25T10:00:00.000001Z"), s(1'795'600'800) + 1'000);
  EXPECT_EQ(parse("2026-11-25T10:00:00.123456789Z"), s(1'795'600'800) + 123'456'789);
  EXPECT_EQ(parse("2026-11-25T10:00:00.000000001Z"), s(1'795'600'800) + 1);
  EXPECT_EQ(parse("2026-11-25T10:00:00,25Z"), s(1'795'600'800) + 250'000'000);
  EXPECT_EQ(parse("2026-11-25T11:00:00.75+01:00"), s(1'795'600'800) + 750'000'000);
  EXPECT_EQ(parse("2026-11-25T10:00:00.999999999"), s(1'795'600'800) + 999'999'999);
}

TEST(Iso8601Calendar, RoundTripsWithFormatIso8601) {
  EXPECT_EQ(format_iso8601(*parse("2026-11-25T10:00:00.123Z")), "2026-11-25T10:00:00.123Z");
  EXPECT_EQ(format_iso8601(*parse("1969-07-20T20:17:40.250Z")), "1969-07-20T20:17:40.250Z");
}

TEST(Iso8601Calendar, Pre1970) {
  EXPECT_EQ(parse("1969-07-20T20:17:40Z"), s(-14'182'940));
  EXPECT_EQ(parse("1969-12-31T23:59:59Z"), s(-1));
  EXPECT_EQ(parse("1969-12-31T23:59:59.5Z"), s(-1) + 500'000'000);
  EXPECT_EQ(parse("1900-01-01"), s(-2'208'988'800));
}

TEST(Iso8601Calendar, LeapDays) {
  EXPECT_EQ(parse("2024-02-29T00:00:00Z"), s(1'709'164'800));
  EXPECT_EQ(parse("2000-02-29"), s(951'782'400));  // divisible by 400: leap
  EXPECT_EQ(parse("2023-02-29T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse("2023-02-29"), std::nullopt);
  EXPECT_EQ(parse("2100-02-29"), std::nullopt);  // divisible by 100: not leap
  EXPECT_EQ(parse("2024-02-30"), std::nullopt);
}

TEST(Iso8601Calendar, FieldRanges) {
  EXPECT_EQ(parse("2026-00-10T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse("2026-13-10T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse("2026-11-00T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse("2026-11-31T00:00:00Z"), std::nullopt);  // November has 30
  EXPECT_EQ(parse("2026-04-31"), std::nullopt);
  EXPECT_EQ(parse("2026-12-32"), std::nullopt);
  EXPECT_EQ(parse("2026-11-25T24:00:00Z"), std::nullopt);
  EXPECT_EQ(parse("2026-11-25T10:60:00Z"), std::nullopt);
  EXPECT_EQ(parse("2026-11-25T10:00:60Z"), std::nullopt);  // no leap seconds
  EXPECT_EQ(parse("2026-11-25T10:00:00+24:00"), std::nullopt);
  EXPECT_EQ(parse("2026-11-25T10:00:00+01:60"), std::nullopt);
  // Edges that are valid.
  EXPECT_EQ(parse("2026-12-31T23:59:59Z"), s(1'798'761'599));
  EXPECT_EQ(parse("2026-01-31"), s(1'769'817'600));
}

TEST(Iso8601Calendar, TimeNsRangeLimits) {
  EXPECT_EQ(parse("2262-04-11T23:47:16.854775807Z"), std::numeric_limits<TimeNs>::max());
  EXPECT_EQ(parse("2262-04-11T23:47:16.854775808Z"), std::nullopt);
  EXPECT_EQ(parse("1677-09-21T00:12:43.145224192Z"), std::numeric_limits<TimeNs>::min());
  EXPECT_EQ(parse("1677-09-21T00:12:43.145224191Z"), std::nullopt);
  EXPECT_EQ(parse("9999-12-31T23:59:59Z"), std::nullopt);
  EXPECT_EQ(parse("0001-01-01"), std::nullopt);
}

TEST(Iso8601Calendar, MalformedIsRejected) {
  for (const char* bad : {
           "2026-11-25T10:00:00.Z",            // empty fraction
           "2026-11-25T10:00:00.1234567891Z",  // 10 fraction digits
           "2026-11-25T10:00.5Z",              // fraction without seconds
           "2026-11-25T10Z",                   // hour alone
           "2026-11-25T1:00:00Z",              // one-digit hour
           "2026-1-25",                        // one-digit month
           "2026-11-5",                        // one-digit day
           "26-11-25",                         // two-digit year
           "20261-11-25",                      // five-digit year
           "2026/11/25",
           "2026-11-25X10:00:00Z",
           "2026-11-25T",
           "2026-11-25T10:00:00ZZ",
           "2026-11-25T10:00:00Z junk",
           "2026-11-25T10:00:00+1:00",
           "2026-11-25T10:00:00+01:",
           "2026-11-25T10:00:00+01:0",
           "2026-11-25T10:00:00+010",
           "2026-11-25T10:00:00 -05:00",
           "2026-11-25T10:00:00UTC",
           "2026-11-25Z",
           "2026-11-25T10:00:00\xef\xbc\xba",  // fullwidth Z
       }) {
    EXPECT_EQ(parse(bad), std::nullopt) << bad;
  }
}

// ---------------------------------------------------------------- epoch

TEST(Iso8601Epoch, UnitFollowsDigitCount) {
  EXPECT_EQ(parse("0"), 0);              // 1 digit: seconds
  EXPECT_EQ(parse("86400"), s(86'400));  // 5: seconds
  EXPECT_EQ(parse("2026"), s(2026));     // 4 digits: seconds, not the year 2026 (use "2026-01-01")
  EXPECT_EQ(parse("1795600800"), s(1'795'600'800));                         // 10: seconds
  EXPECT_EQ(parse("9223372036"), s(9'223'372'036));                         // 10: seconds, 2262
  EXPECT_EQ(parse("100000000000"), 100'000'000'000LL * kNanosPerMilli);     // 12: ms (1973-03-03)
  EXPECT_EQ(parse("1795600800123"), s(1'795'600'800) + 123'000'000);        // 13: ms
  EXPECT_EQ(parse("179560080012345"), 179'560'080'012'345LL * 1'000);       // 15: us
  EXPECT_EQ(parse("1795600800123456"), s(1'795'600'800) + 123'456'000);     // 16: us
  EXPECT_EQ(parse("179560080012345678"), 179'560'080'012'345'678LL);        // 18: ns
  EXPECT_EQ(parse("1795600800123456789"), s(1'795'600'800) + 123'456'789);  // 19: ns
  EXPECT_EQ(parse("9223372036854775807"), std::numeric_limits<TimeNs>::max());
}

TEST(Iso8601Epoch, OutOfRangeForItsUnitIsRejected) {
  // The unit is fixed by the digit count, so a value past 2262 in that unit
  // is rejected rather than reinterpreted in a finer unit.
  EXPECT_EQ(parse("9223372037"), std::nullopt);   // 10 digits of seconds, 2262-04-11T23:47:17Z
  EXPECT_EQ(parse("10000000000"), std::nullopt);  // 11 digits of seconds: year 2286
  EXPECT_EQ(parse("99999999999"), std::nullopt);
  EXPECT_EQ(parse("9223372036855"), std::nullopt);        // 13 digits of ms
  EXPECT_EQ(parse("17956008001234"), std::nullopt);       // 14 digits of ms
  EXPECT_EQ(parse("17956008001234567"), std::nullopt);    // 17 digits of us
  EXPECT_EQ(parse("9223372036854775808"), std::nullopt);  // 19 digits, past int64
  EXPECT_EQ(parse("9999999999999999999"), std::nullopt);
  EXPECT_EQ(parse("17956008001234567890"), std::nullopt);  // 20 digits
  EXPECT_EQ(parse("00000000000000000001"), std::nullopt);  // 20 digits
}

TEST(Iso8601Epoch, LeadingZerosCountAsDigits) {
  EXPECT_EQ(parse("0000000000001"), 1 * kNanosPerMilli);  // 13 digits: ms
  EXPECT_EQ(parse("00000000001"), s(1));                  // 11 digits: s
}

TEST(Iso8601Epoch, NegativeBeforeEpoch) {
  EXPECT_EQ(parse("-14182940"), s(-14'182'940));
  EXPECT_EQ(parse("-9223372036"), s(-9'223'372'036));                      // 1677-09-21T00:12:44Z
  EXPECT_EQ(parse("-9223372037"), std::nullopt);                           // before 1677-09-21T00:12:43.145Z
  EXPECT_EQ(parse("-141829400000"), -141'829'400'000LL * kNanosPerMilli);  // 12: ms
  EXPECT_EQ(parse("-1"), s(-1));
  EXPECT_EQ(parse("-"), std::nullopt);
  EXPECT_EQ(parse("--1"), std::nullopt);
  EXPECT_EQ(parse("+1795600800"), std::nullopt);
}

TEST(Iso8601Epoch, NonIntegersRejected) {
  EXPECT_EQ(parse("1795600800.5"), std::nullopt);
  EXPECT_EQ(parse("1e9"), std::nullopt);
  EXPECT_EQ(parse("0x10"), std::nullopt);
  EXPECT_EQ(parse("1795 600800"), std::nullopt);
  EXPECT_EQ(parse("12ab"), std::nullopt);
}

// ---------------------------------------------------------------- relative

TEST(Iso8601Relative, NowAndOffsetsFromInjectedNow) {
  EXPECT_EQ(parse("now"), kNow);
  EXPECT_EQ(parse("NOW"), kNow);
  EXPECT_EQ(parse(" now "), kNow);
  EXPECT_EQ(parse("now-30s"), kNow - s(30));
  EXPECT_EQ(parse("now-15m"), kNow - s(15 * 60));
  EXPECT_EQ(parse("now-24h"), kNow - s(24 * 3600));
  EXPECT_EQ(parse("now-7d"), kNow - s(7 * 86'400));
  EXPECT_EQ(parse("now-2w"), kNow - s(14 * 86'400));
  EXPECT_EQ(parse("now+1h"), kNow + s(3600));
  EXPECT_EQ(parse("now-0s"), kNow);
  EXPECT_EQ(parse("Now-15m"), kNow - s(900));
  EXPECT_EQ(parse_time("now-15m", 0), -s(900));
  EXPECT_EQ(parse_time("now-24h", s(1'795'600'800)), s(1'795'514'400));  // 2026-11-24T10:00:00Z
}

TEST(Iso8601Relative, MalformedIsRejected) {
  for (const char* bad : {"now-", "now-m", "now-15", "now-15x", "now-15M", "now-15H", "now - 15m", "now-1.5h",
                          "now--15m", "now-15mm", "now15m", "nowish", "no", "n", "now-15m-1s",
                          "now-9999999999999s", "yesterday", "today"}) {
    EXPECT_EQ(parse(bad), std::nullopt) << bad;
  }
}

TEST(Iso8601Relative, OverflowIsRejected) {
  EXPECT_EQ(parse_time("now-1w", std::numeric_limits<TimeNs>::min()), std::nullopt);
  EXPECT_EQ(parse_time("now+1s", std::numeric_limits<TimeNs>::max()), std::nullopt);
  EXPECT_EQ(parse("now-999999999999w"), std::nullopt);
  EXPECT_EQ(parse("now-106751d"), kNow - s(106'751LL * 86'400));
}

// ---------------------------------------------------------------- garbage

TEST(Iso8601Garbage, Rejected) {
  for (const char* bad : {"", " ", "\t", "garbage", "Z", "T", "-", "2026-", "2026-11",
                          "2026-11-25T10:00:00Z\x01", "\xff\xfe", "null", "true"}) {
    EXPECT_EQ(parse(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(parse(std::string_view("2026-11-25\0T10", 14)), std::nullopt);
  EXPECT_EQ(parse(std::string(10'000, '1')), std::nullopt);
}

}  // namespace
}  // namespace tagstream
