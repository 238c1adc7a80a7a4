#include "http/stats.h"

#include "core/json_text.h"
#include "core/live_state.h"
#include "ingest/ingestor.h"
#include "store/store_writer.h"

namespace tagstream {

namespace {
/// One of the stream counters, summed over the network threads.
template <class T>
T sum_over_threads(const ServerStats& stats, std::atomic<T> ServerStats::StreamTotals::*counter) {
  T n = 0;
  for (const ServerStats::StreamTotals& t : stats.per_thread)
    n += (t.*counter).load(std::memory_order_relaxed);
  return n;
}
}  // namespace

std::uint64_t ServerStats::events_sent() const {
  return sum_over_threads(*this, &StreamTotals::events_sent);
}
std::uint64_t ServerStats::bytes_sent() const {
  return sum_over_threads(*this, &StreamTotals::bytes_sent);
}
std::uint64_t ServerStats::writes() const {
  return sum_over_threads(*this, &StreamTotals::writes);
}
std::int64_t ServerStats::queued_bytes() const {
  return sum_over_threads(*this, &StreamTotals::queued_bytes);
}

StatsSampler::Snapshot StatsSampler::take() const {
  Snapshot s;
  s.at = std::chrono::steady_clock::now();
  s.events = server_.stats.events_sent();
  s.bytes = server_.stats.bytes_sent();
  // Every source counts (simulator, HTTP, later MQTT), not only HTTP.
  s.samples = server_.services.ingestor ? server_.services.ingestor->ingested() : 0;
  if (server_.services.live) s.tag_updates = server_.services.live->update_counts();
  return s;
}

void StatsSampler::sample() {
  Snapshot now = take();
  std::lock_guard lock(mutex_);
  previous_ = std::move(latest_);
  latest_ = std::move(now);
}

StatsSampler::Rates StatsSampler::rates() const {
  std::lock_guard lock(mutex_);
  Rates r;
  const double dt = std::chrono::duration<double>(latest_.at - previous_.at).count();
  if (previous_.at.time_since_epoch().count() == 0 || dt <= 0) return r;
  r.events = static_cast<double>(latest_.events - previous_.events) / dt;
  r.bytes = static_cast<double>(latest_.bytes - previous_.bytes) / dt;
  r.samples = static_cast<double>(latest_.samples - previous_.samples) / dt;
  r.tag_updates.resize(latest_.tag_updates.size());
  for (std::size_t i = 0; i < latest_.tag_updates.size(); ++i) {
    const std::uint64_t before = i < previous_.tag_updates.size() ? previous_.tag_updates[i] : 0;
    r.tag_updates[i] = static_cast<double>(latest_.tag_updates[i] - before) / dt;
  }
  return r;
}

namespace {
void field(std::string& out, const char* name, double v, bool comma = true) {
  if (comma) out += ',';
  out += '"';
  out += name;
  out += "\":";
  append_json_number(out, v);
}
void field(std::string& out, const char* name, std::uint64_t v, bool comma = true) {
  if (comma) out += ',';
  out += '"';
  out += name;
  out += "\":";
  append_json_integer(out, static_cast<std::int64_t>(v));
}
}  // namespace

std::string StatsSampler::json() const {
  const Rates r = rates();
  const ServerStats& st = server_.stats;
  std::string out = "{";
  field(out, "uptimeSeconds",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - server_.started).count(), false);
  out += ",\"streams\":{";
  field(out, "open", static_cast<std::uint64_t>(server_.limiter.open()), false);
  field(out, "opened", st.streams_opened.load());
  field(out, "closed", st.streams_closed.load());
  field(out, "slowDropped", st.slow_streams_dropped.load());
  out += "},\"events\":{";
  field(out, "total", st.events_sent(), false);
  field(out, "perSecond", r.events);
  field(out, "writes", st.writes());
  out += "},\"bytes\":{";
  field(out, "total", st.bytes_sent(), false);
  field(out, "perSecond", r.bytes);
  field(out, "queued", static_cast<std::uint64_t>(std::max<std::int64_t>(0, st.queued_bytes())));
  out += "},\"ingest\":{";
  field(out, "samplesTotal", server_.services.ingestor ? server_.services.ingestor->ingested() : 0, false);
  field(out, "httpSamplesTotal", st.samples_ingested.load());
  field(out, "samplesPerSecond", r.samples);
  field(out, "requestsTotal", st.ingest_requests.load());
  field(out, "rejectedLines", st.ingest_rejected_lines.load());
  field(out, "retractedLiveValues",
        server_.services.ingestor ? server_.services.ingestor->retracted() : std::uint64_t{0});
  out += "},\"store\":{";
  if (server_.services.writer) {
    field(out, "pendingSamples", static_cast<std::uint64_t>(server_.services.writer->pending_samples()),
          false);
    field(out, "committedSamples", server_.services.writer->committed_samples());
  }
  out += "},\"tags\":[";
  for (std::size_t i = 0; i < r.tag_updates.size(); ++i) {
    if (i) out += ',';
    out += "{\"name\":";
    append_json_string(out, server_.registry.name(static_cast<TagId>(i)));
    field(out, "updatesPerSecond", r.tag_updates[i]);
    out += '}';
  }
  out += "]}";
  return out;
}

