#include "client/sse_parser.h"

#include <algorithm>
#include <climits>

namespace tagstream {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool all_ascii_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

SseParser::SseParser(std::size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

void SseParser::reset_stream() {
  bom_prefix_.clear();
  bom_checked_ = false;
  pending_cr_ = false;
  line_.clear();
  line_started_ = false;
  line_is_comment_ = false;
  event_bytes_ = 0;
  data_.clear();
  type_.clear();
  // Browsers seed the new stream's id buffer with the id they resumed from, so
  // an event without `id:` after a reconnection still carries it.
  id_buffer_ = last_event_id_;
  id_set_in_event_ = false;
  error_.clear();
}

bool SseParser::feed(std::string_view bytes, const std::function<void(const SseEvent&)>& on_event) {
  if (!error_.empty()) return false;
  if (!bom_checked_) {
    // The BOM may arrive split over several feeds: hold its bytes until it is
    // known whether they are one.
    std::size_t take = std::min(kBom.size() - bom_prefix_.size(), bytes.size());
    bom_prefix_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (kBom.starts_with(bom_prefix_)) {
      if (bom_prefix_.size() < kBom.size()) return true;  // everything consumed, still undecided
      bom_checked_ = true;
      bom_prefix_.clear();
    } else {
      bom_checked_ = true;
      std::string held = std::move(bom_prefix_);
      bom_prefix_.clear();
      if (!feed_lines(held, on_event)) return false;
    }
  }
  return feed_lines(bytes, on_event);
}

bool SseParser::feed_lines(std::string_view bytes, const std::function<void(const SseEvent&)>& on_event) {
  while (!bytes.empty()) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (bytes.front() == '\n') {
        bytes.remove_prefix(1);
        continue;
      }
    }
    std::size_t end = bytes.find_first_of("\r\n");
    std::string_view chunk = bytes.substr(0, end);
    if (!chunk.empty()) {
      if (!line_started_) {
        line_started_ = true;
        line_is_comment_ = chunk.front() == ':';
      }
      // Comments are never interpreted, so they need not be kept: a long or
      // endless comment costs no memory.
      if (!line_is_comment_) {
        if (event_bytes_ + line_.size() + chunk.size() > max_event_bytes_) {
          error_ = "event larger than " + std::to_string(max_event_bytes_) + " bytes";
          return false;
        }
        line_.append(chunk);
      }
    }
    if (end == std::string_view::npos) return true;
    pending_cr_ = bytes[end] == '\r';
    bytes.remove_prefix(end + 1);
    end_line(on_event);
  }
  return true;
}

void SseParser::end_line(const std::function<void(const SseEvent&)>& on_event) {
  if (line_is_comment_) {
    ++comments_;
  } else if (!line_started_) {
    dispatch(on_event);
  } else {
    std::string_view line = line_;
    std::size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
      value = line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    process_field(field, value);
    event_bytes_ += line_.size();
  }
  line_.clear();
  line_started_ = false;
  line_is_comment_ = false;
}

void SseParser::process_field(std::string_view field, std::string_view value) {
  if (field == "event") {
    type_.assign(value);
  } else if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) {
      id_buffer_.assign(value);
      id_set_in_event_ = true;
    }
  } else if (field == "retry") {
    if (all_ascii_digits(value)) {
      // The spec's integer is unbounded; saturate rather than ignore a huge value.
      long long ms = 0;
      for (char c : value) {
        ms = ms * 10 + (c - '0');
        if (ms > INT_MAX) {
          ms = INT_MAX;
          break;
        }
      }
      retry_ms_ = static_cast<int>(ms);
    }
  }
  // Any other field is ignored, as the spec requires.
}

void SseParser::dispatch(const std::function<void(const SseEvent&)>& on_event) {
  // The id takes effect at the end of the event even when nothing is dispatched.
  last_event_id_ = id_buffer_;
  bool had_id = id_set_in_event_;
  id_set_in_event_ = false;
  event_bytes_ = 0;
  if (data_.empty()) {
    type_.clear();
    return;
  }
  SseEvent event;
  data_.pop_back();  // the "\n" appended after the last data line
  event.data = std::move(data_);
  if (!type_.empty()) event.type = std::move(type_);
  event.id = last_event_id_;
  event.has_id_field = had_id;
  data_.clear();
  type_.clear();
  on_event(event);
}

}  // namespace tagstream
