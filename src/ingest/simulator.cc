#include "ingest/simulator.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/thread_name.h"

namespace tagstream {
namespace {

constexpr double kTwoPi = 6.283185307179586476925;
constexpr double kSecondsPerDay = 86400.0;

// The model is integrated in substeps of at most this many seconds, whatever
// the tick rate, so it behaves the same at 0.1 Hz and at 50 Hz.
constexpr double kMaxSubstep = 0.5;
// After a long pause (a suspended process, a clock jump) at most this much
// plant time is simulated; the rest is skipped.
constexpr double kMaxCatchUp = 3600.0;
// State tags (booleans, counters, setpoints) report on change and at least
// this often, so every minute bucket of history holds a value.
constexpr TimeNs kRefreshNs = 30 * kNanosPerSecond;

// ---------------------------------------------------------------------------
// Randomness: xoshiro256** seeded by splitmix64, and Box-Muller normals. The
// standard distributions are implementation-defined, these are not: the same
// seed gives the same plant with every compiler.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& s : s_) s = splitmix64(x);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  /// Standard normal.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0) u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(kTwoPi * u2);
    has_spare_ = true;
    return r * std::cos(kTwoPi * u2);
  }

  /// True with the probability that an event of mean interval `mean_s`
  /// (a Poisson process) happens within `h` seconds.
  bool event(double h, double mean_s) { return uniform() < 1.0 - std::exp(-h / mean_s); }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  std::array<std::uint64_t, 4> s_{};
  bool has_spare_ = false;
  double spare_ = 0;
};

/// Ornstein-Uhlenbeck process (mean-reverting random walk), discretized
/// exactly, so its statistics do not depend on the step.
struct Ou {
  double sigma = 0;  // stationary standard deviation
  double tau = 1;    // correlation time, s
  double x = 0;

  void init(Rng& rng) { x = sigma * rng.normal(); }
  void advance(double h, Rng& rng) {
    const double a = std::exp(-h / tau);
    x = x * a + sigma * std::sqrt(1.0 - a * a) * rng.normal();
  }
};

/// A sensor that now and then stops answering for a few seconds.
struct Dropout {
  double mean_interval_s;
  double min_s;
  double max_s;
  double until = -1;

  void advance(double t, double h, Rng& rng) {
    const bool fire = rng.event(h, mean_interval_s);  // draw every substep: stable sequence
    const double length = rng.uniform(min_s, max_s);
    if (fire && t >= until) until = t + length;
  }
  bool active(double t) const { return t < until; }
};

double round_to(double v, int decimals) {
  const double scale = std::pow(10.0, decimals);
  const double r = std::round(v * scale) / scale;
  return r == 0 ? 0.0 : r;  // never "-0"
}

double first_order(double value, double target, double h, double tau) {
  return value + (target - value) * (1.0 - std::exp(-h / tau));
}

// ---------------------------------------------------------------------------
// The tags.

enum Tag : std::size_t {
  kAmbientTemperature,
  kAmbientHumidity,
  kBoiler1Temperature,
  kBoiler1Pressure,
  kBoiler1BurnerOn,
  kBoiler1Setpoint,
  kBoiler2Temperature,
  kBoiler2Pressure,
  kBoiler2BurnerOn,
  kBoiler2Setpoint,
  kTank1Level,
  kTank1OutletValve,
  kPump1Running,
  kPump1Flow,
  kPump2Running,
  kPump2Flow,
  kLine1Flow,
  kLine1Pressure,
  kLine1BatchCount,
  kCompressor1Running,
  kCompressor1Current,
  kCompressor1Pressure,
  kVibrationMotor1,
  kPowerTotal,
  kPowerEnergy,
  kTagCount
};

struct TagSpec {
  const char* name;
  const char* unit;
  const char* description;
  DataType type;
  int decimals;    // for numbers
  bool on_change;  // report by exception (plus a periodic refresh)
};

