#pragma once
// An incremental parser for `text/event-stream`, following the WHATWG HTML
// "event stream interpretation" algorithm, for clients (`tagstream watch`,
// tests) that must see exactly what a browser's EventSource would see.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tagstream {

struct SseEvent {
  std::string type = "message";
  std::string data;
  std::string id;  // the last event id at dispatch (persists across events, as in EventSource)
  // True when this event's own lines set the id (an accepted `id:` field), so a
  // client can tell "this event has id 7" from "id 7 was the last one seen".
  bool has_id_field = false;
};

class SseParser {
 public:
  // The bound protects against a hostile or broken server: it limits the bytes
  // of the non-comment lines of one event (line endings excluded), including
  // the line still being read, so memory stays bounded even if the server
  // never ends a line.
  explicit SseParser(std::size_t max_event_bytes = 16 * 1024 * 1024);

  // Feeds bytes (any split, even mid-line or between CR and LF). Calls
  // on_event for each dispatched event. Returns false (and sets error()) if an
  // event exceeds max_event_bytes; after that every feed returns false until
  // reset_stream().
  bool feed(std::string_view bytes, const std::function<void(const SseEvent&)>& on_event);

  // Starts a new stream (a reconnection): the partial line and event are
  // discarded, as the spec requires at end of stream, and a BOM is stripped
  // again; the last event id, retry and comment count are kept.
  void reset_stream();

  const std::string& last_event_id() const { return last_event_id_; }
  std::optional<int> retry_ms() const { return retry_ms_; }  // last valid `retry:` seen
  std::size_t comments() const { return comments_; }         // comment lines seen (keep-alives)
  const std::string& error() const { return error_; }

 private:
  bool feed_lines(std::string_view bytes, const std::function<void(const SseEvent&)>& on_event);
  void end_line(const std::function<void(const SseEvent&)>& on_event);
  void process_field(std::string_view field, std::string_view value);
  void dispatch(const std::function<void(const SseEvent&)>& on_event);

  std::size_t max_event_bytes_;

  // Stream state, reset by reset_stream().
  std::string bom_prefix_;  // the first bytes of the stream while they may still be a BOM
  bool bom_checked_ = false;
  bool pending_cr_ = false;  // the last byte seen was CR: a following LF belongs to it
  std::string line_;         // the current line (empty for comments, which are not kept)
  bool line_started_ = false;
  bool line_is_comment_ = false;
  std::size_t event_bytes_ = 0;  // bytes of the completed lines of the current event
  std::string data_;
  std::string type_;
  std::string id_buffer_;
  bool id_set_in_event_ = false;
  std::string error_;

  // Kept across streams.
  std::string last_event_id_;
  std::optional<int> retry_ms_;
  std::size_t comments_ = 0;
};

}  // namespace tagstream
