#include "app/app.h"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cctype>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>

#include "app/config_options.h"
#include "cluster/redis_log.h"
#include "connect/connector_set.h"
#include "core/build_info.h"
#include "core/log.h"
#include "core/thread_name.h"
#include "core/time.h"
#include "http/audit_log.h"
#include "http/listen_address.h"
#include "http/server.h"
#include "http/static_files.h"
#include "http/stats.h"
#include "hub/hub.h"
#include "ingest/deadband.h"
#include "ingest/ingestor.h"
#include "ingest/simulator.h"
#include "store/pg_store.h"
#include "store/sqlite_store.h"
#include "store/store_replay.h"
#include "store/store_writer.h"

namespace tagstream {

namespace asio = boost::asio;

/// Samples the statistics once a second, on thread 0.
struct App::StatsTimer {
  StatsTimer(asio::io_context& io, StatsSampler& sampler) : timer(io), sampler(sampler) {}
  void start() {
    sampler.sample();
    if (every_second) every_second();
    timer.expires_after(std::chrono::seconds(1));
    timer.async_wait([this](boost::system::error_code ec) {
      if (!ec) start();
    });
  }
  asio::steady_timer timer;
  StatsSampler& sampler;
  std::function<void()> every_second;
};

struct App::Signals {
  explicit Signals(asio::io_context& io) : set(io, SIGINT, SIGTERM) {}
  asio::signal_set set;
};

namespace {

using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;

/// Raises the open-file soft limit to the hard one (as nginx does: a
/// connection is a file) and fits the connection and stream caps in what
/// the process can then hold.
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
  const long reserve = 64;  // listener, store, logs, io_uring rings, the spare descriptor
  const long limit = static_cast<long>(std::min<rlim_t>(lim.rlim_cur, std::numeric_limits<int>::max()));
  const long usable = std::max(limit - reserve, 1L);
  if (config.max_connections == 0) {
    config.max_connections = static_cast<int>(usable);
  } else if (config.max_connections > usable) {
    // Kept as configured: past the file limit, new connections are closed
    // at once (the spare descriptor) rather than left unanswered.
    log(LogLevel::warn, "max_connections {} exceeds the open-file limit {} less {} reserved",
        config.max_connections, limit, reserve);
  }
  if (config.max_streams > usable) {
    log(LogLevel::warn, "max_streams {} exceeds the open-file limit {}; using {}", config.max_streams,
        lim.rlim_cur, usable);
    config.max_streams = static_cast<int>(usable);
  }
  log(LogLevel::info, "open-file limit {}: up to {} connections, {} of them streams, {} per client address",
      limit, config.max_connections, std::min(config.max_streams, config.max_connections),
      config.max_connections_per_client);
}

/// Protected mode, as Redis has it: a server anyone on the network can
/// reach must not also let anyone write process values. Throws with how to
/// fix it.
void refuse_open_network_without_auth(const ServerConfig& config, const Authenticator& auth) {
  if (auth.enabled() || config.allow_unauthenticated) return;
  const auto listen = parse_listen(config.listen);
  if (!listen) return;  // the listener reports a bad address itself
  const std::string& host = listen->host;
  const bool loopback = host == "localhost" || host == "::1" || host.starts_with("127.");
  if (loopback) return;
  throw std::runtime_error(
      "refusing to listen on " + config.listen +
      " without authentication: anyone who can reach it could read and write every tag. Either listen on "
      "loopback (--listen 127.0.0.1:8080, behind nginx), or turn authentication on (--token-file FILE, "
      "made with `tagstream token new`; or --jwt-secret-file / --jwt-public-key), or accept the risk with "
      "--allow-unauthenticated");
}

/// The dashboard's directory when --web-root is not given. An installed
/// binary finds it beside itself (BINDIR/../share/tagstream/web), wherever
/// the tree was installed or unpacked; a binary in the build tree, which has
/// none there, serves the source tree's web/dist.
std::string default_web_root() {
  std::error_code ec;
  const std::filesystem::path binary = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto installed = (binary.parent_path() / TAGSTREAM_WEB_ROOT_FROM_BINARY).lexically_normal();
    if (std::filesystem::is_regular_file(installed / "index.html", ec)) return installed.string();
  }
  return TAGSTREAM_DEFAULT_WEB_ROOT;
}

