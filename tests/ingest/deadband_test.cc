// Exception reporting: which samples a deadband lets through, checked
// against the definition applied by brute force to random walks.
#include "ingest/deadband.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <vector>

namespace tagstream {
namespace {

constexpr TimeNs kSecond = 1'000'000'000;

TagInfo named(const std::string& name) {
  TagInfo info;
  info.name = name;
  return info;
}

DeadbandRule rule(std::string pattern, double absolute, TimeNs max_silent = 0) {
  DeadbandRule r;
  r.pattern = std::move(pattern);
  r.absolute = absolute;
  r.max_silent = max_silent;
  return r;
}

DeadbandRule percent_rule(std::string pattern, double percent, double span) {
  DeadbandRule r;
  r.pattern = std::move(pattern);
  r.percent = percent;
  r.span = span;
  return r;
}

struct Plant {
  TagRegistry registry;
  TagId flow = *registry.ensure(named("area1.flow"));
  TagId level = *registry.ensure(named("area1.level"));
  TagId other = *registry.ensure(named("area2.temp"));
};

std::vector<TaggedSample> run(DeadbandFilter& filter, std::vector<TaggedSample> samples) {
  filter.filter(samples);
  return samples;
}

TEST(Deadband, AbsoluteBandDropsSmallChangesAndKeepsTheFirst) {
  Plant p;
  DeadbandFilter f(p.registry, {rule("area1.flow", 0.5)});
  auto out = run(f, {{p.flow, {1 * kSecond, 10.0}},
                     {p.flow, {2 * kSecond, 10.4}},    // inside: dropped
                     {p.flow, {3 * kSecond, 10.5}},    // at the band's edge: dropped
                     {p.flow, {4 * kSecond, 10.51}},   // outside: passes
                     {p.flow, {5 * kSecond, 10.2}}});  // 0.31 from the last passed: dropped
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].sample.value, 10.0);
  EXPECT_EQ(out[1].sample.value, 10.51);
  EXPECT_EQ(f.suppressed(), 3u);
  EXPECT_EQ(f.suppressed(p.flow), 3u);
}

TEST(Deadband, TagsNoRuleMatchesPassUntouched) {
  Plant p;
  DeadbandFilter f(p.registry, {rule("area1.*", 100)});
  auto out =
      run(f, {{p.other, {1 * kSecond, 1.0}}, {p.other, {2 * kSecond, 1.0}}, {p.other, {3 * kSecond, 1.0}}});
  EXPECT_EQ(out.size(), 3u);
  EXPECT_EQ(f.suppressed(), 0u);
}

TEST(Deadband, FirstMatchingRuleWins) {
  Plant p;
  DeadbandFilter f(p.registry, {rule("area1.level", 0), rule("area1.*", 5)});
  auto out = run(f, {{p.level, {1 * kSecond, 1.0}},
                     {p.level, {2 * kSecond, 2.0}},
                     {p.flow, {1 * kSecond, 1.0}},
                     {p.flow, {2 * kSecond, 2.0}}});
  ASSERT_EQ(out.size(), 3u);  // level: both (band 0); flow: the first only
  EXPECT_EQ(f.suppressed(p.flow), 1u);
  EXPECT_EQ(f.suppressed(p.level), 0u);
}

TEST(Deadband, PercentOfSpan) {
  Plant p;
  // 1 % of a 0..200 span = 2.0.
  DeadbandFilter f(p.registry, {percent_rule("area1.flow", 1, 200)});
  auto out =
      run(f, {{p.flow, {1 * kSecond, 50}}, {p.flow, {2 * kSecond, 51.9}}, {p.flow, {3 * kSecond, 52.1}}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].sample.value, 52.1);
}

TEST(Deadband, QualityChangeAlwaysPasses) {
  Plant p;
  DeadbandFilter f(p.registry, {rule("area1.flow", 10)});
  auto out = run(f, {{p.flow, {1 * kSecond, 5, Quality::good}},
                     {p.flow, {2 * kSecond, 5, Quality::bad}},
                     {p.flow, {3 * kSecond, 5, Quality::bad}},
                     {p.flow, {4 * kSecond, 5, Quality::good}}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].sample.quality, Quality::bad);
  EXPECT_EQ(out[2].sample.quality, Quality::good);
}

TEST(Deadband, MaxSilentTimePassesAValueInsideTheBand) {
  Plant p;
  DeadbandFilter f(p.registry, {rule("area1.flow", 1, 10 * kSecond)});
  auto out = run(f, {{p.flow, {0, 5}},
                     {p.flow, {9 * kSecond, 5}},   // 9 s silent: dropped
                     {p.flow, {10 * kSecond, 5}},  // 10 s since the last passed: passes
                     {p.flow, {19 * kSecond, 5}},  // 9 s after that one: dropped
                     {p.flow, {20 * kSecond, 5}}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].sample.ts, 10 * kSecond);
  EXPECT_EQ(out[2].sample.ts, 20 * kSecond);
}

