#include "hub/clock.h"

#include <boost/asio/steady_timer.hpp>

namespace tagstream {

namespace {

class SteadyTimer final : public HubTimer {
 public:
  explicit SteadyTimer(boost::asio::io_context& io) : timer_(io) {}

  void arm(std::chrono::nanoseconds after, std::function<void()> expired) override {
    timer_.expires_after(after);
    timer_.async_wait([expired = std::move(expired)](boost::system::error_code ec) {
      if (!ec) expired();
    });
  }
  void cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

class SteadyClock final : public HubClock {
 public:
  std::unique_ptr<HubTimer> make_timer(boost::asio::io_context& io) override {
    return std::make_unique<SteadyTimer>(io);
  }
};

}  // namespace

HubClock& HubClock::steady() {
  static SteadyClock clock;
  return clock;
}

}  // namespace tagstream
