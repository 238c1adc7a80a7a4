#include "ingest/simulator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "core/tag_registry.h"

namespace tagstream {
namespace {

// 2025-11-25T10:00:00Z: a synthetic clock, nothing here reads the wall clock.
constexpr TimeNs kStart = 1'764'064'800LL * kNanosPerSecond;
constexpr double kTwoHours = 2 * 3600.0;

struct Tick {
  TimeNs now;
  std::vector<TaggedSample> samples;
};

struct SimRun {
  TagRegistry registry;
  std::vector<TagId> tags;
  std::vector<Tick> ticks;

  TagId id(const std::string& name) const {
    auto found = registry.find(name);
    EXPECT_TRUE(found.has_value()) << name;
    return found.value_or(0);
  }
};

// Steps a fresh simulator over `seconds` of plant time, `step_s` apart.
std::unique_ptr<SimRun> simulate(unsigned seed, double seconds = kTwoHours, double step_s = 1.0) {
  auto run = std::make_unique<SimRun>();
  PlantSimulator sim(run->registry, SimulatorOptions{.rate_hz = 1.0 / step_s, .seed = seed});
  run->tags = sim.tags();
  const auto step_ns = static_cast<TimeNs>(step_s * 1e9);
  const auto n = static_cast<long>(seconds / step_s);
  run->ticks.reserve(n + 1);
  for (long i = 0; i <= n; ++i) {
    const TimeNs now = kStart + i * step_ns;
    run->ticks.push_back(Tick{now, sim.step(now)});
  }
  return run;
}

struct Point {
  TimeNs ts;
  double value;
  Quality quality;
};

// Every reported sample of one tag, in order.
std::vector<Point> series(const SimRun& run, TagId tag) {
  std::vector<Point> out;
  for (const auto& tick : run.ticks)
    for (const auto& s : tick.samples)
      if (s.tag == tag) out.push_back(Point{s.sample.ts, s.sample.value, s.sample.quality});
  return out;
}

// The value of a report-on-change tag at every tick (the latest report).
std::vector<double> held(const SimRun& run, TagId tag) {
  std::vector<double> out;
  double v = std::nan("");
  for (const auto& tick : run.ticks) {
    for (const auto& s : tick.samples)
      if (s.tag == tag) v = s.sample.value;
    out.push_back(v);
  }
  return out;
}

int count_transitions(const std::vector<double>& v, double from, double to) {
  int n = 0;
  for (std::size_t i = 1; i < v.size(); ++i)
    if (v[i - 1] == from && v[i] == to) ++n;
  return n;
}

// --- PlantSimulator ----------------------------------------------------------

TEST(SimulatorTest, RegistersAtLeastTwentyTagsWithMetadata) {
  TagRegistry registry;
  PlantSimulator sim(registry, {});
  EXPECT_GE(sim.tags().size(), 20u);
  EXPECT_EQ(registry.size(), sim.tags().size());
  for (TagId id : sim.tags()) {
    auto info = registry.info(id);
    ASSERT_TRUE(info);
    EXPECT_TRUE(is_valid_tag_name(info->name)) << info->name;
    EXPECT_NE(info->name.find('.'), std::string::npos) << info->name;
    EXPECT_FALSE(info->description.empty()) << info->name;
    if (info->type == DataType::number) {
      EXPECT_FALSE(info->unit.empty()) << info->name;
    }
  }
  auto expect = [&](const char* name, const char* unit, DataType type) {
    auto id = registry.find(name);
    ASSERT_TRUE(id) << name;
    auto info = registry.info(*id);
    EXPECT_EQ(info->unit, unit) << name;
    EXPECT_EQ(info->type, type) << name;
  };
  expect("boiler1.temperature", "degC", DataType::number);
  expect("boiler1.pressure", "bar", DataType::number);
  expect("boiler1.burner_on", "", DataType::boolean);
  expect("boiler2.temperature", "degC", DataType::number);
  expect("pump1.running", "", DataType::boolean);
  expect("pump2.flow", "m3/h", DataType::number);
  expect("tank1.level", "%", DataType::number);
  expect("tank1.outlet_valve", "%", DataType::number);
  expect("line1.batch_count", "", DataType::integer);
  expect("compressor1.current", "A", DataType::number);
  expect("ambient.temperature", "degC", DataType::number);
  expect("ambient.humidity", "%", DataType::number);
  expect("power.total", "kW", DataType::number);
  expect("vibration.motor1", "mm/s", DataType::number);
}

TEST(SimulatorTest, SecondSimulatorReusesTheSameTags) {
  TagRegistry registry;
  registry.upsert(TagInfo{"other.tag", "", "not ours", DataType::number});
  PlantSimulator a(registry, {});
  PlantSimulator b(registry, {.seed = 5});
  EXPECT_EQ(a.tags(), b.tags());
  EXPECT_EQ(registry.size(), a.tags().size() + 1);
}

// The registry's --max-tags holds for the simulator as for every source.
TEST(SimulatorTest, RefusesToStartPastTheRegistrysTagCap) {
  TagRegistry registry;
  registry.set_max_tags(5);
  EXPECT_THROW(PlantSimulator(registry, {}), std::runtime_error);
  EXPECT_EQ(registry.size(), 5u);
  TagRegistry roomy;
  roomy.set_max_tags(1000);
  PlantSimulator fits(roomy, {});
  EXPECT_EQ(roomy.size(), fits.tags().size());
}

TEST(SimulatorTest, DeterministicForTheSameSeed) {
  auto a = simulate(42, 1800);
  auto b = simulate(42, 1800);
  auto c = simulate(43, 1800);
  ASSERT_EQ(a->ticks.size(), b->ticks.size());
  bool differs_from_other_seed = false;
  for (std::size_t i = 0; i < a->ticks.size(); ++i) {
    const auto& x = a->ticks[i].samples;
    const auto& y = b->ticks[i].samples;
    ASSERT_EQ(x.size(), y.size()) << "tick " << i;
    for (std::size_t j = 0; j < x.size(); ++j) {
      EXPECT_EQ(x[j].tag, y[j].tag);
      EXPECT_EQ(x[j].sample, y[j].sample) << "tick " << i << " sample " << j;
    }
    const auto& z = c->ticks[i].samples;
    if (x.size() != z.size()) {
      differs_from_other_seed = true;
    } else {
      for (std::size_t j = 0; j < x.size(); ++j)
        if (!(x[j].sample == z[j].sample)) differs_from_other_seed = true;
    }
  }
  EXPECT_TRUE(differs_from_other_seed);
}

TEST(SimulatorTest, TimestampsEqualTheNowPassedIn) {
  auto run = simulate(1, 600, 0.25);
  for (const auto& tick : run->ticks)
    for (const auto& s : tick.samples) ASSERT_EQ(s.sample.ts, tick.now);
}

TEST(SimulatorTest, FirstTickReportsEveryTagAndAnalogTagsEveryTick) {
  auto run = simulate(2, 600);
  ASSERT_EQ(run->ticks.front().samples.size(), run->tags.size());
  for (const auto& tick : run->ticks) {
    std::map<TagId, int> seen;
    for (const auto& s : tick.samples) ++seen[s.tag];
    for (TagId id : run->tags) {
      EXPECT_LE(seen[id], 1);
      if (run->registry.info(id)->type == DataType::number &&
          run->registry.name(id).find("setpoint") == std::string::npos) {
        ASSERT_EQ(seen[id], 1) << run->registry.name(id) << " missing at " << tick.now;
      }
    }
  }
}

TEST(SimulatorTest, StateTagsReportOnChangeAndRefreshPeriodically) {
  auto run = simulate(3);
  for (const char* name : {"pump1.running", "boiler1.burner_on", "line1.batch_count", "boiler1.setpoint"}) {
    auto points = series(*run, run->id(name));
    EXPECT_LT(points.size(), run->ticks.size() / 4) << name;
    for (std::size_t i = 1; i < points.size(); ++i)
      EXPECT_LE(points[i].ts - points[i - 1].ts, 30 * kNanosPerSecond) << name;
  }
}

TEST(SimulatorTest, BooleansAreZeroOrOneIntegersWholeAndNumbersRounded) {
  auto run = simulate(4);
  for (const auto& tick : run->ticks) {
    for (const auto& s : tick.samples) {
      const double v = s.sample.value;
      ASSERT_TRUE(std::isfinite(v));
      switch (run->registry.info(s.tag)->type) {
        case DataType::boolean: ASSERT_TRUE(v == 0 || v == 1) << run->registry.name(s.tag) << " " << v; break;
        case DataType::integer: ASSERT_EQ(v, std::round(v)) << run->registry.name(s.tag); break;
        case DataType::number:
          ASSERT_NEAR(v * 100, std::round(v * 100), 1e-6) << run->registry.name(s.tag) << " " << v;
          break;
      }
    }
  }
}

TEST(SimulatorTest, TankLevelStaysInRangeAndBothFillsAndDrains) {
  for (unsigned seed : {0u, 7u, 99u}) {
    auto run = simulate(seed);
    auto level = series(*run, run->id("tank1.level"));
    ASSERT_EQ(level.size(), run->ticks.size());
    double lo = level.front().value, hi = lo, rise = 0, fall = 0;
    for (const auto& p : level) {
      ASSERT_GE(p.value, 0.0);
      ASSERT_LE(p.value, 100.0);
      lo = std::min(lo, p.value);
      hi = std::max(hi, p.value);
      rise = std::max(rise, p.value - lo);  // a rise after a low
      fall = std::max(fall, hi - p.value);  // a fall after a high
    }
    EXPECT_GT(rise, 15.0) << "seed " << seed;
    EXPECT_GT(fall, 15.0) << "seed " << seed;
  }
}

TEST(SimulatorTest, PumpsSwitchOnAndOff) {
  for (unsigned seed : {0u, 7u, 99u}) {
    auto run = simulate(seed);
    for (const char* name : {"pump1.running", "pump2.running", "compressor1.running", "boiler1.burner_on",
                             "boiler2.burner_on"}) {
      auto state = held(*run, run->id(name));
      EXPECT_GE(count_transitions(state, 0, 1), 1) << name << " seed " << seed;
      EXPECT_GE(count_transitions(state, 1, 0), 1) << name << " seed " << seed;
    }
  }
}

TEST(SimulatorTest, PumpFlowIsNearZeroStoppedAndPositiveRunning) {
  for (unsigned seed : {0u, 7u}) {
    auto run = simulate(seed);
    for (int pump : {1, 2}) {
      const std::string p = "pump" + std::to_string(pump);
      auto running = held(*run, run->id(p + ".running"));
      const TagId flow = run->id(p + ".flow");
      int since_change = 0, checked_on = 0, checked_off = 0;
      for (std::size_t i = 0; i < run->ticks.size(); ++i) {
        since_change = (i > 0 && running[i] != running[i - 1]) ? 0 : since_change + 1;
        if (i == 0 || since_change < 20) continue;  // ramping
        for (const auto& s : run->ticks[i].samples) {
          if (s.tag != flow || s.sample.quality != Quality::good) continue;
          if (running[i] == 1) {
            EXPECT_GT(s.sample.value, 20.0) << p;
            ++checked_on;
          } else {
            EXPECT_LT(s.sample.value, 1.0) << p;
            ++checked_off;
          }
        }
      }
      EXPECT_GT(checked_on, 100) << p;
      EXPECT_GT(checked_off, 100) << p;
    }
  }
}

TEST(SimulatorTest, FlowRampsUpWhenAPumpStarts) {
  auto run = simulate(0);
  auto running = held(*run, run->id("pump1.running"));
  auto flow = held(*run, run->id("pump1.flow"));
  int ramps = 0;
  for (std::size_t i = 1; i + 15 < running.size(); ++i) {
    if (running[i - 1] != 0 || running[i] != 1) continue;
    EXPECT_LT(flow[i], flow[i + 5]);
    EXPECT_LT(flow[i + 2], flow[i + 8]);
    ++ramps;
  }
  EXPECT_GE(ramps, 1);
}

TEST(SimulatorTest, ValuesStayInPlausibleBands) {
  auto run = simulate(11);
  auto check = [&](const char* name, double lo, double hi) {
    auto points = series(*run, run->id(name));
    ASSERT_FALSE(points.empty()) << name;
    for (const auto& p : points) {
      ASSERT_GE(p.value, lo) << name;
      ASSERT_LE(p.value, hi) << name;
    }
  };
  check("boiler1.temperature", 74, 86);
  check("boiler2.temperature", 59, 71);
  check("boiler1.pressure", 1.5, 3.5);
  check("ambient.temperature", -20, 45);
  check("ambient.humidity", 0, 100);
  check("tank1.outlet_valve", 0, 100);
  check("line1.pressure", 0, 6);
  check("compressor1.pressure", 5.5, 8.5);
  check("compressor1.current", 0, 300);
  check("vibration.motor1", 0, 15);
  check("power.total", 10, 200);

  // The boiler swings around its setpoint, and its pressure follows.
  auto t = series(*run, run->id("boiler1.temperature"));
  auto p = series(*run, run->id("boiler1.pressure"));
  double mean = 0, lo = 1e9, hi = -1e9;
  for (const auto& x : t) {
    mean += x.value / t.size();
    lo = std::min(lo, x.value);
    hi = std::max(hi, x.value);
  }
  EXPECT_NEAR(mean, 80, 2);
  EXPECT_GT(hi - lo, 2.0);
  double sxy = 0, sxx = 0, syy = 0, mp = 0;
  for (const auto& x : p) mp += x.value / p.size();
  for (std::size_t i = 0; i < t.size(); ++i) {
    sxy += (t[i].value - mean) * (p[i].value - mp);
    sxx += (t[i].value - mean) * (t[i].value - mean);
    syy += (p[i].value - mp) * (p[i].value - mp);
  }
  EXPECT_GT(sxy / std::sqrt(sxx * syy), 0.5) << "pressure should follow temperature";
}

TEST(SimulatorTest, CountersOnlyGrow) {
  auto run = simulate(5);
  auto batches = series(*run, run->id("line1.batch_count"));
  auto energy = series(*run, run->id("power.energy"));
  for (std::size_t i = 1; i < batches.size(); ++i) ASSERT_GE(batches[i].value, batches[i - 1].value);
  for (std::size_t i = 1; i < energy.size(); ++i) ASSERT_GE(energy[i].value, energy[i - 1].value);
  EXPECT_GE(batches.back().value - batches.front().value, 5);
  // About 30-100 kW for two hours.
  EXPECT_GT(energy.back().value - energy.front().value, 40);
  EXPECT_LT(energy.back().value - energy.front().value, 300);
}

TEST(SimulatorTest, CompressorCurrentFollowsItsState) {
  auto run = simulate(6);
  auto running = held(*run, run->id("compressor1.running"));
  auto current = held(*run, run->id("compressor1.current"));
  for (std::size_t i = 1; i < running.size(); ++i) {
    if (running[i] == 0) {
      EXPECT_EQ(current[i], 0) << i;
    } else if (running[i - 1] == 1) {
      EXPECT_GT(current[i], 30) << i;
    }
  }
}

TEST(SimulatorTest, BadQualityIsPresentButRare) {
  for (unsigned seed : {0u, 1u, 2u}) {
    auto run = simulate(seed);
    std::size_t total = 0, bad = 0, uncertain = 0;
    std::map<std::string, std::size_t> bad_by_tag;
    for (const auto& tick : run->ticks) {
      for (const auto& s : tick.samples) {
        ++total;
        if (s.sample.quality == Quality::bad) {
          ++bad;
          ++bad_by_tag[run->registry.name(s.tag)];
        }
        if (s.sample.quality == Quality::uncertain) ++uncertain;
      }
    }
    EXPECT_GE(bad, 1u) << "seed " << seed;
    EXPECT_LT(static_cast<double>(bad), 0.05 * total) << "seed " << seed;
    EXPECT_GE(uncertain, 1u) << "seed " << seed;
    EXPECT_LT(static_cast<double>(uncertain), 0.05 * total) << "seed " << seed;
    // Dropouts are short: a few seconds now and then on a sensor.
    for (const auto& [name, n] : bad_by_tag) EXPECT_LT(n, run->ticks.size() / 10) << name;
  }
}

TEST(SimulatorTest, BadSampleHoldsTheLastValue) {
  auto run = simulate(0);
  auto vib = series(*run, run->id("vibration.motor1"));
  int bad = 0;
  for (std::size_t i = 1; i < vib.size(); ++i) {
    if (vib[i].quality != Quality::bad) continue;
    EXPECT_EQ(vib[i].value, vib[i - 1].value);
    ++bad;
  }
  EXPECT_GT(bad, 0);
}

// The model integrates in fixed substeps: the plant behaves alike whether it
// is sampled every 10 s or 5 times a second.
TEST(SimulatorTest, BehavesAlikeAtDifferentRates) {
  auto slow = simulate(8, kTwoHours, 10.0);
  auto fast = simulate(8, kTwoHours, 0.2);
  auto stats = [](const SimRun& run, const char* name) {
    auto points = series(run, run.id(name));
    double mean = 0, lo = 1e9, hi = -1e9;
    for (const auto& p : points) {
      mean += p.value / points.size();
      lo = std::min(lo, p.value);
      hi = std::max(hi, p.value);
    }
    return std::array<double, 3>{mean, lo, hi};
  };
  auto b1s = stats(*slow, "boiler1.temperature"), b1f = stats(*fast, "boiler1.temperature");
  EXPECT_NEAR(b1s[0], b1f[0], 1.0);
  auto ts = stats(*slow, "tank1.level"), tf = stats(*fast, "tank1.level");
  EXPECT_NEAR(ts[0], tf[0], 12.0);
  EXPECT_NEAR(ts[2] - ts[1], tf[2] - tf[1], 20.0);
  auto cs = stats(*slow, "compressor1.pressure"), cf = stats(*fast, "compressor1.pressure");
  EXPECT_NEAR(cs[0], cf[0], 0.3);
  for (const char* name : {"pump1.running", "pump2.running", "compressor1.running"}) {
    const int starts_slow = count_transitions(held(*slow, slow->id(name)), 0, 1);
    const int starts_fast = count_transitions(held(*fast, fast->id(name)), 0, 1);
    EXPECT_GE(starts_slow, 1) << name;
    EXPECT_LE(std::abs(starts_slow - starts_fast), std::max(3, starts_fast / 2)) << name;
  }
}

TEST(SimulatorTest, ClockGoingBackOrJumpingFarIsHarmless) {
  TagRegistry registry;
  PlantSimulator sim(registry, {.seed = 9});
  sim.step(kStart);
  auto same = sim.step(kStart);
  auto back = sim.step(kStart - 10 * kNanosPerSecond);
  for (const auto& s : back) EXPECT_EQ(s.sample.ts, kStart - 10 * kNanosPerSecond);
  EXPECT_FALSE(back.empty());
  // Thirty days later (a suspended laptop): at most an hour is simulated.
  // The energy meter tells: it grows by about an hour's worth, not a month's.
  const TagId energy = *registry.find("power.energy");
  auto energy_of = [&](const std::vector<TaggedSample>& samples) {
    for (const auto& s : samples)
      if (s.tag == energy) return s.sample.value;
    ADD_FAILURE() << "no power.energy sample";
    return 0.0;
  };
  auto later = sim.step(kStart + 30LL * 86400 * kNanosPerSecond);
  EXPECT_FALSE(same.empty());
  EXPECT_FALSE(later.empty());
  const TagId level = *registry.find("tank1.level");
  for (const auto& s : later) {
    if (s.tag == level) {
      EXPECT_GE(s.sample.value, 0);
      EXPECT_LE(s.sample.value, 100);
    }
  }
  TagRegistry hour_registry;
  PlantSimulator hour(hour_registry, {.seed = 9});
  const auto hour_start = hour.step(kStart);
  const double hour_used = energy_of(hour.step(kStart + 3600 * kNanosPerSecond)) - energy_of(hour_start);
  ASSERT_GT(hour_used, 0);
  const double month_used = energy_of(later) - energy_of(back);
  EXPECT_GT(month_used, 0);
  EXPECT_LT(month_used, 2 * hour_used) << "more than an hour simulated after a jump of thirty days";
}

// --- SimulatorThread ---------------------------------------------------------

/// A SimulatorClock that moves only when stepped, and stamps samples from
/// kStart by the same steps.
class ManualClock {
 public:
  SimulatorClock clock() {
    return SimulatorClock{.now = [this] { return std::chrono::steady_clock::time_point{} + elapsed(); },
                          .stamp = [this] { return kStart + std::chrono::nanoseconds(elapsed()).count(); }};
  }
  void step(SimulatorThread& thread, std::chrono::steady_clock::duration d) {
    ticks_ += d.count();
    thread.clock_stepped();
  }

