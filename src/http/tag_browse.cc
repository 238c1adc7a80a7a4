#include "http/tag_browse.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <optional>
#include <unordered_map>

#include "core/json_text.h"
#include "core/natural_order.h"
#include "core/time.h"

namespace tagstream {

namespace asio = boost::asio;
namespace http = boost::beast::http;

void append_tag_json(std::string& out, const TagInfo& info, const LiveState::Latest& latest) {
  out += "{\"name\":";
  append_json_string(out, info.name);
  out += ",\"unit\":";
  append_json_string(out, info.unit);
  out += ",\"description\":";
  append_json_string(out, info.description);
  out += ",\"type\":\"";
  out += to_string(info.type);
  out += "\"";
  if (latest.present) {
    out += ",\"value\":";
    append_json_number(out, latest.sample.value);
    out += ",\"quality\":\"";
    out += to_string(latest.sample.quality);
    out += "\",\"t\":";
    append_json_integer(out, to_millis(latest.sample.ts));
  } else {
    out += ",\"value\":null,\"quality\":null,\"t\":null";
  }
  out += "}";
}

namespace {

HttpResponse bad_request(const HttpRequest& req, std::string_view code, std::string_view message) {
  return error_response(http::status::bad_request, code, message, req.version(), req.keep_alive());
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

/// Runs `work` on the reader pool (or here, when the server has none, as
/// in some unit set-ups) and returns its result.
template <typename Work>
asio::awaitable<std::invoke_result_t<Work>> off_thread(ServerContext& server, Work work) {
  if (!server.services.readers) co_return work();
  co_return co_await asio::co_spawn(
      *server.services.readers,
      [&work]() -> asio::awaitable<std::invoke_result_t<Work>> { co_return work(); }, asio::use_awaitable);
}

/// A `name` parameter that is a count from 0 to `most`; `fallback` when absent.
std::optional<std::size_t> count_param(const ParsedTarget& target, std::string_view name,
                                       std::size_t fallback, std::size_t most) {
  const auto text = target.get(name);
  if (!text || text->empty()) return fallback;
  const auto v = parse_unsigned(*text);
  if (!v || *v > most) return std::nullopt;
  return static_cast<std::size_t>(*v);
}

constexpr int kNoQuality = -1;

const char* quality_json(int q) {
  switch (q) {
    case 0: return "\"good\"";
    case 1: return "\"uncertain\"";
    case 2: return "\"bad\"";
    default: return "null";
  }
}

}  // namespace

asio::awaitable<HttpResponse> handle_tag_list(const HttpRequest& req, const ParsedTarget& target,
                                              ShardContext& shard, const Access& access) {
  ServerContext& server = shard.server;
  const std::string q = target.get("q").value_or("");
  const auto limit = count_param(target, "limit", 1000, kMaxTagPage);
  if (!limit || *limit == 0)
    co_return bad_request(req, "bad_limit",
                          "limit must be an integer from 1 to " + std::to_string(kMaxTagPage));
  const auto offset = count_param(target, "offset", 0, std::numeric_limits<std::size_t>::max());
  if (!offset) co_return bad_request(req, "bad_offset", "offset must be a non-negative integer");

  std::string body = co_await off_thread(server, [&]() -> std::string {
    TagRegistry& registry = server.registry;
    const auto order = server.tag_order.get(registry);
    const bool glob = q.find_first_of("*?") != std::string::npos;
    const std::string needle = lower(q);
    const bool every_tag = access.may_all(Scope::read);
    std::vector<TagId> page;
    std::vector<TagInfo> infos;
    std::size_t matched = 0;
    for (std::size_t i = 0; i < order->ids.size(); ++i) {
      const std::string& name = order->names[i];
      if (!every_tag && !access.may(Scope::read, name)) continue;
      std::optional<TagInfo> info;
      bool hit = q.empty();
      if (!hit) {
        const std::string lname = lower(name);
        hit = glob ? glob_match(needle, lname) : lname.find(needle) != std::string::npos;
        if (!hit && !glob) {
          info = registry.info(order->ids[i]);
          hit = info && (lower(info->description).find(needle) != std::string::npos ||
                         lower(info->unit).find(needle) != std::string::npos);
        }
      }
      if (!hit) continue;
      ++matched;
      if (matched <= *offset || page.size() >= *limit) continue;
      page.push_back(order->ids[i]);
      infos.push_back(info ? std::move(*info)
                           : registry.info(order->ids[i]).value_or(TagInfo{name, "", "", DataType::number}));
    }
    const auto latest = server.services.live->latest(page);
    std::string out = "{\"tags\":[";
    for (std::size_t i = 0; i < page.size(); ++i) {
      if (i) out += ',';
      append_tag_json(out, infos[i], latest[i]);
    }
    out += "],\"total\":";
    append_json_integer(out, static_cast<std::int64_t>(matched));
    out += ",\"offset\":";
    append_json_integer(out, static_cast<std::int64_t>(*offset));
    out += ",\"limit\":";
    append_json_integer(out, static_cast<std::int64_t>(*limit));
    out += "}";
    return out;
  });
  co_return json_response(http::status::ok, std::move(body), req.version(), req.keep_alive());
}

asio::awaitable<HttpResponse> handle_tag_tree(const HttpRequest& req, const ParsedTarget& target,
                                              ShardContext& shard, const Access& access) {
  ServerContext& server = shard.server;
  const std::string prefix = target.get("prefix").value_or("");
  if (!prefix.empty() && !is_valid_tag_name(prefix))
    co_return bad_request(req, "bad_prefix", "prefix must be empty or a dotted name ([A-Za-z0-9_.:-])");
  const auto limit = count_param(target, "limit", 1000, kMaxTreeChildren);
  if (!limit || *limit == 0)
    co_return bad_request(req, "bad_limit",
                          "limit must be an integer from 1 to " + std::to_string(kMaxTreeChildren));

  std::string body = co_await off_thread(server, [&]() -> std::string {
    const auto order = server.tag_order.get(server.registry);
    const std::string base = prefix.empty() ? std::string() : prefix + ".";
    const bool every_tag = access.may_all(Scope::read);
    struct Child {
      std::string label;
      std::size_t count = 0;
      std::size_t no_value = 0;
      bool tag = false;     // the child is itself a tag
      bool branch = false;  // names go on below it
      int worst = kNoQuality;
    };
    std::vector<Child> children;
    std::unordered_map<std::string_view, std::size_t> by_label;
    std::vector<TagId> ids;
    std::vector<std::size_t> child_of;  // per id: index in children, or SIZE_MAX for the prefix itself
    bool prefix_is_tag = false;
    for (std::size_t i = 0; i < order->ids.size(); ++i) {
      const std::string& name = order->names[i];
      const bool self = name == prefix;
      if (!self && !name.starts_with(base)) continue;
      if (!every_tag && !access.may(Scope::read, name)) continue;
      ids.push_back(order->ids[i]);
      if (self) {
        prefix_is_tag = true;
        child_of.push_back(SIZE_MAX);
        continue;
      }
      const std::string_view rest = std::string_view(name).substr(base.size());
      const auto dot = rest.find('.');
      const std::string_view label = rest.substr(0, dot);
      auto [it, inserted] = by_label.try_emplace(label, children.size());
      if (inserted) {
        children.emplace_back();
        children.back().label = std::string(label);
      }
      Child& child = children[it->second];
      ++child.count;
      if (dot == std::string_view::npos)
        child.tag = true;
      else
        child.branch = true;
      child_of.push_back(it->second);
    }
    const auto latest = server.services.live->latest(ids);
    int worst = kNoQuality;
    std::size_t no_value = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const bool present = latest[i].present;
      const int q = present ? static_cast<int>(latest[i].sample.quality) : kNoQuality;
      worst = std::max(worst, q);
      no_value += !present;
      if (child_of[i] == SIZE_MAX) continue;
      Child& child = children[child_of[i]];
      child.worst = std::max(child.worst, q);
      child.no_value += !present;
    }
    std::sort(children.begin(), children.end(),
              [](const Child& a, const Child& b) { return natural_less(a.label, b.label); });

    std::string out = "{\"prefix\":";
    append_json_string(out, prefix);
    out += ",\"count\":";
    append_json_integer(out, static_cast<std::int64_t>(ids.size()));
    out += ",\"noValue\":";
    append_json_integer(out, static_cast<std::int64_t>(no_value));
    out += ",\"worst\":";
    out += quality_json(worst);
    out += ",\"tag\":";
    out += prefix_is_tag ? "true" : "false";
    out += ",\"childCount\":";
    append_json_integer(out, static_cast<std::int64_t>(children.size()));
    out += ",\"children\":[";
    for (std::size_t i = 0; i < children.size() && i < *limit; ++i) {
      const Child& c = children[i];
      if (i) out += ',';
      out += "{\"name\":";
      append_json_string(out, base + c.label);
      out += ",\"label\":";
      append_json_string(out, c.label);
      out += ",\"count\":";
      append_json_integer(out, static_cast<std::int64_t>(c.count));
      out += ",\"noValue\":";
      append_json_integer(out, static_cast<std::int64_t>(c.no_value));
      out += ",\"worst\":";
      out += quality_json(c.worst);
      out += c.tag ? ",\"tag\":true" : ",\"tag\":false";
      out += c.branch ? ",\"branch\":true}" : ",\"branch\":false}";
    }
    out += "]}";
    return out;
  });
  co_return json_response(http::status::ok, std::move(body), req.version(), req.keep_alive());
}

asio::awaitable<HttpResponse> handle_layouts(const HttpRequest& req, const ParsedTarget& target,
                                             ShardContext& shard, const Access& access) {
  ServerContext& server = shard.server;
  LayoutStore& layouts = server.layouts;
  const std::string prefix = "/api/layouts/";
  const bool single = target.path.starts_with(prefix);
  const std::string name = single ? target.path.substr(prefix.size()) : std::string();
  const auto reply = [&](http::status status, std::string_view code, std::string_view message) {
    return error_response(status, code, message, req.version(), req.keep_alive());
  };

  if (!single) {
    auto entries = co_await off_thread(server, [&] { return layouts.list(); });
    std::string body = "{\"layouts\":[";
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (i) body += ',';
      body += "{\"name\":";
      append_json_string(body, entries[i].name);
      body += ",\"bytes\":";
      append_json_integer(body, static_cast<std::int64_t>(entries[i].bytes));
      body += ",\"modified\":";
      append_json_integer(body, entries[i].modified_ms);
      body += "}";
    }
    body += "],\"maxLayouts\":";
    append_json_integer(body, static_cast<std::int64_t>(kMaxLayouts));
    body += ",\"maxBytes\":";
    append_json_integer(body, static_cast<std::int64_t>(kMaxLayoutBytes));
    body += "}";
    co_return json_response(http::status::ok, std::move(body), req.version(), req.keep_alive());
  }
  if (!is_valid_layout_name(name))
    co_return bad_request(req, "bad_layout_name",
                          "a layout name is 1 to " + std::to_string(kMaxLayoutNameLength) +
                              " of [A-Za-z0-9_.-], not starting with a dot");

