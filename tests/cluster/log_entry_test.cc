#include "cluster/log_entry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cluster/redis_connection.h"

namespace tagstream::cluster {
namespace {

TEST(LogEntry, SamplesRoundTripExactly) {
  const std::vector<NamedSample> in = {
      {"boiler1.temperature", {1'796'443'222'228'000'123, 0.1 + 0.2, Quality::good}},
      {"a:b-c_d.e", {-5, -1e-300, Quality::bad}},
      {"x", {0, std::numeric_limits<double>::max(), Quality::uncertain}},
      {"y", {7, 42, Quality::good}},
  };
  const auto out = decode_samples(encode_samples(in));
  ASSERT_TRUE(out) << out.error;
  ASSERT_EQ(out->size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ((*out)[i].name, in[i].name);
    EXPECT_EQ((*out)[i].sample, in[i].sample) << i;  // bit-exact value, ts and quality
  }
}

TEST(LogEntry, MalformedSamplesAreRefusedWhole) {
  for (const char* bad : {"x\t1\t2\n", "x\t1\t2\t0", "bad name\t1\t2\t0\n", "x\tnope\t2\t0\n",
                          "x\t1\tnan?\t0\n", "x\t1\t2\t3\n", "x\t1\t2\t0\nx\t1\t2\n", "..\t1\t2\t0\n"}) {
    const auto out = decode_samples(bad);
    EXPECT_FALSE(out) << bad;
    EXPECT_FALSE(out.error.empty());
  }
  const auto empty = decode_samples("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(LogEntry, TagsCarryAnyDescription) {
  const std::vector<TagInfo> in = {{"t1", "degC", "line one\nline\ttwo \"quoted\"", DataType::number},
                                   {"t2", "", "", DataType::boolean}};
  const auto out = decode_tags(encode_tags(in));
  ASSERT_TRUE(out) << out.error;
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].description, in[0].description);
  EXPECT_EQ((*out)[0].unit, "degC");
  EXPECT_EQ((*out)[1].type, DataType::boolean);
  EXPECT_FALSE(decode_tags("[[\"bad name\",\"\",\"\",\"number\"]]"));
  EXPECT_FALSE(decode_tags("[[\"t\",\"\",\"\",\"string\"]]"));
  EXPECT_FALSE(decode_tags("{}"));
  EXPECT_FALSE(decode_tags("[[1,2,3,4]]"));
}

TEST(LogEntry, EntryIdsAreEventIds) {
  const auto seq = entry_seq("1796443237502796-0");
  ASSERT_TRUE(seq);
  EXPECT_EQ(*seq, 1796443237502796u);
  EXPECT_FALSE(entry_seq("1796443237502796"));
  EXPECT_FALSE(entry_seq("x-0"));
}

TEST(RedisUrl, ParsesWhatAnOperatorWrites) {
  const auto a = parse_redis_url("redis://10.0.0.5:6380/2");
  ASSERT_TRUE(a) << a.error;
  EXPECT_EQ(a->host, "10.0.0.5");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->db, 2);
  const auto b = parse_redis_url("redis://:s3cret@redis.plant");
  ASSERT_TRUE(b) << b.error;
  EXPECT_EQ(b->password, "s3cret");
  EXPECT_EQ(b->port, 6379);
  EXPECT_EQ(b->endpoint(), "redis.plant:6379");  // never the password
  const auto c = parse_redis_url("redis://[::1]:7000");
  ASSERT_TRUE(c) << c.error;
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->endpoint(), "[::1]:7000");
  for (const char* bad : {"", "127.0.0.1:6379", "rediss://h", "redis://h:0", "redis://h:70000", "redis://h/x",
                          "redis://h/1?x=1", "http://h"})
    EXPECT_FALSE(parse_redis_url(bad)) << bad;
}

}  // namespace
}  // namespace tagstream::cluster