std::string StatsSampler::prometheus() const {
  const Rates r = rates();
  const ServerStats& st = server_.stats;
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, double value) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
    out += name;
    out += ' ';
    append_json_number(out, value);
    out += '\n';
  };
  metric("tagstream_streams_open", "gauge", "Open SSE streams.", server_.limiter.open());
  metric("tagstream_streams_opened_total", "counter", "SSE streams opened.",
         static_cast<double>(st.streams_opened.load()));
  metric("tagstream_streams_slow_dropped_total", "counter", "Streams dropped for not reading.",
         static_cast<double>(st.slow_streams_dropped.load()));
  metric("tagstream_events_sent_total", "counter", "SSE events written.",
         static_cast<double>(st.events_sent()));
  metric("tagstream_bytes_sent_total", "counter", "SSE bytes written.", static_cast<double>(st.bytes_sent()));
  metric(
      "tagstream_stream_writes_total", "counter",
      "Socket writes of SSE bytes; events per write rises when a busy thread sends what queued up together.",
      static_cast<double>(st.writes()));
  metric("tagstream_stream_queued_bytes", "gauge", "Bytes waiting in stream queues.",
         static_cast<double>(std::max<std::int64_t>(0, st.queued_bytes())));
  metric("tagstream_http_requests_total", "counter", "HTTP requests.",
         static_cast<double>(st.requests.load()));
  metric("tagstream_ingest_samples_total", "counter", "Samples ingested from every source.",
         static_cast<double>(server_.services.ingestor ? server_.services.ingestor->ingested() : 0));
  metric("tagstream_ingest_http_samples_total", "counter", "Samples written over HTTP.",
         static_cast<double>(st.samples_ingested.load()));
  metric("tagstream_ingest_rejected_lines_total", "counter", "Line protocol lines rejected.",
         static_cast<double>(st.ingest_rejected_lines.load()));
  metric("tagstream_ingest_retracted_live_values_total", "counter",
         "Live values put back to what history holds after their commit failed.",
         static_cast<double>(server_.services.ingestor ? server_.services.ingestor->retracted() : 0));
  if (server_.services.writer) {
    metric("tagstream_store_pending_samples", "gauge", "Samples waiting for commit.",
           static_cast<double>(server_.services.writer->pending_samples()));
    metric("tagstream_store_committed_samples_total", "counter", "Samples committed.",
           static_cast<double>(server_.services.writer->committed_samples()));
  }
  out +=
      "# HELP tagstream_tag_updates_per_second Live updates per second, per tag.\n"
      "# TYPE tagstream_tag_updates_per_second gauge\n";
  for (std::size_t i = 0; i < r.tag_updates.size(); ++i) {
    out += "tagstream_tag_updates_per_second{tag=\"";
    out += server_.registry.name(static_cast<TagId>(i));  // tag names need no escaping
    out += "\"} ";
    append_json_number(out, r.tag_updates[i]);
    out += '\n';
  }
  return out;
}

}  // namespace tagstream
