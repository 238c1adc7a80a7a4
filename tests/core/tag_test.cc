// Tag names, glob patterns and the registry that numbers tags.
#include "core/tag.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <latch>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/tag_registry.h"

namespace tagstream {
namespace {

// ---------------------------------------------------------------- names

TEST(TagName, ValidNames) {
  for (std::string_view n :
       {"a", "temperature", "boiler1.temperature", "area_1.unit-2.signal:pv", "Plant.Boiler.T", "0",
        "a.b.c.d.e.f", "x-y_z:w", "_", "-", ":", "a:b", "s7:DB1.DBW20", "-a.b-", ":a:"})
    EXPECT_TRUE(is_valid_tag_name(n)) << n;
  EXPECT_TRUE(is_valid_tag_name(std::string(200, 'a')));
  EXPECT_TRUE(is_valid_tag_name(std::string(99, 'a') + "." + std::string(100, 'b')));
}

TEST(TagName, InvalidNames) {
  for (std::string_view n :
       {"",     ".",   "..",  ".a",  "a.", "a..b", "a...b", ".a.b", "a.b.", "a b",   " a",  "a ",  "a\tb",
        "a\nb", "a/b", "a*b", "a?b", "*",  "?",    "a,b",   "a=b",  "a\"b", "tag[]", "a#b", "a;b", "café"})
    EXPECT_FALSE(is_valid_tag_name(n)) << '"' << n << '"';
  EXPECT_FALSE(is_valid_tag_name(std::string(201, 'a')));
  EXPECT_FALSE(is_valid_tag_name(std::string("a\0b", 3)));
}

TEST(TagName, DataTypeParse) {
  EXPECT_EQ(parse_data_type("number"), DataType::number);
  EXPECT_EQ(parse_data_type("float"), DataType::number);
  EXPECT_EQ(parse_data_type("double"), DataType::number);
  EXPECT_EQ(parse_data_type("integer"), DataType::integer);
  EXPECT_EQ(parse_data_type("int"), DataType::integer);
  EXPECT_EQ(parse_data_type("boolean"), DataType::boolean);
  EXPECT_EQ(parse_data_type("bool"), DataType::boolean);
  EXPECT_FALSE(parse_data_type("string").has_value());
  EXPECT_FALSE(parse_data_type("").has_value());
  for (DataType t : {DataType::number, DataType::integer, DataType::boolean})
    EXPECT_EQ(parse_data_type(to_string(t)), t);
}

TEST(TagName, IsTagPattern) {
  for (std::string_view p :
       {"*", "?", "boiler1.*", "*.temperature", "boiler?.temp", "a*b*c", "**", "*.*.*", "area-1:*", "a.*"})
    EXPECT_TRUE(is_tag_pattern(p)) << p;
  // Plain names are not patterns; malformed ones neither.
  for (std::string_view p :
       {"", "boiler1.temperature", "a", ".*", "*.", "a..*", "a *", "a/*", "*,b", "[ab]*"})
    EXPECT_FALSE(is_tag_pattern(p)) << '"' << p << '"';
  EXPECT_TRUE(is_tag_pattern(std::string(199, 'a') + "*"));
  EXPECT_FALSE(is_tag_pattern(std::string(200, 'a') + "*"));
}

// ---------------------------------------------------------------- glob

TEST(Glob, LiteralMatchesOnlyItself) {
  EXPECT_TRUE(glob_match("boiler1.temperature", "boiler1.temperature"));
  EXPECT_FALSE(glob_match("boiler1.temperature", "boiler1.temperatures"));
  EXPECT_FALSE(glob_match("boiler1.temperature", "boiler1.temperatur"));
  EXPECT_FALSE(glob_match("boiler1.temperature", "Boiler1.temperature"));  // case-sensitive
  EXPECT_TRUE(glob_match("", ""));
  EXPECT_FALSE(glob_match("", "a"));
  EXPECT_FALSE(glob_match("a", ""));
}

TEST(Glob, PrefixStar) {
  EXPECT_TRUE(glob_match("boiler1.*", "boiler1.temperature"));
  EXPECT_TRUE(glob_match("boiler1.*", "boiler1.pressure"));
  EXPECT_TRUE(glob_match("boiler1.*", "boiler1."));  // star matches the empty run
  EXPECT_FALSE(glob_match("boiler1.*", "boiler1"));
  EXPECT_FALSE(glob_match("boiler1.*", "boiler10.temperature"));
  EXPECT_FALSE(glob_match("boiler1.*", "boiler2.temperature"));
  EXPECT_FALSE(glob_match("boiler1.*", "xboiler1.temperature"));
}

TEST(Glob, SuffixStar) {
  EXPECT_TRUE(glob_match("*.temperature", "boiler1.temperature"));
  EXPECT_TRUE(glob_match("*.temperature", "site.area.boiler1.temperature"));
  EXPECT_FALSE(glob_match("*.temperature", "temperature"));
  EXPECT_FALSE(glob_match("*.temperature", "boiler1.temperature2"));
  EXPECT_FALSE(glob_match("*.temperature", "boiler1_temperature"));
}

TEST(Glob, StarMatchesDots) {
  EXPECT_TRUE(glob_match("site.*.pv", "site.area.unit.pv"));
  EXPECT_TRUE(glob_match("*", "a.b.c"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a*", "a.b.c"));
}

TEST(Glob, QuestionMarkIsExactlyOneCharacter) {
  EXPECT_TRUE(glob_match("boiler?.temp", "boiler1.temp"));
  EXPECT_TRUE(glob_match("boiler?.temp", "boilerX.temp"));
  EXPECT_FALSE(glob_match("boiler?.temp", "boiler.temp"));
  EXPECT_FALSE(glob_match("boiler?.temp", "boiler12.temp"));
  EXPECT_TRUE(glob_match("a?c", "a.c"));  // any character, a dot included
  EXPECT_TRUE(glob_match("???", "abc"));
  EXPECT_FALSE(glob_match("???", "ab"));
  EXPECT_FALSE(glob_match("???", "abcd"));
  EXPECT_FALSE(glob_match("?", ""));
}

TEST(Glob, MultipleStars) {
  EXPECT_TRUE(glob_match("*boiler*temp*", "site.boiler1.temperature"));
  EXPECT_TRUE(glob_match("a*b*c", "abc"));
  EXPECT_TRUE(glob_match("a*b*c", "a.x.b.y.c"));
  EXPECT_TRUE(glob_match("a*b*c", "abcbc"));
  EXPECT_FALSE(glob_match("a*b*c", "acb"));
  EXPECT_FALSE(glob_match("a*b*c", "abcb"));
  EXPECT_TRUE(glob_match("**", "x"));
  EXPECT_TRUE(glob_match("*.*.*", "a.b.c"));
  EXPECT_FALSE(glob_match("*.*.*", "a.b"));
  EXPECT_TRUE(glob_match("*?", "a"));
  EXPECT_FALSE(glob_match("*?", ""));
  EXPECT_TRUE(glob_match("?*?", "ab"));
  EXPECT_TRUE(glob_match("*a", "aaa"));
  EXPECT_TRUE(glob_match("*ab", "aab"));  // needs backtracking past a partial match
  EXPECT_TRUE(glob_match("*aab", "aaab"));
  EXPECT_FALSE(glob_match("*x*", "aaaa"));
}

TEST(Glob, PathologicalPatternsTakeLinearSteps) {
  // Counted steps, not elapsed time, so the bound holds on a loaded machine:
  // exponential backtracking would never finish, a quadratic matcher would
  // take about 10^10 steps on this name.
  const std::string long_a(100'000, 'a');
  struct Case {
    std::string_view pattern;
    bool matches;
  };
  for (const Case& c : {Case{"a*a*a*a*a*b", false}, Case{"a*a*a*a*a*a", true},
                        Case{"*a*a*a*a*a*a*a*a*a*a*b", false}, Case{"*a*a*a*a*a*a*a*a*a*a*", true}}) {
    std::size_t steps = 0;
    EXPECT_EQ(glob_match(c.pattern, long_a, steps), c.matches) << c.pattern;
    EXPECT_LE(steps, 2 * (c.pattern.size() + long_a.size())) << c.pattern;
  }
  // The worst case retries the last star at every position: |pattern| * |name|.
  const std::string_view retried = "*aaaaaaaaaab";
  std::size_t steps = 0;
  EXPECT_FALSE(glob_match(retried, long_a, steps));
  EXPECT_LE(steps, retried.size() * long_a.size());
}

// ---------------------------------------------------------------- registry

TagInfo info(std::string name, std::string unit = "", std::string description = "",
             DataType type = DataType::number) {
  return TagInfo{std::move(name), std::move(unit), std::move(description), type};
}

TEST(TagRegistry, IdsAreDenseFromZero) {
  TagRegistry reg;
  EXPECT_EQ(reg.size(), 0u);
  EXPECT_EQ(reg.upsert(info("z.last")), 0u);
  EXPECT_EQ(reg.upsert(info("a.first")), 1u);
  EXPECT_EQ(reg.upsert(info("m.middle")), 2u);
  EXPECT_EQ(reg.size(), 3u);
  EXPECT_EQ(reg.name(0), "z.last");
  EXPECT_EQ(reg.name(1), "a.first");
  EXPECT_EQ(reg.name(2), "m.middle");
  EXPECT_EQ(reg.name(3), "");
  EXPECT_FALSE(reg.info(3).has_value());
  EXPECT_EQ(reg.find("a.first"), 1u);
  EXPECT_FALSE(reg.find("nope").has_value());
  EXPECT_FALSE(reg.find("a.firs").has_value());
}

TEST(TagRegistry, UpsertIsIdempotentAndKeepsMetadataUnlessUpdate) {
  TagRegistry reg;
  const TagId id =
      reg.upsert(info("boiler1.temperature", "degC", "Boiler 1 outlet", DataType::number)).value();
  EXPECT_EQ(reg.upsert(info("boiler1.temperature")), id);
  EXPECT_EQ(reg.upsert(info("boiler1.temperature", "K", "other", DataType::integer)), id);
  EXPECT_EQ(reg.size(), 1u);
  auto kept = reg.info(id);
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->name, "boiler1.temperature");
  EXPECT_EQ(kept->unit, "degC");
  EXPECT_EQ(kept->description, "Boiler 1 outlet");
  EXPECT_EQ(kept->type, DataType::number);

  EXPECT_EQ(reg.upsert(info("boiler1.temperature", "K", "in kelvin", DataType::integer), true), id);
  EXPECT_EQ(reg.size(), 1u);
  auto updated = reg.info(id);
  ASSERT_TRUE(updated.has_value());
  EXPECT_EQ(updated->unit, "K");
  EXPECT_EQ(updated->description, "in kelvin");
  EXPECT_EQ(updated->type, DataType::integer);
  EXPECT_EQ(reg.find("boiler1.temperature"), id);

  // update=true for a new name simply creates it.
  EXPECT_EQ(reg.upsert(info("boiler2.temperature", "degC"), true), id + 1);
  EXPECT_EQ(reg.info(id + 1)->unit, "degC");
}

// A bulk write resolves all its tags at once: known ones, new ones (each
// created once, however often the batch names it) and a new unit, in order.
TEST(TagRegistry, EnsureAllResolvesABatchInOrderCreatingEachNewTagOnce) {
  TagRegistry reg;
  std::vector<std::pair<TagId, TagInfo>> observed;
  reg.set_observer([&](TagId id, const TagInfo& i) { observed.emplace_back(id, i); });
  const TagId known = reg.ensure(info("boiler1.temperature", "degC")).value();
  const std::vector<TagHint> hints = {
      {"boiler1.temperature", "", "", DataType::number},        {"pump.flow", "m3/h", "", DataType::number},
      {"boiler1.temperature", "", "", DataType::number},        {"pump.flow", "", "", DataType::integer},
      {"boiler1.temperature", "K", "outlet", DataType::number},
  };
  const std::vector<TagId> ids = reg.ensure_all(hints).ids;
  EXPECT_EQ(ids, (std::vector<TagId>{known, known + 1, known, known + 1, known}));
  EXPECT_EQ(reg.size(), 2u);
  ASSERT_EQ(observed.size(), 3u) << "created boiler1, created pump.flow, changed boiler1's unit";
  EXPECT_EQ(observed[1].second.name, "pump.flow");
  EXPECT_EQ(observed[1].second.unit, "m3/h");
  EXPECT_EQ(observed[1].second.type, DataType::number) << "the type is set at creation only";
  EXPECT_EQ(observed[2].second.unit, "K");
  EXPECT_EQ(reg.info(known)->description, "outlet");
  EXPECT_EQ(reg.ensure_all(std::vector<TagHint>{}).ids, std::vector<TagId>{});
}

// Issue 15: the registry is the one place tags are created, so its cap
// holds for every source, and a batch past it creates none of its tags.
TEST(TagRegistry, MaxTagsRefusesAWholeBatchAndEveryLaterCreation) {
  TagRegistry reg;
  reg.set_max_tags(3);
  EXPECT_EQ(reg.max_tags(), 3u);
  ASSERT_TRUE(reg.upsert(info("a")).has_value());
  const std::vector<TagHint> batch = {{"a", "", "", DataType::number},
                                      {"b", "", "", DataType::number},
                                      {"c", "", "", DataType::number},
                                      {"d", "", "", DataType::number},
                                      {"b", "", "", DataType::number}};
  const EnsuredTags refused = reg.ensure_all(batch);
  EXPECT_EQ(refused.refused, TagRefusal::max_tags);
  EXPECT_EQ(refused.new_tags, 3u) << "b, c and d: b counted once";
  EXPECT_TRUE(refused.ids.empty());
  EXPECT_EQ(reg.size(), 1u) << "nothing of the batch was created";

  const EnsuredTags ok = reg.ensure_all(std::span(batch).subspan(0, 3));
  EXPECT_EQ(ok.refused, TagRefusal::none);
  EXPECT_EQ(ok.created, 2u);
  EXPECT_EQ(reg.size(), 3u);
  EXPECT_FALSE(reg.upsert(info("e")).has_value());
  EXPECT_FALSE(reg.ensure(info("e")).has_value());
  EXPECT_TRUE(reg.upsert(info("a", "K"), true).has_value()) << "known tags are still updated";
  EXPECT_EQ(reg.ensure_all(std::span(batch).subspan(0, 3)).refused, TagRefusal::none);
}

TEST(TagRegistry, CreationCheckSeesTheDistinctNewTagsBeforeAnyIsCreated) {
  TagRegistry reg;
  ASSERT_TRUE(reg.upsert(info("known")).has_value());
  const std::vector<TagHint> batch = {{"known", "", "", DataType::number},
                                      {"x", "", "", DataType::number},
                                      {"x", "", "", DataType::number},
                                      {"y", "", "", DataType::number}};
  std::vector<std::size_t> asked;
  const EnsuredTags no = reg.ensure_all(batch, [&](std::size_t n) {
    asked.push_back(n);
    return false;
  });
  EXPECT_EQ(no.refused, TagRefusal::not_allowed);
  EXPECT_EQ(reg.size(), 1u);
  EXPECT_EQ(asked, std::vector<std::size_t>{2});
  const EnsuredTags yes = reg.ensure_all(batch, [](std::size_t n) { return n == 2; });
  EXPECT_EQ(yes.refused, TagRefusal::none);
  EXPECT_EQ(yes.ids.size(), 4u);
  EXPECT_EQ(reg.size(), 3u);
  bool called = false;
  EXPECT_EQ(reg.ensure_all(batch, [&](std::size_t) { return called = true; }).refused, TagRefusal::none);
  EXPECT_FALSE(called) << "no new tag, no check";
}

TEST(TagRegistry, MatchIsSortedByName) {
  TagRegistry reg;
  for (const char* n : {"boiler2.temperature", "boiler1.pressure", "boiler10.temperature",
                        "boiler1.temperature", "chiller.temperature", "boiler1.flow"})
    reg.upsert(info(n));
  auto names = [&](const std::vector<TagId>& ids) {
    std::vector<std::string> out;
    for (TagId id : ids) out.push_back(reg.name(id));
    return out;
  };
  EXPECT_EQ(names(reg.match("boiler1.*")),
            (std::vector<std::string>{"boiler1.flow", "boiler1.pressure", "boiler1.temperature"}));
  EXPECT_EQ(names(reg.match("*.temperature")),
            (std::vector<std::string>{"boiler1.temperature", "boiler10.temperature", "boiler2.temperature",
                                      "chiller.temperature"}));
  EXPECT_EQ(names(reg.match("boiler?.temperature")),
            (std::vector<std::string>{"boiler1.temperature", "boiler2.temperature"}));
  EXPECT_EQ(reg.match("*").size(), 6u);
  EXPECT_TRUE(reg.match("nothing.*").empty());
  // An exact name is a pattern that matches itself.
  EXPECT_EQ(names(reg.match("chiller.temperature")), (std::vector<std::string>{"chiller.temperature"}));

  const auto all = reg.all();
  ASSERT_EQ(all.size(), 6u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const TagInfo& a, const TagInfo& b) { return a.name < b.name; }));
  EXPECT_EQ(all.front().name, "boiler1.flow");
  EXPECT_EQ(all.back().name, "chiller.temperature");
}

TEST(TagRegistry, ConcurrentUpsertsOfOverlappingNamesGiveUniqueDenseIds) {
  TagRegistry reg;
  constexpr int kThreads = 4;
  constexpr int kNames = 20000;
  // Every thread upserts the same names, each in its own order, so creations
  // race with each other and with lookups of the same name.
  std::vector<std::vector<TagId>> seen(kThreads, std::vector<TagId>(kNames));
  std::latch start(kThreads);  // all threads start together, so they overlap
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int k = 0; k < kNames; ++k) {
        // Threads 0 and 2 stride by 1 and 3 (coprime with kNames), thread 1 goes
        // backwards, thread 3 starts in the middle: every name is visited once each.
        const int i = t == 1 ? kNames - 1 - k : t == 3 ? (k + kNames / 2) % kNames : (k * (t + 1)) % kNames;
        seen[t][i] = reg.upsert(info("area" + std::to_string(i % 7) + ".tag" + std::to_string(i))).value();
      }
    });
  }
  for (auto& th : threads) th.join();

  ASSERT_EQ(reg.size(), static_cast<std::size_t>(kNames));
  std::set<TagId> ids;
  for (int i = 0; i < kNames; ++i) {
    const std::string name = "area" + std::to_string(i % 7) + ".tag" + std::to_string(i);
    const TagId id = seen[0][i];
    for (int t = 1; t < kThreads; ++t) ASSERT_EQ(seen[t][i], id) << name << " thread " << t;
    EXPECT_EQ(reg.find(name), id);
    EXPECT_EQ(reg.name(id), name);
    ids.insert(id);
  }
  // No duplicates, and dense: exactly 0..kNames-1.
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kNames));
  EXPECT_EQ(*ids.begin(), 0u);
  EXPECT_EQ(*ids.rbegin(), static_cast<TagId>(kNames - 1));
}

}  // namespace
}  // namespace tagstream