 private:
  std::chrono::steady_clock::duration elapsed() const {
    return std::chrono::steady_clock::duration(ticks_.load());
  }
  std::atomic<std::chrono::steady_clock::rep> ticks_{0};
};

struct Collector {
  std::mutex mutex;
  std::condition_variable cv;
  int ticks = 0;
  std::size_t samples = 0;
  std::vector<TimeNs> stamps;  // each tick's

  void add(const std::vector<TaggedSample>& s) {
    {
      std::lock_guard lock(mutex);
      ++ticks;
      samples += s.size();
      stamps.push_back(s.empty() ? 0 : s.front().sample.ts);
    }
    cv.notify_all();
  }
  bool wait_for_ticks(int n, std::chrono::seconds timeout) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, timeout, [&] { return ticks >= n; });
  }
  int count() {
    std::lock_guard lock(mutex);
    return ticks;
  }
};

TEST(SimulatorThreadTest, RegistersTagsBeforeStart) {
  TagRegistry registry;
  SimulatorThread thread(registry, {}, [](std::vector<TaggedSample>) {});
  EXPECT_GE(registry.size(), 20u);
  EXPECT_EQ(thread.tags().size(), registry.size());
}  // destroyed without start(): no thread to join

TEST(SimulatorThreadTest, DeliversTicksUntilStopped) {
  TagRegistry registry;
  Collector collector;
  SimulatorThread thread(registry, {.rate_hz = 50}, [&](std::vector<TaggedSample> s) { collector.add(s); });
  const TimeNs before = now_ns();
  thread.start();
  thread.start();  // no effect
  ASSERT_TRUE(collector.wait_for_ticks(3, std::chrono::seconds(5)));
  thread.stop();  // joins: no tick can follow
  EXPECT_GE(collector.samples, static_cast<std::size_t>(3 * 15));
  const int after_stop = collector.count();
  thread.stop();  // idempotent
  EXPECT_EQ(collector.count(), after_stop);
  std::lock_guard lock(collector.mutex);
  EXPECT_GE(collector.stamps.front(), before) << "the default clock stamps wall-clock time";
}

