#include "http/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace tagstream {

RateLimiter::RateLimiter(double rate, double burst, std::size_t max_keys,
                         std::function<Clock::time_point()> now)
    : rate_(rate),
      burst_(std::max(burst, 1.0)),
      max_keys_(std::max<std::size_t>(max_keys, 1)),
      now_(std::move(now)) {}

double RateLimiter::refilled(const Bucket& b, Clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - b.updated).count();
  return std::min(burst_, b.tokens + std::max(elapsed, 0.0) * rate_);
}

void RateLimiter::forget_idle(Clock::time_point now) {
  // The least recently seen buckets are the first to have refilled: drop
  // them from the back until one still remembers something.
  while (!recent_.empty()) {
    auto it = buckets_.find(recent_.back());
    if (refilled(it->second, now) < burst_) return;
    buckets_.erase(it);
    recent_.pop_back();
  }
}

RateLimiter::Verdict RateLimiter::take(const std::string& key) {
  if (rate_ <= 0) return {};
  std::lock_guard lock(mutex_);
  const Clock::time_point now = now_();
  forget_idle(now);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      buckets_.erase(recent_.back());
      recent_.pop_back();
    }
    recent_.push_front(key);
    it = buckets_.emplace(key, Bucket{burst_, now, recent_.begin()}).first;
  } else {
    recent_.splice(recent_.begin(), recent_, it->second.order);
  }
  Bucket& b = it->second;
  b.tokens = refilled(b, now);
  b.updated = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return {};
  }
  const double wait = (1 - b.tokens) / rate_;
  return {false, std::chrono::seconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait))))};
}

std::size_t RateLimiter::keys() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace tagstream
