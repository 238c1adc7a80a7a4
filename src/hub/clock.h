#pragma once
// The hub's time: the timers that end coalescing windows, send heartbeats
// and retry store reads. See hub.h for why this is an interface.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace tagstream {

/// A one-shot timer. Used only on the thread of the shard that made it.
class HubTimer {
 public:
  /// Cancels a pending wait.
  virtual ~HubTimer() = default;
  /// Calls `expired` once `after` has passed, on the shard's thread, unless
  /// the timer is cancelled or armed again first. As with Asio, a timer that
  /// has already expired may still call `expired` after a cancel: callers
  /// check that what they wait for is still there.
  virtual void arm(std::chrono::nanoseconds after, std::function<void()> expired) = 0;
  virtual void cancel() = 0;
};

/// Makes the hub's timers. Thread-safe: every shard holds the same clock.
class HubClock {
 public:
  virtual ~HubClock() = default;
  virtual std::unique_ptr<HubTimer> make_timer(boost::asio::io_context& io) = 0;

  /// Asio steady timers on the shard's io_context: the server's clock.
  static HubClock& steady();
};

}  // namespace tagstream
