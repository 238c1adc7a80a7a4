#pragma once
// The cluster's ordered log of samples (issue 18), as ingest and the HTTP
// layer see it: several nodes append to one log (Redis Streams, in
// src/cluster) that hands out the event ids, and every node makes live only
// what it reads back from that log, so an id names the same point, in the
// same order, on every node. The single node has no shared log.
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "core/change.h"
#include "core/sample.h"

namespace tagstream {

/// The shared log's health, for /healthz, /api/stats and /metrics.
struct SharedLogStatus {
  std::string endpoint;                // host:port, never a password
  bool up = false;                     // false: this node streams its own writes only (local mode)
  std::string state;                   // "connected", "connecting", "local"
  std::uint64_t appended_entries = 0;  // entries this node appended
  std::uint64_t read_entries = 0;      // entries this node read back and applied
  std::uint64_t kept_samples = 0;      // written while the log was down, not yet appended
  std::uint64_t dropped_samples = 0;   // kept past the bound: in the store, never in other nodes' live views
  std::uint64_t reconnects = 0;
  std::uint64_t local_seconds = 0;  // time spent in local mode, in whole seconds
  Seq last_read = 0;                // the id of the last entry applied
  std::string last_error;           // empty: none
};

class SharedLog {
 public:
  virtual ~SharedLog() = default;

  /// Called by the ingest path, under its lock, with samples that passed
  /// their deadbands. Appends them as one entry and returns the event id of
  /// the first (sample i gets first + i); they become live when the node
  /// reads the entry back. Returns nothing when the log is unreachable: the
  /// samples are then kept, appended once it is back (so the other nodes
  /// see them late rather than never), and the caller makes them live
  /// locally under ids of its own. `floor`: an id the log must not hand out
  /// again or below (the last one this node used).
  virtual std::optional<Seq> append_or_keep(std::span<const TaggedSample> samples, Seq floor) = 0;

  virtual SharedLogStatus status() const = 0;
};

}  // namespace tagstream