TEST(Deadband, LateSamplesGoThroughAndDoNotMoveTheReference) {
  Plant p;
  DeadbandFilter f(p.registry, {rule("area1.flow", 1)});
  auto out = run(f, {{p.flow, {10 * kSecond, 5}},
                     {p.flow, {5 * kSecond, 5.1}},     // backfill: kept for history
                     {p.flow, {11 * kSecond, 5.5}}});  // 0.5 from 5 (not from 5.1): dropped
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].sample.ts, 5 * kSecond);
}

TEST(Deadband, TimesAtOppositeEndsOfTheRangeDoNotOverflow) {
  Plant p;
  DeadbandFilter f(p.registry, {rule("area1.flow", 1, kSecond)});
  const TimeNs lo = std::numeric_limits<TimeNs>::min() + 1, hi = std::numeric_limits<TimeNs>::max();
  auto out = run(f, {{p.flow, {lo, 5}}, {p.flow, {hi, 5}}});
  EXPECT_EQ(out.size(), 2u);  // silent for ~584 years: far over a second
}

TEST(Deadband, RulesAreChecked) {
  EXPECT_EQ(deadband_rule_error(rule("a.*", 1)), "");
  EXPECT_NE(deadband_rule_error(rule("", 1)), "");
  EXPECT_NE(deadband_rule_error(rule("bad name", 1)), "");
  EXPECT_NE(deadband_rule_error(rule("a", -1)), "");
  EXPECT_NE(deadband_rule_error(percent_rule("a", 1, 0)), "");  // no span
  EXPECT_NE(deadband_rule_error(percent_rule("a", 101, 10)), "");
}

// The definition, applied the slow way: walk each tag's samples in order,
// remembering the last one passed; a sample passes when it is the first, is
// older than that one, changes quality, leaves the band, or comes at least
// max_silent after it.
std::vector<TaggedSample> brute_force(const std::vector<TaggedSample>& in, double band, TimeNs max_silent) {
  std::vector<TaggedSample> out;
  std::map<TagId, Sample> last;
  for (const auto& s : in) {
    auto it = last.find(s.tag);
    bool pass = it == last.end();
    if (!pass) {
      const Sample& l = it->second;
      pass = s.sample.ts < l.ts || s.sample.quality != l.quality ||
             std::fabs(s.sample.value - l.value) > band ||
             (max_silent > 0 && s.sample.ts - l.ts >= max_silent);
    }
    if (pass) {
      out.push_back(s);
      if (it == last.end() || s.sample.ts >= it->second.ts) last[s.tag] = s.sample;
    }
  }
  return out;
}

TEST(Deadband, MatchesTheDefinitionOnRandomWalksInRandomBatches) {
  std::mt19937_64 rng(20261205);
  for (int round = 0; round < 50; ++round) {
    Plant p;
    const double band = std::uniform_real_distribution<double>(0, 2)(rng);
    const TimeNs max_silent = (round % 3) * 5 * kSecond;  // 0 (none), 5 s, 10 s
    DeadbandFilter f(p.registry, {rule("area1.*", band, max_silent)});
    std::vector<TaggedSample> in;
    double flow = 50, level = 2;
    for (int i = 0; i < 400; ++i) {
      const TimeNs t = i * kSecond + static_cast<TimeNs>(rng() % 1000);
      flow += std::normal_distribution<double>(0, 0.7)(rng);
      level += std::normal_distribution<double>(0, 0.3)(rng);
      const Quality q = rng() % 40 == 0 ? Quality::bad : Quality::good;
      in.push_back({p.flow, {t, flow, q}});
      in.push_back({p.level, {t, level}});
      if (rng() % 25 == 0) in.push_back({p.flow, {t - 30 * kSecond, flow}});  // backfill
    }
    const auto expected = brute_force(in, band, max_silent);
    std::vector<TaggedSample> got;
    for (std::size_t at = 0; at < in.size();) {  // the ingest path sees batches of any size
      const std::size_t n = std::min<std::size_t>(in.size() - at, 1 + rng() % 50);
      std::vector<TaggedSample> batch(in.begin() + static_cast<std::ptrdiff_t>(at),
                                      in.begin() + static_cast<std::ptrdiff_t>(at + n));
      f.filter(batch);
      got.insert(got.end(), batch.begin(), batch.end());
      at += n;
    }
    ASSERT_EQ(got.size(), expected.size()) << "round " << round;
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].tag, expected[i].tag);
      EXPECT_EQ(got[i].sample, expected[i].sample);
    }
    EXPECT_EQ(f.suppressed(), in.size() - expected.size());
  }
}

}  // namespace
}  // namespace tagstream
