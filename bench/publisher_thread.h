#pragma once
// A Publisher (publisher.h) with a thread, an epoll loop and source addresses
// of its own, so that it keeps its schedule whatever the reading side does.
//
// On the reading thread, a publisher only gets its turn between reads: at
// hundreds of thousands of events per second the updates due went out late
// and several at a time, so the server was offered fewer, bunched updates
// than the schedule said, and differently from a peer that takes one
// request per update. Here the schedule is kept to the millisecond while the
// server answers.
//
// The owner talks to it through a mutex: commands (seed, start or stop the
// schedule) and a snapshot of what was written, taken after each turn of
// its loop.
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "event_loop.h"
#include "publisher.h"
#include "url.h"

namespace tagstream_bench {

class PublisherThread {
 public:
  PublisherThread(ServerKind kind, std::vector<Target> targets, TagNaming naming, int source_addresses,
                  int max_connections, std::string pub_path, int tags);
  ~PublisherThread();  // stops the thread; what is in flight is abandoned
  PublisherThread(const PublisherThread&) = delete;
  PublisherThread& operator=(const PublisherThread&) = delete;

  /// Publishes every tag once and waits until all are answered; false if
  /// that took past `deadline` (monotonic seconds).
  bool seed(double deadline);
  /// From `start_mono` on, each tag is updated `rate` times per second, and
  /// every update written is counted (sent_per_tag).
  void start_schedule(double rate, double start_mono);
  /// No more updates are scheduled; what is queued still goes out.
  void stop_schedule();

  struct Snapshot {
    bool idle = true;                         // nothing queued, nothing awaiting an answer
    std::uint64_t scheduled = 0;              // updates the schedule asked for so far
    std::vector<std::uint64_t> sent_per_tag;  // written since start_schedule
    PublisherStats stats;
    int connections = 0;
  };
  /// What the thread had done at the end of its last turn, counting every
  /// command given before this call.
  Snapshot snapshot() const;

 private:
  void run();
  /// Applies the commands given so far; false once asked to quit.
  bool take_commands(double now);
  void publish_snapshot();

  Loop loop_;
  SourceAddresses sources_;
  Publisher publisher_;
  const int tags_;

  mutable std::mutex mutex_;
  mutable std::condition_variable turned_;
  // Commands, under mutex_.
  std::uint64_t commands_issued_ = 0;
  bool seed_wanted_ = false;
  double start_rate_ = 0, start_mono_ = 0;
  bool start_wanted_ = false, stop_wanted_ = false, quit_ = false;
  // The published state, under mutex_.
  std::uint64_t commands_applied_ = 0;
  Snapshot shared_;

  // The thread's own.
  std::uint64_t commands_taken_ = 0;
  std::unique_ptr<Schedule> schedule_;
  bool counting_ = false;
  std::vector<std::uint64_t> sent_per_tag_;
  std::thread thread_;
};

}  // namespace tagstream_bench
