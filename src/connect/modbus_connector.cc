#include "connect/modbus_connector.h"

#include <modbus/modbus.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include "core/log.h"

namespace tagstream {

namespace {

std::chrono::microseconds to_micros(double seconds) {
  return std::chrono::microseconds(static_cast<std::int64_t>(std::llround(seconds * 1e6)));
}

void set_timeout(modbus_t* ctx, double seconds, int (*setter)(modbus_t*, std::uint32_t, std::uint32_t)) {
  const auto us = to_micros(seconds).count();
  setter(ctx, static_cast<std::uint32_t>(us / 1'000'000), static_cast<std::uint32_t>(us % 1'000'000));
}

bool is_exception(int error) {
  return error > MODBUS_ENOBASE && error < MODBUS_ENOBASE + MODBUS_EXCEPTION_MAX;
}

}  // namespace

ModbusConnector::ModbusConnector(ModbusConfig config, ConnectorContext context)
    : config_(std::move(config)),
      context_(std::move(context)),
      endpoint_(config_.host + ":" + std::to_string(config_.port)) {
  for (std::size_t i = 0; i < config_.tags.size(); ++i)
    if (config_.tags[i].writable) by_name_.emplace(config_.tags[i].name, i);
  status_.name = config_.name;
  status_.kind = "modbus";
  status_.endpoint = endpoint_;
  status_.state = "stopped";
}

ModbusConnector::~ModbusConnector() {
  stop();
}

void ModbusConnector::start() {
  std::lock_guard lock(mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  status_.state = "connecting";
  thread_ = std::thread([this] { run(); });
}

void ModbusConnector::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  fail_queued_writes("the connector is stopped");
  std::lock_guard lock(mutex_);
  status_.state = "stopped";
  status_.connected = false;
  status_.messages_per_second = 0;
}

ConnectorStatus ModbusConnector::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

std::optional<WritableTag> ModbusConnector::writable(std::string_view tag) const {
  auto it = by_name_.find(std::string(tag));
  if (it == by_name_.end()) return std::nullopt;
  const auto& t = config_.tags[it->second];
  return WritableTag{.connector = config_.name,
                     .limits = {.min = t.min, .max = t.max},
                     .boolean = t.area == ModbusArea::coil};
}

void ModbusConnector::write(SetpointWrite request, FieldDevices::WriteDone done) {
  std::string refusal;
  {
    std::lock_guard lock(mutex_);
    if (!started_ || stopping_)
      refusal = "the connector is stopped";
    else if (!status_.connected)
      refusal = "not connected to " + endpoint_;
    else if (writes_.size() >= kMaxQueuedWrites)
      refusal = "busy: " + std::to_string(kMaxQueuedWrites) + " writes are already waiting for " + endpoint_;
    else
      writes_.push_back({std::move(request), std::move(done)});
  }
  if (!refusal.empty()) {
    done({.outcome = SetpointOutcome::unavailable, .message = refusal, .readback = std::nullopt});
    return;
  }
  wake_.notify_all();
}

std::vector<std::int64_t> ModbusConnector::poll_lateness_ns() const {
  std::lock_guard lock(mutex_);
  if (lateness_.size() < kMaxLatenessSamples) return lateness_;
  std::vector<std::int64_t> out(lateness_.begin() + static_cast<std::ptrdiff_t>(lateness_next_),
                                lateness_.end());
  out.insert(out.end(), lateness_.begin(), lateness_.begin() + static_cast<std::ptrdiff_t>(lateness_next_));
  return out;
}

std::uint64_t ModbusConnector::skipped_polls() const {
  std::lock_guard lock(mutex_);
  return skipped_;
}

void ModbusConnector::set_state(const char* state, bool connected) {
  std::lock_guard lock(mutex_);
  status_.state = state;
  status_.connected = connected;
  if (!connected) status_.messages_per_second = 0;
}

void ModbusConnector::register_tags() {
  ids_.assign(config_.tags.size(), std::nullopt);
  last_value_.assign(config_.tags.size(), 0);
  std::size_t refused = 0;
  for (std::size_t i = 0; i < config_.tags.size(); ++i) {
    const auto& t = config_.tags[i];
    ids_[i] = context_.registry->ensure(
        TagInfo{.name = t.name, .unit = t.unit, .description = t.description, .type = tag_data_type(t)});
    if (!ids_[i]) ++refused;
  }
  if (refused > 0) {
    std::lock_guard lock(mutex_);
    status_.errors += refused;
    status_.last_error = std::to_string(refused) + " tags not created: the server holds --max-tags already";
    log(LogLevel::warn, "modbus {}: {}", config_.name, status_.last_error);
  }
}

void ModbusConnector::deliver(std::vector<TaggedSample> samples) {
  if (samples.empty()) return;
  const auto n = samples.size();
  const bool taken = context_.ingest(std::move(samples));
  std::lock_guard lock(mutex_);
  if (taken) {
    status_.samples += n;
  } else {
    ++status_.errors;
    status_.last_error = "the ingest queue is full: a poll's samples were dropped";
  }
}

void ModbusConnector::mark_bad(const std::vector<std::size_t>& tags, TimeNs ts) {
  std::vector<TaggedSample> samples;
  samples.reserve(tags.size());
  for (auto i : tags)
    if (ids_[i])
      samples.push_back(
          {.tag = *ids_[i], .sample = {.ts = ts, .value = last_value_[i], .quality = Quality::bad}});
  deliver(std::move(samples));
}

ModbusConnector::Failure ModbusConnector::failed(const std::string& what) {
  const int error = errno;
  Failure kind = Failure::lost;
  if (is_exception(error))
    kind = Failure::exception;
  else if (error == ETIMEDOUT)
    kind = Failure::timeout;
  {
    std::lock_guard lock(mutex_);
    ++status_.errors;
    status_.last_error = what + ": " + modbus_strerror(error);
  }
  // A late answer to a timed-out request must not be taken for the next one.
  if (kind == Failure::timeout) modbus_flush(ctx_);
  return kind;
}

bool ModbusConnector::connect() {
  set_state("connecting", false);
  if (modbus_connect(ctx_) == -1) {
    const int error = errno;
    std::lock_guard lock(mutex_);
    ++status_.errors;
    status_.last_error = "connect to " + endpoint_ + ": " + modbus_strerror(error);
    return false;
  }
  connected_ = true;
  outage_marked_ = false;
  {
    std::lock_guard lock(mutex_);
    if (ever_connected_) ++status_.reconnects;
    status_.state = "connected";
    status_.connected = true;
    rate_window_start_ = Clock::now();
    rate_window_messages_ = status_.messages;
  }
  ever_connected_ = true;
  log(LogLevel::info, "modbus {}: connected to {}", config_.name, endpoint_);
  return true;
}

void ModbusConnector::disconnect(const std::string& why) {
  if (connected_) {
    modbus_close(ctx_);
    connected_ = false;
    log(LogLevel::warn, "modbus {}: lost {}: {}", config_.name, endpoint_, why);
  }
  set_state("backoff", false);
  fail_queued_writes("not connected to " + endpoint_);
  if (!outage_marked_) {
    outage_marked_ = true;
    std::vector<std::size_t> all(config_.tags.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    mark_bad(all, now_ns());
  }
}

void ModbusConnector::fail_queued_writes(const std::string& why) {
  std::deque<PendingWrite> failed;
  {
    std::lock_guard lock(mutex_);
    failed.swap(writes_);
  }
  for (auto& w : failed)
    w.done({.outcome = SetpointOutcome::unavailable, .message = why, .readback = std::nullopt});
}

void ModbusConnector::poll(const Plan& plan) {
  const TimeNs ts = now_ns();
  std::vector<TaggedSample> samples;
  std::vector<std::uint16_t> registers;
  std::vector<std::uint8_t> bits;
  std::uint64_t answers = 0;
  for (const auto& read : plan.reads) {
    if (!connected_) break;
    modbus_set_slave(ctx_, read.unit_id);
    int rc = -1;
    const auto count = static_cast<std::size_t>(read.count);
    switch (read.area) {
      case ModbusArea::holding:
        registers.resize(count);
        rc = modbus_read_registers(ctx_, read.start, read.count, registers.data());
        break;
      case ModbusArea::input:
        registers.resize(count);
        rc = modbus_read_input_registers(ctx_, read.start, read.count, registers.data());
        break;
      case ModbusArea::coil:
        bits.resize(count);
        rc = modbus_read_bits(ctx_, read.start, read.count, bits.data());
        break;
      case ModbusArea::discrete:
        bits.resize(count);
        rc = modbus_read_input_bits(ctx_, read.start, read.count, bits.data());
        break;
    }
    if (rc == -1) {
      const auto kind =
          failed("read " + std::string(to_string(read.area)) + " " + std::to_string(read.start) + "+" +
                 std::to_string(read.count) + " of unit " + std::to_string(read.unit_id));
      mark_bad(read.tags, ts);
      if (kind == Failure::lost) disconnect(status().last_error);
      continue;
    }
    ++answers;
    for (auto i : read.tags) {
      const auto& tag = config_.tags[i];
      const auto at = static_cast<std::size_t>(tag.address - read.start);
      double value;
      if (is_bit_area(read.area)) {
        value = bits[at] ? 1 : 0;
      } else {
        value = decode_registers(
            tag, std::span(registers).subspan(at, static_cast<std::size_t>(modbus_width(tag.type))));
      }
      last_value_[i] = value;
      if (ids_[i])
        samples.push_back({.tag = *ids_[i], .sample = {.ts = ts, .value = value, .quality = Quality::good}});
    }
  }
  if (answers > 0) {
    std::lock_guard lock(mutex_);
    status_.messages += answers;
    status_.last_message = ts;
  }
  deliver(std::move(samples));
}

SetpointResult ModbusConnector::execute(const SetpointWrite& request) {
  auto it = by_name_.find(request.tag);
  if (it == by_name_.end())
    return {.outcome = SetpointOutcome::not_writable,
            .message = "not a writable tag of " + config_.name,
            .readback = std::nullopt};
  const auto index = it->second;
  const auto& tag = config_.tags[index];
  if (!connected_)
    return {.outcome = SetpointOutcome::unavailable,
            .message = "not connected to " + endpoint_,
            .readback = std::nullopt};
  const int width = modbus_width(tag.type);
  EncodedRegisters encoded;
  if (tag.area == ModbusArea::holding) {
    encoded = encode_registers(tag, request.value);
    if (!encoded.error.empty())
      return {.outcome = SetpointOutcome::out_of_range, .message = encoded.error, .readback = std::nullopt};
  }
  modbus_set_slave(ctx_, tag.unit_id);
  int rc;
  if (tag.area == ModbusArea::coil)
    rc = modbus_write_bit(ctx_, tag.address, request.value != 0 ? 1 : 0);
  else if (width == 1)
    rc = modbus_write_register(ctx_, tag.address, encoded.registers[0]);
  else
    rc = modbus_write_registers(ctx_, tag.address, width, encoded.registers.data());
  auto outcome_of = [&](Failure kind) {
    const std::string message = status().last_error;
    if (kind == Failure::lost) disconnect(message);
    const auto outcome = kind == Failure::exception ? SetpointOutcome::refused
                         : kind == Failure::timeout ? SetpointOutcome::timeout
                                                    : SetpointOutcome::unavailable;
    return SetpointResult{.outcome = outcome, .message = message, .readback = std::nullopt};
  };
  if (rc == -1) return outcome_of(failed("write " + tag.name));

  // Read back what the device holds now: a device may clamp or ignore a value.
  double value;
  std::uint16_t registers[4];
  std::uint8_t bit = 0;
  rc = tag.area == ModbusArea::coil ? modbus_read_bits(ctx_, tag.address, 1, &bit)
                                    : modbus_read_registers(ctx_, tag.address, width, registers);
  if (rc == -1) {
    const auto kind = failed("read back " + tag.name);
    if (kind == Failure::lost) disconnect(status().last_error);
    return {.outcome = SetpointOutcome::accepted,
            .message = "written; the read-back failed: " + status().last_error,
            .readback = std::nullopt};
  }
  value =
      tag.area == ModbusArea::coil
          ? (bit ? 1.0 : 0.0)
          : decode_registers(tag, std::span<const std::uint16_t>(registers, static_cast<std::size_t>(width)));
  last_value_[index] = value;
  if (ids_[index])
    deliver({{.tag = *ids_[index], .sample = {.ts = now_ns(), .value = value, .quality = Quality::good}}});
  log(LogLevel::info, "modbus {}: {} wrote {} = {} (read back {})", config_.name, request.who, tag.name,
      request.value, value);
  return {.outcome = SetpointOutcome::accepted, .message = "written", .readback = value};
}

void ModbusConnector::run() {
  register_tags();
  ctx_ = modbus_new_tcp_pi(config_.host.c_str(), std::to_string(config_.port).c_str());
  if (!ctx_) {
    const int error = errno;
    std::lock_guard lock(mutex_);
    ++status_.errors;
    status_.last_error = std::string("cannot create a Modbus context: ") + modbus_strerror(error);
    status_.state = "stopped";
    return;
  }
  set_timeout(ctx_, config_.timeout, modbus_set_response_timeout);
  set_timeout(ctx_, config_.timeout, modbus_set_byte_timeout);

  for (const auto& group : config_.groups)
    plans_.push_back({.reads = plan_reads(config_.tags, group.tags, config_.max_gap),
                      .period = std::chrono::duration_cast<Clock::duration>(to_micros(group.period)),
                      .deadline = Clock::now()});

  auto backoff = to_micros(config_.reconnect_min);
  const auto backoff_max = to_micros(config_.reconnect_max);
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!connected_) {
      lock.unlock();
      const bool ok = connect();
      if (!ok) disconnect(status().last_error);
      lock.lock();
      if (!ok) {
        wake_.wait_for(lock, backoff, [&] { return stopping_; });
        backoff = std::min(backoff * 2, backoff_max);
        continue;
      }
      backoff = to_micros(config_.reconnect_min);
      const auto now = Clock::now();
      for (auto& p : plans_) p.deadline = now;
    }
    // One operator write, then a poll if one is due: a write waits for at
    // most one poll, and a stream of writes does not hold the polls back.
    if (!writes_.empty()) {
      auto pending = std::move(writes_.front());
      writes_.pop_front();
      lock.unlock();
      auto result = execute(pending.request);
      pending.done(std::move(result));
      lock.lock();
      if (!connected_ || stopping_) continue;
    }
    auto next = std::min_element(plans_.begin(), plans_.end(),
                                 [](const Plan& a, const Plan& b) { return a.deadline < b.deadline; });
    const auto now = Clock::now();
    if (next->deadline > now) {
      wake_.wait_until(lock, next->deadline, [&] { return stopping_ || !writes_.empty(); });
      continue;
    }
    // Record how late this poll starts, and the next deadline: a whole
    // number of periods on, skipping those already past.
    const auto late = now - next->deadline;
    if (lateness_.size() < kMaxLatenessSamples) {
      lateness_.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(late).count());
    } else {
      lateness_[lateness_next_] = std::chrono::duration_cast<std::chrono::nanoseconds>(late).count();
      lateness_next_ = (lateness_next_ + 1) % kMaxLatenessSamples;
    }
    const auto scheduled = next_poll(next->deadline, now, next->period);
    skipped_ += scheduled.skipped;
    next->deadline = scheduled.deadline;
    if (now - rate_window_start_ >= std::chrono::seconds(2)) {
      const double elapsed = std::chrono::duration<double>(now - rate_window_start_).count();
      status_.messages_per_second = static_cast<double>(status_.messages - rate_window_messages_) / elapsed;
      rate_window_start_ = now;
      rate_window_messages_ = status_.messages;
    }
    lock.unlock();
    poll(*next);
    lock.lock();
  }
  lock.unlock();
  if (connected_) modbus_close(ctx_);
  connected_ = false;
  modbus_free(ctx_);
  ctx_ = nullptr;
}

}  // namespace tagstream
