#pragma once
// One MQTT broker: subscriptions in (plain numbers, JSON, Sparkplug B),
// command publishes out (operator writes).
//
// Threading: one thread per connector runs the libmosquitto network loop
// (mosquitto_loop, 100 ms at most per turn) and every callback: connect,
// subscribe, each message (decoded and handed to ingest before the callback
// returns), PUBACKs of writes, and the write timeouts. Writes publish from
// the caller's thread (libmosquitto in its threaded mode wakes the loop).
// libmosquitto's own loop thread (mosquitto_loop_start) is not used because
// its reconnect policy (fixed delay doubling with no "backoff" state) and
// its blocking connect would hide the state this connector reports.
//
// Delivery: with QoS 1 or 2, libmosquitto queues the PUBACK (PUBCOMP) of a
// message while the message callback runs and writes it on the next turn
// of the loop, after the callback returned; the callback returns only once
// ingest took the samples (it waits while the store's queue is full). So
// a message the broker saw acknowledged is in the live state and the
// commit queue, and with clean_session = false and a fixed client_id the
// broker keeps what arrives while this connector is away.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "connect/connector.h"
#include "connect/mqtt_config.h"

struct mosquitto;
struct mosquitto_message;

namespace tagstream {

namespace sparkplug {
class SparkplugHost;
}

class MqttConnector final : public Connector {
 public:
  MqttConnector(MqttConfig config, ConnectorContext context);
  ~MqttConnector() override;

  const std::string& name() const override { return config_.name; }
  void start() override;
  void stop() override;
  ConnectorStatus status() const override;
  std::optional<WritableTag> writable(std::string_view tag) const override;
  void write(SetpointWrite request, FieldDevices::WriteDone done) override;

 private:
  struct Pending {
    std::chrono::steady_clock::time_point deadline;
    FieldDevices::WriteDone done;
    std::string tag;
  };

  void run();
  void on_connect(int rc);
  void on_disconnect(int rc);
  void on_message(const mosquitto_message& message);
  void on_publish(int mid);
  void expire_writes(bool all);
  void deliver(std::vector<TaggedSample> samples, bool history);
  void error(std::string message);
  void publish_rebirth(const std::string& topic);
  void set_state(const char* state);
  std::optional<TagId> tag_for(const std::string& name, const std::string& unit);

  static void connect_cb(mosquitto*, void* self, int rc);
  static void disconnect_cb(mosquitto*, void* self, int rc);
  static void message_cb(mosquitto*, void* self, const mosquitto_message* message);
  static void publish_cb(mosquitto*, void* self, int mid);

  const MqttConfig config_;
  const ConnectorContext context_;
  std::unique_ptr<sparkplug::SparkplugHost> sparkplug_;  // when a subscription is Sparkplug
  mosquitto* mosq_ = nullptr;
  // Writes publish under a shared lock; stop() destroys the client under
  // the exclusive one, so a write racing shutdown never touches a freed
  // client and every write it queued is answered.
  std::shared_mutex client_mutex_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::mutex wake_mutex_;
  std::condition_variable wake_;

  // Status, under status_mutex_.
  mutable std::mutex status_mutex_;
  std::string state_ = "stopped";
  std::string last_error_;
  TimeNs last_message_ = 0;
  std::uint64_t messages_ = 0;
  std::uint64_t samples_ = 0;
  std::uint64_t errors_ = 0;
  std::uint64_t reconnects_ = 0;
  std::uint64_t rate_base_messages_ = 0;
  std::chrono::steady_clock::time_point rate_base_time_{};
  double rate_ = 0;
  std::chrono::steady_clock::time_point last_log_{};
  std::uint64_t unlogged_errors_ = 0;

  // Writes waiting for their PUBACK, by message id, under pending_mutex_
  // (held across mosquitto_publish, so a PUBACK cannot overtake the entry).
  std::mutex pending_mutex_;
  std::map<int, Pending> pending_;

  // Loop thread only.
  std::map<std::string, TagId, std::less<>> tag_cache_;
  std::vector<std::string_view> captures_;
};

}  // namespace tagstream
