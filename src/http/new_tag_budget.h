#pragma once
// How many tags each client may create per minute. A fixed one-minute
// window per client key, opened by its first creation: a client that floods
// new names is refused (429) while the tags already known keep flowing, and
// the map of clients is swept of expired windows so it stays as small as the
// set of clients active in the last minute. Thread safe.
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tagstream {

class NewTagBudget {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kWindow{60};

  explicit NewTagBudget(std::size_t per_minute) : per_minute_(per_minute) {}

  /// Takes `n` new tags from `client`'s current window; false (nothing
  /// taken) when that would pass the limit. `now` is a parameter so tests
  /// can move time without waiting for it.
  [[nodiscard]] bool take(const std::string& client, std::size_t n, Clock::time_point now);
  /// When `client` may create tags again: its window's end, at least 1 s.
  std::chrono::seconds retry_after(const std::string& client, Clock::time_point now) const;
  std::size_t clients() const;

 private:
  struct Window {
    Clock::time_point start;
    std::size_t used = 0;
  };
  void sweep(Clock::time_point now);

  const std::size_t per_minute_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Window> windows_;
  Clock::time_point next_sweep_{};
};

}  // namespace tagstream
