#pragma once
// Server-Sent Events framing (WHATWG "text/event-stream") and the `data`
// event of points (their JSON is core/point_json.h). A frame is serialized once and shared, immutable, by
// every connection that sends it.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/aggregate.h"
#include "core/change.h"
#include "core/interval.h"
#include "core/json_text.h"
#include "core/point_json.h"

namespace tagstream {

using FramePtr = std::shared_ptr<const std::string>;

/// Appends one event. Multi-line `data` becomes several `data:` lines (any of
/// CR, LF, CRLF splits a line), so the client reassembles it exactly.
void append_sse_event(std::string& out, std::string_view event, std::string_view data,
                      std::optional<Seq> id = std::nullopt, std::optional<int> retry_ms = std::nullopt);

FramePtr make_sse_frame(std::string_view event, std::string_view data, std::optional<Seq> id = std::nullopt,
                        std::optional<int> retry_ms = std::nullopt);

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
