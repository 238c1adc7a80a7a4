#include "connect/mqtt_payload.h"

#include <boost/json.hpp>
#include <charconv>
#include <cmath>

#include "core/time_parse.h"

namespace tagstream::mqtt {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

Parsed<DecodedValue> fail(std::string e) {
  return {.value = std::nullopt, .error = std::move(e)};
}

TimeNs unit_nanos(EpochUnit unit) {
  switch (unit) {
    case EpochUnit::seconds: return kNanosPerSecond;
    case EpochUnit::milliseconds: return kNanosPerMilli;
    case EpochUnit::microseconds: return 1000;
    case EpochUnit::nanoseconds: return 1;
  }
  return 1;
}

std::string format_number(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc() ? end : buf);
}

}  // namespace

std::optional<EpochUnit> parse_epoch_unit(std::string_view text) {
  if (text == "s") return EpochUnit::seconds;
  if (text == "ms") return EpochUnit::milliseconds;
  if (text == "us") return EpochUnit::microseconds;
  if (text == "ns") return EpochUnit::nanoseconds;
  return std::nullopt;
}

Parsed<DecodedValue> decode_number(std::string_view payload) {
  const auto text = trim(payload);
  if (text == "true")
    return {.value = DecodedValue{.value = 1, .ts = std::nullopt, .quality = Quality::good}, .error = {}};
  if (text == "false")
    return {.value = DecodedValue{.value = 0, .ts = std::nullopt, .quality = Quality::good}, .error = {}};
  if (text.empty()) return fail("empty payload: expected a number or true/false");
  double v = 0;
  const char* first = text.data();
  if (*first == '+') ++first;  // from_chars takes no plus sign
  const auto [end, ec] = std::from_chars(first, text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    return fail("payload is not a number or true/false: \"" + std::string(text.substr(0, 40)) + "\"");
  if (!std::isfinite(v)) return fail("value is not finite");
  return {.value = DecodedValue{.value = v, .ts = std::nullopt, .quality = Quality::good}, .error = {}};
}

Parsed<DecodedValue> decode_json(std::string_view payload, const JsonFields& fields, TimeNs now) {
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 16;
  const auto doc = boost::json::parse(payload, ec, {}, options);
  if (ec) return fail("payload is not JSON: " + ec.message());
  const auto* object = doc.if_object();
  if (!object) return fail("payload is not a JSON object");
  DecodedValue out;

  const auto* value = object->if_contains(fields.value);
  if (!value) return fail("no \"" + fields.value + "\" field");
  if (value->is_bool()) {
    out.value = value->get_bool() ? 1 : 0;
  } else if (value->is_number()) {
    out.value = value->to_number<double>();
  } else {
    return fail("\"" + fields.value + "\" must be a number or a boolean");
  }
  if (!std::isfinite(out.value)) return fail("\"" + fields.value + "\" is not finite");

  if (const auto* ts = object->if_contains(fields.ts); ts && !ts->is_null()) {
    if (ts->is_string()) {
      auto t = parse_time(std::string_view(ts->get_string()), now);
      if (!t) return fail("\"" + fields.ts + "\" is not an ISO 8601 time");
      out.ts = *t;
    } else if (ts->is_int64() || ts->is_uint64()) {
      const TimeNs unit = unit_nanos(fields.ts_unit);
      const double scaled = ts->to_number<double>() * static_cast<double>(unit);
      if (!(scaled > static_cast<double>(kMinSampleTime) && scaled < static_cast<double>(kMaxSampleTime)))
        return fail("\"" + fields.ts + "\" is out of range");
      out.ts = ts->is_int64() ? ts->get_int64() * unit : static_cast<TimeNs>(ts->get_uint64()) * unit;
    } else if (ts->is_double()) {
      const double scaled = ts->get_double() * static_cast<double>(unit_nanos(fields.ts_unit));
      if (!(scaled > static_cast<double>(kMinSampleTime) && scaled < static_cast<double>(kMaxSampleTime)))
        return fail("\"" + fields.ts + "\" is out of range");
      out.ts = static_cast<TimeNs>(scaled);
    } else {
      return fail("\"" + fields.ts + "\" must be a number or an ISO 8601 string");
    }
    if (auto e = sample_time_error(*out.ts, now, kDefaultMaxClockSkew); !e.empty())
      return fail("\"" + fields.ts + "\": " + e);
  }

  if (const auto* q = object->if_contains(fields.quality); q && !q->is_null()) {
    const auto* s = q->if_string();
    auto quality = s ? parse_quality(std::string_view(*s)) : std::nullopt;
    if (!quality) return fail("\"" + fields.quality + "\" must be \"good\", \"uncertain\" or \"bad\"");
    out.quality = *quality;
  }
  return {.value = out, .error = {}};
}

std::string encode_number(double value, bool boolean) {
  if (boolean) return value != 0 ? "1" : "0";
  return format_number(value);
}

std::string encode_json(double value, bool boolean, TimeNs ts, const JsonFields& fields) {
  boost::json::object o;
  if (boolean) {
    o[fields.value] = value != 0;
  } else {
    o[fields.value] = value;
  }
  o[fields.ts] = ts / unit_nanos(fields.ts_unit);
  return boost::json::serialize(o);
}

}  // namespace tagstream::mqtt
