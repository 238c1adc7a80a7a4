#pragma once
// The request loop of the ingest and history load generators: one HTTP/1.1
// connection kept alive across requests, opened again when the server closes
// it or a request fails on the wire. One request at a time; Asio coroutines
// on the caller's io_context, not thread-safe.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <vector>

namespace tagstream_bench {

class KeepAliveClient {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  struct Exchange {
    enum class Outcome { answered, connect_failed, transport_failed };
    Outcome outcome = Outcome::answered;
    std::string error;  // "connect: ..." or "transport: ...", unless answered
    double ms = 0;      // answered: from the write of the request to the end of the answer
  };

  KeepAliveClient(boost::asio::any_io_executor executor,
                  std::vector<boost::asio::ip::tcp::endpoint> endpoints);
  ~KeepAliveClient();
  KeepAliveClient(const KeepAliveClient&) = delete;
  KeepAliveClient& operator=(const KeepAliveClient&) = delete;

  /// Sends `request` (connecting first if no connection is open) and reads
  /// the answer into `response`. A request with an empty body and no
  /// Content-Length (a GET) goes out without one. After a transport failure,
  /// or an answer without keep-alive, the connection is closed and the next
  /// exchange connects again.
  boost::asio::awaitable<Exchange> exchange(const Request& request, Response& response);

 private:
  void close();

  boost::beast::tcp_stream stream_;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
};

}  // namespace tagstream_bench
