#pragma once
// A HubClock whose time moves only when the test steps it: timers fire inside
// advance(), in deadline order, on the test's thread.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "hub/clock.h"

namespace tagstream {

class ManualClock final : public HubClock {
 public:
  ManualClock() = default;
  ManualClock(const ManualClock&) = delete;
  ManualClock& operator=(const ManualClock&) = delete;
  ~ManualClock() override {
    for (Timer* t : timers_) t->clock_ = nullptr;
  }

  std::unique_ptr<HubTimer> make_timer(boost::asio::io_context&) override {
    return std::make_unique<Timer>(*this);
  }

  /// Moves time forward by `d`, firing every timer that falls due on the
  /// way at its own deadline (so a timer armed by a callback fires too if
  /// its deadline is still within the step).
  void advance(std::chrono::nanoseconds d) {
    const std::chrono::nanoseconds target = now_ + d;
    while (Timer* t = next_due(target)) {
      now_ = t->deadline_;
      t->armed_ = false;
      auto expired = std::move(t->expired_);
      expired();  // may arm, cancel or destroy timers, this one included
    }
    now_ = target;
  }
  std::chrono::nanoseconds now() const { return now_; }

 private:
  class Timer final : public HubTimer {
   public:
    explicit Timer(ManualClock& clock) : clock_(&clock) { clock.timers_.push_back(this); }
    ~Timer() override {
      if (clock_) std::erase(clock_->timers_, this);
    }
    void arm(std::chrono::nanoseconds after, std::function<void()> expired) override {
      deadline_ = clock_->now_ + after;
      expired_ = std::move(expired);
      armed_ = true;
      order_ = ++clock_->armed_count_;
    }
    void cancel() override {
      armed_ = false;
      expired_ = nullptr;
    }

   private:
    friend class ManualClock;
    ManualClock* clock_;
    std::chrono::nanoseconds deadline_{0};
    std::function<void()> expired_;
    bool armed_ = false;
    std::uint64_t order_ = 0;  // equal deadlines fire in the order they were armed
  };

  Timer* next_due(std::chrono::nanoseconds target) const {
    Timer* next = nullptr;
    for (Timer* t : timers_) {
      if (!t->armed_ || t->deadline_ > target) continue;
      if (!next || t->deadline_ < next->deadline_ ||
          (t->deadline_ == next->deadline_ && t->order_ < next->order_))
        next = t;
    }
    return next;
  }

  std::chrono::nanoseconds now_{0};
  std::vector<Timer*> timers_;
  std::uint64_t armed_count_ = 0;
};

}  // namespace tagstream
