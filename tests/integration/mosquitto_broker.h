#pragma once
// Test support for the MQTT connector: a real mosquitto broker on a free
// loopback port with its own config and persistence in a temp directory,
// and a small libmosquitto client for the test's side (an edge node, a
// publisher, a subscriber that watches commands).
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct mosquitto;

namespace tagstream::test {

/// /usr/sbin/mosquitto, started in the constructor (`listener PORT
/// 127.0.0.1`, anonymous clients allowed, persistence on so sessions and
/// queued messages survive restart()), stopped in the destructor.
class MosquittoBroker {
 public:
  MosquittoBroker();
  ~MosquittoBroker();
  int port() const { return port_; }
  /// SIGTERM (mosquitto saves its persistence file) and wait for the exit.
  void stop();
  /// Starts again on the same port and directory; waits until it accepts.
  void start();
  /// SIGSTOP / SIGCONT: connections stay open, nothing is answered.
  void pause();
  void resume();
  void restart() {
    stop();
    start();
  }

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

struct ReceivedMessage {
  std::string topic;
  std::string payload;
};

/// A libmosquitto client on its own network thread (mosquitto_loop_start).
class MqttClient {
 public:
  explicit MqttClient(int port, const std::string& id = "", bool clean_session = true);
  ~MqttClient();
  bool connected() const;
  /// Publishes and, for QoS 1/2, waits for the broker's acknowledgement.
  bool publish(const std::string& topic, const std::string& payload, int qos = 1, bool retain = false);
  /// Subscribes and waits for the SUBACK.
  bool subscribe(const std::string& filter, int qos = 1);
  /// Messages received so far (copied).
  std::vector<ReceivedMessage> messages() const;
  /// Waits for a message on `topic`; returns its payload.
  std::optional<std::string> wait_message(const std::string& topic,
                                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  mosquitto* mosq_ = nullptr;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool connected_ = false;
  std::vector<int> acked_;
  std::vector<int> subacked_;
  std::vector<ReceivedMessage> messages_;
};

}  // namespace tagstream::test
