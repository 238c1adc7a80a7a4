#include "http/send_batch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tagstream {
namespace {

/// A connected loopback TCP pair: `server` is non-blocking, as a stream's
/// socket is; `client` is the reading end.
struct TcpPair {
  int server = -1;
  int client = -1;
  TcpPair() {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener, 1), 0);
    EXPECT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    client = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    server = ::accept(listener, nullptr, nullptr);
    ::close(listener);
    ::fcntl(server, F_SETFL, O_NONBLOCK);
  }
  ~TcpPair() {
    if (server >= 0) ::close(server);
    if (client >= 0) ::close(client);
  }
  TcpPair(const TcpPair&) = delete;
  TcpPair& operator=(const TcpPair&) = delete;

  /// Reads exactly `n` bytes from the client end (waiting at most 5 s).
  std::string read_client(std::size_t n) const {
    std::string out;
    char buf[65536];
    while (out.size() < n) {
      pollfd p{client, POLLIN, 0};
      if (::poll(&p, 1, 5000) != 1) break;
      const ssize_t r = ::read(client, buf, std::min(sizeof buf, n - out.size()));
      if (r <= 0) break;
      out.append(buf, static_cast<std::size_t>(r));
    }
    return out;
  }
};

iovec buffer_of(const std::string& s) {
  return {const_cast<char*>(s.data()), s.size()};
}

class SendBatchTest : public ::testing::TestWithParam<bool> {
 protected:
  /// Streams register their sockets with the ring; so do the tests.
  void register_all(std::initializer_list<const TcpPair*> pairs) {
    for (const TcpPair* p : pairs) batch.register_socket(p->server);
  }
  SendBatch batch{GetParam()};
};

TEST_P(SendBatchTest, SendsEachGatherListToItsSocketInOrder) {
  TcpPair a, b;
  register_all({&a, &b});
  const std::string h = "HTTP/1.1 200 OK\r\n\r\n", e1 = "data: 1\n\n", e2 = "data: 2\n\n", e3 = "data: 3\n\n";
  const iovec to_a[] = {buffer_of(h), buffer_of(e1)};
  const iovec to_b[] = {buffer_of(e2)};
  const iovec to_a_again[] = {buffer_of(e3), buffer_of(e2)};
  batch.add(a.server, to_a);
  batch.add(b.server, to_b);
  batch.add(a.server, to_a_again);
  EXPECT_EQ(batch.size(), 3u);
  const auto results = batch.send_all();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0], static_cast<long>(h.size() + e1.size()));
  EXPECT_EQ(results[1], static_cast<long>(e2.size()));
  EXPECT_EQ(results[2], static_cast<long>(e3.size() + e2.size()));
  EXPECT_EQ(batch.size(), 0u) << "a sent batch is empty";
  EXPECT_EQ(a.read_client(h.size() + 2 * e1.size() + e2.size()), h + e1 + e3 + e2);
  EXPECT_EQ(b.read_client(e2.size()), e2);
}

TEST_P(SendBatchTest, AFullSocketAnswersEagainWithoutHoldingUpTheOthers) {
  TcpPair stalled, reading;
  register_all({&stalled, &reading});
  const std::string big(64 * 1024, 'x');
  const std::string event = "data: still moving\n\n";
  long stalled_took = 0;
  long last = 0;
  // The stalled client never reads: its socket fills within a few MB.
  for (int round = 0; round < 1000; ++round) {
    const iovec to_stalled[] = {buffer_of(big)};
    const iovec to_reading[] = {buffer_of(event)};
    batch.add(stalled.server, to_stalled);
    batch.add(reading.server, to_reading);
    const auto results = batch.send_all();
    ASSERT_EQ(results.size(), 2u);
    last = results[0];
    EXPECT_EQ(results[1], static_cast<long>(event.size())) << "round " << round;
    ASSERT_EQ(reading.read_client(event.size()), event);
    if (last < 0) break;
    stalled_took += last;
  }
  EXPECT_EQ(last, -EAGAIN) << "a full socket answers at once, not later";
  EXPECT_GT(stalled_took, 0);
  // What it took arrives whole once the client reads.
  const std::string got = stalled.read_client(static_cast<std::size_t>(stalled_took));
  EXPECT_EQ(got.size(), static_cast<std::size_t>(stalled_took));
  EXPECT_EQ(got.find_first_not_of('x'), std::string::npos);
}

