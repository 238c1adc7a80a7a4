#include "http/stream_limiter.h"

namespace tagstream {

StreamLimiter::Ticket& StreamLimiter::Ticket::operator=(Ticket&& o) noexcept {
  if (this != &o) {
    if (owner_) owner_->release(client_);
    owner_ = std::exchange(o.owner_, nullptr);
    client_ = std::move(o.client_);
  }
  return *this;
}

StreamLimiter::Ticket::~Ticket() {
  if (owner_) owner_->release(client_);
}

StreamLimiter::Verdict StreamLimiter::acquire(const std::string& client, Ticket& ticket, bool cap_client) {
  std::lock_guard lock(mutex_);
  if (open_ >= max_total_) return Verdict::too_many_total;
  int& mine = per_client_[client];
  if (cap_client && mine >= max_per_client_) {
    if (mine == 0) per_client_.erase(client);
    return Verdict::too_many_for_client;
  }
  ++mine;
  ++open_;
  ticket = Ticket(this, client);
  return Verdict::ok;
}

int StreamLimiter::open() const {
  std::lock_guard lock(mutex_);
  return open_;
}

void StreamLimiter::release(const std::string& client) {
  std::lock_guard lock(mutex_);
  --open_;
  auto it = per_client_.find(client);
  if (it != per_client_.end() && --it->second <= 0) per_client_.erase(it);
}

}  // namespace tagstream
