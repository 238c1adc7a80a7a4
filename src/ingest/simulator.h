#pragma once
// The built-in plant simulator: the default data source of `tagstream serve`,
// so a new user sees a live plant at once.
//
// A small plant (two boilers, a buffer tank filled by two duty/assist pumps
// and drained into a process line, an air compressor, weather, power meter)
// is modelled with simple physics and on/off controllers with hysteresis.
// The model is integrated in fixed small substeps of the time between calls,
// so it behaves the same at any sample rate, and all randomness comes from a
// portable generator seeded by `SimulatorOptions::seed`: the same seed and the
// same sequence of `now` give the same samples on every platform.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/sample.h"
#include "core/tag_registry.h"
#include "core/time.h"

namespace tagstream {

struct SimulatorOptions {
  double rate_hz = 1.0;  // samples per second per tag (ticks per second)
  unsigned seed = 0;
};

/// The plant model. Pure and deterministic given the seed; not thread safe.
class PlantSimulator {
 public:
  /// Registers the plant's tags (with unit, description and type). A tag that
  /// already exists keeps its metadata. `registry` must outlive the simulator.
  /// Throws std::runtime_error when its tags do not fit under the registry's
  /// max_tags(): the simulator obeys the cap like every other source.
  PlantSimulator(TagRegistry& registry, SimulatorOptions opts);
  ~PlantSimulator();
  PlantSimulator(PlantSimulator&&) noexcept;
  PlantSimulator& operator=(PlantSimulator&&) noexcept;

  /// Advances the plant model to `now` and returns the samples of this tick,
  /// all stamped `now`. Analog tags report every tick; state tags (booleans,
  /// counters, setpoints) report on change, on a quality change and every 30 s
  /// of plant time. The first call reports every tag. A `now` that does not
  /// move forward does not advance the model.
  std::vector<TaggedSample> step(TimeNs now);

  /// The plant's tags, in registration order.
  const std::vector<TagId>& tags() const;

 private:
  struct Model;
  std::unique_ptr<Model> model_;
};

/// Where a SimulatorThread reads the time: `now` paces the ticks, `stamp`
/// dates the samples. A test passes a clock it steps by hand, then calls
/// SimulatorThread::clock_stepped().
struct SimulatorClock {
  std::function<std::chrono::steady_clock::time_point()> now = [] {
    return std::chrono::steady_clock::now();
  };
  std::function<TimeNs()> stamp = [] { return now_ns(); };
};

/// Runs a PlantSimulator on its own std::thread at `opts.rate_hz` ticks per
/// second (wall clock timestamps), handing each tick's samples to `sink` on
/// that thread. If the thread falls behind it skips ticks rather than bursting.
class SimulatorThread {
 public:
  using Sink = std::function<void(std::vector<TaggedSample>)>;

  /// Registers the tags at once (before start()).
  SimulatorThread(TagRegistry& registry, SimulatorOptions opts, Sink sink, SimulatorClock clock = {});
  ~SimulatorThread();  // stops and joins
  SimulatorThread(const SimulatorThread&) = delete;
  SimulatorThread& operator=(const SimulatorThread&) = delete;

  /// Starts the thread; no effect if it is running.
  void start();
  /// Wakes the sleeping thread and joins it; prompt, idempotent. Called from
  /// the sink itself, it only asks the thread to end.
  void stop();
  /// Makes the thread read its clock again. Needed only with a clock that
  /// jumps (tests): the thread sleeps for what its clock said was left, and
  /// a jump does not wake it.
  void clock_stepped();

  const std::vector<TagId>& tags() const { return sim_.tags(); }

 private:
  void run();

  PlantSimulator sim_;
  double rate_hz_;
  Sink sink_;
  SimulatorClock clock_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_requested_ = false;
  std::thread thread_;
};

}  // namespace tagstream
