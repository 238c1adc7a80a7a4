#include "publisher_thread.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace tagstream_bench {

PublisherThread::PublisherThread(ServerKind kind, std::vector<Target> targets, TagNaming naming,
                                 int source_addresses, int max_connections, std::string pub_path, int tags)
    : sources_(source_addresses),
      publisher_(loop_, kind, std::move(targets), std::move(naming), sources_, max_connections,
                 std::move(pub_path)),
      tags_(tags),
      sent_per_tag_(static_cast<std::size_t>(tags), 0) {
  shared_.sent_per_tag = sent_per_tag_;
  publisher_.on_sent = [this](int tag, std::int64_t) {
    if (counting_) ++sent_per_tag_[static_cast<std::size_t>(tag)];
  };
  thread_ = std::thread([this] { run(); });
}

PublisherThread::~PublisherThread() {
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
  }
  thread_.join();
}

bool PublisherThread::seed(double deadline) {
  {
    std::lock_guard lock(mutex_);
    seed_wanted_ = true;
    ++commands_issued_;
  }
  while (!snapshot().idle) {
    if (mono_s() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void PublisherThread::start_schedule(double rate, double start_mono) {
  std::lock_guard lock(mutex_);
  start_rate_ = rate;
  start_mono_ = start_mono;
  start_wanted_ = true;
  ++commands_issued_;
}

void PublisherThread::stop_schedule() {
  std::lock_guard lock(mutex_);
  stop_wanted_ = true;
  ++commands_issued_;
}

PublisherThread::Snapshot PublisherThread::snapshot() const {
  std::unique_lock lock(mutex_);
  turned_.wait(lock, [this] { return commands_applied_ == commands_issued_; });
  return shared_;
}

bool PublisherThread::take_commands(double now) {
  std::lock_guard lock(mutex_);
  if (quit_) return false;
  commands_taken_ = commands_issued_;
  if (seed_wanted_) {
    for (int k = 0; k < tags_; ++k) publisher_.publish(k);
    seed_wanted_ = false;
  }
  if (start_wanted_) {
    schedule_ = std::make_unique<Schedule>(tags_, start_rate_, start_mono_);
    std::fill(sent_per_tag_.begin(), sent_per_tag_.end(), 0);
    counting_ = true;
    start_wanted_ = false;
  }
  if (stop_wanted_) {
    // Updates due up to now still count: the window ends at the stop.
    if (schedule_) schedule_->take_due(now, [this](int tag) { publisher_.publish(tag); });
    shared_.scheduled = schedule_ ? schedule_->taken() : 0;
    schedule_.reset();
    stop_wanted_ = false;
  }
  return true;
}

void PublisherThread::publish_snapshot() {
  std::lock_guard lock(mutex_);
  // A seed asked for after this turn took its commands is not counted as
  // applied yet, so snapshot() waits for the next turn: idle cannot be
  // read before the seed is queued.
  shared_.idle = publisher_.idle();
  if (schedule_) shared_.scheduled = schedule_->taken();
  shared_.sent_per_tag = sent_per_tag_;
  shared_.stats = publisher_.stats();
  shared_.connections = publisher_.connections();
  commands_applied_ = commands_taken_;
  turned_.notify_all();
}

void PublisherThread::run() {
  for (;;) {
    const double now = mono_s();
    if (!take_commands(now)) return;
    if (schedule_) schedule_->take_due(now, [this](int tag) { publisher_.publish(tag); });
    publisher_.pump();
    int timeout = 5;
    if (schedule_) {
      // Wake for the next update (rounded up: a 0 ms timeout would spin).
      const double until = schedule_->next_due() - mono_s();
      timeout = std::clamp(static_cast<int>(std::ceil(until * 1000)), 0, 5);
    }
    loop_.run_once(timeout);
    publish_snapshot();
  }
}

}  // namespace tagstream_bench
