#include "connect/mqtt_topic.h"

#include <charconv>

namespace tagstream::mqtt {

namespace {

std::vector<std::string_view> levels(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

bool tag_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':' ||
         c == '-';
}

}  // namespace

std::string topic_filter_error(std::string_view filter) {
  if (filter.empty()) return "must not be empty";
  if (filter.size() > kMaxTopicFilterLength)
    return "is " + std::to_string(filter.size()) + " bytes long, at most " +
           std::to_string(kMaxTopicFilterLength) + " allowed";
  if (filter.find('\0') != std::string_view::npos) return "must not contain a NUL character";
  const auto parts = levels(filter);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto level = parts[i];
    if (level.find('#') != std::string_view::npos) {
      if (level != "#") return "'#' must be a whole level";
      if (i + 1 != parts.size()) return "'#' must be the last level";
    }
    if (level.find('+') != std::string_view::npos && level != "+") return "'+' must be a whole level";
  }
  return {};
}

std::size_t wildcard_count(std::string_view filter) {
  std::size_t n = 0;
  for (auto level : levels(filter))
    if (level == "+" || level == "#") ++n;
  return n;
}

bool match_topic(std::string_view filter, std::string_view topic, std::vector<std::string_view>& captures) {
  captures.clear();
  if (topic.empty()) return false;
  if (topic.front() == '$' && !filter.empty() && (filter.front() == '+' || filter.front() == '#'))
    return false;
  std::size_t f = 0;
  std::size_t t = 0;
  while (true) {
    const auto f_end = std::min(filter.find('/', f), filter.size());
    const auto level = filter.substr(f, f_end - f);
    if (level == "#") {
      // Matches the parent level too: `a/#` matches `a`.
      captures.push_back(topic.substr(t));
      return true;
    }
    const auto t_end = std::min(topic.find('/', t), topic.size());
    const auto part = topic.substr(t, t_end - t);
    if (level == "+") {
      captures.push_back(part);
    } else if (level != part) {
      captures.clear();
      return false;
    }
    const bool filter_done = f_end == filter.size();
    const bool topic_done = t_end == topic.size();
    if (filter_done || topic_done) {
      if (filter_done && topic_done) return true;
      // `a/#` also matches `a`: the filter's next level is a final `#`.
      if (topic_done && filter.substr(f_end) == "/#") {
        captures.push_back({});
        return true;
      }
      captures.clear();
      return false;
    }
    f = f_end + 1;
    t = t_end + 1;
  }
}

std::string tag_path(std::string_view path) {
  std::string out;
  out.reserve(path.size() + 1);
  bool level_empty = true;
  for (char c : path) {
    if (c == '/') {
      if (level_empty) out += '_';
      out += '.';
      level_empty = true;
      continue;
    }
    out += tag_char(c) ? c : '_';
    level_empty = false;
  }
  if (level_empty) out += '_';
  return out;
}

Parsed<TagTemplate> TagTemplate::parse(std::string_view text, std::size_t wildcards) {
  auto fail = [](std::string e) { return Parsed<TagTemplate>{.value = std::nullopt, .error = std::move(e)}; };
  if (text.empty()) return fail("must not be empty");
  TagTemplate out;
  out.text_ = std::string(text);
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '{') {
      const auto close = text.find('}', i);
      if (close == std::string_view::npos) return fail("'{' at " + std::to_string(i) + " is never closed");
      const auto name = text.substr(i + 1, close - i - 1);
      Piece piece;
      if (name == "topic") {
        piece.capture = -1;
      } else {
        int n = 0;
        const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
        if (name.empty() || ec != std::errc() || end != name.data() + name.size() || n < 1)
          return fail("{" + std::string(name) + "} is not a placeholder: use {1}..{N} or {topic}");
        if (static_cast<std::size_t>(n) > wildcards)
          return fail("{" + std::string(name) + "} but the topic filter has " + std::to_string(wildcards) +
                      " wildcard level(s)");
        piece.capture = n;
      }
      out.pieces_.push_back(std::move(piece));
      i = close + 1;
      continue;
    }
    if (!tag_char(c) && c != '.')
      return fail("character '" + std::string(1, c) + "' cannot be part of a tag name");
    if (out.pieces_.empty() || out.pieces_.back().capture != 0) out.pieces_.push_back({});
    out.pieces_.back().literal += c;
    ++i;
  }
  return {.value = std::move(out), .error = {}};
}

std::string TagTemplate::render(std::string_view topic, std::span<const std::string_view> captures) const {
  std::string out;
  for (const auto& piece : pieces_) {
    if (piece.capture == 0) {
      out += piece.literal;
    } else if (piece.capture == -1) {
      out += tag_path(topic);
    } else if (static_cast<std::size_t>(piece.capture) <= captures.size()) {
      out += tag_path(captures[piece.capture - 1]);
    }
  }
  return out;
}

}  // namespace tagstream::mqtt