/// "hostname:port": unique per node as long as host names are, and says
/// where to look.
std::string default_node_id(unsigned short port) {
  char host[256] = {};
  std::string name = ::gethostname(host, sizeof host - 1) == 0 && host[0] ? host : "localhost";
  // A host name fits the node-id alphabet, save for exotic ones: those
  // characters become '-'.
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-') ch = '-';
  return name.substr(0, 56) + ":" + std::to_string(port);
}

/// The simulator's plant on the first screen: the boilers, the tank and the
/// pumps as trends, unless someone saved their own default.
void save_plant_layout(LayoutStore& layouts) {
  if (layouts.load("default")) return;
  constexpr std::string_view kPlant =
      R"({"title":"Plant","panels":["raw~15m~boiler1.temperature,boiler2.temperature,boiler1.setpoint,)"
      R"(boiler2.setpoint","raw~15m~boiler1.pressure,boiler2.pressure","raw~15m~tank1.level,)"
      R"(tank1.outlet_valve","raw~15m~pump1.flow,pump2.flow"]})";
  if (layouts.save("default", kPlant) == LayoutStore::SaveResult::failed)
    log(LogLevel::warn, "could not save the simulator's default layout");
}
}  // namespace

App::App(ServerConfig config) : config_(std::move(config)) {
  {
    auto auth = Authenticator::create(config_);
    if (!auth) throw std::runtime_error("authentication: " + auth.error);
    auth_ = std::move(*auth);
  }
  refuse_open_network_without_auth(config_, *auth_);
  if (!config_.audit_log.empty()) audit_ = std::make_unique<AuditLog>(config_.audit_log);
  fit_file_limit(config_);
  if (auto level = parse_log_level(config_.log_level)) set_log_level(*level);
  if (!config_.cluster_url.empty()) open_cluster();
  open_store(config_);
  unsigned threads =
      config_.threads > 0 ? static_cast<unsigned>(config_.threads) : std::thread::hardware_concurrency();
  threads = std::clamp<unsigned>(threads, 1, kMaxNetworkThreads);
  config_.threads = static_cast<int>(threads);
  if (config_.layout_dir.empty())
    config_.layout_dir = (std::filesystem::path(config_.data_dir) / "layouts").string();
  server_ = std::make_unique<ServerContext>(config_, registry_);
  if (config_.simulator) save_plant_layout(server_->layouts);
  readers_ = std::make_unique<asio::thread_pool>(2);

  web_ = std::make_unique<StaticFiles>();
  const std::string web_root = config_.web_root.empty() ? default_web_root() : config_.web_root;
  if (web_->load(web_root) == 0)
    log(LogLevel::warn, "no dashboard at {}: build it with `make build` (the API works without it)",
        web_root);
  else
    log(LogLevel::info, "dashboard from {}", web_root);
  sampler_ = std::make_unique<StatsSampler>(*server_);
  if (!config_.connectors.connectors.empty()) {
    ConnectorContext context;
    context.registry = &registry_;
    context.ingest = [this](std::vector<TaggedSample> samples) {
      return ingestor_->ingest(samples, nullptr).queued;
    };
    context.ingest_history = [this](std::vector<TaggedSample> samples) {
      return ingestor_->ingest_history(samples, nullptr).queued;
    };
    connectors_ = std::make_unique<ConnectorSet>(config_.connectors.connectors, context);
  }
  server_->services = Services{&live_,         ingestor_.get(),   store_.get(),    writer_.get(),
                               readers_.get(), sampler_.get(),    web_.get(),      auth_.get(),
                               audit_.get(),   connectors_.get(), deadband_.get(), shared_log_.get()};

  std::vector<asio::io_context*> raw;
  for (unsigned i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    raw.push_back(contexts_.back().get());
  }
  HubOptions hub_options;
  hub_options.coalesce_window = seconds_to_duration(config_.data_check_interval);
  hub_options.heartbeat_interval = seconds_to_duration(config_.heartbeat_interval);
  hub_options.replay_capacity = config_.replay_buffer;
  hub_options.durable_seq = durable_seq_;
  if (shared_log_) hub_options.resume_wait = std::chrono::seconds(2);
  hub_options.fetch_older = [this](ReplayRequest request, std::function<void(ReplayResult)> deliver) {
    asio::post(*readers_, [this, request = std::move(request), deliver = std::move(deliver)] {
      deliver(replay_->read(request));
    });
  };
  hub_ = std::make_unique<Hub>(raw, registry_, hub_options, live_.last_seq());
  hub_->restore(restored_latest_);
  restored_latest_.clear();
  restored_latest_.shrink_to_fit();
  live_.set_publisher([hub = hub_.get()](ChangeBatchPtr batch) { hub->publish(batch); });
  http_ = std::make_unique<HttpServer>(*server_, raw, *hub_);
  signals_ = std::make_unique<Signals>(*contexts_.front());
  stats_timer_ = std::make_unique<StatsTimer>(*contexts_.front(), *sampler_);
  // The tag list's natural order (http/tag_order.h) follows new tags on the
  // reader pool, at most once a second and one pass at a time, so an
  // operator's page does not wait for the sort of a plant's worth of names
  // (at 100,000 tags the first list took ~0.6 s on a loaded 2-core machine).
  stats_timer_->every_second = [this, known = std::size_t{0},
                                busy = std::make_shared<std::atomic<bool>>(false)]() mutable {
    const std::size_t size = registry_.size();
    if (size == known || busy->exchange(true)) return;
    known = size;
    asio::post(*readers_, [this, busy] {
      (void)server_->tag_order.get(registry_);
      busy->store(false);
    });
  };
}

