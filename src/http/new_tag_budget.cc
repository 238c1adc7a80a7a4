#include "http/new_tag_budget.h"

#include <algorithm>

namespace tagstream {

bool NewTagBudget::take(const std::string& client, std::size_t n, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  sweep(now);
  auto it = windows_.find(client);
  if (it != windows_.end() && now - it->second.start >= kWindow) it->second = Window{now, 0};
  const std::size_t used = it == windows_.end() ? 0 : it->second.used;
  if (n > per_minute_ || used > per_minute_ - n) return false;
  if (it == windows_.end()) it = windows_.emplace(client, Window{now, 0}).first;
  it->second.used += n;
  return true;
}

std::chrono::seconds NewTagBudget::retry_after(const std::string& client, Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto it = windows_.find(client);
  if (it == windows_.end()) return std::chrono::seconds(1);
  const auto left = std::chrono::ceil<std::chrono::seconds>(it->second.start + kWindow - now);
  return std::max(left, std::chrono::seconds(1));
}

std::size_t NewTagBudget::clients() const {
  std::lock_guard lock(mutex_);
  return windows_.size();
}

void NewTagBudget::sweep(Clock::time_point now) {
  // Once a window's length: every window then is at most one sweep stale,
  // and the cost is one pass over the clients of the last two minutes.
  if (now < next_sweep_) return;
  next_sweep_ = now + kWindow;
  std::erase_if(windows_, [&](const auto& entry) { return now - entry.second.start >= kWindow; });
}

}  // namespace tagstream