constexpr std::array<TagSpec, kTagCount> kSpecs{{
    {"ambient.temperature", "degC", "Outdoor air temperature", DataType::number, 2, false},
    {"ambient.humidity", "%", "Outdoor relative humidity", DataType::number, 1, false},
    {"boiler1.temperature", "degC", "Boiler 1 supply water temperature", DataType::number, 2, false},
    {"boiler1.pressure", "bar", "Boiler 1 water pressure", DataType::number, 2, false},
    {"boiler1.burner_on", "", "Boiler 1 burner firing", DataType::boolean, 0, true},
    {"boiler1.setpoint", "degC", "Boiler 1 temperature setpoint", DataType::number, 1, true},
    {"boiler2.temperature", "degC", "Boiler 2 supply water temperature", DataType::number, 2, false},
    {"boiler2.pressure", "bar", "Boiler 2 water pressure", DataType::number, 2, false},
    {"boiler2.burner_on", "", "Boiler 2 burner firing", DataType::boolean, 0, true},
    {"boiler2.setpoint", "degC", "Boiler 2 temperature setpoint", DataType::number, 1, true},
    {"tank1.level", "%", "Buffer tank 1 level", DataType::number, 2, false},
    {"tank1.outlet_valve", "%", "Tank 1 outlet valve opening", DataType::number, 1, false},
    {"pump1.running", "", "Tank 1 fill pump 1 running", DataType::boolean, 0, true},
    {"pump1.flow", "m3/h", "Pump 1 discharge flow", DataType::number, 2, false},
    {"pump2.running", "", "Tank 1 fill pump 2 running", DataType::boolean, 0, true},
    {"pump2.flow", "m3/h", "Pump 2 discharge flow", DataType::number, 2, false},
    {"line1.flow", "m3/h", "Process line 1 flow (tank 1 outlet)", DataType::number, 2, false},
    {"line1.pressure", "bar", "Process line 1 pressure (transmitter range 0-6 bar)", DataType::number, 2,
     false},
    {"line1.batch_count", "", "Batches completed on line 1 since start", DataType::integer, 0, true},
    {"compressor1.running", "", "Air compressor 1 running", DataType::boolean, 0, true},
    {"compressor1.current", "A", "Air compressor 1 motor current", DataType::number, 1, false},
    {"compressor1.pressure", "bar", "Compressed air receiver pressure", DataType::number, 2, false},
    {"vibration.motor1", "mm/s", "Pump 1 motor vibration velocity (RMS)", DataType::number, 2, false},
    {"power.total", "kW", "Site electrical load", DataType::number, 1, false},
    {"power.energy", "kWh", "Site energy meter", DataType::number, 2, false},
}};

// ---------------------------------------------------------------------------
// Plant units.

constexpr double kTempSensorTau = 8.0;  // s, thermowell lag

struct Boiler {
  double setpoint;
  double half_band;    // hysteresis of the burner controller, degC
  double heat_rate;    // degC/s with the burner firing
  double base_load;    // degC/s taken by the heating demand
  double k_loss;       // 1/s, losses to ambient
  double load_period;  // s, the demand's slow swing
  double static_pressure;
  double load_phase = 0;
  Ou load_ou{0.08, 300.0};
  double temp = 0;
  double temp_meas = 0;
  bool burner = false;

  void init(Rng& rng) {
    load_phase = rng.uniform(0, kTwoPi);
    load_ou.init(rng);
    temp = temp_meas = setpoint + rng.uniform(-half_band, half_band);
    burner = rng.uniform() < 0.5;
  }

  void advance(double t, double h, double ambient, Rng& rng) {
    load_ou.advance(h, rng);
    const double load =
        std::max(0.0, base_load * (1.0 + 0.35 * std::sin(kTwoPi * t / load_period + load_phase) + load_ou.x));
    temp += ((burner ? heat_rate : 0.0) - load - k_loss * (temp - ambient)) * h;
    temp_meas = first_order(temp_meas, temp, h, kTempSensorTau);
    // The controller acts on the measurement, so the sensor lag overshoots.
    if (burner && temp_meas >= setpoint + half_band) burner = false;
    if (!burner && temp_meas <= setpoint - half_band) burner = true;
  }

  double pressure() const { return static_pressure + 0.03 * (temp_meas - 20.0); }
};

struct Pump {
  double nominal;  // m3/h at full speed
  bool running = false;
  double speed = 0;  // 0..1, ramped by the drive
  double started_at = -1e9;
  Ou flow_ou{0.02, 120.0};

