// What an open, idle stream costs the server in heap: the goal is under
// 4 KiB (the benchmark measures ~1.7 KB of PSS). A stream that kept its
// HTTP session's coroutine frames and Beast stream cost ~8 KB.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "store/store_writer.h"
#include "support.h"

namespace tagstream::test {
namespace {

/// Opens a stream on a bare socket (no heap on this side) and waits for its
/// `connected` event. Returns the fd, or -1.
int open_stream(unsigned short port, const std::string& tag) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char request[256];
  const int len =
      std::snprintf(request, sizeof request,
                    "GET /api/sse/stream?tags[]=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", tag.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::send(fd, request, static_cast<std::size_t>(len), MSG_NOSIGNAL) != len) {
    ::close(fd);
    return -1;
  }
  char buf[4096];
  std::size_t have = 0;
  while (have < sizeof buf - 1) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;
    const ssize_t n = ::recv(fd, buf + have, sizeof buf - 1 - have, 0);
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
    buf[have] = '\0';
    if (std::strstr(buf, "event: connected") && std::strstr(std::strstr(buf, "event: connected"), "\n\n"))
      return fd;
  }
  ::close(fd);
  return -1;
}

TEST(StreamMemory, AnIdleStreamCostsTheServerUnder4KiBOfHeap) {
  if (kSanitized) GTEST_SKIP() << "the sanitizers replace malloc: mallinfo2 does not see the heap";
  ServerConfig config = test_config();
  config.max_streams_per_client = 1000;
  TestServer server(config);
  constexpr int kStreams = 400;
  // A tag each, as dashboards watching different things; tags and their
  // values exist before the measurement (they are not the streams' cost).
  std::vector<std::string> tags;
  for (int i = 0; i < kStreams + 1; ++i) {
    tags.push_back("plant.unit" + std::to_string(i) + ".flow");
    server.tag(tags.back());
    server.push(tags.back(), i, now_ns());
  }
  // One stream opened and closed first: one-time allocations (per-thread
  // caches, indexes sized to the tag ids) are not the streams' cost either.
  {
    const int fd = open_stream(server.port(), tags.back());
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  // Measured once the server has let go of that stream and written the
  // values out, so neither is freed during the measurement.
  ASSERT_TRUE(eventually([&] { return server.app().stats().streams_closed.load() >= 1; }))
      << "the server never noticed the first stream close";
  ASSERT_TRUE(eventually([&] { return server.app().writer().pending_samples() == 0; }))
      << "the store never wrote the values out";
  std::vector<int> fds;
  fds.reserve(kStreams);
  const std::size_t before = heap_in_use_bytes();
  for (int i = 0; i < kStreams; ++i) {
    const int fd = open_stream(server.port(), tags[static_cast<std::size_t>(i)]);
    ASSERT_GE(fd, 0) << "stream " << i;
    fds.push_back(fd);
  }
  const std::size_t after = heap_in_use_bytes();
  const double per_stream = (static_cast<double>(after) - static_cast<double>(before)) / kStreams;
  for (int fd : fds) ::close(fd);
  RecordProperty("heap_bytes_per_idle_stream", static_cast<int>(per_stream));
  EXPECT_LT(per_stream, 4096.0) << "heap per open idle stream";
  EXPECT_GT(per_stream, 0.0);
}

}  // namespace
}  // namespace tagstream::test
