#include "connect/mqtt_payload.h"

#include <gtest/gtest.h>

namespace tagstream::mqtt {
namespace {

constexpr TimeNs kNow = 1'764'000'000'000'000'000;

TEST(MqttPayload, Numbers) {
  EXPECT_EQ(decode_number("21.5")->value, 21.5);
  EXPECT_EQ(decode_number(" -3\n")->value, -3);
  EXPECT_EQ(decode_number("+1e3")->value, 1000);
  EXPECT_EQ(decode_number("true")->value, 1);
  EXPECT_EQ(decode_number("false")->value, 0);
  EXPECT_FALSE(decode_number(""));
  EXPECT_FALSE(decode_number("12abc"));
  EXPECT_FALSE(decode_number("nan"));
  EXPECT_FALSE(decode_number("inf"));
  EXPECT_FALSE(decode_number("1e999"));
  EXPECT_FALSE(decode_number(std::string("1\0", 2)));
}

TEST(MqttPayload, JsonWithDefaultFields) {
  JsonFields f;
  auto v = decode_json(R"({"value": 4.5, "ts": 1764000000000, "quality": "uncertain"})", f, kNow);
  ASSERT_TRUE(v) << v.error;
  EXPECT_EQ(v->value, 4.5);
  EXPECT_EQ(*v->ts, 1'764'000'000'000'000'000);
  EXPECT_EQ(v->quality, Quality::uncertain);
  auto b = decode_json(R"({"value": true})", f, kNow);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->value, 1);
  EXPECT_FALSE(b->ts);
  auto iso = decode_json(R"({"value": 1, "ts": "2025-11-24T16:00:00.5Z"})", f, kNow);
  ASSERT_TRUE(iso) << iso.error;
  EXPECT_EQ(*iso->ts, 1'764'000'000'500'000'000);
}

TEST(MqttPayload, JsonWithConfiguredFields) {
  JsonFields f{.value = "v", .ts = "t", .quality = "q", .ts_unit = EpochUnit::seconds};
  auto v = decode_json(R"({"v": 7, "t": 1764000000, "value": 99})", f, kNow);
  ASSERT_TRUE(v) << v.error;
  EXPECT_EQ(v->value, 7);
  EXPECT_EQ(*v->ts, kNow);
}

TEST(MqttPayload, JsonErrors) {
  JsonFields f;
  EXPECT_NE(decode_json("{", f, kNow).error.find("not JSON"), std::string::npos);
  EXPECT_NE(decode_json("[1]", f, kNow).error.find("not a JSON object"), std::string::npos);
  EXPECT_NE(decode_json(R"({"val": 1})", f, kNow).error.find("no \"value\""), std::string::npos);
  EXPECT_NE(decode_json(R"({"value": "1"})", f, kNow).error.find("number or a boolean"), std::string::npos);
  EXPECT_FALSE(decode_json(R"({"value": 1, "quality": "great"})", f, kNow));
  EXPECT_FALSE(decode_json(R"({"value": 1, "ts": "yesterday"})", f, kNow));
  EXPECT_FALSE(decode_json(R"({"value": 1, "ts": 99999999999999999999})", f, kNow));
  // Far in the future: refused like any other ingest path refuses it.
  EXPECT_FALSE(decode_json(R"({"value": 1, "ts": 4000000000000})", f, kNow));
  std::string deep(100, '[');
  EXPECT_FALSE(decode_json(R"({"value": 1, "x": )" + deep, f, kNow));
}

TEST(MqttPayload, CommandEncodings) {
  EXPECT_EQ(encode_number(42.5, false), "42.5");
  EXPECT_EQ(encode_number(3, true), "1");
  JsonFields f;
  EXPECT_EQ(encode_json(1, true, kNow, f), R"({"value":true,"ts":1764000000000})");
  EXPECT_EQ(encode_json(2.5, false, kNow, f), R"({"value":2.5E0,"ts":1764000000000})");
}

}  // namespace
}  // namespace tagstream::mqtt