  void set(bool on, double t) {
    if (on && !running) started_at = t;
    running = on;
  }
  void advance(double h, Rng& rng) {
    flow_ou.advance(h, rng);
    speed = running ? std::min(1.0, speed + h / 10.0)  // 10 s soft-start ramp
                    : std::max(0.0, speed - h / 4.0);  // 4 s ramp down
  }
  double flow() const { return nominal * speed * (1.0 + flow_ou.x); }
};

struct Compressor {
  double pressure = 7.0;  // receiver, bar
  bool running = false;
  double started_at = -1e9;
  double demand_phase = 0;
  Ou demand_ou{0.0008, 60.0};

  static constexpr double kStart = 6.3, kStop = 7.6, kCharge = 0.013;

  void advance(double t, double h, Rng& rng) {
    demand_ou.advance(h, rng);
    const double demand =
        std::max(0.001, 0.006 * (1.0 + 0.3 * std::sin(kTwoPi * t / 1200.0 + demand_phase)) + demand_ou.x);
    pressure += ((running ? kCharge : 0.0) - demand) * h;
    if (running && pressure >= kStop) running = false;
    if (!running && pressure <= kStart) {
      running = true;
      started_at = t;
    }
  }

  double current(double t) const {
    if (!running) return 0.0;
    const double inrush = 160.0 * std::exp(-(t - started_at) / 0.6);
    return 46.0 + 6.0 * (pressure - kStart) / (kStop - kStart) + inrush;
  }
};

}  // namespace

// ---------------------------------------------------------------------------

struct PlantSimulator::Model {
  static constexpr double kTankCapacity = 6.0;  // m3 at 100 %
  static constexpr double kOutletK = 60.0;      // m3/h through a fully open valve at 100 % level
  static constexpr double kBatchVolume = 2.5;   // m3 per batch on line 1

  struct Channel {
    TagId id = 0;
    bool reported = false;
    double last_value = 0;
    Quality last_quality = Quality::good;
    TimeNs last_report = 0;
  };

  Rng rng;
  std::vector<TagId> ids;
  std::array<Channel, kTagCount> channels;

  // Clock.
  bool started = false;
  TimeNs t0 = 0;        // the first `now`
  TimeNs last_now = 0;  // the latest `now` the model was advanced to
  double t = 0;         // plant time, s since t0
  double tod0 = 0;      // UTC time of day at t0, s

  // Weather.
  double climate_mean = 11;
  Ou ambient_ou{2.0, 6 * 3600.0};
  Ou humidity_ou{10.0, 3 * 3600.0};

  Boiler boiler1{80.0, 1.5, 0.08, 0.030, 0.00005, 600.0, 1.2};
  Boiler boiler2{65.0, 1.5, 0.06, 0.022, 0.00005, 720.0, 1.10};

  // Tank 1, its two fill pumps (duty alternates every cycle; the other assists
  // on low level) and its outlet into line 1.
  double volume = 3.0;
  std::array<Pump, 2> pumps{Pump{42.0}, Pump{38.0}};
  std::size_t duty = 0;
  double valve_phase = 0;
  Ou valve_ou{5.0, 300.0};
  double valve = 50;
  double outflow = 0;
  double batch_volume = 0;
  std::int64_t batch_count = 0;
  double surge = 0;  // line 1 pressure transient, bar

  Compressor compressor;

  Ou vibration_ou{0.25, 600.0};
  Ou base_load_ou{1.5, 120.0};
  double energy = 0;  // kWh

  Dropout vibration_dropout{300.0, 3.0, 10.0};
  Dropout pump2_flow_dropout{480.0, 2.0, 6.0};

