#pragma once
// Requests per second per client key: a token bucket for each key (an
// address today; a token id can be one too), refilled at `rate` up to
// `burst`. Thread safe. The table is bounded: a bucket that has refilled
// says nothing a fresh one would not, so it is dropped, and past
// `max_keys` the least recently seen key is forgotten (that client starts
// again with a full bucket): millions of source addresses cost at most
// `max_keys` entries.
#include <chrono>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tagstream {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kDefaultMaxKeys = 100'000;

  /// `rate` <= 0 admits everything.
  RateLimiter(double rate, double burst, std::size_t max_keys = kDefaultMaxKeys,
              std::function<Clock::time_point()> now = Clock::now);

  struct Verdict {
    bool allowed = true;
    std::chrono::seconds retry_after{0};  // when refused: whole seconds until a token is back, at least 1
  };
  Verdict take(const std::string& key);

  std::size_t keys() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
    std::list<std::string>::iterator order;  // position in `recent_`
  };
  double refilled(const Bucket& b, Clock::time_point now) const;
  void forget_idle(Clock::time_point now);

  const double rate_;
  const double burst_;
  const std::size_t max_keys_;
  const std::function<Clock::time_point()> now_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::list<std::string> recent_;  // most recently seen first
};

}  // namespace tagstream
