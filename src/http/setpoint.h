#pragma once
// Operator writes (issue 16): `POST /api/tags/{name}/value` and the same
// message over the WebSocket both come here, so the checks, the device call
// and the audit line are one piece of code whatever the transport.
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "http/access.h"
#include "http/responses.h"

namespace tagstream {

struct ServerContext;

/// The answer to one write: an HTTP status and the JSON body both
/// transports send. 2xx only when the device accepted the value.
struct SetpointAnswer {
  int status = 0;
  std::string body;
};

/// The value of a write request's JSON body (`{"value": 42.5}` or
/// `{"value": true}`), or why there is none.
Parsed<double> parse_setpoint_body(std::string_view body);

/// Checks the tag exists and `access` may write it, hands the value to the
/// device the tag comes from (limits are checked before it leaves), records
/// the audit line (who, tag, old value, new value, outcome) and answers.
/// `done` is called exactly once, on the caller's thread when nothing was
/// sent to a device, else on a connector's thread.
void perform_setpoint_write(ServerContext& server, const Access& access, const std::string& tag, double value,
                            std::function<void(SetpointAnswer)> done);

/// perform_setpoint_write for a coroutine on an I/O thread: resumes there.
boost::asio::awaitable<SetpointAnswer> await_setpoint_write(ServerContext& server, const Access& access,
                                                            const std::string& tag, double value);

/// `POST /api/tags/{name}/value`.
boost::asio::awaitable<HttpResponse> handle_setpoint(const HttpRequest& req, const std::string& tag,
                                                     ServerContext& server, const Access& access);

}  // namespace tagstream