  explicit Model(unsigned seed) : rng(0x7A6573747265616Dull ^ seed) {
    climate_mean = rng.uniform(6.0, 16.0);
    ambient_ou.init(rng);
    humidity_ou.init(rng);
    boiler1.init(rng);
    boiler2.init(rng);
    volume = kTankCapacity * rng.uniform(0.45, 0.65);
    duty = rng.uniform() < 0.5 ? 0 : 1;
    pumps[duty].running = true;
    pumps[duty].speed = 1.0;
    for (auto& p : pumps) p.flow_ou.init(rng);
    valve_phase = rng.uniform(0, kTwoPi);
    valve_ou.init(rng);
    compressor.pressure = rng.uniform(6.5, 7.4);
    compressor.running = rng.uniform() < 0.5;
    compressor.demand_phase = rng.uniform(0, kTwoPi);
    compressor.demand_ou.init(rng);
    vibration_ou.init(rng);
    base_load_ou.init(rng);
    energy = std::round(rng.uniform(100000.0, 150000.0));
    update_valve_and_outflow();
  }

  double level() const { return 100.0 * volume / kTankCapacity; }
  double time_of_day() const { return std::fmod(tod0 + t, kSecondsPerDay); }

  // Daily swing: coldest around 03:00 UTC, warmest around 15:00.
  double daily() const { return std::sin(kTwoPi * (time_of_day() / 3600.0 - 9.0) / 24.0); }
  double ambient() const { return climate_mean + 6.0 * daily() + ambient_ou.x; }
  double humidity() const { return 62.0 - 13.0 * daily() + humidity_ou.x; }

  void update_valve_and_outflow() {
    valve = std::clamp(50.0 + 28.0 * std::sin(kTwoPi * t / 1800.0 + valve_phase) + valve_ou.x, 5.0, 95.0);
    outflow = kOutletK * valve / 100.0 * std::sqrt(std::max(0.0, level()) / 100.0);
  }

  double power() const {
    return 16.0 + 0.5 * std::abs(ambient() - 18.0) + base_load_ou.x        // lighting, HVAC, offices
           + 12.5 * pumps[0].speed + 11.0 * pumps[1].speed                 //
           + 0.59 * compressor.current(t)                                  // 400 V, pf 0.85
           + (boiler1.burner ? 1.1 : 0.0) + (boiler2.burner ? 0.9 : 0.0);  // burner fans
  }

  /// One substep of `h` seconds, ending at plant time `t + h`.
  void advance(double h) {
    t += h;
    ambient_ou.advance(h, rng);
    humidity_ou.advance(h, rng);
    const double amb = ambient();
    boiler1.advance(t, h, amb, rng);
    boiler2.advance(t, h, amb, rng);

    // Tank 1: fill pumps on level hysteresis, duty pump alternating.
    valve_ou.advance(h, rng);
    for (auto& p : pumps) p.advance(h, rng);
    update_valve_and_outflow();
    const double inflow = pumps[0].flow() + pumps[1].flow();
    volume = std::clamp(volume + (inflow - outflow) * h / 3600.0, 0.0, kTankCapacity);
    const double lvl = level();
    Pump& duty_pump = pumps[duty];
    Pump& assist_pump = pumps[1 - duty];
    if (!duty_pump.running && lvl <= 40.0) duty_pump.set(true, t);
    if (!assist_pump.running && lvl <= 25.0) assist_pump.set(true, t);
    if (assist_pump.running && lvl >= 60.0) assist_pump.set(false, t);
    if (duty_pump.running && lvl >= 80.0) {
      duty_pump.set(false, t);
      duty = 1 - duty;
    }

    // Line 1: batches by delivered volume; occasional pressure surges
    // (a downstream valve slamming) that can saturate the transmitter.
    batch_volume += outflow * h / 3600.0;
    while (batch_volume >= kBatchVolume) {
      batch_volume -= kBatchVolume;
      ++batch_count;
    }
    surge *= std::exp(-h / 3.0);
    const bool surge_event = rng.event(h, 900.0);
    const double surge_size = rng.uniform(1.2, 2.8);
    if (surge_event) surge += surge_size;

    compressor.advance(t, h, rng);
    vibration_ou.advance(h, rng);
    base_load_ou.advance(h, rng);
    energy += power() * h / 3600.0;

    vibration_dropout.advance(t, h, rng);
    pump2_flow_dropout.advance(t, h, rng);
  }

