#include "keepalive_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>

namespace tagstream_bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::chrono::seconds kConnectTimeout{10};
// A server that stops answering fails the request instead of hanging the run.
constexpr std::chrono::seconds kRequestTimeout{120};
// Above Beast's 8 MB default: a raw history query over a long range can
// answer more than that.
constexpr std::uint64_t kMaxAnswerBytes = 1ULL << 31;

}  // namespace

KeepAliveClient::KeepAliveClient(asio::any_io_executor executor, std::vector<tcp::endpoint> endpoints)
    : stream_(std::move(executor)), endpoints_(std::move(endpoints)) {}

KeepAliveClient::~KeepAliveClient() {
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

void KeepAliveClient::close() {
  boost::system::error_code ignored;
  stream_.socket().close(ignored);
  connected_ = false;
  buffer_.clear();
}

asio::awaitable<KeepAliveClient::Exchange> KeepAliveClient::exchange(const Request& request,
                                                                     Response& response) {
  using Clock = std::chrono::steady_clock;
  Exchange out;
  if (!connected_) {
    stream_.expires_after(kConnectTimeout);
    auto [ec, ep] = co_await stream_.async_connect(endpoints_, asio::as_tuple(asio::use_awaitable));
    if (ec) {
      out.outcome = Exchange::Outcome::connect_failed;
      out.error = "connect: " + ec.message();
      co_return out;
    }
    stream_.socket().set_option(tcp::no_delay(true));
    connected_ = true;
  }
  const auto t0 = Clock::now();
  stream_.expires_after(kRequestTimeout);
  auto [wec, wn] = co_await http::async_write(stream_, request, asio::as_tuple(asio::use_awaitable));
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxAnswerBytes);
  boost::system::error_code rec;
  if (!wec) {
    auto [ec, rn] = co_await http::async_read(stream_, buffer_, parser, asio::as_tuple(asio::use_awaitable));
    rec = ec;
  }
  out.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (wec || rec) {
    out.outcome = Exchange::Outcome::transport_failed;
    out.error = "transport: " + (wec ? wec : rec).message();
    close();
    co_return out;
  }
  response = parser.release();
  if (!response.keep_alive()) close();
  co_return out;
}

}  // namespace tagstream_bench
