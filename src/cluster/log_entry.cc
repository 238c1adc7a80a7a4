#include "cluster/log_entry.h"

#include <boost/json.hpp>
#include <charconv>

namespace tagstream::cluster {

namespace {

template <class T>
bool parse_number(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

/// Splits off the text before `sep`; false when there is none.
bool take(std::string_view& rest, char sep, std::string_view& field) {
  const auto at = rest.find(sep);
  if (at == std::string_view::npos) return false;
  field = rest.substr(0, at);
  rest.remove_prefix(at + 1);
  return true;
}

}  // namespace

std::string encode_samples(std::span<const NamedSample> samples) {
  std::string out;
  out.reserve(samples.size() * 48);
  char buf[32];
  for (const NamedSample& s : samples) {
    out += s.name;
    out += '\t';
    out += std::to_string(s.sample.ts);
    out += '\t';
    const auto r = std::to_chars(buf, buf + sizeof buf, s.sample.value);
    out.append(buf, r.ptr);
    out += '\t';
    out += static_cast<char>('0' + static_cast<int>(s.sample.quality));
    out += '\n';
  }
  return out;
}

Parsed<std::vector<NamedSample>> decode_samples(std::string_view text) {
  Parsed<std::vector<NamedSample>> out;
  std::vector<NamedSample> samples;
  std::size_t line = 0;
  while (!text.empty()) {
    ++line;
    std::string_view name, ts, value, quality;
    if (!take(text, '\t', name) || !take(text, '\t', ts) || !take(text, '\t', value) ||
        !take(text, '\n', quality)) {
      out.error = "sample " + std::to_string(line) + ": not NAME\\tTS\\tVALUE\\tQUALITY";
      return out;
    }
    NamedSample s;
    int q = -1;
    if (!is_valid_tag_name(name) || !parse_number(ts, s.sample.ts) || !parse_number(value, s.sample.value) ||
        !parse_number(quality, q) || q < 0 || q > 2) {
      out.error = "sample " + std::to_string(line) + ": a field is malformed";
      return out;
    }
    s.name = name;
    s.sample.quality = static_cast<Quality>(q);
    samples.push_back(std::move(s));
  }
  out.value = std::move(samples);
  return out;
}

std::string encode_tags(std::span<const TagInfo> tags) {
  boost::json::array a;
  a.reserve(tags.size());
  for (const TagInfo& t : tags)
    a.push_back(boost::json::array{boost::json::string(t.name), boost::json::string(t.unit),
                                   boost::json::string(t.description),
                                   boost::json::string(std::string(to_string(t.type)))});
  return boost::json::serialize(a);
}

Parsed<std::vector<TagInfo>> decode_tags(std::string_view text) {
  Parsed<std::vector<TagInfo>> out;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) {
    out.error = "tags: not a JSON array";
    return out;
  }
  std::vector<TagInfo> tags;
  for (const auto& item : v.as_array()) {
    const auto* fields = item.if_array();
    if (!fields || fields->size() != 4 || !(*fields)[0].is_string() || !(*fields)[1].is_string() ||
        !(*fields)[2].is_string() || !(*fields)[3].is_string()) {
      out.error = "tags: an item is not [name, unit, description, type]";
      return out;
    }
    TagInfo t;
    t.name = (*fields)[0].as_string();
    t.unit = (*fields)[1].as_string();
    t.description = (*fields)[2].as_string();
    const auto type = parse_data_type((*fields)[3].as_string());
    if (!is_valid_tag_name(t.name) || !type || !unit_error(t.unit).empty() ||
        !description_error(t.description).empty()) {
      out.error = "tags: an item is not a valid tag";
      return out;
    }
    t.type = *type;
    tags.push_back(std::move(t));
  }
  out.value = std::move(tags);
  return out;
}

Parsed<Seq> entry_seq(std::string_view stream_id) {
  Parsed<Seq> out;
  std::string_view ms;
  Seq seq = 0;
  if (!take(stream_id, '-', ms) || !parse_number(ms, seq)) {
    out.error = "entry id " + std::string(stream_id) + " is not <id>-<n>";
    return out;
  }
  out.value = seq;
  return out;
}

}  // namespace tagstream::cluster
