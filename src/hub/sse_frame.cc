#include "hub/sse_frame.h"

namespace tagstream {

void append_sse_event(std::string& out, std::string_view event, std::string_view data, std::optional<Seq> id,
                      std::optional<int> retry_ms) {
  if (retry_ms) {
    out += "retry: ";
    out += std::to_string(*retry_ms);
    out += '\n';
  }
  if (id) {
    out += "id: ";
    out += std::to_string(*id);
    out += '\n';
  }
  if (!event.empty()) {
    out += "event: ";
    out += event;
    out += '\n';
  }
  // Each line of the payload is its own data: field. CR, LF and CRLF all end
  // a line for the client, so all three must split here.
  std::size_t pos = 0;
  while (true) {
    const std::size_t end = data.find_first_of("\r\n", pos);
    out += "data: ";
    out += data.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    out += '\n';
    if (end == std::string_view::npos) break;
    pos = end + 1;
    if (data[end] == '\r' && pos < data.size() && data[pos] == '\n') ++pos;
  }
  out += '\n';
}

FramePtr make_sse_frame(std::string_view event, std::string_view data, std::optional<Seq> id,
                        std::optional<int> retry_ms) {
  auto frame = std::make_shared<std::string>();
  frame->reserve(data.size() + event.size() + 48);
  append_sse_event(*frame, event, data, id, retry_ms);
  return frame;
}

DataEventBuilder::DataEventBuilder(Interval interval) : interval_(interval) {}

std::string& DataEventBuilder::next_point() {
  if (points_ == 0) {
    json_ = "{\"interval\":\"";
    json_ += to_string(interval_);
    json_ += "\",\"points\":[";
  } else {
    json_ += ',';
  }
  ++points_;
  return json_;
}

FramePtr DataEventBuilder::finish(Seq last_seq) {
  if (points_ == 0) {  // no point: still the well-formed object, with an empty array
    json_ = "{\"interval\":\"";
    json_ += to_string(interval_);
    json_ += "\",\"points\":[";
  }
  json_ += "]}";
  auto frame = std::make_shared<std::string>();
  frame->reserve(json_.size() + 40);
  *frame += "id: ";
  *frame += std::to_string(last_seq);
  *frame += "\nevent: data\ndata: ";
  *frame += json_;  // single line: JSON we produce never contains a raw newline
  *frame += "\n\n";
  json_.clear();
  points_ = 0;
  return frame;
}

}  // namespace tagstream
