#pragma once
// Caps on open streams: in total (503) and per client address (429).
// Thread safe; acquire/release happen once per stream, never per event.
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace tagstream {

class StreamLimiter {
 public:
  enum class Verdict { ok, too_many_total, too_many_for_client };

  /// Releases its slot when destroyed.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(StreamLimiter* owner, std::string client) : owner_(owner), client_(std::move(client)) {}
    Ticket(Ticket&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)), client_(std::move(o.client_)) {}
    Ticket& operator=(Ticket&& o) noexcept;
    ~Ticket();

   private:
    StreamLimiter* owner_ = nullptr;
    std::string client_;
  };

  StreamLimiter(int max_total, int max_per_client) : max_total_(max_total), max_per_client_(max_per_client) {}

  /// `cap_client` false counts the slot under `client` without holding it
  /// to the per-client cap (a trusted proxy speaks for many clients).
  Verdict acquire(const std::string& client, Ticket& ticket, bool cap_client = true);
  int open() const;

 private:
  void release(const std::string& client);

  const int max_total_;
  const int max_per_client_;
  mutable std::mutex mutex_;
  int open_ = 0;
  std::unordered_map<std::string, int> per_client_;
};

/// Open connections are counted the same way: in total (503) and per peer
/// address (429).
using ConnectionLimiter = StreamLimiter;

}  // namespace tagstream
