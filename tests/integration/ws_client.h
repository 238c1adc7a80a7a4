#pragma once
// A small blocking WebSocket client for the tests of /api/ws: Beast's
// WebSocket over a real loopback socket, every wait bounded by a timeout.
// Beast's templates stay in ws_client.cc.
#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tagstream::test {

class WsClient {
 public:
  struct Options {
    std::vector<std::string> headers;  // extra "Name: value" lines on the upgrade request
    bool deflate = false;              // offer permessage-deflate
    int receive_buffer = 0;            // > 0 shrinks SO_RCVBUF (a client meant to fall behind)
  };

  WsClient();
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  /// Connects and sends the upgrade for `target`. True on 101; otherwise
  /// status() is the HTTP answer's and body() its body.
  bool connect(unsigned short port, const std::string& target, const Options& options);
  bool connect(unsigned short port, const std::string& target = "/api/ws") {
    return connect(port, target, Options{});
  }
  int status() const;
  const std::string& body() const;
  /// A header of the handshake's answer (lower-case name), "" if absent.
  std::string header(const std::string& lower_name) const;

  void send(const std::string& text);
  void send_binary(const std::string& bytes);
  /// The next message as text, or nullopt on timeout, close or error.
  std::optional<std::string> read(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// The next message parsed as JSON (an object), skipping heartbeats.
  std::optional<boost::json::object> next(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// The next message whose "event" is `event` (and whose "sub" is `sub`
  /// when given), skipping others.
  std::optional<boost::json::object> next_of(const std::string& event, const std::string& sub = "",
                                             std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Whether the server closed the connection within the timeout (reading
  /// and dropping messages meanwhile); close_code() is its close frame's.
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  std::optional<int> close_code() const;
  /// Sends a close frame and waits for the server's.
  void close();
  int fd() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// {"type":"subscribe","id":id,"tags":[...],...} with `extra` members
/// ("\"interval\":\"minute\"", say) spliced in.
std::string subscribe_message(const std::string& id, const std::vector<std::string>& tags,
                              const std::string& extra = "");

}  // namespace tagstream::test