// One tick per period of the clock: the first at once, the next only when
// the clock has moved a period on, stamped by the clock.
TEST(SimulatorThreadTest, TicksOncePerPeriodOfItsClock) {
  TagRegistry registry;
  Collector collector;
  ManualClock clock;
  SimulatorThread thread(
      registry, {.rate_hz = 20}, [&](std::vector<TaggedSample> s) { collector.add(s); }, clock.clock());
  thread.start();
  ASSERT_TRUE(collector.wait_for_ticks(1, std::chrono::seconds(20)));
  for (int i = 1; i < 10; ++i) {
    clock.step(thread, std::chrono::milliseconds(50));
    ASSERT_TRUE(collector.wait_for_ticks(i + 1, std::chrono::seconds(20))) << "no tick after step " << i;
  }
  thread.stop();
  std::lock_guard lock(collector.mutex);
  EXPECT_EQ(collector.ticks, 10) << "ticked without the clock moving a period";
  for (std::size_t i = 0; i < collector.stamps.size(); ++i)
    EXPECT_EQ(collector.stamps[i], kStart + static_cast<TimeNs>(i) * 50 * kNanosPerMilli) << "tick " << i;
}

TEST(SimulatorThreadTest, StopWakesASleepingThread) {
  TagRegistry registry;
  Collector collector;
  ManualClock clock;  // never reaches the second tick
  SimulatorThread thread(
      registry, {.rate_hz = 0.05}, [&](std::vector<TaggedSample> s) { collector.add(s); }, clock.clock());
  thread.start();
  ASSERT_TRUE(collector.wait_for_ticks(1, std::chrono::seconds(20)));  // the first tick is immediate
  auto stopped = std::async(std::launch::async, [&] { thread.stop(); });
  if (stopped.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    ADD_FAILURE() << "stop() did not wake the thread waiting for its next tick";
    clock.step(thread, std::chrono::seconds(20));
  }
  stopped.get();
  EXPECT_EQ(collector.count(), 1);
}

