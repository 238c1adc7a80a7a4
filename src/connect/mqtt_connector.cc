#include "connect/mqtt_connector.h"

#include <mosquitto.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "connect/sparkplug_host.h"
#include "core/log.h"
#include "core/tag.h"

namespace tagstream {

namespace {

using Clock = std::chrono::steady_clock;

// Tags cached per connector: a topic per tag is the common case, and the
// registry's lock is then taken once per tag, not once per message.
constexpr std::size_t kMaxTagCache = 100'000;

struct LibraryInit {
  LibraryInit() { mosquitto_lib_init(); }
};

std::chrono::duration<double> secs(double s) {
  return std::chrono::duration<double>(s);
}

}  // namespace

MqttConnector::MqttConnector(MqttConfig config, ConnectorContext context)
    : config_(std::move(config)), context_(std::move(context)) {
  static LibraryInit init;
  for (const auto& sub : config_.subscriptions) {
    if (sub.format != MqttFormat::sparkplug || sparkplug_) continue;
    sparkplug::HostOptions options;
    options.tag_prefix = sub.tag_prefix;
    options.limits.max_metrics = config_.max_metrics;
    options.limits.max_name = kMaxTagNameLength;
    sparkplug_ = std::make_unique<sparkplug::SparkplugHost>(*context_.registry, options);
  }
}

MqttConnector::~MqttConnector() {
  stop();
}

void MqttConnector::start() {
  if (thread_.joinable() || mosq_) return;
  mosq_ = mosquitto_new(config_.client_id.empty() ? nullptr : config_.client_id.c_str(),
                        config_.clean_session, this);
  if (!mosq_) {
    error("cannot create the MQTT client (client id refused or out of memory)");
    return;
  }
  mosquitto_threaded_set(mosq_, true);
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_callback_set(mosq_, &MqttConnector::connect_cb);
  mosquitto_disconnect_callback_set(mosq_, &MqttConnector::disconnect_cb);
  mosquitto_message_callback_set(mosq_, &MqttConnector::message_cb);
  mosquitto_publish_callback_set(mosq_, &MqttConnector::publish_cb);
  if (!config_.username.empty())
    mosquitto_username_pw_set(mosq_, config_.username.c_str(),
                              config_.password.empty() ? nullptr : config_.password.c_str());
  if (config_.tls) {
    const auto& tls = *config_.tls;
    auto opt = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
    const int rc =
        mosquitto_tls_set(mosq_, opt(tls.ca_file), tls.ca_file.empty() ? "/etc/ssl/certs" : nullptr,
                          opt(tls.cert_file), opt(tls.key_file), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      // Never fall back to a plain connection when TLS was asked for.
      error(std::string("TLS setup failed (") + mosquitto_strerror(rc) +
            "): check ca_file, cert_file and key_file; not connecting");
      set_state("stopped");
      return;
    }
    mosquitto_tls_insecure_set(mosq_, tls.insecure);
  }
  set_state("connecting");
  thread_ = std::thread([this] { run(); });
}

void MqttConnector::stop() {
  stopping_ = true;
  {
    std::lock_guard lock(wake_mutex_);
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  {
    std::unique_lock lock(client_mutex_);
    if (mosq_) {
      mosquitto_destroy(mosq_);
      mosq_ = nullptr;
    }
  }
  expire_writes(true);
  connected_ = false;
  set_state("stopped");
}

void MqttConnector::set_state(const char* state) {
  std::lock_guard lock(status_mutex_);
  state_ = state;
}

void MqttConnector::error(std::string message) {
  const auto now = Clock::now();
  std::uint64_t skipped = 0;
  bool print = false;
  {
    std::lock_guard lock(status_mutex_);
    ++errors_;
    last_error_ = message;
    // At most one line per 10 s per connector: a flood of bad payloads
    // must not become a flood of log lines.
    if (last_log_ == Clock::time_point{} || now - last_log_ >= std::chrono::seconds(10)) {
      print = true;
      skipped = unlogged_errors_;
      unlogged_errors_ = 0;
      last_log_ = now;
    } else {
      ++unlogged_errors_;
    }
  }
  if (print) {
    if (skipped)
      log(LogLevel::warn, "mqtt {}: {} ({} more errors not logged)", config_.name, message, skipped);
    else
      log(LogLevel::warn, "mqtt {}: {}", config_.name, message);
  }
}

void MqttConnector::run() {
  double backoff = config_.reconnect_min;
  bool first = true;
  while (!stopping_) {
    set_state("connecting");
    int rc = first ? mosquitto_connect_async(mosq_, config_.host.c_str(), config_.port, config_.keepalive)
                   : mosquitto_reconnect_async(mosq_);
    first = false;
    bool was_connected = false;
    if (rc == MOSQ_ERR_SUCCESS) {
      while (!stopping_) {
        rc = mosquitto_loop(mosq_, 100, 1);
        expire_writes(false);
        if (connected_) {
          was_connected = true;
          backoff = config_.reconnect_min;
        }
        {
          std::lock_guard lock(status_mutex_);
          const auto now = Clock::now();
          if (rate_base_time_ == Clock::time_point{}) rate_base_time_ = now;
          const double elapsed = std::chrono::duration<double>(now - rate_base_time_).count();
          if (elapsed >= 2) {
            rate_ = static_cast<double>(messages_ - rate_base_messages_) / elapsed;
            rate_base_messages_ = messages_;
            rate_base_time_ = now;
          }
        }
        if (rc != MOSQ_ERR_SUCCESS) break;
      }
    }
    const bool lost = connected_.exchange(false);
    if (stopping_) break;
    // A loss on_disconnect saw is counted there; a failed attempt here.
    if (lost || !was_connected) {
      const std::string what = rc == MOSQ_ERR_ERRNO ? std::string(strerror(errno)) : mosquitto_strerror(rc);
      error((lost ? "connection lost: "
                  : "cannot connect to " + config_.host + ":" + std::to_string(config_.port) + ": ") +
            what);
    }
    set_state("backoff");
    {
      std::lock_guard lock(status_mutex_);
      rate_ = 0;
      rate_base_messages_ = messages_;
      rate_base_time_ = Clock::now();
    }
    {
      std::unique_lock lock(wake_mutex_);
      wake_.wait_for(lock, secs(backoff), [this] { return stopping_.load(); });
    }
    backoff = std::min(backoff * 2, config_.reconnect_max);
    std::lock_guard lock(status_mutex_);
    ++reconnects_;
  }
  if (connected_.exchange(false) || mosquitto_socket(mosq_) >= 0) {
    // A clean DISCONNECT: the broker drops no will and, for a persistent
    // session, keeps queueing for this client id.
    mosquitto_disconnect(mosq_);
    for (int i = 0; i < 3 && mosquitto_socket(mosq_) >= 0; ++i) mosquitto_loop(mosq_, 10, 1);
  }
}

void MqttConnector::connect_cb(mosquitto*, void* self, int rc) {
  static_cast<MqttConnector*>(self)->on_connect(rc);
}
void MqttConnector::disconnect_cb(mosquitto*, void* self, int rc) {
  static_cast<MqttConnector*>(self)->on_disconnect(rc);
}
void MqttConnector::message_cb(mosquitto*, void* self, const mosquitto_message* message) {
  static_cast<MqttConnector*>(self)->on_message(*message);
}
void MqttConnector::publish_cb(mosquitto*, void* self, int mid) {
  static_cast<MqttConnector*>(self)->on_publish(mid);
}

void MqttConnector::on_connect(int rc) {
  if (rc != 0) {
    error(std::string("broker refused the connection: ") + mosquitto_connack_string(rc));
    return;
  }
  for (const auto& sub : config_.subscriptions) {
    const int src = mosquitto_subscribe(mosq_, nullptr, sub.topic.c_str(), config_.qos);
    if (src != MOSQ_ERR_SUCCESS) error("subscribe " + sub.topic + ": " + mosquitto_strerror(src));
  }
  connected_ = true;
  set_state("connected");
  log(LogLevel::info, "mqtt {}: connected to {}:{}", config_.name, config_.host, config_.port);
}

void MqttConnector::on_disconnect(int rc) {
  // Also called when a connection attempt fails: the loop reports that one.
  const bool was_connected = connected_.exchange(false);
  set_state("backoff");  // what the loop does next; connected and state never disagree
  if (rc != 0 && was_connected && !stopping_) error("disconnected by the broker or the network");
}

std::optional<TagId> MqttConnector::tag_for(const std::string& name, const std::string& unit) {
  if (auto it = tag_cache_.find(name); it != tag_cache_.end()) return it->second;
  auto id = context_.registry->ensure(TagInfo{name, unit, "", DataType::number});
  if (id && tag_cache_.size() < kMaxTagCache) tag_cache_.emplace(name, *id);
  return id;
}

void MqttConnector::on_message(const mosquitto_message& message) {
  const TimeNs now = now_ns();
  {
    std::lock_guard lock(status_mutex_);
    ++messages_;
    last_message_ = now;
  }
  const std::string_view topic(message.topic ? message.topic : "");
  const auto size = static_cast<std::size_t>(std::max(message.payloadlen, 0));
  if (size > config_.max_payload) {
    error("payload of " + std::to_string(size) + " bytes on " + std::string(topic.substr(0, 200)) +
          " exceeds max_payload " + std::to_string(config_.max_payload));
    return;
  }
  const std::string_view payload(static_cast<const char*>(message.payload), size);
  for (const auto& sub : config_.subscriptions) {
    if (!mqtt::match_topic(sub.topic, topic, captures_)) continue;
    if (sub.format == MqttFormat::sparkplug) {
      auto spb = sparkplug::parse_topic(topic);
      if (!spb) {
        error("not a Sparkplug B topic: " + std::string(topic.substr(0, 200)));
        return;
      }
      auto out = sparkplug_->handle(
          *spb, std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()), now);
      if (!out.error.empty()) error(out.error);
      if (out.rebirth_topic) publish_rebirth(*out.rebirth_topic);
      if (!out.live.empty()) deliver(std::move(out.live), false);
      if (!out.history.empty()) deliver(std::move(out.history), true);
      return;
    }
    auto decoded = sub.format == MqttFormat::json ? mqtt::decode_json(payload, sub.json, now)
                                                  : mqtt::decode_number(payload);
    if (!decoded) {
      error(std::string(topic.substr(0, 200)) + ": " + decoded.error);
      return;
    }
    const std::string name = sub.tag->render(topic, captures_);
    if (!is_valid_tag_name(name)) {
      error(std::string(topic.substr(0, 200)) + ": maps to \"" + name.substr(0, 200) +
            "\", not a tag name: " + tag_name_rule());
      return;
    }
    auto id = tag_for(name, sub.unit);
    if (!id) {
      error("tag " + name + " not created: --max-tags reached");
      return;
    }
    deliver({TaggedSample{*id, Sample{decoded->ts.value_or(now), decoded->value, decoded->quality}}}, false);
    return;
  }
}

void MqttConnector::deliver(std::vector<TaggedSample> samples, bool history) {
  const auto& sink = history ? context_.ingest_history : context_.ingest;
  const std::size_t n = samples.size();
  // The store's queue is full: wait for it (the PUBACK waits with us, and
  // the broker holds what follows) rather than drop what was acknowledged.
  bool counted = false;
  while (!sink(samples)) {
    if (!counted) {
      error("the store's queue is full: waiting to ingest");
      counted = true;
    }
    std::unique_lock lock(wake_mutex_);
    if (wake_.wait_for(lock, std::chrono::milliseconds(20), [this] { return stopping_.load(); })) {
      error(std::to_string(n) + " samples not ingested: stopping with the store's queue full");
      return;
    }
  }
  std::lock_guard lock(status_mutex_);
  samples_ += n;
}

void MqttConnector::publish_rebirth(const std::string& topic) {
  const std::string payload = sparkplug::rebirth_payload(now_ns());
  const int rc = mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), 0, false);
  if (rc != MOSQ_ERR_SUCCESS) error("rebirth request to " + topic + ": " + mosquitto_strerror(rc));
}

