#include <gtest/gtest.h>

#include "connect/sparkplug_codec.h"
#include "connect/sparkplug_host.h"

namespace tagstream::sparkplug {
namespace {

constexpr TimeNs kNow = 1'764'000'000'000'000'000;

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Metric metric(std::string name, std::optional<std::uint64_t> alias, std::uint32_t type, double value) {
  Metric m;
  m.name = std::move(name);
  m.alias = alias;
  m.datatype = type;
  m.value = value;
  return m;
}

TEST(SparkplugTopic, ParsesNodeAndDeviceTopics) {
  auto t = parse_topic("spBv1.0/G1/DDATA/E1/D1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->group, "G1");
  EXPECT_EQ(t->type, MessageType::ddata);
  EXPECT_EQ(t->edge, "E1");
  EXPECT_EQ(t->device, "D1");
  EXPECT_EQ(topic_text(*t), "spBv1.0/G1/DDATA/E1/D1");
  EXPECT_TRUE(parse_topic("spBv1.0/G1/NBIRTH/E1"));
  EXPECT_FALSE(parse_topic("spBv1.0/G1/NBIRTH/E1/D1"));
  EXPECT_FALSE(parse_topic("spBv1.0/G1/DDATA/E1"));
  EXPECT_FALSE(parse_topic("spAv1.0/G1/NDATA/E1"));
  EXPECT_FALSE(parse_topic("spBv1.0/G1/XDATA/E1"));
  EXPECT_FALSE(parse_topic("spBv1.0//NDATA/E1"));
}

TEST(SparkplugCodec, RoundTripsEveryNumericType) {
  Payload p;
  p.timestamp = 1764000000000;
  p.seq = 7;
  p.metrics.push_back(metric("i8", 1, kInt8, -5));
  p.metrics.push_back(metric("i16", 2, kInt16, -300));
  p.metrics.push_back(metric("i32", 3, kInt32, -70000));
  p.metrics.push_back(metric("i64", 4, kInt64, -5e12));
  p.metrics.push_back(metric("u32", 5, kUInt32, 4e9));
  p.metrics.push_back(metric("f", 6, kFloat, 1.5));
  p.metrics.push_back(metric("d", 7, kDouble, 2.25));
  p.metrics.push_back(metric("b", 8, kBoolean, 1));
  p.metrics[6].unit = "degC";
  auto d = decode(bytes(encode(p)), {});
  ASSERT_TRUE(d) << d.error;
  EXPECT_EQ(d->seq, 7u);
  EXPECT_EQ(d->timestamp, 1764000000000u);
  ASSERT_EQ(d->metrics.size(), 8u);
  const double expected[] = {-5, -300, -70000, -5e12, 4e9, 1.5, 2.25, 1};
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(d->metrics[i].value, expected[i]) << d->metrics[i].name;
    EXPECT_EQ(d->metrics[i].alias, i + 1);
  }
  EXPECT_EQ(d->metrics[6].unit, "degC");
  // A data message leaves the datatype out: the birth's reads the bits.
  auto encoded = decode(bytes(encode(p)), {});
  EXPECT_EQ(value_as(encoded->metrics[0], kInt8), -5);
  EXPECT_EQ(value_as(encoded->metrics[0], kUInt32), 4294967291.0);
}

TEST(SparkplugCodec, RefusesHostilePayloads) {
  Payload p;
  for (int i = 0; i < 20; ++i) p.metrics.push_back(metric("m" + std::to_string(i), i, kDouble, i));
  EXPECT_NE(decode(bytes(encode(p)), {.max_metrics = 10}).error.find("more than 10 metrics"),
            std::string::npos);
  EXPECT_FALSE(decode(bytes(std::string("\x12\xff\xff", 3)), {}));  // truncated length
  EXPECT_FALSE(decode(bytes(std::string("\x0b", 1)), {}));          // a group
  Payload named;
  named.metrics.push_back(metric(std::string(300, 'n'), 1, kDouble, 1));
  EXPECT_NE(decode(bytes(encode(named)), {}).error.find("metric name"), std::string::npos);
  // Property sets nested 1000 deep: metric.properties(9) -> values(2) ->
  // propertyset_value(9) -> values(2) ...
  std::string inner;
  for (int i = 0; i < 1000; ++i) {
    const char tag = (i % 2 == 0) ? '\x4a' : '\x12';  // PropertySet.values / PropertyValue.propertyset_value
    std::string wrapped(1, tag);
    std::size_t n = inner.size();
    do {
      wrapped += static_cast<char>((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>= 7;
    } while (n);
    inner = wrapped + inner;
  }
  std::string metric_bytes = "\x4a";
  std::size_t n = inner.size();
  do {
    metric_bytes += static_cast<char>((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>= 7;
  } while (n);
  metric_bytes += inner;
  std::string payload = "\x12";
  n = metric_bytes.size();
  do {
    payload += static_cast<char>((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>= 7;
  } while (n);
  payload += metric_bytes;
  EXPECT_NE(decode(bytes(payload), {}).error.find("nested more than"), std::string::npos);
}

TEST(SparkplugHost, BirthDataDeathAndRebirth) {
  TagRegistry registry;
  SparkplugHost host(registry, {});
  Payload birth;
  birth.seq = 0;
  birth.metrics.push_back(metric("bdSeq", std::nullopt, kInt64, 3));
  birth.metrics.push_back(metric("Line/Speed", 1, kDouble, 10));
  birth.metrics.back().unit = "m/s";
  birth.metrics.push_back(metric("Running", 2, kBoolean, 1));
  birth.metrics.push_back(metric("Label", 3, kString, 0));
  birth.metrics.back().value.reset();
  auto out = host.handle(*parse_topic("spBv1.0/G/NBIRTH/E"), bytes(encode(birth)), kNow);
  EXPECT_EQ(out.error, "");
  ASSERT_EQ(out.live.size(), 2u);
  const auto speed = registry.find("G.E.Line.Speed");
  ASSERT_TRUE(speed);
  EXPECT_EQ(registry.info(*speed)->unit, "m/s");
  EXPECT_EQ(registry.info(*registry.find("G.E.Running"))->type, tagstream::DataType::boolean);
  EXPECT_FALSE(registry.find("G.E.Label"));
  EXPECT_FALSE(registry.find("G.E.bdSeq"));

  Payload data;
  data.seq = 1;
  Metric m;
  m.alias = 1;
  m.value = 11;
  m.datatype = kDouble;
  data.metrics.push_back(m);
  Metric text;  // a String metric by alias: known, not a tag, no rebirth
  text.alias = 3;
  data.metrics.push_back(text);
  out = host.handle(*parse_topic("spBv1.0/G/NDATA/E"), bytes(encode(data)), kNow);
  EXPECT_EQ(out.error, "");
  ASSERT_EQ(out.live.size(), 1u);
  EXPECT_EQ(out.live[0].tag, *speed);
  EXPECT_EQ(out.live[0].sample.value, 11);

  // A historical metric goes to history only.
  data.seq = 2;
  data.metrics.resize(1);
  data.metrics[0].is_historical = true;
  data.metrics[0].timestamp = 1763999999000;
  out = host.handle(*parse_topic("spBv1.0/G/NDATA/E"), bytes(encode(data)), kNow);
  EXPECT_TRUE(out.live.empty());
  ASSERT_EQ(out.history.size(), 1u);
  EXPECT_EQ(out.history[0].sample.ts, 1763999999000 * kNanosPerMilli);

  // A stale death (an older session's will) changes nothing.
  Payload stale;
  stale.metrics.push_back(metric("bdSeq", std::nullopt, kInt64, 2));
  out = host.handle(*parse_topic("spBv1.0/G/NDEATH/E"), bytes(encode(stale)), kNow);
  EXPECT_TRUE(out.ignored);
  EXPECT_TRUE(out.live.empty());
  // This session's death: every tag bad, at once.
  Payload death;
  death.metrics.push_back(metric("bdSeq", std::nullopt, kInt64, 3));
  out = host.handle(*parse_topic("spBv1.0/G/NDEATH/E"), bytes(encode(death)), kNow);
  ASSERT_EQ(out.live.size(), 2u);
  for (const auto& s : out.live) EXPECT_EQ(s.sample.quality, Quality::bad);
  EXPECT_EQ(out.live[0].sample.value, 11);  // the last live value, not the historical one

  // Data after the death: ignored, and a rebirth is asked for.
  data.seq = 3;
  data.metrics[0].is_historical = false;
  out = host.handle(*parse_topic("spBv1.0/G/NDATA/E"), bytes(encode(data)), kNow);
  EXPECT_TRUE(out.live.empty());
  EXPECT_EQ(out.rebirth_topic, "spBv1.0/G/NCMD/E");
}

TEST(SparkplugHost, SequenceGapAndUnknownAliasAskForRebirth) {
  TagRegistry registry;
  SparkplugHost host(registry, {});
  Payload birth;
  birth.seq = 0;
  birth.metrics.push_back(metric("T", 1, kFloat, 1));
  ASSERT_EQ(host.handle(*parse_topic("spBv1.0/G/NBIRTH/E"), bytes(encode(birth)), kNow).error, "");
  Payload data;
  data.seq = 2;  // 1 is missing
  Metric m;
  m.alias = 1;
  m.value = 2;
  m.datatype = kFloat;
  data.metrics.push_back(m);
  auto out = host.handle(*parse_topic("spBv1.0/G/NDATA/E"), bytes(encode(data)), kNow);
  EXPECT_TRUE(out.live.empty());
  EXPECT_EQ(out.rebirth_topic, "spBv1.0/G/NCMD/E");
  EXPECT_NE(out.error.find("sequence gap"), std::string::npos);
  // Asked once per interval, however much data follows.
  data.seq = 3;
  out = host.handle(*parse_topic("spBv1.0/G/NDATA/E"), bytes(encode(data)), kNow + 1);
  EXPECT_FALSE(out.rebirth_topic);
  // Reborn: data flows again, and the seq wraps at 255.
  birth.seq = 254;
  EXPECT_EQ(host.handle(*parse_topic("spBv1.0/G/NBIRTH/E"), bytes(encode(birth)), kNow).error, "");
  data.seq = 255;
  EXPECT_EQ(host.handle(*parse_topic("spBv1.0/G/NDATA/E"), bytes(encode(data)), kNow).live.size(), 1u);
  data.seq = 0;
  EXPECT_EQ(host.handle(*parse_topic("spBv1.0/G/NDATA/E"), bytes(encode(data)), kNow).live.size(), 1u);
  // Data for an alias no birth announced.
  data.seq = 1;
  data.metrics[0].alias = 99;
  out = host.handle(*parse_topic("spBv1.0/G/NDATA/E"), bytes(encode(data)), kNow);
  EXPECT_TRUE(out.live.empty());
  EXPECT_TRUE(out.rebirth_topic);
  // A node never born: rebirth.
  out = host.handle(*parse_topic("spBv1.0/G/NDATA/Other"), bytes(encode(data)), kNow);
  EXPECT_EQ(out.rebirth_topic, "spBv1.0/G/NCMD/Other");
}

TEST(SparkplugHost, DevicesAndWriteTargets) {
  TagRegistry registry;
  HostOptions options;
  options.tag_prefix = "site.";
  SparkplugHost host(registry, options);
  Payload nbirth;
  nbirth.seq = 0;
  nbirth.metrics.push_back(metric("Uptime", 1, kInt64, 5));
  ASSERT_EQ(host.handle(*parse_topic("spBv1.0/G/NBIRTH/E"), bytes(encode(nbirth)), kNow).error, "");
  Payload dbirth;
  dbirth.seq = 1;
  dbirth.metrics.push_back(metric("Setpoint", 10, kInt16, -4));
  auto out = host.handle(*parse_topic("spBv1.0/G/DBIRTH/E/Pump 1"), bytes(encode(dbirth)), kNow);
  ASSERT_EQ(out.error, "");
  ASSERT_EQ(out.live.size(), 1u);
  EXPECT_EQ(out.live[0].sample.value, -4);
  auto target = host.target("site.G.E.Pump_1.Setpoint");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->topic, "spBv1.0/G/DCMD/E/Pump 1");
  EXPECT_EQ(target->metric, "Setpoint");
  EXPECT_EQ(target->datatype, kInt16);
  EXPECT_EQ(host.target("site.G.E.Uptime")->topic, "spBv1.0/G/NCMD/E");
  EXPECT_FALSE(host.target("site.G.E.Nothing"));
  Payload ddeath;
  ddeath.seq = 2;
  out = host.handle(*parse_topic("spBv1.0/G/DDEATH/E/Pump 1"), bytes(encode(ddeath)), kNow);
  ASSERT_EQ(out.live.size(), 1u);  // the device's tag, not the node's
  EXPECT_EQ(out.live[0].sample.quality, Quality::bad);
}

TEST(SparkplugHost, TagNamesAreMappedOrRefused) {
  Topic t{"Plant 1", MessageType::ddata, "Edge x", "Dev.1"};
  EXPECT_EQ(metric_tag_name("", t, "Motor/Speed (rpm)"), "Plant_1.Edge_x.Dev_1.Motor.Speed__rpm_");
  EXPECT_EQ(metric_tag_name("", t, std::string(300, 'a')), "");
}

}  // namespace
}  // namespace tagstream::sparkplug