TEST(SimulatorThreadTest, RestartsAfterStop) {
  TagRegistry registry;
  Collector collector;
  SimulatorThread thread(registry, {.rate_hz = 50}, [&](std::vector<TaggedSample> s) { collector.add(s); });
  thread.start();
  ASSERT_TRUE(collector.wait_for_ticks(2, std::chrono::seconds(5)));
  thread.stop();
  const int n = collector.count();
  thread.start();
  ASSERT_TRUE(collector.wait_for_ticks(n + 2, std::chrono::seconds(5)));
}  // the destructor stops and joins

TEST(SimulatorThreadTest, SurvivesAThrowingSink) {
  TagRegistry registry;
  Collector collector;
  SimulatorThread thread(registry, {.rate_hz = 50}, [&](std::vector<TaggedSample> s) {
    collector.add(s);
    throw std::runtime_error("consumer failed");
  });
  thread.start();
  EXPECT_TRUE(collector.wait_for_ticks(3, std::chrono::seconds(5)));
  thread.stop();
}

TEST(SimulatorThreadTest, StopFromTheSinkDoesNotDeadlock) {
  TagRegistry registry;
  Collector collector;
  ManualClock clock;
  SimulatorThread* self = nullptr;
  SimulatorThread thread(
      registry, {.rate_hz = 50},
      [&](std::vector<TaggedSample> s) {
        collector.add(s);
        self->stop();
      },
      clock.clock());
  self = &thread;
  thread.start();
  ASSERT_TRUE(collector.wait_for_ticks(1, std::chrono::seconds(20)));
  // Past many ticks' time: a thread still running would tick again.
  clock.step(thread, std::chrono::seconds(1));
  thread.stop();
  EXPECT_EQ(collector.count(), 1);
}

}  // namespace
}  // namespace tagstream
