#include "http/stats.h"

#include <algorithm>
#include <numeric>

#include "core/build_info.h"
#include "core/field_devices.h"
#include "core/json_text.h"
#include "core/live_state.h"
#include "ingest/deadband.h"
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

void append_connectors_json(std::string& out, const FieldDevices* devices) {
  out += '[';
  if (devices) {
    bool first = true;
    for (const ConnectorStatus& c : devices->status()) {
      if (!first) out += ',';
      first = false;
      out += "{\"name\":";
      append_json_string(out, c.name);
      out += ",\"kind\":";
      append_json_string(out, c.kind);
      out += ",\"endpoint\":";
      append_json_string(out, c.endpoint);
      out += ",\"connected\":";
      out += c.connected ? "true" : "false";
      out += ",\"state\":";
      append_json_string(out, c.state);
      out += ",\"lastMessage\":";
      if (c.last_message)
        append_json_integer(out, c.last_message / 1'000'000);  // ms since epoch, as points' "t"
      else
        out += "null";
      field(out, "messages", c.messages);
      field(out, "messagesPerSecond", c.messages_per_second);
      field(out, "samples", c.samples);
      field(out, "errors", c.errors);
      field(out, "reconnects", c.reconnects);
      out += ",\"lastError\":";
      append_json_string(out, c.last_error);
      out += '}';
    }
  }
  out += ']';
}

void append_cluster_json(std::string& out, const SharedLog* log) {
  if (!log) {
    out += "null";
    return;
  }
  const SharedLogStatus s = log->status();
  out += "{\"endpoint\":";
  append_json_string(out, s.endpoint);
  out += ",\"up\":";
  out += s.up ? "true" : "false";
  out += ",\"state\":";
  append_json_string(out, s.state);
  field(out, "appendedEntries", s.appended_entries);
  field(out, "readEntries", s.read_entries);
  field(out, "lastReadId", s.last_read);
  field(out, "keptSamples", s.kept_samples);
  field(out, "droppedSamples", s.dropped_samples);
  field(out, "reconnects", s.reconnects);
  field(out, "localSeconds", s.local_seconds);
  out += ",\"lastError\":";
  append_json_string(out, s.last_error);
  out += '}';
}

namespace {

// A Prometheus label value: backslash, quote and newline escaped.
void append_label(std::string& out, std::string_view v) {
  for (char ch : v) {
    if (ch == '\\' || ch == '"') out += '\\';
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out += ch;
  }
}

void append_connector_metrics(std::string& out, const std::vector<ConnectorStatus>& connectors, TimeNs now) {
  if (connectors.empty()) return;
  struct Series {
    const char* name;
    const char* type;
    const char* help;
    double (*value)(const ConnectorStatus&, TimeNs now);
  };
  static const Series series[] = {
      {"tagstream_connector_up", "gauge", "1 while the connector is connected to its broker or device.",
       [](const ConnectorStatus& c, TimeNs) { return c.connected ? 1.0 : 0.0; }},
      {"tagstream_connector_messages_total", "counter", "Messages or poll answers received.",
       [](const ConnectorStatus& c, TimeNs) { return static_cast<double>(c.messages); }},
      {"tagstream_connector_samples_total", "counter", "Samples handed to ingest.",
       [](const ConnectorStatus& c, TimeNs) { return static_cast<double>(c.samples); }},
      {"tagstream_connector_errors_total", "counter",
       "Decode errors, timeouts, exceptions, lost connections.",
       [](const ConnectorStatus& c, TimeNs) { return static_cast<double>(c.errors); }},
      {"tagstream_connector_reconnects_total", "counter", "Connections made again after a loss.",
       [](const ConnectorStatus& c, TimeNs) { return static_cast<double>(c.reconnects); }},
      {"tagstream_connector_last_message_age_seconds", "gauge",
       "Seconds since the last message; -1 before the first.",
       [](const ConnectorStatus& c, TimeNs now) {
         return c.last_message ? static_cast<double>(now - c.last_message) / 1e9 : -1.0;
       }},
  };
  for (const Series& s : series) {
    out += "# HELP ";
    out += s.name;
    out += ' ';
    out += s.help;
    out += "\n# TYPE ";
    out += s.name;
    out += ' ';
    out += s.type;
    out += '\n';
    for (const ConnectorStatus& c : connectors) {
      out += s.name;
      out += "{connector=\"";
      append_label(out, c.name);
      out += "\",kind=\"";
      append_label(out, c.kind);
      out += "\"} ";
      append_json_number(out, s.value(c, now));
      out += '\n';
    }
  }
}

}  // namespace

