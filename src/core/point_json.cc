#include "core/point_json.h"

#include "core/json_text.h"
#include "core/time.h"

namespace tagstream {

void append_point_json(std::string& out, std::string_view tag, const Sample& s) {
  out += "{\"tag\":";
  append_json_string(out, tag);
  out += ",\"t\":";
  append_json_integer(out, to_millis(s.ts));
  out += ",\"v\":";
  append_json_number(out, s.value);
  out += ",\"q\":\"";
  out += to_string(s.quality);
  out += "\"}";
}

void append_point_json(std::string& out, std::string_view tag, const Aggregate& a) {
  out += "{\"tag\":";
  append_json_string(out, tag);
  out += ",\"t\":";
  append_json_integer(out, to_millis(a.start));
  out += ",\"avg\":";
  append_json_number(out, a.avg());
  out += ",\"min\":";
  append_json_number(out, a.min);
  out += ",\"max\":";
  append_json_number(out, a.max);
  out += ",\"first\":";
  append_json_number(out, a.first);
  out += ",\"last\":";
  append_json_number(out, a.last);
  out += ",\"count\":";
  append_json_integer(out, static_cast<std::int64_t>(a.count));
  out += ",\"q\":\"";
  out += to_string(a.quality);
  out += "\"}";
}

}  // namespace tagstream
