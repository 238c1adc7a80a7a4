#pragma once
// One connection to Redis (hiredis, blocking, with timeouts), for the
// cluster's shared log. Not thread safe: each user thread has its own.
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/parsed.h"

struct redisContext;
struct redisReply;

namespace tagstream::cluster {

/// Where Redis is: redis://[[user]:password@]host[:port][/db].
struct RedisAddress {
  std::string host = "127.0.0.1";
  unsigned short port = 6379;
  std::string user;
  std::string password;
  int db = 0;
  /// host:port, for logs and status pages (never the password).
  std::string endpoint() const;
};

Parsed<RedisAddress> parse_redis_url(std::string_view url);

/// A reply, owned. Throws std::runtime_error from the accessors on a type
/// the caller did not expect.
class RedisReply {
 public:
  explicit RedisReply(redisReply* reply) : reply_(reply) {}
  bool is_error() const;
  bool is_nil() const;
  bool is_array() const;
  std::string_view text() const;  // string, status or error
  long long integer() const;
  std::size_t size() const;  // array elements
  const redisReply* raw() const { return reply_.get(); }

 private:
  struct Free {
    void operator()(redisReply* r) const;
  };
  std::unique_ptr<redisReply, Free> reply_;
};

/// A view over a (nested) reply element.
struct ReplyView {
  const redisReply* r;
  bool is_array() const;
  bool is_nil() const;
  std::size_t size() const;
  ReplyView operator[](std::size_t i) const;
  std::string_view text() const;
};

class RedisConnection {
 public:
  /// Connects, authenticates and selects the database. Throws
  /// std::runtime_error with the reason when it cannot.
  RedisConnection(const RedisAddress& address, std::chrono::milliseconds timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  /// Sends a command (binary-safe arguments) and waits for its reply. An
  /// error reply is returned; a lost connection or a timeout throws
  /// std::runtime_error, after which the connection is broken.
  RedisReply command(std::span<const std::string_view> args);
  RedisReply command(std::initializer_list<std::string_view> args) {
    return command(std::span<const std::string_view>(args.begin(), args.size()));
  }
  /// The read timeout for the next commands (a blocking XREAD waits longer).
  void set_timeout(std::chrono::milliseconds timeout);
  bool broken() const { return broken_; }
  /// Any thread: makes a command blocked in another thread return at once
  /// (with an error), so a blocking XREAD does not hold up a shutdown.
  void interrupt();

 private:
  redisContext* context_ = nullptr;
  bool broken_ = false;
};

}  // namespace tagstream::cluster