namespace tagstream {
namespace {

TEST(TagRegistryMatch, APrefixPatternFindsIndexedAndNewlyCreatedTagsSortedByName) {
  TagRegistry reg;
  // Enough tags that most are in the name index and the last few are not
  // yet: a match must see both, in name order.
  std::vector<std::string> expected;
  for (int i = 40'000; i-- > 0;) {
    const std::string name = "area" + std::to_string(i % 3) + ".t" + std::to_string(i);
    reg.upsert(TagInfo{name, "", "", DataType::number});
    if (i % 3 == 1 && name.ends_with("7")) expected.push_back(name);
  }
  (void)reg.match("area0.*");  // brings the index up to date
  for (int i = 40'000; i < 40'100; ++i) {
    const std::string name = "area" + std::to_string(i % 3) + ".t" + std::to_string(i);
    reg.upsert(TagInfo{name, "", "", DataType::number});
    if (i % 3 == 1 && name.ends_with("7")) expected.push_back(name);
  }
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> got;
  for (TagId id : reg.match("area1.*7")) got.push_back(reg.name(id));
  EXPECT_EQ(got, expected);
  // A leading wildcard, which no prefix narrows, finds the same.
  got.clear();
  for (TagId id : reg.match("*1.*7")) got.push_back(reg.name(id));
  EXPECT_EQ(got, expected);
}

TEST(TagRegistryMatch, StopsOneMatchPastTheLimit) {
  TagRegistry reg;
  for (int i = 0; i < 5000; ++i) reg.upsert(TagInfo{"p.t" + std::to_string(i), "", "", DataType::number});
  EXPECT_EQ(reg.match("p.*", 100).size(), 101u);
  EXPECT_EQ(reg.match("*t*", 100).size(), 101u);
  EXPECT_EQ(reg.match("p.t1*", 5000).size(), 1111u);
}

}  // namespace
}  // namespace tagstream