  void advance_to(TimeNs now) {
    if (!started) {
      started = true;
      t0 = last_now = now;
      t = 0;
      const TimeNs day = 86400 * kNanosPerSecond;
      tod0 = static_cast<double>(now - floor_div(now, day) * day) / 1e9;
      return;
    }
    if (now <= last_now) return;
    const double end = static_cast<double>(now - t0) / 1e9;
    double dt = end - t;
    if (dt > kMaxCatchUp) {
      t = end - kMaxCatchUp;  // skip the rest of a long pause
      dt = kMaxCatchUp;
    }
    const auto n = static_cast<long>(std::ceil(dt / kMaxSubstep));
    const double h = dt / static_cast<double>(std::max(1L, n));
    for (long i = 0; i < n; ++i) advance(h);
    t = end;
    last_now = now;
  }

  void emit(std::vector<TaggedSample>& out, Tag tag, TimeNs now, double value,
            Quality quality = Quality::good) {
    const TagSpec& spec = kSpecs[tag];
    Channel& c = channels[tag];
    switch (spec.type) {
      case DataType::boolean: value = value != 0 ? 1.0 : 0.0; break;
      case DataType::integer: value = std::round(value); break;
      case DataType::number: value = round_to(value, spec.decimals); break;
    }
    if (quality == Quality::bad && c.reported) value = c.last_value;  // hold the last known value
    if (spec.on_change && c.reported && value == c.last_value && quality == c.last_quality &&
        now - c.last_report < kRefreshNs)
      return;
    out.push_back(TaggedSample{c.id, Sample{now, value, quality}});
    c.reported = true;
    c.last_value = value;
    c.last_quality = quality;
    c.last_report = now;
  }

  std::vector<TaggedSample> sample(TimeNs now) {
    std::vector<TaggedSample> out;
    out.reserve(kTagCount);
    // Measurement noise is drawn for every tag on every tick, reported or not,
    // so the random sequence does not depend on what changed.
    auto noise = [&](double sd) { return sd * rng.normal(); };

    emit(out, kAmbientTemperature, now, ambient() + noise(0.03));
    {
      double rh = humidity() + noise(0.3);
      Quality q = Quality::good;
      if (rh >= 98.0) q = Quality::uncertain;  // the sensor saturates in fog
      emit(out, kAmbientHumidity, now, std::clamp(rh, 5.0, 100.0), q);
    }

    emit(out, kBoiler1Temperature, now, boiler1.temp_meas + noise(0.04));
    emit(out, kBoiler1Pressure, now, boiler1.pressure() + noise(0.004));
    emit(out, kBoiler1BurnerOn, now, boiler1.burner);
    emit(out, kBoiler1Setpoint, now, boiler1.setpoint);
    emit(out, kBoiler2Temperature, now, boiler2.temp_meas + noise(0.04));
    emit(out, kBoiler2Pressure, now, boiler2.pressure() + noise(0.004));
    emit(out, kBoiler2BurnerOn, now, boiler2.burner);
    emit(out, kBoiler2Setpoint, now, boiler2.setpoint);

    {
      const double lvl = std::clamp(level() + noise(0.04), 0.0, 100.0);  // surface ripple
      const Quality q = (lvl <= 0.5 || lvl >= 99.5) ? Quality::uncertain : Quality::good;
      emit(out, kTank1Level, now, lvl, q);
    }
    emit(out, kTank1OutletValve, now, valve);

    auto flow_reading = [&](double flow) {
      const double f = flow + noise(0.2);
      return f < 1.0 ? 0.0 : f;  // the meter's low-flow cut-off
    };
    emit(out, kPump1Running, now, pumps[0].running);
    emit(out, kPump1Flow, now, flow_reading(pumps[0].flow()));
    emit(out, kPump2Running, now, pumps[1].running);
    emit(out, kPump2Flow, now, flow_reading(pumps[1].flow()),
         pump2_flow_dropout.active(t) ? Quality::bad : Quality::good);

    emit(out, kLine1Flow, now, flow_reading(outflow));
    {
      // Transmitter range 0..6 bar: near the top it saturates.
      const double base = 4.3 - 0.0011 * outflow * outflow + 0.005 * level();
      const double p = std::clamp(base + surge + noise(0.015), 0.0, 6.0);
      emit(out, kLine1Pressure, now, p, p >= 5.7 ? Quality::uncertain : Quality::good);
    }
    emit(out, kLine1BatchCount, now, static_cast<double>(batch_count));

    emit(out, kCompressor1Running, now, compressor.running);
    {
      const double i = compressor.current(t);
      const double n = noise(0.4);
      emit(out, kCompressor1Current, now, i > 0 ? std::max(0.0, i + n) : 0.0);
    }
    emit(out, kCompressor1Pressure, now, compressor.pressure + noise(0.01));

    {
      const Pump& p = pumps[0];
      const double startup = p.running ? 2.5 * std::exp(-(t - p.started_at) / 6.0) : 0.0;
      const double v = 0.06 + p.speed * (2.3 + vibration_ou.x) + startup;
      emit(out, kVibrationMotor1, now, std::max(0.02, v * (1.0 + noise(0.06))),
           vibration_dropout.active(t) ? Quality::bad : Quality::good);
    }

    emit(out, kPowerTotal, now, power() + noise(0.3));
    emit(out, kPowerEnergy, now, energy);
    return out;
  }
};

