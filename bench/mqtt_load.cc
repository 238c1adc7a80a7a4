// tagstream-bench mqtt: MQTT publishes into a tagstream server through its
// [[mqtt]] connector (bench/mqtt.sh).
//
//   --mode throughput  publishes --messages values over --topics topics
//                      (bench/t0 .. bench/tN-1) at --qos as fast as the
//                      broker takes them, and times them until the server's
//                      /api/stats samplesTotal has grown by that many
//                      (or has not moved for 3 s: then some were lost).
//   --mode latency     publishes one value every 1/--rate s to bench/lat for
//                      --seconds, each value its sequence number, and takes
//                      the time each one arrives at two receivers side by
//                      side: a plain MQTT subscriber on the same broker (the
//                      broker's own delivery) and an SSE stream of the tag
//                      the server makes of it (`lat`, interval raw). Prints
//                      p50/p99 of both and of the difference per message.
#include <arpa/inet.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "load_commands.h"
#include "percentile.h"

namespace tagstream_bench {

namespace {

using Clock = std::chrono::steady_clock;

int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/// A blocking GET (Connection: close); the body, or "" on failure.
std::string http_get(int port, const std::string& target) {
  const int fd = connect_loopback(port);
  if (fd < 0) return {};
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return {};
  }
  std::string reply;
  char buf[16384];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) reply.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto body = reply.find("\r\n\r\n");
  if (reply.compare(0, 12, "HTTP/1.1 200") != 0 || body == std::string::npos) return {};
  return reply.substr(body + 4);
}

std::uint64_t samples_total(int port) {
  const auto body = http_get(port, "/api/stats");
  if (body.empty()) die("GET /api/stats failed on port " + std::to_string(port));
  return boost::json::parse(body).at("ingest").at("samplesTotal").to_number<std::uint64_t>();
}

struct Client {
  mosquitto* mosq = nullptr;
  std::atomic<bool> connected{false};
  std::function<void(const mosquitto_message&)> on_message;

