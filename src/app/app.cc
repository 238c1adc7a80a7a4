#include "app/app.h"

#include <sys/resource.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include "core/log.h"
#include "core/time.h"
#include "hub/hub.h"
#include "http/server.h"
#include "ingest/simulator.h"

namespace tagstream {

namespace asio = boost::asio;

struct App::Signals {
  explicit Signals(asio::io_context& io) : set(io, SIGINT, SIGTERM) {}
  asio::signal_set set;
};

namespace {

using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;

/// Raises the open-file soft limit to the hard one (a stream is a file) and
/// keeps max_streams under what the process can actually hold.
void fit_file_limit(ServerConfig& config) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < lim.rlim_max) {
    const rlim_t before = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) == 0)
      log(LogLevel::info, "raised open-file limit from {} to {}", before, lim.rlim_cur);
    else
      getrlimit(RLIMIT_NOFILE, &lim);
  }
  const long reserve = 64;  // listener, store, logs, ingest connections
  const long usable = static_cast<long>(lim.rlim_cur) - reserve;
  if (usable > 0 && config.max_streams > usable) {
    log(LogLevel::warn, "max_streams {} exceeds the open-file limit {}; using {}", config.max_streams,
        lim.rlim_cur, usable);
    config.max_streams = static_cast<int>(usable);
  }
}

std::chrono::nanoseconds seconds(double s) {
  return std::chrono::nanoseconds(static_cast<std::int64_t>(s * 1e9));
}

}  // namespace

// Event ids continue from the wall clock in microseconds: ids from an
// earlier run of this server are then always smaller than new ones, so a
// client resuming across a restart is told its history was lost instead of
// being matched against unrelated events.
App::App(ServerConfig config) : live_(static_cast<Seq>(now_ns() / 1000)) {
  fit_file_limit(config);
  LogLevel level = LogLevel::info;
  if (parse_log_level(config.log_level, level)) set_log_level(level);
  unsigned threads = config.threads > 0 ? static_cast<unsigned>(config.threads) : std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;
  config.threads = static_cast<int>(threads);
  server_ = std::make_unique<ServerContext>(std::move(config), registry_);

  std::vector<asio::io_context*> raw;
  for (unsigned i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    raw.push_back(contexts_.back().get());
  }
  HubOptions hub_options;
  hub_options.coalesce_window = seconds(server_->config.data_check_interval);
  hub_options.heartbeat_interval = seconds(server_->config.heartbeat_interval);
  hub_options.replay_capacity = server_->config.replay_buffer;
  hub_ = std::make_unique<Hub>(raw, registry_, hub_options, live_.last_seq());
  live_.set_publisher([hub = hub_.get()](ChangeBatchPtr batch) { hub->publish(batch); });
  http_ = std::make_unique<HttpServer>(*server_, raw, *hub_);
  signals_ = std::make_unique<Signals>(*contexts_.front());
}

App::~App() {
  request_stop();
  wait();
}

void App::start() {
  const ServerConfig& config = server_->config;
  http_->listen();
  for (auto& io : contexts_) {
    threads_.emplace_back([io = io.get()] {
      WorkGuard guard(io->get_executor());
      io->run();
    });
  }
  if (config.simulator) {
    SimulatorOptions opts;
    opts.rate_hz = config.simulator_rate;
    opts.seed = config.simulator_seed.value_or(static_cast<unsigned>(now_ns()));
    simulator_ = std::make_unique<SimulatorThread>(
        registry_, opts, [this](std::vector<TaggedSample> samples) { live_.apply(samples); });
    simulator_->start();
  }
  const auto ep = http_->local_endpoint();
  log(LogLevel::info, "tagstream listening on {}:{} ({} threads, {} tags, heartbeat {}s, coalescing {}s{})",
      ep.address().to_string(), ep.port(), config.threads, registry_.size(), config.heartbeat_interval,
      config.data_check_interval, config.simulator ? ", simulator on" : "");
}

void App::stop_on_signals() {
  signals_->set.async_wait([this](boost::system::error_code ec, int signo) {
    if (ec) return;
    log(LogLevel::info, "received signal {}; shutting down", signo);
    request_stop();
  });
}

unsigned short App::port() const { return http_->local_endpoint().port(); }

void App::request_stop() {
  if (stop_requested_.exchange(true)) return;
  if (simulator_) simulator_->stop();
  if (threads_.empty()) {
    finish();
    return;
  }
  http_->shutdown([this] { finish(); });
}

void App::finish() {
  // Every connection is gone: stop the timers and let the threads end.
  boost::system::error_code ec;
  signals_->set.cancel(ec);
  for (std::size_t i = 0; i < contexts_.size(); ++i) {
    HubShard* shard = &hub_->shard(i);
    asio::io_context* io = contexts_[i].get();
    asio::post(*io, [shard, io] {
      shard->stop();
      io->stop();
    });
  }
  std::lock_guard lock(done_mutex_);
  done_ = true;
  done_cv_.notify_all();
}

void App::wait() {
  {
    std::unique_lock lock(done_mutex_);
    done_cv_.wait(lock, [this] { return done_; });
  }
  if (threads_.empty()) return;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  log(LogLevel::info, "tagstream stopped");
}

}  // namespace tagstream
