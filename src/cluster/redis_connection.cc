#include "cluster/redis_connection.h"

#include <hiredis/hiredis.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/url/parse.hpp>
#include <charconv>
#include <stdexcept>

namespace tagstream::cluster {

std::string RedisAddress::endpoint() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Parsed<RedisAddress> parse_redis_url(std::string_view text) {
  Parsed<RedisAddress> out;
  const auto url = boost::urls::parse_absolute_uri(text);
  if (!url) {
    out.error = "not a URL (expected redis://HOST[:PORT][/DB])";
    return out;
  }
  if (url->scheme() != "redis") {
    out.error =
        "the scheme must be redis:// (TLS to Redis is not supported; use a tunnel or a private network)";
    return out;
  }
  RedisAddress a;
  if (url->host().empty()) {
    out.error = "no host (expected redis://HOST[:PORT][/DB])";
    return out;
  }
  a.host = url->host_address();
  if (url->has_port()) {
    const auto port = url->port();
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      out.error = "the port must be 1..65535";
      return out;
    }
    a.port = static_cast<unsigned short>(value);
  }
  if (url->has_userinfo()) {
    a.user = url->user();
    a.password = url->password();
  }
  std::string path = url->path();
  if (!path.empty() && path.front() == '/') path.erase(0, 1);
  if (!path.empty()) {
    int db = -1;
    const auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
    if (ec != std::errc{} || end != path.data() + path.size() || db < 0 || db > 1000) {
      out.error = "the path must be a database number (redis://HOST:PORT/0)";
      return out;
    }
    a.db = db;
  }
  if (url->has_query() || url->has_fragment()) {
    out.error = "no query or fragment is understood";
    return out;
  }
  out.value = std::move(a);
  return out;
}

void RedisReply::Free::operator()(redisReply* r) const {
  if (r) freeReplyObject(r);
}
bool RedisReply::is_error() const {
  return reply_->type == REDIS_REPLY_ERROR;
}
bool RedisReply::is_nil() const {
  return reply_->type == REDIS_REPLY_NIL;
}
bool RedisReply::is_array() const {
  return reply_->type == REDIS_REPLY_ARRAY;
}
std::string_view RedisReply::text() const {
  return ReplyView{reply_.get()}.text();
}
long long RedisReply::integer() const {
  if (reply_->type == REDIS_REPLY_INTEGER) return reply_->integer;
  throw std::runtime_error("redis: expected an integer reply, got " + std::string(text()));
}
std::size_t RedisReply::size() const {
  return ReplyView{reply_.get()}.size();
}

bool ReplyView::is_array() const {
  return r->type == REDIS_REPLY_ARRAY;
}
bool ReplyView::is_nil() const {
  return r->type == REDIS_REPLY_NIL;
}
std::size_t ReplyView::size() const {
  return r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
}
ReplyView ReplyView::operator[](std::size_t i) const {
  if (r->type != REDIS_REPLY_ARRAY || i >= r->elements)
    throw std::runtime_error("redis: reply has no element " + std::to_string(i));
  return ReplyView{r->element[i]};
}
std::string_view ReplyView::text() const {
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR: return {r->str, r->len};
    default: throw std::runtime_error("redis: expected a string reply");
  }
}

namespace {
timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}
}  // namespace

RedisConnection::RedisConnection(const RedisAddress& address, std::chrono::milliseconds timeout) {
  context_ = redisConnectWithTimeout(address.host.c_str(), address.port, to_timeval(timeout));
  if (!context_) throw std::runtime_error("redis: out of memory");
  if (context_->err) {
    const std::string why = context_->errstr;
    redisFree(context_);
    context_ = nullptr;
    throw std::runtime_error("redis " + address.endpoint() + ": " + why);
  }
  set_timeout(timeout);
  const auto check = [&](RedisReply reply, const char* what) {
    if (reply.is_error())
      throw std::runtime_error("redis " + address.endpoint() + ": " + what + ": " +
                               std::string(reply.text()));
  };
  if (!address.password.empty()) {
    if (address.user.empty())
      check(command({"AUTH", address.password}), "AUTH");
    else
      check(command({"AUTH", address.user, address.password}), "AUTH");
  }
  if (address.db != 0) check(command({"SELECT", std::to_string(address.db)}), "SELECT");
}

RedisConnection::~RedisConnection() {
  if (context_) redisFree(context_);
}

void RedisConnection::interrupt() {
  if (context_ && context_->fd >= 0) ::shutdown(context_->fd, SHUT_RDWR);
}

void RedisConnection::set_timeout(std::chrono::milliseconds timeout) {
  if (context_ && redisSetTimeout(context_, to_timeval(timeout)) != REDIS_OK) broken_ = true;
}

RedisReply RedisConnection::command(std::span<const std::string_view> args) {
  if (broken_ || !context_) throw std::runtime_error("redis: connection lost");
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (std::string_view a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  void* reply = redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data());
  if (!reply) {
    broken_ = true;
    throw std::runtime_error(std::string("redis: ") + (context_->err ? context_->errstr : "no reply"));
  }
  return RedisReply(static_cast<redisReply*>(reply));
}

}  // namespace tagstream::cluster
