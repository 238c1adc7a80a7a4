#include "http/setpoint.h"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cmath>
#include <memory>

#include "core/field_devices.h"
#include "core/json_text.h"
#include "core/live_state.h"
#include "http/audit_log.h"
#include "http/server_context.h"

namespace tagstream {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// The status each outcome answers with: the device's word is a gateway's
// answer (502/504), a device the server cannot reach is 503, and what the
// server refused itself is the client's error (409/422).
struct OutcomeAnswer {
  int status;
  std::string_view code;  // the error code; empty for success
};

OutcomeAnswer answer_of(SetpointOutcome outcome) {
  switch (outcome) {
    case SetpointOutcome::accepted: return {200, ""};
    case SetpointOutcome::refused: return {502, "device_refused"};
    case SetpointOutcome::timeout: return {504, "device_timeout"};
    case SetpointOutcome::unavailable: return {503, "device_unavailable"};
    case SetpointOutcome::not_writable: return {409, "not_writable"};
    case SetpointOutcome::out_of_range: return {422, "out_of_range"};
  }
  return {500, "internal"};
}

SetpointAnswer error_answer(int status, std::string_view code, std::string_view message) {
  return {status, error_json(code, message)};
}

void record(ServerContext& server, const Access& access, const std::string& tag,
            const std::optional<double>& previous, double value, const SetpointResult& result, int status) {
  AuditLog* log = server.services.audit;
  if (!log) return;
  boost::json::object event{{"action", "setpoint"},
                            {"token", access.who()},
                            {"client", access.client},
                            {"tag", tag},
                            {"value", value},
                            {"status", status},
                            {"outcome", to_string(result.outcome)}};
  event["old"] = previous ? boost::json::value(*previous) : boost::json::value(nullptr);
  if (result.readback) event["readback"] = *result.readback;
  if (!result.message.empty()) event["message"] = result.message;
  log->record(event);
}

std::string result_json(const std::string& tag, const std::optional<double>& previous, double value,
                        const SetpointResult& result, std::string_view code) {
  std::string body = "{";
  if (!code.empty()) {
    body += "\"code\":";
    append_json_string(body, code);
    body += ",\"message\":";
    append_json_string(body, result.message);
    body += ",";
  }
  body += "\"tag\":";
  append_json_string(body, tag);
  body += ",\"value\":";
  append_json_number(body, value);
  body += ",\"outcome\":";
  append_json_string(body, to_string(result.outcome));
  body += ",\"previous\":";
  if (previous)
    append_json_number(body, *previous);
  else
    body += "null";
  body += ",\"readback\":";
  if (result.readback)
    append_json_number(body, *result.readback);
  else
    body += "null";
  if (code.empty() && !result.message.empty()) {
    body += ",\"message\":";
    append_json_string(body, result.message);
  }
  body += "}";
  return body;
}

}  // namespace

Parsed<double> parse_setpoint_body(std::string_view body) {
  auto fail = [](std::string e) { return Parsed<double>{.value = std::nullopt, .error = std::move(e)}; };
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(body, ec);
  if (ec) return fail("the body must be JSON: {\"value\": NUMBER or true/false} (" + ec.message() + ")");
  const auto* object = doc.if_object();
  if (!object) return fail("the body must be a JSON object: {\"value\": NUMBER or true/false}");
  for (const auto& [key, v] : *object)
    if (key != "value") return fail("unknown field \"" + std::string(key) + "\": only \"value\" is read");
  const auto* v = object->if_contains("value");
  if (!v) return fail("\"value\" is required: {\"value\": NUMBER or true/false}");
  double value;
  if (v->is_bool())
    value = v->get_bool() ? 1 : 0;
  else if (v->is_int64())
    value = static_cast<double>(v->get_int64());
  else if (v->is_uint64())
    value = static_cast<double>(v->get_uint64());
  else if (v->is_double())
    value = v->get_double();
  else
    return fail("\"value\" must be a number or true/false");
  if (!std::isfinite(value)) return fail("\"value\" must be finite");
  return {.value = value, .error = {}};
}

void perform_setpoint_write(ServerContext& server, const Access& access, const std::string& tag, double value,
                            std::function<void(SetpointAnswer)> done) {
  const auto id = server.registry.find(tag);
  if (!id) {
    done(error_answer(404, "unknown_tag", "no tag named " + tag));
    return;
  }
  if (!access.may(Scope::write, tag)) {
    SetpointResult refused{.outcome = SetpointOutcome::not_writable,
                           .message = "this token may not write " + tag,
                           .readback = std::nullopt};
    record(server, access, tag, std::nullopt, value, refused, 403);
    done(error_answer(403, "forbidden", refused.message));
    return;
  }
  std::optional<double> previous;
  if (server.services.live) {
    const TagId ids[] = {*id};
    const auto current = server.services.live->current(ids);
    if (!current.empty() && current.front().present) previous = current.front().latest.value;
  }
  FieldDevices* devices = server.services.devices;
  if (!devices) {
    SetpointResult none{.outcome = SetpointOutcome::not_writable,
                        .message = "no connector is configured: no tag is writable",
                        .readback = std::nullopt};
    record(server, access, tag, previous, value, none, 409);
    done({409, result_json(tag, previous, value, none, "not_writable")});
    return;
  }
  // The audit line needs who asked; the request's Access may be gone by the
  // time the device answers, so what the line needs is copied.
  auto who = std::make_shared<Access>();
  who->principal = access.principal;
  who->client = access.client;
  devices->write(SetpointWrite{.tag = tag, .value = value, .who = std::string(access.who())},
                 [&server, who, tag, previous, value, done = std::move(done)](SetpointResult result) {
                   const auto [status, code] = answer_of(result.outcome);
                   record(server, *who, tag, previous, value, result, status);
                   done({status, result_json(tag, previous, value, result, code)});
                 });
}

asio::awaitable<SetpointAnswer> await_setpoint_write(ServerContext& server, const Access& access,
                                                     const std::string& tag, double value) {
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(SetpointAnswer)>(
      [&](auto handler) {
        // The completion handler is move-only and std::function copies.
        using Handler = decltype(handler);
        auto shared = std::make_shared<Handler>(std::move(handler));
        perform_setpoint_write(server, access, tag, value, [shared](SetpointAnswer answer) {
          auto executor = asio::get_associated_executor(*shared);
          asio::post(executor, [shared, answer = std::move(answer)]() mutable {
            std::move (*shared)(std::move(answer));
          });
        });
      },
      asio::use_awaitable);
}

asio::awaitable<HttpResponse> handle_setpoint(const HttpRequest& req, const std::string& tag,
                                              ServerContext& server, const Access& access) {
  // A setpoint is one number: a body of more than a little JSON is not one.
  constexpr std::size_t kMaxSetpointBody = 1024;
  if (req.body().size() > kMaxSetpointBody)
    co_return error_response(http::status::payload_too_large, "body_too_large",
                             "a setpoint body is at most " + std::to_string(kMaxSetpointBody) + " bytes",
                             req.version(), req.keep_alive());
  auto value = parse_setpoint_body(req.body());
  if (!value)
    co_return error_response(http::status::bad_request, "bad_value", value.error, req.version(),
                             req.keep_alive());
  SetpointAnswer answer = co_await await_setpoint_write(server, access, tag, *value);
  co_return json_response(static_cast<http::status>(answer.status), std::move(answer.body), req.version(),
                          req.keep_alive());
}

}  // namespace tagstream
