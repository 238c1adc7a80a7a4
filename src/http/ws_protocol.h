#pragma once
// The messages of the WebSocket endpoint (/api/ws), apart from any socket:
// what a client may send, parsed and bounded; and the server's events, the
// same events an SSE stream carries, as JSON text messages. Pure: no I/O.
//
// A server message is {"event":E,"sub":S,...rest}. The hub serializes each
// SSE frame once for all its streams; a WebSocket connection turns such a
// frame into a WsEvent (once per frame and thread, see ws_event_of) whose
// text is everything but the subscription id, cut where the id goes, so a
// message goes out as three buffers: head, the subscription's id, tail.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/parsed.h"
#include "http/stream_query.h"
#include "hub/sse_frame.h"

namespace tagstream {

/// Bounds of one connection: a client message (Beast's read_message_max), a
/// subscription id, subscriptions held at once, and the request id of a write.
inline constexpr std::size_t kWsMaxMessageBytes = 64 * 1024;
inline constexpr std::size_t kWsMaxSubscriptionIdBytes = 64;
inline constexpr std::size_t kWsMaxSubscriptions = 16;
inline constexpr std::size_t kWsMaxRequestIdBytes = 64;
inline constexpr std::size_t kWsMaxWritesInFlight = 8;

struct WsSubscribe {
  std::string id;
  StreamQuery query;  // validated exactly as the SSE query is (parse_stream_query)
};
struct WsUnsubscribe {
  std::string id;
};
struct WsWrite {
  std::string request_id;
  std::string tag;
  double value = 0;
};
struct WsPing {};

using WsClientMessage = std::variant<WsSubscribe, WsUnsubscribe, WsWrite, WsPing>;

/// Why a client message was refused. `subscription` / `request_id` echo the
/// ids the message carried, when they could be read, so the client can tell
/// which request failed. `fatal`: the text is not a JSON object at all; the
/// connection closes (1008) after the error event.
struct WsMessageError {
  std::string code;
  std::string message;
  std::string subscription;
  std::string request_id;
  bool fatal = false;
};

using WsParseResult = Parsed<WsClientMessage, WsMessageError>;

/// Parses one text message. Codes: bad_message (not a JSON object; fatal),
/// missing_type, unknown_type, bad_id (subscribe/unsubscribe without a
/// usable id), bad_request_id, bad_field (a field of the wrong type), and for
/// subscribe every code of parse_stream_query (missing_tags, bad_tag,
/// too_many_tags, unknown_interval, bad_last_event_id).
[[nodiscard]] WsParseResult parse_ws_message(std::string_view text);

/// A server message cut where the subscription id goes: text[0, split) is
/// `{"event":E,"sub":`, text[split, end) the rest. Shared and immutable.
struct WsEvent {
  FramePtr text;
  std::size_t split = 0;
};

/// Turns one SSE event frame (as the hub builds them: optional retry and id
/// lines, an event line, data lines) into the WebSocket event with the same
/// event name, id (as a string) and data (JSON, as is).
[[nodiscard]] WsEvent ws_event_from_sse(std::string_view frame);

/// ws_event_from_sse of `frame`, remembered for the last frame this thread
/// converted: a hub frame goes to every member of a group in a row, so the
/// conversion is done once per frame, not once per subscriber.
[[nodiscard]] WsEvent ws_event_of(const FramePtr& frame);

/// An event with the subscription id cut out, as ws_event_from_sse makes:
/// `{"event":E,"sub":` + id + `,"data":DATA}`.
[[nodiscard]] WsEvent ws_event(std::string_view event, std::string_view data_json);

/// A whole message for no subscription: {"event":E,...extra,"data":DATA}.
/// `extra` is "" or `"key":value` members with no leading comma.
[[nodiscard]] FramePtr ws_message(std::string_view event, std::string_view data_json,
                                  std::string_view extra = {});

/// The id as the JSON string the messages carry (`"sub":` takes it as is).
[[nodiscard]] std::shared_ptr<const std::string> ws_json_string(std::string_view id);

}  // namespace tagstream