std::string StatsSampler::json(const std::function<bool(std::string_view)>& may_list) const {
  const Rates r = rates();
  const ServerStats& st = server_.stats;
  std::string out = "{\"version\":";
  append_json_string(out, build_info().version);
  out += ",\"revision\":";
  append_json_string(out, build_info().revision);
  out += ",\"node\":";
  append_json_string(out, server_.config.node_id);
  field(out, "uptimeSeconds",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - server_.started).count());
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
  out += "},\"refused\":{";
  field(out, "connections", st.connections_refused.load(), false);
  field(out, "connectionsShed", st.connections_shed.load());
  field(out, "rateLimited", st.requests_rate_limited.load());
  field(out, "crossOrigin", st.requests_cross_origin.load());
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
  out += "},\"connectors\":";
  append_connectors_json(out, server_.services.devices);
  out += ",\"cluster\":";
  append_cluster_json(out, server_.services.cluster);
  out += ",\"deadband\":{";
  const DeadbandFilter* deadband = server_.services.deadband;
  field(out, "suppressedTotal", deadband ? deadband->suppressed() : std::uint64_t{0}, false);
  out += ",\"tags\":[";
  if (deadband) {
    bool first = true;
    for (const auto& [tag, n] : deadband->most_suppressed(kMaxListedTags)) {
      const std::string name = server_.registry.name(tag);
      if (may_list && !may_list(name)) continue;
      if (!first) out += ',';
      first = false;
      out += "{\"name\":";
      append_json_string(out, name);
      field(out, "suppressed", n);
      out += '}';
    }
  }
  out += "]},\"tagCount\":";
  append_json_integer(out, static_cast<std::int64_t>(server_.registry.size()));
  // The busiest tags only: with 100,000 tags a list of all of them would be
  // megabytes, polled every second by the status page.
  std::vector<std::size_t> order;
  order.reserve(r.tag_updates.size());
  for (std::size_t i = 0; i < r.tag_updates.size(); ++i)
    if (!may_list || may_list(server_.registry.name(static_cast<TagId>(i)))) order.push_back(i);
  const std::size_t listed = std::min(order.size(), kMaxListedTags);
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(listed), order.end(),
                    [&](std::size_t a, std::size_t b) {
                      return r.tag_updates[a] != r.tag_updates[b] ? r.tag_updates[a] > r.tag_updates[b]
                                                                  : a < b;
                    });
  out += ",\"tags\":[";
  for (std::size_t k = 0; k < listed; ++k) {
    const std::size_t i = order[k];
    if (k) out += ',';
    out += "{\"name\":";
    append_json_string(out, server_.registry.name(static_cast<TagId>(i)));
    field(out, "updatesPerSecond", r.tag_updates[i]);
    out += '}';
  }
  out += "]}";
  return out;
}