PlantSimulator::PlantSimulator(TagRegistry& registry, SimulatorOptions opts)
    : model_(std::make_unique<Model>(opts.seed)) {
  model_->ids.reserve(kTagCount);
  for (std::size_t i = 0; i < kTagCount; ++i) {
    const TagSpec& s = kSpecs[i];
    const std::optional<TagId> id = registry.upsert(TagInfo{s.name, s.unit, s.description, s.type});
    if (!id)
      throw std::runtime_error("the simulator's " + std::to_string(kTagCount) + " tags do not fit under " +
                               "--max-tags " + std::to_string(registry.max_tags()));
    model_->ids.push_back(*id);
    model_->channels[i].id = *id;
  }
}

PlantSimulator::~PlantSimulator() = default;
PlantSimulator::PlantSimulator(PlantSimulator&&) noexcept = default;
PlantSimulator& PlantSimulator::operator=(PlantSimulator&&) noexcept = default;

std::vector<TaggedSample> PlantSimulator::step(TimeNs now) {
  model_->advance_to(now);
  return model_->sample(now);
}

const std::vector<TagId>& PlantSimulator::tags() const {
  return model_->ids;
}

// ---------------------------------------------------------------------------

namespace {
double sane_rate(double hz) {
  if (!std::isfinite(hz) || hz <= 0) return 1.0;
  return std::clamp(hz, 0.001, 1000.0);
}
}  // namespace

SimulatorThread::SimulatorThread(TagRegistry& registry, SimulatorOptions opts, Sink sink,
                                 SimulatorClock clock)
    : sim_(registry, opts),
      rate_hz_(sane_rate(opts.rate_hz)),
      sink_(std::move(sink)),
      clock_(std::move(clock)) {}

SimulatorThread::~SimulatorThread() {
  stop();
}

void SimulatorThread::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stop_requested_ = false;
  thread_ = std::thread([this] { run(); });
}

void SimulatorThread::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  cv_.notify_all();
  if (!thread_.joinable() || thread_.get_id() == std::this_thread::get_id()) return;
  thread_.join();
}

void SimulatorThread::clock_stepped() {
  // Under the lock: the thread is then either before reading the clock or
  // already asleep, so the notification cannot fall between the two.
  std::lock_guard lock(mutex_);
  cv_.notify_all();
}

void SimulatorThread::run() {
  name_this_thread("ts-simulator");
  using Clock = std::chrono::steady_clock;
  const auto period =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate_hz_));
  auto next = clock_.now();
  std::unique_lock lock(mutex_);
  while (!stop_requested_) {
    lock.unlock();
    auto samples = sim_.step(clock_.stamp());
    try {
      if (sink_) sink_(std::move(samples));
    } catch (...) {
      // A failing consumer must not take the data source down; the next tick
      // tries again.
    }
    lock.lock();
    next += period;
    // Fell behind (slow sink, suspended): skip, don't burst.
    if (const auto now = clock_.now(); next < now) next = now;
    while (!stop_requested_) {
      const auto left = next - clock_.now();
      if (left <= Clock::duration::zero()) break;
      cv_.wait_for(lock, left);
    }
  }
}

}  // namespace tagstream
