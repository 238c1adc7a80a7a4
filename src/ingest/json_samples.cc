#include "ingest/json_samples.h"

#include <boost/json.hpp>
#include <cmath>
#include <cstdint>

#include "core/quality.h"
#include "core/time_parse.h"

namespace tagstream {

namespace json = boost::json;

namespace {

/// A user's string echoed in an error message: at most 64 bytes, cut on a
/// UTF-8 character boundary so the message stays valid UTF-8.
std::string quote(std::string_view s) {
  constexpr std::size_t kMax = 64;
  std::string out = "\"";
  if (s.size() <= kMax) {
    out.append(s);
    out += '"';
    return out;
  }
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  out.append(s.substr(0, cut));
  out += "\"...";
  return out;
}

std::string_view kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

/// Epoch milliseconds (a JSON number) to nanoseconds, if it fits TimeNs.
std::optional<TimeNs> millis_to_ns(const json::value& v) {
  if (v.is_int64()) {
    TimeNs out = 0;
    if (__builtin_mul_overflow(v.get_int64(), kNanosPerMilli, &out)) return std::nullopt;
    return out;
  }
  if (v.is_uint64()) {
    const std::uint64_t ms = v.get_uint64();
    if (ms > static_cast<std::uint64_t>(INT64_MAX / kNanosPerMilli)) return std::nullopt;
    return static_cast<TimeNs>(ms) * kNanosPerMilli;
  }
  // Split whole and fractional milliseconds so the nanoseconds are exact:
  // a double near 1.8e18 (the product) is only precise to 256 ns.
  double whole = 0;
  const double frac = std::modf(v.get_double(), &whole);
  constexpr double kMaxWholeMs = static_cast<double>(INT64_MAX / kNanosPerMilli);
  if (!std::isfinite(whole) || whole > kMaxWholeMs || whole < -kMaxWholeMs) return std::nullopt;
  TimeNs out = 0;
  if (__builtin_add_overflow(static_cast<TimeNs>(whole) * kNanosPerMilli,
                             static_cast<TimeNs>(std::llround(frac * static_cast<double>(kNanosPerMilli))),
                             &out)) {
    return std::nullopt;
  }
  return out;
}

/// One item; returns the error message (without the "item N: " prefix), or
/// an empty string on success.
std::string parse_item(const json::value& item, TimeNs now, std::chrono::nanoseconds max_ahead,
                       JsonSample& out) {
  const json::object* obj = item.if_object();
  if (!obj) return "must be an object, not " + std::string(kind_name(item));

  // tag
  const json::value* tag = obj->if_contains("tag");
  if (!tag || tag->is_null()) return "\"tag\" is required";
  const json::string* tag_str = tag->if_string();
  if (!tag_str) return "\"tag\" must be a string, not " + std::string(kind_name(*tag));
  const std::string_view name(tag_str->data(), tag_str->size());
  if (!is_valid_tag_name(name)) {
    return "invalid tag name " + quote(name) + " (" + tag_name_rule() + ")";
  }
  out.tag.assign(name);

  // ts
  const json::value* ts = obj->if_contains("ts");
  if (!ts || ts->is_null()) {
    out.sample.ts = now;
  } else if (const json::string* s = ts->if_string()) {
    const auto t = parse_time(std::string_view(s->data(), s->size()), now);
    if (!t) {
      return "\"ts\" is not a valid time: " + quote(std::string_view(s->data(), s->size())) +
             " (expected RFC 3339 like \"2026-11-25T10:00:00Z\", epoch digits, or \"now-15m\")";
    }
    out.sample.ts = *t;
  } else if (ts->is_number()) {
    const auto t = millis_to_ns(*ts);
    if (!t) return "\"ts\" is out of range (a number is epoch milliseconds)";
    out.sample.ts = *t;
  } else {
    return "\"ts\" must be a string or a number of epoch milliseconds, not " + std::string(kind_name(*ts));
  }
  if (std::string e = sample_time_error(out.sample.ts, now, max_ahead); !e.empty()) return "\"ts\": " + e;

  // value
  const json::value* value = obj->if_contains("value");
  if (!value) return "\"value\" is required";
  if (value->is_bool()) {
    out.sample.value = value->get_bool() ? 1.0 : 0.0;
    out.type = DataType::boolean;
  } else if (value->is_number()) {
    const double d = value->to_number<double>();
    if (!std::isfinite(d)) return "\"value\" must be a finite number";
    out.sample.value = d;
  } else {
    return "\"value\" must be a number or boolean, not " + std::string(kind_name(*value));
  }

  // quality
  const json::value* quality = obj->if_contains("quality");
  if (quality && !quality->is_null()) {
    const json::string* q = quality->if_string();
    const auto parsed =
        q ? parse_quality(lower_ascii(std::string_view(q->data(), q->size()))) : std::optional<Quality>{};
    if (!parsed) return "\"quality\" must be \"good\", \"uncertain\" or \"bad\"";
    out.sample.quality = *parsed;
  }

  // unit, description
  for (auto [key, field] : {std::pair<std::string_view, std::string*>{"unit", &out.unit},
                            std::pair<std::string_view, std::string*>{"description", &out.description}}) {
    const json::value* v = obj->if_contains(key);
    if (!v || v->is_null()) continue;
    const json::string* s = v->if_string();
    if (!s) return "\"" + std::string(key) + "\" must be a string, not " + std::string(kind_name(*v));
    const std::string_view text(s->data(), s->size());
    if (std::string e = key == "unit" ? unit_error(text) : description_error(text); !e.empty()) return e;
    field->assign(text);
  }
  return {};
}

}  // namespace

JsonSamplesResult parse_json_samples(std::string_view body, TimeNs now, std::chrono::nanoseconds max_ahead) {
  JsonSamplesResult result;

  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    result.fatal = "empty body: expected a JSON array or object of samples";
    return result;
  }

  // The parsed tree lives in one arena, freed at once when we return.
  json::monotonic_resource arena;
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  json::parser parser(json::storage_ptr(), options);
  parser.reset(&arena);
  boost::system::error_code ec;
  const std::size_t consumed = parser.write(body.data(), body.size(), ec);
  if (ec) {
    result.fatal = "invalid JSON at offset " + std::to_string(consumed) + ": " + ec.message();
    return result;
  }
  const json::value root = parser.release();

  const json::array* items = nullptr;
  if (const json::array* a = root.if_array()) {
    items = a;
  } else if (const json::object* o = root.if_object()) {
    if (const json::value* wrapped = o->if_contains("samples")) {
      items = wrapped->if_array();
      if (!items) {
        result.fatal = "\"samples\" must be an array, not " + std::string(kind_name(*wrapped));
        return result;
      }
    }
  } else {
    result.fatal = "expected a JSON array or object of samples, not " + std::string(kind_name(root));
    return result;
  }

  auto handle = [&](std::size_t index, const json::value& item) {
    JsonSample sample;
    std::string error = parse_item(item, now, max_ahead, sample);
    if (error.empty()) {
      result.samples.push_back(std::move(sample));
    } else {
      result.errors.push_back({index, "item " + std::to_string(index) + ": " + error});
    }
  };

  if (!items) {  // a single object
    handle(0, root);
    return result;
  }
  if (items->size() > kMaxJsonSamples) {
    result.fatal = "too many samples in one request: " + std::to_string(items->size()) + ", at most " +
                   std::to_string(kMaxJsonSamples);
    return result;
  }
  result.samples.reserve(items->size());
  for (std::size_t i = 0; i < items->size(); ++i) handle(i, (*items)[i]);
  return result;
}

}  // namespace tagstream
