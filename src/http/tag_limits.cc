#include "http/tag_limits.h"

#include <boost/beast/http/field.hpp>

namespace tagstream {

namespace http = boost::beast::http;

std::optional<HttpResponse> ensure_tags_within_limits(ServerContext& server, const HttpRequest& req,
                                                      const std::string& client,
                                                      std::span<const TagHint> hints,
                                                      std::vector<TagId>& ids) {
  const HttpOptions& config = server.config;
  enum class Limit { none, per_request, per_minute } hit = Limit::none;
  const auto now = NewTagBudget::Clock::now();
  EnsuredTags r = server.registry.ensure_all(hints, [&](std::size_t n) {
    if (n > config.max_new_tags_per_request) {
      hit = Limit::per_request;
      return false;
    }
    if (!server.new_tags.take(client, n, now)) {
      hit = Limit::per_minute;
      return false;
    }
    return true;
  });
  if (r.refused == TagRefusal::none) {
    ids = std::move(r.ids);
    return std::nullopt;
  }
  server.stats.tag_limit_refusals.fetch_add(1, std::memory_order_relaxed);
  const std::string needs =
      "the request needs " + std::to_string(r.new_tags) + " new tags; nothing was written";
  std::string code, message;
  std::chrono::seconds retry_after{60};
  if (r.refused == TagRefusal::max_tags) {
    code = "tag_limit_reached";
    message = "the server holds " + std::to_string(server.registry.size()) + " tags, at most " +
              std::to_string(server.registry.max_tags()) + " (--max-tags); " + needs;
  } else if (hit == Limit::per_request) {
    code = "too_many_new_tags_per_request";
    message = "at most " + std::to_string(config.max_new_tags_per_request) +
              " new tags per request (--max-new-tags-per-request); " + needs;
  } else {
    code = "too_many_new_tags_per_minute";
    message = "at most " + std::to_string(config.max_new_tags_per_minute) +
              " new tags per minute per client (--max-new-tags-per-minute); " + needs;
    retry_after = server.new_tags.retry_after(client, now);
  }
  auto res = error_response(http::status::too_many_requests, code, message, req.version(), req.keep_alive());
  res.set(http::field::retry_after, std::to_string(retry_after.count()));
  return res;
}

}  // namespace tagstream
