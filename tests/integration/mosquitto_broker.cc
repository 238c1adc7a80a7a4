#include "mosquitto_broker.h"

#include <arpa/inet.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <stdexcept>

#include "support.h"

namespace tagstream::test {

namespace {

constexpr const char* kMosquitto = "/usr/sbin/mosquitto";

/// A port the kernel just handed out: bound to port 0 and closed again, so
/// the broker can take it (a tiny race with other processes, never with
/// another test of this process, which asks the kernel the same way).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

bool accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

struct LibInit {
  LibInit() { mosquitto_lib_init(); }
};

}  // namespace

MosquittoBroker::MosquittoBroker() : dir_(make_temp_dir()), port_(free_port()) {
  std::ofstream conf(dir_ + "/mosquitto.conf");
  conf << "listener " << port_ << " 127.0.0.1\n"
       << "allow_anonymous true\n"
       << "persistence true\n"
       << "persistence_location " << dir_ << "/\n"
       << "max_queued_messages 100000\n"
       << "log_dest file " << dir_ << "/mosquitto.log\n";
  if (::geteuid() == 0) conf << "user root\n";  // else it drops to `mosquitto`, who cannot write dir_
  conf.close();
  start();
}

MosquittoBroker::~MosquittoBroker() {
  stop();
}

void MosquittoBroker::start() {
  if (pid_ > 0) return;
  const std::string conf = dir_ + "/mosquitto.conf";
  pid_ = ::fork();
  if (pid_ == 0) {
    ::execl(kMosquitto, kMosquitto, "-c", conf.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (!eventually([&] { return accepts(port_); }, std::chrono::seconds(20)))
    throw std::runtime_error("mosquitto did not start on port " + std::to_string(port_));
}

void MosquittoBroker::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void MosquittoBroker::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void MosquittoBroker::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

MqttClient::MqttClient(int port, const std::string& id, bool clean_session) {
  static LibInit init;
  mosq_ = mosquitto_new(id.empty() ? nullptr : id.c_str(), clean_session, this);
  mosquitto_connect_callback_set(mosq_, [](mosquitto*, void* self, int rc) {
    auto* c = static_cast<MqttClient*>(self);
    std::lock_guard lock(c->mutex_);
    c->connected_ = rc == 0;
    c->changed_.notify_all();
  });
  mosquitto_disconnect_callback_set(mosq_, [](mosquitto*, void* self, int) {
    auto* c = static_cast<MqttClient*>(self);
    std::lock_guard lock(c->mutex_);
    c->connected_ = false;
    c->changed_.notify_all();
  });
  mosquitto_publish_callback_set(mosq_, [](mosquitto*, void* self, int mid) {
    auto* c = static_cast<MqttClient*>(self);
    std::lock_guard lock(c->mutex_);
    c->acked_.push_back(mid);
    c->changed_.notify_all();
  });
  mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int mid, int, const int*) {
    auto* c = static_cast<MqttClient*>(self);
    std::lock_guard lock(c->mutex_);
    c->subacked_.push_back(mid);
    c->changed_.notify_all();
  });
  mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
    auto* c = static_cast<MqttClient*>(self);
    std::lock_guard lock(c->mutex_);
    c->messages_.push_back({m->topic, std::string(static_cast<const char*>(m->payload),
                                                  static_cast<std::size_t>(m->payloadlen))});
    c->changed_.notify_all();
  });
  mosquitto_connect(mosq_, "127.0.0.1", port, 30);
  mosquitto_loop_start(mosq_);
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, std::chrono::seconds(10), [&] { return connected_; });
}

MqttClient::~MqttClient() {
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, true);
  mosquitto_destroy(mosq_);
}

bool MqttClient::connected() const {
  std::lock_guard lock(mutex_);
  return connected_;
}

bool MqttClient::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
  int mid = 0;
  if (mosquitto_publish(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos,
                        retain) != MOSQ_ERR_SUCCESS)
    return false;
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, std::chrono::seconds(10),
                           [&] { return std::find(acked_.begin(), acked_.end(), mid) != acked_.end(); });
}

bool MqttClient::subscribe(const std::string& filter, int qos) {
  int mid = 0;
  if (mosquitto_subscribe(mosq_, &mid, filter.c_str(), qos) != MOSQ_ERR_SUCCESS) return false;
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, std::chrono::seconds(10), [&] {
    return std::find(subacked_.begin(), subacked_.end(), mid) != subacked_.end();
  });
}

std::vector<ReceivedMessage> MqttClient::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

std::optional<std::string> MqttClient::wait_message(const std::string& topic,
                                                    std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::optional<std::string> out;
  changed_.wait_for(lock, timeout, [&] {
    for (const auto& m : messages_) {
      if (m.topic == topic) {
        out = m.payload;
        return true;
      }
    }
    return false;
  });
  return out;
}

}  // namespace tagstream::test
