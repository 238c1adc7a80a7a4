#pragma once
// A Modbus TCP client polling one server (issue 16).
//
// Threading: libmodbus is blocking, so each connector owns one thread and one
// connection, and that thread alone touches the modbus_t. It sleeps on a
// condition variable until the earliest group deadline, a queued operator
// write, or stop(). Every blocking call is bounded by the configured response
// timeout, so stop() joins within about one timeout. Writes come from other
// threads through a bounded queue and run between polls; everything other
// threads read (status, lateness) sits behind one mutex. A thread per server
// is cheap at the scale of a plant's PLCs (tens), and keeps the protocol's
// strict request/answer order without an async rewrite of libmodbus.
//
// Polling: each group has a deadline on the steady clock advanced by its
// period (no drift); a connector that falls behind skips the missed polls
// rather than bursting to catch up. A failed read turns every tag it covers
// to bad quality at once, keeping the last value read.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "connect/connector.h"
#include "connect/modbus_config.h"

struct _modbus;

namespace tagstream {

class ModbusConnector final : public Connector {
 public:
  /// Queued operator writes beyond this are answered "busy" at once.
  static constexpr std::size_t kMaxQueuedWrites = 64;
  /// Poll lateness samples kept for poll_lateness_ns().
  static constexpr std::size_t kMaxLatenessSamples = 1 << 16;

  ModbusConnector(ModbusConfig config, ConnectorContext context);
  ~ModbusConnector() override;

  const std::string& name() const override { return config_.name; }
  void start() override;
  void stop() override;
  ConnectorStatus status() const override;
  std::optional<WritableTag> writable(std::string_view tag) const override;
  void write(SetpointWrite request, FieldDevices::WriteDone done) override;

  /// How late each poll started after its deadline, in nanoseconds, oldest
  /// first (the most recent kMaxLatenessSamples). For the benchmark.
  std::vector<std::int64_t> poll_lateness_ns() const;
  /// Polls skipped because the connector was behind.
  std::uint64_t skipped_polls() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct PendingWrite {
    SetpointWrite request;
    FieldDevices::WriteDone done;
  };
  enum class Failure { none, exception, timeout, lost };
  struct Plan {
    std::vector<ModbusRead> reads;
    Clock::duration period;
    Clock::time_point deadline;
  };

  void run();
  void register_tags();
  bool connect();
  void disconnect(const std::string& why);
  void poll(const Plan& plan);
  SetpointResult execute(const SetpointWrite& request);
  /// Classifies the errno of a failed libmodbus call, and counts it.
  Failure failed(const std::string& what);
  void mark_bad(const std::vector<std::size_t>& tags, TimeNs ts);
  void deliver(std::vector<TaggedSample> samples);
  void fail_queued_writes(const std::string& why);
  void set_state(const char* state, bool connected);

  const ModbusConfig config_;
  const ConnectorContext context_;
  const std::string endpoint_;
  std::unordered_map<std::string, std::size_t> by_name_;  // immutable after construction

  // The connector thread's own.
  _modbus* ctx_ = nullptr;
  bool connected_ = false;
  bool ever_connected_ = false;
  bool outage_marked_ = false;
  std::vector<std::optional<TagId>> ids_;
  std::vector<double> last_value_;
  std::vector<Plan> plans_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool started_ = false;
  bool stopping_ = false;
  std::deque<PendingWrite> writes_;
  ConnectorStatus status_;
  Clock::time_point rate_window_start_;
  std::uint64_t rate_window_messages_ = 0;
  std::vector<std::int64_t> lateness_;  // a ring once full
  std::size_t lateness_next_ = 0;
  std::uint64_t skipped_ = 0;
  std::thread thread_;
};

}  // namespace tagstream