App::~App() {
  request_stop();
  wait();
  if (shared_log_) shared_log_->stop();
  readers_->join();
  writer_->stop();
}

void App::open_cluster() {
  if (config_.store_url.empty())
    throw std::runtime_error(
        "--cluster needs --store postgres://...: the nodes of a cluster share one history, and a resume on "
        "any node reads it");
  const auto address = cluster::parse_redis_url(config_.cluster_url);
  if (!address) throw std::runtime_error("--cluster: " + address.error);
  cluster::RedisLogOptions options;
  options.address = *address;
  cluster::RedisLog::Handlers handlers;
  handlers.samples = [this](Seq first, std::vector<cluster::NamedSample> samples) {
    apply_from_log(first, std::move(samples));
  };
  handlers.tags = [this](std::vector<TagInfo> tags) {
    for (const TagInfo& info : tags)
      if (!registry_.upsert(info, true))
        log(LogLevel::warn, "cluster: tag {} from another node not created: --max-tags reached", info.name);
  };
  shared_log_ = std::make_unique<cluster::RedisLog>(std::move(options), registry_, std::move(handlers));
  log_position_ = shared_log_->open();
}

void App::apply_from_log(Seq first, std::vector<cluster::NamedSample> samples) {
  std::vector<TaggedSample> tagged;
  std::vector<Seq> ids;
  tagged.reserve(samples.size());
  ids.reserve(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    auto id = registry_.find(samples[i].name);
    if (!id) id = registry_.ensure(TagInfo{samples[i].name, {}, {}, DataType::number});
    if (!id) continue;  // past --max-tags here: this node cannot show the tag
    tagged.push_back({*id, samples[i].sample});
    ids.push_back(first + i);
  }
  live_.apply_sequenced(tagged, ids);
}

