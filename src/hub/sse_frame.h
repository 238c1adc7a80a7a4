#pragma once
// Server-Sent Events framing (WHATWG "text/event-stream") and the JSON
// encoding of points. A frame is serialized once and shared, immutable, by
// every connection that sends it.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/aggregate.h"
#include "core/change.h"
#include "core/interval.h"

namespace tagstream {

using FramePtr = std::shared_ptr<const std::string>;

/// Appends one event. Multi-line `data` becomes several `data:` lines (any of
/// CR, LF, CRLF splits a line), so the client reassembles it exactly.
void append_sse_event(std::string& out, std::string_view event, std::string_view data,
                      std::optional<Seq> id = std::nullopt, std::optional<int> retry_ms = std::nullopt);

FramePtr make_sse_frame(std::string_view event, std::string_view data, std::optional<Seq> id = std::nullopt,
                        std::optional<int> retry_ms = std::nullopt);

/// Appends a JSON string literal, escaped.
void append_json_string(std::string& out, std::string_view s);
/// Appends a JSON number: shortest round-trip form; non-finite as null.
void append_json_number(std::string& out, double v);
void append_json_integer(std::string& out, std::int64_t v);

/// One point of a `data` event, as JSON. Raw: {"tag","t","v","q"};
/// aggregated: {"tag","t","avg","min","max","first","last","count","q"};
/// t is epoch milliseconds (bucket start for aggregates).
void append_point_json(std::string& out, std::string_view tag, const Sample& s);
void append_point_json(std::string& out, std::string_view tag, const Aggregate& a);

/// Builds `data` events: {"interval":"minute","points":[...]}.
class DataEventBuilder {
 public:
  explicit DataEventBuilder(Interval interval);
  /// Starts a point: returns the buffer to append one point's JSON to.
  std::string& next_point();
  std::size_t points() const { return points_; }
  std::size_t bytes() const { return json_.size(); }
  /// The finished event with `id: last_seq`; the builder is reset.
  FramePtr finish(Seq last_seq);

 private:
  Interval interval_;
  std::string json_;
  std::size_t points_ = 0;
};

}  // namespace tagstream
