#pragma once
// A Modbus TCP server for tests and the benchmark, built on libmodbus's
// server side: a register map the caller sets and reads, on 127.0.0.1 and a
// free port, answered by one thread. It can refuse addresses with an
// exception, stop answering (so clients time out), and counts and records
// the requests it gets, so a test can see how a client split its reads.
// Depends on libmodbus only, so the benchmark links it too.
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

struct _modbus;
struct _modbus_mapping_t;

namespace tagstream::test {

class ModbusTestServer {
 public:
  /// Function codes, as the protocol numbers them.
  static constexpr int kReadCoils = 1, kReadDiscrete = 2, kReadHolding = 3, kReadInput = 4, kWriteCoil = 5,
                       kWriteRegister = 6, kWriteCoils = 15, kWriteRegisters = 16;

  struct Request {
    int unit_id = 0;
    int function = 0;
    int address = 0;
    int count = 0;  // registers or bits; 1 for single writes
  };

  /// Listens on 127.0.0.1:`port` (0: a free one) with every address of
  /// every area mapped, all zero.
  explicit ModbusTestServer(unsigned short port = 0);
  ~ModbusTestServer();
  ModbusTestServer(const ModbusTestServer&) = delete;
  ModbusTestServer& operator=(const ModbusTestServer&) = delete;

  unsigned short port() const { return port_; }

  /// Closes the listening socket and every connection (clients see the
  /// connection drop), keeping the map; start() listens again on the same port.
  void stop();
  void start();

  void set_holding(int address, std::vector<std::uint16_t> values);
  void set_input(int address, std::vector<std::uint16_t> values);
  void set_coil(int address, bool value);
  void set_discrete(int address, bool value);
  std::vector<std::uint16_t> holding(int address, int count) const;
  bool coil(int address) const;

  /// Requests touching `address` (any area) are answered with exception
  /// `code` (2: illegal data address); code 0 answers them again.
  void set_exception(int address, int code = 2);
  /// No answer to any request (clients time out), or only to writes.
  void set_silent(bool silent) { silent_ = silent; }
  void set_silent_writes(bool silent) { silent_writes_ = silent; }

  /// Every request received since the last clear, in order.
  std::vector<Request> requests() const;
  std::uint64_t request_count() const { return request_count_; }
  void clear_requests();
  /// Connections accepted since construction.
  std::uint64_t connections() const { return connections_; }

 private:
  void serve();
  void handle(int fd);

  _modbus* ctx_ = nullptr;
  _modbus_mapping_t* map_ = nullptr;
  unsigned short port_ = 0;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop() wakes the thread's poll()
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> silent_{false};
  std::atomic<bool> silent_writes_{false};
  std::atomic<std::uint64_t> request_count_{0};
  std::atomic<std::uint64_t> connections_{0};
  mutable std::mutex mutex_;  // the map, exceptions and the request log
  std::map<int, int> exceptions_;
  std::vector<Request> requests_;
  std::vector<int> clients_;  // the server thread's
};

}  // namespace tagstream::test
