#pragma once
// A lean text/event-stream scanner for the load generator. The client must
// cost far less per event than the server it measures (both share two
// cores), so unlike tagstream's WHATWG parser (src/client/sse_parser.h,
// byte by byte, copying every field) this one finds whole events in the
// received bytes with memchr and hands out views of them, copying only an
// event split across two reads. It understands what both servers send: LF or
// CRLF line ends, `event:`, `data:` (several lines joined with LF), `id:`,
// `retry:` and comments; it does not handle lone CR line ends or a BOM.
// Like an EventSource, it keeps the last event id (set when an event is
// dispatched, from the `id:` lines before it) and the last `retry:` value,
// for a reconnect with Last-Event-ID after the server's delay.
#include <cstring>
#include <string>
#include <string_view>

namespace tagstream_bench {

class SseScanner {
 public:
  explicit SseScanner(std::size_t max_event_bytes = 1 << 20) : max_(max_event_bytes) {}

  void reset() { partial_.clear(); }

  /// The id of the last dispatched event that had one (or that an earlier
  /// event set): what a browser sends as Last-Event-ID. Kept across reset().
  const std::string& last_id() const { return last_id_; }
  /// Milliseconds of the last `retry:` field, or -1 if none came.
  long retry_ms() const { return retry_ms_; }
  /// Whether the event being dispatched (inside on_event) had an id line.
  bool event_has_id() const { return event_has_id_; }

  /// Calls on_event(type, data) for every complete event in the bytes (type
  /// "message" when the event names none). Returns false when an event grows
  /// past the bound.
  template <class OnEvent>
  bool feed(std::string_view bytes, OnEvent&& on_event) {
    if (!partial_.empty()) {
      partial_.append(bytes);
      const std::size_t used = scan(partial_, on_event);
      partial_.erase(0, used);
    } else {
      const std::size_t used = scan(bytes, on_event);
      partial_.assign(bytes.substr(used));
    }
    return partial_.size() <= max_;
  }

 private:
  /// Dispatches the complete events at the start of `buf`; returns the bytes
  /// they took.
  template <class OnEvent>
  std::size_t scan(std::string_view buf, OnEvent& on_event) {
    std::size_t event_start = 0, pos = 0;
    std::string_view type, data, id;
    bool multi = false, has_id = false;
    while (pos < buf.size()) {
      const void* nl = std::memchr(buf.data() + pos, '\n', buf.size() - pos);
      if (!nl) break;
      const std::size_t eol = static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data());
      std::string_view line = buf.substr(pos, eol - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      pos = eol + 1;
      if (line.empty()) {  // blank line: dispatch (if the event had data)
        if (has_id) last_id_.assign(id);
        event_has_id_ = has_id;
        has_id = false;
        if (!data.empty() || multi)
          on_event(type.empty() ? std::string_view("message") : type,
                   multi ? std::string_view(joined_) : data);
        type = data = {};
        multi = false;
        event_start = pos;
        continue;
      }
      if (line.front() == ':') continue;  // comment
      const auto colon = line.find(':');
      std::string_view field = line.substr(0, colon), value;
      if (colon != std::string_view::npos) {
        value = line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      }
      if (field == "data") {
        if (data.empty() && !multi) {
          data = value.empty() ? std::string_view("", 0) : value;
          if (value.empty()) {  // an empty data line still makes an event
            joined_.clear();
            multi = true;
          }
        } else {
          if (!multi) joined_.assign(data);
          joined_ += '\n';
          joined_.append(value);
          multi = true;
        }
      } else if (field == "event") {
        type = value;
      } else if (field == "id") {
        if (value.find('\0') == std::string_view::npos) {
          id = value;
          has_id = true;
        }
      } else if (field == "retry") {
        if (!value.empty() && value.size() < 10 &&
            value.find_first_not_of("0123456789") == std::string_view::npos)
          retry_ms_ = std::stol(std::string(value));
      }
    }
    return event_start;
  }

  std::size_t max_;
  std::string partial_;
  std::string joined_;
  std::string last_id_;
  long retry_ms_ = -1;
  bool event_has_id_ = false;
};

}  // namespace tagstream_bench
