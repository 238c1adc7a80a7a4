#pragma once
// Publishing tag updates through each server's real ingest path, with the
// publish time inside every update so that each delivered copy yields a
// latency:
//   tagstream  POST /write?precision=us, InfluxDB line protocol, one line per
//              update: `<prefix>,id=t00042 v=<publish us> <publish us>` (tag
//              `<prefix>.t00042.v`); the updates due together share a request,
//              as a Telegraf flush would, and each tag's go in order: its
//              next request waits for the answer to its previous one, which
//              tagstream gives once the write is durable (group commit).
//   nchan      POST /pub/<prefix>_t00042, one request per update (a channel per
//              tag), whose body is the JSON a tagstream `data` event carries:
//              {"interval":"raw","points":[{"tag":..,"t":..,"v":<publish us>,"q":"good"}]}
//              so both servers move messages of the same size.
// The publish time is wall-clock microseconds (about 1.8e15: exact in a
// double), taken when the request is written, so client-side queueing never
// counts as server latency; it is reported separately (late publishes).
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "event_loop.h"
#include "http_response.h"
#include "url.h"

namespace tagstream_bench {

enum class ServerKind { tagstream, nchan };

/// How tag number k is called on each server.
struct TagNaming {
  std::string prefix = "bench";
  std::string id(int k) const;              // "t00042"
  std::string tagstream_name(int k) const;  // "bench.t00042.v"
  std::string channel(int k) const;         // "bench_t00042"
};

/// Pacing: `tags` tags, each updated `rate` times per second, their phases
/// spread evenly (tag k is due at start + (n + k / tags) / rate).
class Schedule {
 public:
  Schedule(int tags, double rate_per_tag, double start_mono);
  /// Calls due(tag) for every update due at or before `now`.
  void take_due(double now, const std::function<void(int)>& due);
  /// When the next update is due (monotonic seconds).
  double next_due() const;
  std::uint64_t taken() const { return next_; }

 private:
  int tags_;
  double period_;  // seconds between two updates of the whole schedule
  double start_;
  std::uint64_t next_ = 0;
};

struct PublisherStats {
  std::uint64_t updates_sent = 0;  // updates written to the server
  std::uint64_t requests_ok = 0;   // 2xx answers
  std::uint64_t requests_failed = 0;
  std::uint64_t updates_failed = 0;
  std::uint64_t max_backlog = 0;  // updates waiting to be written, at most
  std::string first_error;
};

class Publisher {
 public:
  /// With several targets (the nodes of a cluster, or several nginx), the
  /// connections go to them in turn: connection i to target i mod n.
  Publisher(Loop& loop, ServerKind kind, std::vector<Target> targets, TagNaming naming,
            SourceAddresses& sources, int max_connections, std::string pub_path);
  ~Publisher();
  /// Queues one update of tag k; it is stamped and sent as soon as a
  /// connection is free.
  void publish(int tag);
  /// Sends what is queued on free connections (called from the loop).
  void pump();
  /// Nothing queued and nothing awaiting an answer.
  bool idle() const;
  /// Called for every update as it is written: (tag, publish time us).
  std::function<void(int, std::int64_t)> on_sent;
  const PublisherStats& stats() const { return stats_; }
  int connections() const { return static_cast<int>(conns_.size()); }

 private:
  class Conn;
  friend class Conn;
  void send_on(Conn& c);
  /// Something in the backlog may be written now.
  bool sendable() const;
  bool tag_in_flight(int tag) const;
  void answered(Conn& c, bool ok, int status, const std::string& why);

  Loop& loop_;
  ServerKind kind_;
  std::vector<Target> targets_;
  TagNaming naming_;
  SourceAddresses& sources_;
  int max_connections_;
  std::string pub_path_;
  std::deque<int> backlog_;
  std::vector<std::unique_ptr<Conn>> conns_;
  PublisherStats stats_;
  std::string body_;                               // reused request body
  std::unordered_map<int, std::int64_t> repeats_;  // per request: earlier lines of each tag
  std::vector<char> in_flight_;                    // tagstream, per tag: in a request awaiting its answer
};

}  // namespace tagstream_bench
