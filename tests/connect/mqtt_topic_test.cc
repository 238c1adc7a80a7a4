#include "connect/mqtt_topic.h"

#include <gtest/gtest.h>

namespace tagstream::mqtt {
namespace {

TEST(MqttTopic, FilterValidation) {
  EXPECT_EQ(topic_filter_error("plant/+/temperature"), "");
  EXPECT_EQ(topic_filter_error("plant/#"), "");
  EXPECT_EQ(topic_filter_error("#"), "");
  EXPECT_NE(topic_filter_error(""), "");
  EXPECT_NE(topic_filter_error("plant/#/x"), "");
  EXPECT_NE(topic_filter_error("plant/a#"), "");
  EXPECT_NE(topic_filter_error("plant/a+/x"), "");
  EXPECT_NE(topic_filter_error(std::string(2000, 'a')), "");
  EXPECT_EQ(wildcard_count("a/+/b/+/#"), 3u);
}

TEST(MqttTopic, MatchCapturesWildcardLevels) {
  std::vector<std::string_view> c;
  ASSERT_TRUE(match_topic("plant/+/temperature", "plant/boiler1/temperature", c));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0], "boiler1");
  EXPECT_FALSE(match_topic("plant/+/temperature", "plant/boiler1/pressure", c));
  EXPECT_FALSE(match_topic("plant/+/temperature", "plant/boiler1/temperature/x", c));
  EXPECT_FALSE(match_topic("plant/+", "plant", c));
  ASSERT_TRUE(match_topic("plant/#", "plant/a/b/c", c));
  EXPECT_EQ(c.at(0), "a/b/c");
  ASSERT_TRUE(match_topic("plant/#", "plant", c));
  EXPECT_EQ(c.at(0), "");
  ASSERT_TRUE(match_topic("+/+", "a/", c));
  EXPECT_EQ(c.at(1), "");
  EXPECT_FALSE(match_topic("#", "$SYS/broker/uptime", c));
  EXPECT_TRUE(match_topic("$SYS/#", "$SYS/broker/uptime", c));
  EXPECT_TRUE(match_topic("a/b", "a/b", c));
  EXPECT_FALSE(match_topic("a/b", "a/bc", c));
}

TEST(MqttTopic, TagPathMapsLevelsToSegments) {
  EXPECT_EQ(tag_path("a/b c/d"), "a.b_c.d");
  EXPECT_EQ(tag_path("a.b"), "a_b");
  EXPECT_EQ(tag_path("a//b/"), "a._.b._");
  EXPECT_EQ(tag_path("Node Control/Rebirth"), "Node_Control.Rebirth");
}

TEST(MqttTopic, TemplateRendersCapturesAndTopic) {
  auto t = TagTemplate::parse("{1}.temperature", 1);
  ASSERT_TRUE(t) << t.error;
  std::vector<std::string_view> c{"boiler 1"};
  EXPECT_EQ(t->render("plant/boiler 1/temperature", c), "boiler_1.temperature");
  auto whole = TagTemplate::parse("mqtt.{topic}", 0);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->render("a/b", {}), "mqtt.a.b");
  auto two = TagTemplate::parse("{2}.{1}", 2);
  ASSERT_TRUE(two);
  std::vector<std::string_view> c2{"x", "y/z"};
  EXPECT_EQ(two->render("t", c2), "y.z.x");
}

TEST(MqttTopic, TemplateErrorsAreRefusedAtLoad) {
  EXPECT_NE(TagTemplate::parse("{2}.t", 1).error.find("has 1 wildcard"), std::string::npos);
  EXPECT_NE(TagTemplate::parse("{0}.t", 1).error.find("not a placeholder"), std::string::npos);
  EXPECT_NE(TagTemplate::parse("{name}", 1).error.find("not a placeholder"), std::string::npos);
  EXPECT_NE(TagTemplate::parse("{1", 1).error.find("never closed"), std::string::npos);
  EXPECT_NE(TagTemplate::parse("a b", 1).error.find("cannot be part"), std::string::npos);
  EXPECT_FALSE(TagTemplate::parse("", 0));
}

}  // namespace
}  // namespace tagstream::mqtt