void MqttConnector::on_publish(int mid) {
  FieldDevices::WriteDone done;
  {
    std::lock_guard lock(pending_mutex_);
    auto it = pending_.find(mid);
    if (it == pending_.end()) return;  // a rebirth request
    done = std::move(it->second.done);
    pending_.erase(it);
  }
  done(SetpointResult{SetpointOutcome::accepted, "the broker took the command", std::nullopt});
}

void MqttConnector::expire_writes(bool all) {
  std::vector<Pending> expired;
  {
    std::lock_guard lock(pending_mutex_);
    const auto now = Clock::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (all || it->second.deadline <= now) {
        expired.push_back(std::move(it->second));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& p : expired)
    p.done(SetpointResult{SetpointOutcome::timeout,
                          all ? "the connector stopped before the broker acknowledged the command"
                              : "the broker did not acknowledge the command in time",
                          std::nullopt});
}

ConnectorStatus MqttConnector::status() const {
  ConnectorStatus s;
  s.name = config_.name;
  s.kind = "mqtt";
  s.endpoint = config_.host + ":" + std::to_string(config_.port);
  s.connected = connected_;
  std::lock_guard lock(status_mutex_);
  s.state = state_;
  if (!s.connected && s.state == "connected") s.state = "backoff";  // lost, the loop not yet past it
  s.last_message = last_message_;
  s.messages = messages_;
  s.messages_per_second = rate_;
  s.samples = samples_;
  s.errors = errors_;
  s.last_error = last_error_;
  s.reconnects = reconnects_;
  return s;
}

std::optional<WritableTag> MqttConnector::writable(std::string_view tag) const {
  for (const auto& cmd : config_.commands)
    if (cmd.tag == tag) return WritableTag{config_.name, cmd.limits, cmd.boolean};
  if (!sparkplug_) return std::nullopt;
  for (const auto& sub : config_.subscriptions) {
    if (sub.format != MqttFormat::sparkplug) continue;
    for (const auto& pattern : sub.writable) {
      if (!glob_match(pattern, tag)) continue;
      bool boolean = false;
      if (auto target = sparkplug_->target(tag)) boolean = target->datatype == sparkplug::kBoolean;
      return WritableTag{config_.name, sub.limits, boolean};
    }
  }
  return std::nullopt;
}

void MqttConnector::write(SetpointWrite request, FieldDevices::WriteDone done) {
  auto refuse = [&](SetpointOutcome outcome, std::string message) {
    done(SetpointResult{outcome, std::move(message), std::nullopt});
  };
  std::shared_lock client_lock(client_mutex_);
  if (!mosq_ || !connected_) return refuse(SetpointOutcome::unavailable, "not connected to the MQTT broker");
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
  const TimeNs now = now_ns();
  const auto cmd = std::find_if(config_.commands.begin(), config_.commands.end(),
                                [&](const MqttCommand& c) { return c.tag == request.tag; });
  if (cmd != config_.commands.end()) {
    topic = cmd->topic;
    payload = cmd->format == MqttFormat::json ? mqtt::encode_json(request.value, cmd->boolean, now, cmd->json)
                                              : mqtt::encode_number(request.value, cmd->boolean);
    qos = cmd->qos;
    retain = cmd->retain;
  } else {
    auto target = sparkplug_ ? sparkplug_->target(request.tag) : std::nullopt;
    if (!target)
      return refuse(SetpointOutcome::unavailable, "no Sparkplug birth has announced " + request.tag + " yet");
    sparkplug::Payload p;
    p.timestamp = static_cast<std::uint64_t>(now / kNanosPerMilli);
    sparkplug::Metric m;
    m.name = target->metric;
    m.datatype = target->datatype;
    m.timestamp = p.timestamp;
    m.value = request.value;
    p.metrics.push_back(std::move(m));
    topic = target->topic;
    payload = sparkplug::encode(p);
    // Sparkplug sends commands at QoS 0: "accepted" then means written to
    // the broker connection.
    qos = 0;
  }
  std::unique_lock lock(pending_mutex_);
  int mid = 0;
  const int rc = mosquitto_publish(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), qos, retain);
  if (rc != MOSQ_ERR_SUCCESS) {
    lock.unlock();
    client_lock.unlock();
    return refuse(SetpointOutcome::unavailable, std::string("publish failed: ") + mosquitto_strerror(rc));
  }
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(secs(config_.command_timeout));
  pending_[mid] = Pending{deadline, std::move(done), request.tag};
  log(LogLevel::info, "mqtt {}: {} writes {} = {} to {}", config_.name, request.who, request.tag,
      request.value, topic);
}

}  // namespace tagstream
