#include "ws_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

namespace tagstream::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct WsClient::Impl {
  asio::io_context io;
  websocket::stream<tcp::socket> ws{io};
  beast::flat_buffer buffer;
  websocket::response_type response;
  bool open = false;
  std::optional<int> close_code;

  /// Runs the io_context until `done` or the timeout; on timeout the
  /// socket is closed so the operation finishes (with an error).
  template <class Done>
  bool run(const Done& done, std::chrono::milliseconds timeout) {
    io.restart();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done() && std::chrono::steady_clock::now() < deadline) io.run_one_until(deadline);
    if (done()) return true;
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws).close(ignored);
    open = false;
    io.restart();
    io.run_for(std::chrono::seconds(1));  // the aborted operation completes
    return false;
  }
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) {}
WsClient::~WsClient() = default;

bool WsClient::connect(unsigned short port, const std::string& target, const Options& options) {
  Impl& s = *impl_;
  tcp::socket& socket = beast::get_lowest_layer(s.ws);
  socket.open(tcp::v4());
  if (options.receive_buffer > 0)
    socket.set_option(asio::socket_base::receive_buffer_size(options.receive_buffer));
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  s.ws.set_option(
      websocket::stream_base::decorator([headers = options.headers](websocket::request_type& req) {
        for (const std::string& line : headers) {
          const auto colon = line.find(':');
          std::string value = line.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.erase(0, 1);
          req.set(line.substr(0, colon), value);
        }
      }));
  if (options.deflate) {
    websocket::permessage_deflate pmd;
    pmd.client_enable = true;
    s.ws.set_option(pmd);
  }
  s.ws.read_message_max(64 * 1024 * 1024);
  bool done = false;
  boost::system::error_code result;
  s.ws.async_handshake(s.response, "127.0.0.1:" + std::to_string(port), target,
                       [&](boost::system::error_code ec) {
                         result = ec;
                         done = true;
                       });
  if (!s.run([&] { return done; }, std::chrono::seconds(5))) return false;
  s.open = !result;
  return s.open;
}

int WsClient::status() const {
  return impl_->response.result_int();
}

const std::string& WsClient::body() const {
  return impl_->response.body();
}

std::string WsClient::header(const std::string& lower_name) const {
  const auto it = impl_->response.find(lower_name);
  return it == impl_->response.end() ? std::string() : std::string(it->value());
}

void WsClient::send(const std::string& text) {
  boost::system::error_code ec;
  impl_->ws.text(true);
  impl_->ws.write(asio::buffer(text), ec);
}

void WsClient::send_binary(const std::string& bytes) {
  boost::system::error_code ec;
  impl_->ws.binary(true);
  impl_->ws.write(asio::buffer(bytes), ec);
  impl_->ws.text(true);
}

std::optional<std::string> WsClient::read(std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  if (!s.open) return std::nullopt;
  bool done = false;
  boost::system::error_code result;
  s.ws.async_read(s.buffer, [&](boost::system::error_code ec, std::size_t) {
    result = ec;
    done = true;
  });
  if (!s.run([&] { return done; }, timeout)) return std::nullopt;
  if (result) {
    // The server's close frame may have been read even when replying to it
    // failed (the server closed its end first).
    if (s.ws.reason().code != websocket::close_code::none)
      s.close_code = static_cast<int>(s.ws.reason().code);
    s.open = false;
    return std::nullopt;
  }
  std::string text = beast::buffers_to_string(s.buffer.data());
  s.buffer.consume(s.buffer.size());
  return text;
}

std::optional<boost::json::object> WsClient::next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto text = read(left);
    if (!text) return std::nullopt;
    boost::json::value v = boost::json::parse(*text);
    if (!v.is_object()) return std::nullopt;
    if (v.as_object().contains("event") && v.as_object().at("event") == "heartbeat") continue;
    return std::move(v.as_object());
  }
}

std::optional<boost::json::object> WsClient::next_of(const std::string& event, const std::string& sub,
                                                     std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto message = next(left);
    if (!message) return std::nullopt;
    if (message->at("event") != event.c_str()) continue;
    if (!sub.empty() && (!message->contains("sub") || message->at("sub") != sub.c_str())) continue;
    return message;
  }
}

bool WsClient::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (impl_->open) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (!read(left) && impl_->open) return false;
  }
  return true;
}

std::optional<int> WsClient::close_code() const {
  return impl_->close_code;
}

void WsClient::close() {
  Impl& s = *impl_;
  if (!s.open) return;
  bool done = false;
  s.ws.async_close(websocket::close_code::normal, [&](boost::system::error_code) { done = true; });
  s.run([&] { return done; }, std::chrono::seconds(5));
  s.open = false;
}

int WsClient::fd() const {
  return const_cast<Impl&>(*impl_).ws.next_layer().native_handle();
}

std::string subscribe_message(const std::string& id, const std::vector<std::string>& tags,
                              const std::string& extra) {
  boost::json::array list;
  for (const std::string& t : tags) list.emplace_back(t);
  std::string text = "{\"type\":\"subscribe\",\"id\":" + boost::json::serialize(boost::json::value(id)) +
                     ",\"tags\":" + boost::json::serialize(list);
  if (!extra.empty()) text += "," + extra;
  return text + "}";
}

}  // namespace tagstream::test