  explicit Client(int port) {
    mosq = mosquitto_new(nullptr, true, this);
    mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(mosq, 1000);
    mosquitto_connect_callback_set(
        mosq, [](mosquitto*, void* self, int rc) { static_cast<Client*>(self)->connected = rc == 0; });
    mosquitto_message_callback_set(mosq, [](mosquitto*, void* self, const mosquitto_message* m) {
      auto* c = static_cast<Client*>(self);
      if (c->on_message) c->on_message(*m);
    });
    if (mosquitto_connect(mosq, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS)
      die("cannot connect to the broker on port " + std::to_string(port));
    mosquitto_loop_start(mosq);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!connected && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!connected) die("the broker did not accept the connection");
  }
  ~Client() {
    mosquitto_disconnect(mosq);
    mosquitto_loop_stop(mosq, true);
    mosquitto_destroy(mosq);
  }
  void publish(const std::string& topic, const std::string& payload, int qos) {
    while (true) {
      const int rc = mosquitto_publish(mosq, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                                       payload.data(), qos, false);
      if (rc == MOSQ_ERR_SUCCESS) return;
      if (rc != MOSQ_ERR_OVERSIZE_PACKET && rc != MOSQ_ERR_NOMEM)
        die(std::string("publish: ") + mosquitto_strerror(rc));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
};

int run_throughput(Args& args) {
  const int broker = static_cast<int>(args.bounded("broker-port", 0, 1, 65535));
  const int server = static_cast<int>(args.bounded("server-port", 0, 1, 65535));
  const int qos = static_cast<int>(args.bounded("qos", 0, 0, 1));
  const int topics = static_cast<int>(args.bounded("topics", 1, 1, 100000));
  const std::int64_t messages = args.bounded("messages", 100000, 1, 10'000'000);
  args.check_all_used();

  const std::uint64_t before = samples_total(server);
  Client pub(broker);
  const auto start = Clock::now();
  for (std::int64_t i = 0; i < messages; ++i)
    pub.publish("bench/t" + std::to_string(i % topics), std::to_string(i), qos);
  const auto published = Clock::now();
  std::uint64_t got = 0;
  auto last_change = Clock::now();
  auto end = last_change;
  while (true) {
    const std::uint64_t now_total = samples_total(server) - before;
    if (now_total != got) {
      got = now_total;
      last_change = end = Clock::now();
    }
    if (got >= static_cast<std::uint64_t>(messages) || Clock::now() - last_change > std::chrono::seconds(3))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double seconds = std::chrono::duration<double>(end - start).count();
  const double publish_seconds = std::chrono::duration<double>(published - start).count();
  std::printf("mqtt throughput: qos %d, %d topics, %lld published in %.3f s, %llu ingested in %.3f s\n", qos,
              topics, static_cast<long long>(messages), publish_seconds, static_cast<unsigned long long>(got),
              seconds);
  std::printf(
      "RESULT mqtt-throughput qos=%d topics=%d messages=%lld ingested=%llu seconds=%.3f samples_per_s=%.0f\n",
      qos, topics, static_cast<long long>(messages), static_cast<unsigned long long>(got), seconds,
      static_cast<double>(got) / seconds);
  return got == static_cast<std::uint64_t>(messages) ? 0 : 1;
}

int run_latency(Args& args) {
  const int broker = static_cast<int>(args.bounded("broker-port", 0, 1, 65535));
  const int server = static_cast<int>(args.bounded("server-port", 0, 1, 65535));
  const int qos = static_cast<int>(args.bounded("qos", 0, 0, 1));
  const double rate = args.num("rate", 10000);
  const double run_seconds = args.num("seconds", 5);
  args.check_all_used();
  if (rate <= 0 || rate > 1e6 || run_seconds <= 0 || run_seconds > kMaxRunSeconds)
    die("bad --rate or --seconds");
  const auto count = static_cast<std::size_t>(rate * run_seconds);

  std::vector<Clock::time_point> sent(count + 1), broker_seen(count + 1), sse_seen(count + 1);
  // The tag exists once a first value went through.
  Client pub(broker);
  pub.publish("bench/lat", "-1", 1);
  for (int i = 0; i < 1000 && http_get(server, "/api/tags?q=lat").find("\"lat\"") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  Client sub(broker);
  sub.on_message = [&](const mosquitto_message& m) {
    const auto t = Clock::now();
    const long v = std::strtol(static_cast<const char*>(m.payload), nullptr, 10);
    if (v >= 0 && static_cast<std::size_t>(v) <= count) broker_seen[static_cast<std::size_t>(v)] = t;
  };
  mosquitto_subscribe(sub.mosq, nullptr, "bench/lat", qos);

  const int fd = connect_loopback(server);
  if (fd < 0) die("cannot connect to the server");
  const std::string req =
      "GET /api/sse/stream?tags[]=lat&interval=raw HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: "
      "text/event-stream\r\n\r\n";
  if (::write(fd, req.data(), req.size()) < 0) die("write");
  std::atomic<bool> reading{true};
  std::atomic<bool> stream_up{false};
  std::thread reader([&] {
    std::string buf;
    char chunk[65536];
    while (reading) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) break;
      const auto t = Clock::now();
      buf.append(chunk, static_cast<std::size_t>(n));
      std::size_t line_end;
      while ((line_end = buf.find('\n')) != std::string::npos) {
        const std::string line = buf.substr(0, line_end);
        buf.erase(0, line_end + 1);
        if (line.starts_with("event: connected")) stream_up = true;
        if (!line.starts_with("data: {\"interval\"")) continue;
        boost::system::error_code ec;
        const auto doc = boost::json::parse(line.substr(6), ec);
        if (ec) continue;
        for (const auto& point : doc.at("points").as_array()) {
          const auto v = point.at("v").to_number<double>();
          if (v >= 0 && v <= static_cast<double>(count)) sse_seen[static_cast<std::size_t>(v)] = t;
        }
      }
    }
  });
  for (int i = 0; i < 1000 && !stream_up; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!stream_up) die("the SSE stream did not open");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the subscription's SUBACK

  const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  auto next = Clock::now();
  for (std::size_t i = 0; i < count; ++i) {
    std::this_thread::sleep_until(next);
    sent[i] = Clock::now();
    pub.publish("bench/lat", std::to_string(i), qos);
    next += period;
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));  // stragglers
  reading = false;
  reader.join();
  ::close(fd);

  std::vector<double> via_broker, via_sse, added;
  for (std::size_t i = 0; i < count; ++i) {
    const bool b = broker_seen[i] != Clock::time_point{};
    const bool s = sse_seen[i] != Clock::time_point{};
    auto us = [](Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); };
    if (b) via_broker.push_back(us(broker_seen[i] - sent[i]));
    if (s) via_sse.push_back(us(sse_seen[i] - sent[i]));
    if (b && s) added.push_back(us(sse_seen[i] - broker_seen[i]));
  }
  std::printf("mqtt latency: %zu published at %.0f/s (qos %d); broker subscriber got %zu, SSE %zu\n", count,
              rate, qos, via_broker.size(), via_sse.size());
  std::printf("  broker delivery  p50 %.0f us  p99 %.0f us\n", percentile(via_broker, 50),
              percentile(via_broker, 99));
  std::printf("  publish -> SSE   p50 %.0f us  p99 %.0f us\n", percentile(via_sse, 50),
              percentile(via_sse, 99));
  std::printf("  added (SSE - broker, per message)  p50 %.0f us  p99 %.0f us\n", percentile(added, 50),
              percentile(added, 99));
  std::printf(
      "RESULT mqtt-latency rate=%.0f qos=%d published=%zu broker_got=%zu sse_got=%zu broker_p50_us=%.0f "
      "broker_p99_us=%.0f sse_p50_us=%.0f sse_p99_us=%.0f added_p50_us=%.0f added_p99_us=%.0f\n",
      rate, qos, count, via_broker.size(), via_sse.size(), percentile(via_broker, 50),
      percentile(via_broker, 99), percentile(via_sse, 50), percentile(via_sse, 99), percentile(added, 50),
      percentile(added, 99));
  return 0;
}

}  // namespace

void mqtt_usage() {
  std::fputs(
      "  tagstream-bench mqtt --mode throughput --broker-port P --server-port S [--qos 0|1] [--topics N]\n"
      "                       [--messages M]\n"
      "  tagstream-bench mqtt --mode latency --broker-port P --server-port S [--qos 0|1] [--rate 10000]\n"
      "                       [--seconds 5]\n"
      "    the server subscribes bench/+ as tag {1} (number payloads); see bench/mqtt.sh\n",
      stderr);
}

int run_mqtt(Args& args) {
  mosquitto_lib_init();
  const std::string mode = args.str("mode", "throughput");
  if (mode == "throughput") return run_throughput(args);
  if (mode == "latency") return run_latency(args);
  die("--mode must be throughput or latency");
}

}  // namespace tagstream_bench
