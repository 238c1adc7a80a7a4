#include "http/ws_protocol.h"

#include <boost/json.hpp>
#include <cmath>

#include "core/json_text.h"

namespace tagstream {

namespace json = boost::json;

namespace {

WsMessageError refuse(std::string code, std::string message) {
  return {std::move(code), std::move(message), {}, {}, false};
}

/// An id a client chose: 1 to `max` bytes of printable ASCII or UTF-8, so it
/// can be echoed in a message and a log line without surprises.
bool usable_id(std::string_view id, std::size_t max) {
  if (id.empty() || id.size() > max || !is_valid_utf8(id)) return false;
  for (char c : id)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return true;
}

/// A field that must be a string when present: nullptr when absent; sets
/// `bad` when it is something else.
const json::string* string_field(const json::object& o, std::string_view key, bool& bad) {
  const json::value* v = o.if_contains(key);
  if (!v) return nullptr;
  if (!v->is_string()) {
    bad = true;
    return nullptr;
  }
  return &v->get_string();
}

WsParseResult parse_subscribe(const json::object& o, std::string id) {
  WsParseResult r;
  auto fail = [&](std::string code, std::string message) {
    r.error = refuse(std::move(code), std::move(message));
    r.error.subscription = id;
    return r;
  };
  // The subscription's fields become the query an SSE stream would send,
  // checked by the same parser: the same errors, the same limits.
  ParsedTarget target;
  target.path = "/api/ws";
  const json::value* tags = o.if_contains("tags");
  if (tags) {
    if (!tags->is_array()) return fail("bad_field", "tags must be an array of tag names and patterns");
    for (const json::value& t : tags->get_array()) {
      if (!t.is_string()) return fail("bad_field", "tags must be an array of tag names and patterns");
      const std::string_view entry = t.get_string();
      // The query form splits a value at commas; here each entry is one.
      if (entry.find(',') != std::string_view::npos)
        return fail("bad_tag", "a tag entry holds one name or pattern; a comma is not part of either");
      if (entry.empty()) continue;
      target.params.emplace_back("tags", std::string(entry));
      if (target.params.size() > kMaxStreamTags) break;  // the parser says too_many_tags
    }
  }
  bool bad = false;
  if (const json::string* iv = string_field(o, "interval", bad)) target.params.emplace_back("interval", *iv);
  if (bad) return fail("bad_field", "interval must be a string: raw, second, minute, hour or day");
  if (const json::value* rate = o.if_contains("rate"); rate && !rate->is_null()) {
    if (rate->is_uint64() || (rate->is_int64() && rate->get_int64() >= 0))
      target.params.emplace_back(
          "rate", std::to_string(rate->is_uint64() ? rate->get_uint64()
                                                   : static_cast<std::uint64_t>(rate->get_int64())));
    else
      return fail("bad_rate", "rate must be a whole number of milliseconds");
  }
  if (const json::value* last = o.if_contains("lastEventId"); last && !last->is_null()) {
    if (last->is_string())
      target.params.emplace_back("lastEventId", std::string(last->get_string()));
    else if (last->is_uint64())
      target.params.emplace_back("lastEventId", std::to_string(last->get_uint64()));
    else if (last->is_int64() && last->get_int64() >= 0)
      target.params.emplace_back("lastEventId", std::to_string(last->get_int64()));
    else
      return fail("bad_last_event_id",
                  "lastEventId must be an event id this server sent (an unsigned integer)");
  }
  StreamQueryResult query = parse_stream_query(target);
  if (!query) return fail(std::move(query.error.code), std::move(query.error.message));
  r.value = WsSubscribe{std::move(id), std::move(*query)};
  return r;
}

WsParseResult parse_write(const json::object& o) {
  WsParseResult r;
  bool bad = false;
  const json::string* request_id = string_field(o, "requestId", bad);
  if (bad || !request_id || !usable_id(*request_id, kWsMaxRequestIdBytes)) {
    r.error = refuse("bad_request_id", "a write needs a requestId: a string of 1 to " +
                                           std::to_string(kWsMaxRequestIdBytes) + " printable bytes");
    return r;
  }
  const std::string rid(*request_id);
  auto fail = [&](std::string code, std::string message) {
    r.error = refuse(std::move(code), std::move(message));
    r.error.request_id = rid;
    return r;
  };
  const json::string* tag = string_field(o, "tag", bad);
  if (bad || !tag || tag->empty()) return fail("bad_field", "a write needs the tag's name as a string");
  const json::value* value = o.if_contains("value");
  if (!value || !(value->is_number() || value->is_bool()))
    return fail("bad_field", "a write needs a value: a number or a boolean");
  const double v = value->is_bool() ? (value->get_bool() ? 1.0 : 0.0) : value->to_number<double>();
  if (!std::isfinite(v)) return fail("bad_field", "the value must be a finite number");
  r.value = WsWrite{rid, std::string(*tag), v};
  return r;
}

}  // namespace

WsParseResult parse_ws_message(std::string_view text) {
  WsParseResult r;
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 8;  // no message of the protocol nests deeper
  json::value doc = json::parse(text, ec, {}, options);
  if (ec || !doc.is_object()) {
    r.error = refuse("bad_message", ec ? "a message must be a JSON object: " + ec.message()
                                       : std::string("a message must be a JSON object"));
    r.error.fatal = true;
    return r;
  }
  const json::object& o = doc.get_object();
  bool bad = false;
  const json::string* type = string_field(o, "type", bad);
  if (!type) {
    r.error = refuse("missing_type", "a message needs a \"type\": subscribe, unsubscribe, write or ping");
    return r;
  }
  if (*type == "ping") {
    r.value = WsPing{};
    return r;
  }
  if (*type == "write") return parse_write(o);
  if (*type == "subscribe" || *type == "unsubscribe") {
    const json::string* id = string_field(o, "id", bad);
    if (bad || !id || !usable_id(*id, kWsMaxSubscriptionIdBytes)) {
      r.error = refuse("bad_id", "a " + std::string(*type) + " message needs an \"id\": a string of 1 to " +
                                     std::to_string(kWsMaxSubscriptionIdBytes) + " printable bytes");
      return r;
    }
    if (*type == "subscribe") return parse_subscribe(o, std::string(*id));
    r.value = WsUnsubscribe{std::string(*id)};
    return r;
  }
  std::string shown(std::string_view(*type).substr(0, 40));
  if (!is_valid_utf8(shown)) shown = "?";
  r.error = refuse("unknown_type",
                   "unknown message type \"" + shown + "\": expected subscribe, unsubscribe, write or ping");
  return r;
}

WsEvent ws_event_from_sse(std::string_view frame) {
  std::string_view event = "message";  // SSE's default event name
  std::string_view id;
  std::string data;
  bool first_data = true;
  while (!frame.empty()) {
    const std::size_t end = frame.find('\n');
    const std::string_view line = frame.substr(0, end);
    frame = end == std::string_view::npos ? std::string_view() : frame.substr(end + 1);
    if (line.empty()) break;  // the end of the event
    const std::size_t colon = line.find(':');
    const std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
    if (field == "event") {
      event = value;
    } else if (field == "id") {
      id = value;
    } else if (field == "data") {
      if (!first_data) data += '\n';
      data += value;
      first_data = false;
    }
  }
  WsEvent out;
  auto text = std::make_shared<std::string>();
  text->reserve(data.size() + event.size() + id.size() + 40);
  *text += "{\"event\":";
  append_json_string(*text, event);
  *text += ",\"sub\":";
  out.split = text->size();
  if (!id.empty()) {
    *text += ",\"id\":";
    append_json_string(*text, id);
  }
  *text += ",\"data\":";
  *text += data.empty() ? std::string_view("null") : std::string_view(data);
  *text += '}';
  out.text = std::move(text);
  return out;
}

WsEvent ws_event_of(const FramePtr& frame) {
  // Holding the frame keeps its address from being reused by another.
  thread_local FramePtr last_frame;
  thread_local WsEvent last_event;
  if (frame != last_frame) {
    last_event = ws_event_from_sse(*frame);
    last_frame = frame;
  }
  return last_event;
}

WsEvent ws_event(std::string_view event, std::string_view data_json) {
  WsEvent out;
  auto text = std::make_shared<std::string>("{\"event\":");
  append_json_string(*text, event);
  *text += ",\"sub\":";
  out.split = text->size();
  *text += ",\"data\":";
  *text += data_json;
  *text += '}';
  out.text = std::move(text);
  return out;
}

FramePtr ws_message(std::string_view event, std::string_view data_json, std::string_view extra) {
  auto text = std::make_shared<std::string>("{\"event\":");
  append_json_string(*text, event);
  if (!extra.empty()) {
    *text += ',';
    *text += extra;
  }
  *text += ",\"data\":";
  *text += data_json;
  *text += '}';
  return text;
}

std::shared_ptr<const std::string> ws_json_string(std::string_view id) {
  auto text = std::make_shared<std::string>();
  append_json_string(*text, id);
  return text;
}

}  // namespace tagstream