TEST_P(SendBatchTest, AClosedPeerIsAnErrorNotASignal) {
  TcpPair pair;
  register_all({&pair});
  // Reset, not a graceful close: the next send fails at once.
  const linger hard{1, 0};
  ::setsockopt(pair.client, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  ::close(pair.client);
  pair.client = -1;
  const std::string event = "data: x\n\n";
  const iovec buffers[] = {buffer_of(event)};
  long result = 0;
  for (int i = 0; i < 100 && result >= 0; ++i) {
    batch.add(pair.server, buffers);
    result = batch.send_all()[0];
    if (result >= 0) ::usleep(1000);
  }
  // Had SIGPIPE been raised, the test process would be gone.
  EXPECT_TRUE(result == -ECONNRESET || result == -EPIPE) << result;
}

TEST_P(SendBatchTest, MoreSendsThanOneSubmissionHolds) {
  TcpPair a, b;
  register_all({&a});  // and b not: both kinds in one submission
  std::vector<std::string> events;
  for (int i = 0; i < 2500; ++i) events.push_back("id: " + std::to_string(i) + "\ndata: v\n\n");
  std::string want_a, want_b;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const iovec one[] = {buffer_of(events[i])};
    batch.add(i % 2 == 0 ? a.server : b.server, one);
    (i % 2 == 0 ? want_a : want_b) += events[i];
  }
  const auto results = batch.send_all();
  ASSERT_EQ(results.size(), events.size());
  for (std::size_t i = 0; i < events.size(); ++i)
    ASSERT_EQ(results[i], static_cast<long>(events[i].size())) << i;
  EXPECT_EQ(a.read_client(want_a.size()), want_a);
  EXPECT_EQ(b.read_client(want_b.size()), want_b);
}

TEST_P(SendBatchTest, AForgottenSocketClosesAndItsNumberServesTheNextOne) {
  const std::string first = "data: for the first client\n\n", second = "data: for the second client\n\n";
  auto old_pair = std::make_unique<TcpPair>();
  register_all({old_pair.get()});
  const iovec to_old[] = {buffer_of(first)};
  batch.add(old_pair->server, to_old);
  ASSERT_EQ(batch.send_all()[0], static_cast<long>(first.size()));
  ASSERT_EQ(old_pair->read_client(first.size()), first);

  // Closing after forget_socket ends the connection: the client reads EOF.
  const int number = old_pair->server;
  batch.forget_socket(number);
  ::close(old_pair->server);
  old_pair->server = -1;
  pollfd p{old_pair->client, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1) << "the ring still holds the closed socket open";
  char byte;
  EXPECT_EQ(::read(old_pair->client, &byte, 1), 0);

  // The next socket given the same number gets its own data, not the old
  // connection's.
  TcpPair next;
  if (next.client == number) {  // the lowest free number went to the client end
    const int moved = ::dup(next.client);
    ::close(next.client);
    next.client = moved;
  }
  ASSERT_EQ(::dup2(next.server, number), number);
  ::close(next.server);
  next.server = number;
  register_all({&next});
  const iovec to_next[] = {buffer_of(second)};
  batch.add(next.server, to_next);
  ASSERT_EQ(batch.send_all()[0], static_cast<long>(second.size()));
  EXPECT_EQ(next.read_client(second.size()), second);
}

INSTANTIATE_TEST_SUITE_P(Backends, SendBatchTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "IoUring" : "Sendmsg"; });

TEST(SendBatch, UsesIoUringWhereTheKernelAllowsIt) {
  io_uring probe;
  const bool kernel_allows = io_uring_queue_init(8, &probe, 0) == 0;
  if (kernel_allows) io_uring_queue_exit(&probe);
  EXPECT_EQ(SendBatch(true).backend(),
            kernel_allows ? SendBatch::Backend::io_uring : SendBatch::Backend::sendmsg);
  EXPECT_EQ(SendBatch(false).backend(), SendBatch::Backend::sendmsg);
}

}  // namespace
}  // namespace tagstream
