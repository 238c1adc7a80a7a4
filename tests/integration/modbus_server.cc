#include "integration/modbus_server.h"

#include <arpa/inet.h>
#include <modbus/modbus.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace tagstream::test {

namespace {

constexpr int kAddresses = 65536;
// The request log's bound: a benchmark sends millions.
constexpr std::size_t kMaxRecorded = 100000;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("modbus test server: " + what + ": " + std::strerror(errno));
}

}  // namespace

ModbusTestServer::ModbusTestServer(unsigned short port) : port_(port) {
  ctx_ = modbus_new_tcp("127.0.0.1", 0);
  map_ = modbus_mapping_new(kAddresses, kAddresses, kAddresses, kAddresses);
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (!ctx_ || !map_ || wake_fd_ < 0) fail("setup");
  // A client that sends half a request is dropped rather than holding the thread.
  modbus_set_indication_timeout(ctx_, 2, 0);
  start();
}

ModbusTestServer::~ModbusTestServer() {
  stop();
  modbus_mapping_free(map_);
  modbus_free(ctx_);
  ::close(wake_fd_);
}

void ModbusTestServer::start() {
  if (thread_.joinable()) return;
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) fail("socket");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("bind");
  if (::listen(listen_fd_, 64) != 0) fail("listen");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  stopping_ = false;
  thread_ = std::thread([this] { serve(); });
}

void ModbusTestServer::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  thread_.join();
  std::uint64_t drained;
  n = ::read(wake_fd_, &drained, sizeof drained);
  for (int fd : clients_) ::close(fd);
  clients_.clear();
  ::close(listen_fd_);
  listen_fd_ = -1;
}

void ModbusTestServer::serve() {
  std::vector<pollfd> fds;
  while (!stopping_) {
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (int fd : clients_) fds.push_back({fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    if (stopping_) break;
    if (fds[1].revents & POLLIN) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        clients_.push_back(fd);
        ++connections_;
      }
    }
    for (std::size_t i = 2; i < fds.size(); ++i)
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) handle(fds[i].fd);
  }
}

void ModbusTestServer::handle(int fd) {
  std::uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
  modbus_set_socket(ctx_, fd);
  const int rc = modbus_receive(ctx_, query);
  if (rc <= 0) {
    if (rc < 0) {
      ::close(fd);
      clients_.erase(std::remove(clients_.begin(), clients_.end(), fd), clients_.end());
    }
    return;
  }
  const int h = modbus_get_header_length(ctx_);
  Request r;
  r.unit_id = query[h - 1];
  r.function = query[h];
  r.address = (query[h + 1] << 8) | query[h + 2];
  const bool ranged = r.function <= kReadInput || r.function == kWriteCoils || r.function == kWriteRegisters;
  r.count = ranged ? (query[h + 3] << 8) | query[h + 4] : 1;
  const bool write = r.function == kWriteCoil || r.function == kWriteRegister || r.function == kWriteCoils ||
                     r.function == kWriteRegisters;
  int exception = 0;
  {
    std::lock_guard lock(mutex_);
    if (requests_.size() < kMaxRecorded) requests_.push_back(r);
    auto it = exceptions_.lower_bound(r.address);
    if (it != exceptions_.end() && it->first < r.address + r.count) exception = it->second;
  }
  ++request_count_;
  if (silent_ || (write && silent_writes_)) return;
  if (exception != 0) {
    modbus_reply_exception(ctx_, query, static_cast<unsigned>(exception));
    return;
  }
  std::lock_guard lock(mutex_);
  modbus_reply(ctx_, query, rc, map_);
}

void ModbusTestServer::set_holding(int address, std::vector<std::uint16_t> values) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < values.size(); ++i)
    map_->tab_registers[address + static_cast<int>(i)] = values[i];
}

void ModbusTestServer::set_input(int address, std::vector<std::uint16_t> values) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < values.size(); ++i)
    map_->tab_input_registers[address + static_cast<int>(i)] = values[i];
}

void ModbusTestServer::set_coil(int address, bool value) {
  std::lock_guard lock(mutex_);
  map_->tab_bits[address] = value ? 1 : 0;
}

void ModbusTestServer::set_discrete(int address, bool value) {
  std::lock_guard lock(mutex_);
  map_->tab_input_bits[address] = value ? 1 : 0;
}

std::vector<std::uint16_t> ModbusTestServer::holding(int address, int count) const {
  std::lock_guard lock(mutex_);
  return {map_->tab_registers + address, map_->tab_registers + address + count};
}

bool ModbusTestServer::coil(int address) const {
  std::lock_guard lock(mutex_);
  return map_->tab_bits[address] != 0;
}

void ModbusTestServer::set_exception(int address, int code) {
  std::lock_guard lock(mutex_);
  if (code == 0)
    exceptions_.erase(address);
  else
    exceptions_[address] = code;
}

std::vector<ModbusTestServer::Request> ModbusTestServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void ModbusTestServer::clear_requests() {
  std::lock_guard lock(mutex_);
  requests_.clear();
}

}  // namespace tagstream::test