  if (req.method() == http::verb::get || req.method() == http::verb::head) {
    auto text = co_await off_thread(server, [&] { return layouts.load(name); });
    if (!text) co_return reply(http::status::not_found, "unknown_layout", "no layout named '" + name + "'");
    co_return json_response(http::status::ok, std::move(*text), req.version(), req.keep_alive());
  }

  // Saving or removing changes what every operator sees first: admin.
  if (!access.may(Scope::admin))
    co_return forbidden(req, "saving or removing a layout needs the admin scope");
  if (req.method() == http::verb::delete_) {
    const bool removed = co_await off_thread(server, [&] { return layouts.remove(name); });
    if (!removed)
      co_return reply(http::status::not_found, "unknown_layout", "no layout named '" + name + "'");
    HttpResponse res{http::status::no_content, req.version()};
    res.set(http::field::server, "tagstream");
    res.keep_alive(req.keep_alive());
    co_return res;
  }

  const std::string& text = req.body();
  if (text.size() > kMaxLayoutBytes)
    co_return reply(http::status::payload_too_large, "layout_too_large",
                    "a layout is at most " + std::to_string(kMaxLayoutBytes) + " bytes");
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(text, ec);
  if (ec || !doc.is_object())
    co_return bad_request(req, "invalid_json",
                          "a layout is a JSON object" + (ec ? " (" + ec.message() + ")" : std::string()));
  if (!layouts.enabled())
    co_return reply(http::status::service_unavailable, "layouts_unavailable", "this server keeps no layouts");
  const auto result = co_await off_thread(server, [&] { return layouts.save(name, text); });
  switch (result) {
    case LayoutStore::SaveResult::too_many:
      co_return reply(http::status::conflict, "too_many_layouts",
                      "the server keeps at most " + std::to_string(kMaxLayouts) +
                          " layouts: remove one or save over an existing name");
    case LayoutStore::SaveResult::unavailable:
      co_return reply(http::status::service_unavailable, "layouts_unavailable",
                      "this server keeps no layouts");
    case LayoutStore::SaveResult::failed:
      co_return reply(http::status::internal_server_error, "layout_not_saved",
                      "the layout could not be written");
    case LayoutStore::SaveResult::created:
    case LayoutStore::SaveResult::replaced: break;
  }
  std::string body = "{\"name\":";
  append_json_string(body, name);
  body += ",\"bytes\":";
  append_json_integer(body, static_cast<std::int64_t>(text.size()));
  body += "}";
  co_return json_response(
      result == LayoutStore::SaveResult::created ? http::status::created : http::status::ok, std::move(body),
      req.version(), req.keep_alive());
}

}  // namespace tagstream