void App::open_store(const ServerConfig& config) {
  std::string path;  // where the store is, for messages
  if (!config.store_url.empty()) {
    path = redact_store_url(config.store_url);
    store_ = std::make_unique<PgStore>(PgOptions{config.store_url});
    log(LogLevel::info, "store: PostgreSQL at {}", path);
  } else {
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) throw std::runtime_error("cannot create data directory " + config.data_dir + ": " + ec.message());
    path = (std::filesystem::path(config.data_dir) / "tagstream.db").string();
    SqliteOptions options{path, config.sync_full};
    options.flush_samples = config.store_flush_samples;
    store_ = std::make_unique<SqliteStore>(options);
  }
  RestoredState restored = store_->restore();
  for (const TagRecord& t : restored.tags) {
    if (registry_.upsert(t.info) != t.id)
      throw std::runtime_error("store " + path + " has a gap in its tag ids at " + t.info.name);
  }
  // After the restore: tags already stored stay, even past a lowered cap.
  registry_.set_max_tags(config.max_tags);
  if (registry_.size() > config.max_tags)
    log(LogLevel::warn, "the store holds {} tags, more than --max-tags {}: no new tag will be created",
        registry_.size(), config.max_tags);
  for (const auto& l : restored.live) {
    live_.restore(l.tag, l.latest, l.buckets);
    // Marked with the restored position: older than any new change.
    restored_latest_.push_back(Change{std::max<Seq>(restored.last_seq, 1), l.tag, l.latest, l.buckets});
  }
  // A cluster node reads the shared log from its newest entry at start-up
  // (older ids are the store's); without Redis it numbers its own events.
  const Seq first_event_after =
      log_position_ ? *log_position_ : seq_before_first_event(restored.last_seq, now_ns());
  live_.set_last_seq(first_event_after);

  StoreWriterOptions wopts;
  wopts.max_pending_samples = config.store_queue_samples;
  wopts.late_samples_per_commit = config.store_late_slice;
  wopts.commit_interval = seconds_to_duration(config.store_commit_interval);
  wopts.retention.seconds = {config.retention_raw, config.retention_second, config.retention_minute,
                             config.retention_hour, config.retention_day};
  writer_ = std::make_unique<StoreWriter>(*store_, wopts);
  writer_->set_committed_seq(restored.last_seq);
  // On a cluster node every id before this run's first is the shared store's.
  durable_seq_ = shared_log_ ? first_event_after : restored.last_seq;
  registry_.set_observer([w = writer_.get(), shared = shared_log_.get()](TagId id, const TagInfo& info) {
    w->submit_tag(id, info);
    if (shared && !cluster::RedisLog::applying_remote()) shared->publish_tag(info);
  });
  writer_->start();
  replay_ = std::make_unique<StoreReplay>(*store_, *writer_, shared_log_ != nullptr);
  ingestor_ = std::make_unique<Ingestor>(live_, *writer_);
  if (shared_log_) ingestor_->set_shared_log(shared_log_.get());
  if (!config.connectors.deadbands.empty()) {
    deadband_ = std::make_unique<DeadbandFilter>(registry_, config.connectors.deadbands);
    ingestor_->set_deadband(deadband_.get());
  }
  log(LogLevel::info, "store {}: {} tags, {} with history, last event id {}", path, restored.tags.size(),
      restored.live.size(), restored.last_seq);
}

void App::start() {
  const ServerConfig& config = config_;
  http_->listen();
  // Before the network threads start: from then on the config is read-only.
  if (server_->config.node_id.empty()) server_->config.node_id = default_node_id(port());
  config_.node_id = server_->config.node_id;
  stats_timer_->start();
  for (auto& io : contexts_) {
    threads_.emplace_back([this, io = io.get(), n = threads_.size()] {
      name_this_thread("ts-io-" + std::to_string(n));
      WorkGuard guard(io->get_executor());
      http_->run_thread(n);
    });
  }
  if (config.simulator) {
    SimulatorOptions opts;
    opts.rate_hz = config.simulator_rate;
    opts.seed = config.simulator_seed.value_or(static_cast<unsigned>(now_ns()));
    try {
      simulator_ =
          std::make_unique<SimulatorThread>(registry_, opts, [this](std::vector<TaggedSample> samples) {
            // A simulated plant may lose history under overload, never block.
            if (!ingestor_->ingest(samples, nullptr).queued)
              log(LogLevel::warn, "store queue full: {} simulated samples not recorded", samples.size());
          });
      simulator_->start();
    } catch (const std::runtime_error& e) {
      log(LogLevel::error, "simulator off: {}", e.what());
    }
  }
  if (connectors_) connectors_->start();
  if (shared_log_) shared_log_->start(live_.last_seq());
  const auto ep = http_->local_endpoint();
  log(LogLevel::info, "{}, node {}", version_line(), config.node_id);
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

unsigned short App::port() const {
  return http_->local_endpoint().port();
}

void App::request_stop() {
  if (stop_requested_.exchange(true)) return;
  if (simulator_) simulator_->stop();
  if (connectors_) connectors_->stop();
  if (shared_log_) shared_log_->stop();
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
  asio::post(*contexts_.front(), [t = stats_timer_.get()] { t->timer.cancel(); });
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