std::string StatsSampler::prometheus(std::string_view tag_pattern) const {
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
  // Prometheus' build-info convention: constant 1, the facts in labels, so
  // a query can join them onto any series of this node.
  const BuildInfo& build = build_info();
  out +=
      "# HELP tagstream_build_info The version, git revision and node id of this server.\n"
      "# TYPE tagstream_build_info gauge\n"
      "tagstream_build_info{version=\"";
  append_label(out, build.version);
  out += "\",revision=\"";
  append_label(out, build.revision);
  out += "\",node=\"";
  append_label(out, server_.config.node_id);
  out += "\"} 1\n";
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
  metric("tagstream_connections_refused_total", "counter",
         "Connections over a connection cap, answered 503/429.",
         static_cast<double>(st.connections_refused.load()));
  metric("tagstream_connections_shed_total", "counter",
         "Connections closed at once for want of a descriptor.",
         static_cast<double>(st.connections_shed.load()));
  metric("tagstream_requests_rate_limited_total", "counter", "Requests over a client's rate, answered 429.",
         static_cast<double>(st.requests_rate_limited.load()));
  metric("tagstream_requests_cross_origin_total", "counter", "Cross-site writes refused with 403.",
         static_cast<double>(st.requests_cross_origin.load()));
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
  metric("tagstream_tags", "gauge", "Tags in the registry.", static_cast<double>(server_.registry.size()));
  metric("tagstream_tags_max", "gauge", "The most tags the registry creates (--max-tags).",
         static_cast<double>(server_.registry.max_tags()));
  metric("tagstream_tag_limit_refusals_total", "counter",
         "Write requests refused (429) by a cap on creating tags; nothing of them was written.",
         static_cast<double>(st.tag_limit_refusals.load()));
  if (const DeadbandFilter* deadband = server_.services.deadband)
    metric("tagstream_deadband_suppressed_total", "counter",
           "Samples inside their tag's deadband, neither stored nor sent.",
           static_cast<double>(deadband->suppressed()));
  if (server_.services.devices) append_connector_metrics(out, server_.services.devices->status(), now_ns());
  if (const SharedLog* log = server_.services.cluster) {
    const SharedLogStatus s = log->status();
    metric("tagstream_cluster_up", "gauge",
           "1 while this node is on the cluster's shared log (Redis); 0: it streams its own writes only.",
           s.up ? 1.0 : 0.0);
    metric("tagstream_cluster_appended_entries_total", "counter",
           "Entries this node appended to the shared log.", static_cast<double>(s.appended_entries));
    metric("tagstream_cluster_read_entries_total", "counter",
           "Entries this node read back from the shared log.", static_cast<double>(s.read_entries));
    metric("tagstream_cluster_kept_samples", "gauge",
           "Samples written while Redis was down, waiting to be appended.",
           static_cast<double>(s.kept_samples));
    metric("tagstream_cluster_dropped_samples_total", "counter",
           "Samples written while Redis was down past the bound: stored, never in other nodes' live views.",
           static_cast<double>(s.dropped_samples));
    metric("tagstream_cluster_reconnects_total", "counter", "Reconnections to Redis.",
           static_cast<double>(s.reconnects));
    metric("tagstream_cluster_local_seconds_total", "counter", "Seconds spent without the shared log.",
           static_cast<double>(s.local_seconds));
  }
  // A series per tag only on request: a scrape of every tag of a big plant
  // would be tens of megabytes and as many Prometheus series.
  if (tag_pattern.empty()) return out;
  std::vector<TagId> ids;
  if (is_valid_tag_name(tag_pattern)) {
    if (auto id = server_.registry.find(tag_pattern)) ids.push_back(*id);
  } else {
    ids = server_.registry.match(tag_pattern);
  }
  metric("tagstream_tag_series_matched", "gauge",
         "Tags matching ?tags=; at most the first 1000 by name get a series.",
         static_cast<double>(ids.size()));
  out +=
      "# HELP tagstream_tag_updates_per_second Live updates per second, per tag.\n"
      "# TYPE tagstream_tag_updates_per_second gauge\n";
  for (std::size_t k = 0; k < ids.size() && k < kMaxTagSeries; ++k) {
    const TagId id = ids[k];
    out += "tagstream_tag_updates_per_second{tag=\"";
    out += server_.registry.name(id);  // tag names need no escaping
    out += "\"} ";
    append_json_number(out, id < r.tag_updates.size() ? r.tag_updates[id] : 0.0);
    out += '\n';
  }
  return out;
}

}  // namespace tagstream
