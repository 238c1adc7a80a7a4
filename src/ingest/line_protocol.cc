#include "ingest/line_protocol.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "core/json_text.h"

namespace tagstream {

std::optional<Precision> parse_precision(std::string_view s) {
  if (s.empty() || s == "n" || s == "ns") return Precision::ns;
  if (s == "u" || s == "us") return Precision::us;
  if (s == "ms") return Precision::ms;
  if (s == "s") return Precision::s;
  if (s == "m") return Precision::m;
  if (s == "h") return Precision::h;
  return std::nullopt;
}

TimeNs precision_factor(Precision p) {
  switch (p) {
    case Precision::ns: return 1;
    case Precision::us: return 1'000;
    case Precision::ms: return kNanosPerMilli;
    case Precision::s: return kNanosPerSecond;
    case Precision::m: return 60 * kNanosPerSecond;
    case Precision::h: return 3600 * kNanosPerSecond;
  }
  return 1;
}

namespace {

constexpr std::size_t kMaxExcerpt = 64;
// Up to this many points per line, duplicate field names are found by a
// linear scan; beyond it, by a hash set (a line with 100k fields stays linear).
constexpr std::size_t kLinearDedup = 8;
// Initial reservation of the points vector is capped, so a body of empty
// lines cannot make us reserve gigabytes.
constexpr std::size_t kMaxReserve = 1 << 16;

// Character classes of the scanners.
enum : std::uint8_t {
  kStopMeasurement = 1,  // \n \r space , backslash
  kStopKey = 2,          // \n \r space , = backslash (tag keys/values, field keys)
  kStopValue = 4,        // \n \r space ,   (unquoted field values, timestamps)
  kNameChar = 8,         // [A-Za-z0-9_:-] (the dot is handled apart)
};

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  for (unsigned char c : {'\n', '\r', ' ', ',', '\\'}) t[c] |= kStopMeasurement | kStopKey;
  t['='] |= kStopKey;
  for (unsigned char c : {'\n', '\r', ' ', ','}) t[c] |= kStopValue;
  for (int c = 'a'; c <= 'z'; ++c) t[c] |= kNameChar;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] |= kNameChar;
  for (int c = '0'; c <= '9'; ++c) t[c] |= kNameChar;
  for (unsigned char c : {'_', ':', '-'}) t[c] |= kNameChar;
  return t;
}
constexpr std::array<std::uint8_t, 256> kClass = make_classes();

inline bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

/// Length of the valid UTF-8 sequence starting at s[i], 0 if invalid.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return n;
}

/// Appends `s` double-quoted, at most kMaxExcerpt bytes of it (then "..."),
/// with `"` `\` escaped, control characters and invalid UTF-8 as \xNN.
void append_quoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const bool truncate = s.size() > kMaxExcerpt;
  const std::size_t limit = truncate ? kMaxExcerpt - 3 : s.size();
  out += '"';
  std::size_t i = 0;
  while (i < limit) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F) {
      if (c == '"' || c == '\\') out += '\\';
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const std::size_t n = utf8_len(s, i);
      if (n != 0) {
        if (i + n > limit) break;  // do not cut a character in two
        out.append(s.data() + i, n);
        i += n;
        continue;
      }
    }
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
    ++i;
  }
  out += '"';
  if (truncate) out += "...";
}

std::string quoted(std::string_view s) {
  std::string out;
  append_quoted(out, s);
  return out;
}

/// Appends `seg` to a tag name under construction as dotted segments:
/// characters outside [A-Za-z0-9_.:-] become `_` (one per UTF-8 character),
/// dots separate segments, empty segments are dropped.
void append_segment(std::string& out, std::string_view seg) {
  // The usual segment is name characters only: appended in one piece
  // rather than a character at a time.
  std::size_t plain = 0;
  while (plain < seg.size() && seg[plain] != '.' &&
         (kClass[static_cast<unsigned char>(seg[plain])] & kNameChar))
    ++plain;
  if (plain == seg.size()) {
    if (seg.empty()) return;
    if (!out.empty()) out += '.';
    out.append(seg);
    return;
  }
  bool pending_dot = !out.empty();
  unsigned char prev = 0;
  for (const char ch : seg) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '.') {
      pending_dot = !out.empty();
      prev = c;
      continue;
    }
    char emit;
    if (kClass[c] & kNameChar) {
      emit = ch;
    } else if ((c & 0xC0) == 0x80 && prev >= 0x80) {
      prev = c;
      continue;  // continuation byte of a character already replaced
    } else {
      emit = '_';
    }
    if (pending_dot) {
      out += '.';
      pending_dot = false;
    }
    out += emit;
    prev = c;
  }
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

bool equals_ci(std::string_view a, std::string_view lower) {
  return a.size() == lower.size() && starts_with_ci(a, lower);
}

enum class ValueError { none, invalid, out_of_range, not_finite };

/// Parses an unquoted field value (non-empty).
ValueError parse_number_value(std::string_view v, double& value, DataType& type) {
  switch (v.size()) {
    case 1:
      if (v[0] == 't' || v[0] == 'T') {
        value = 1;
        type = DataType::boolean;
        return ValueError::none;
      }
      if (v[0] == 'f' || v[0] == 'F') {
        value = 0;
        type = DataType::boolean;
        return ValueError::none;
      }
      break;
    case 4:
      if (v == "true" || v == "True" || v == "TRUE") {
        value = 1;
        type = DataType::boolean;
        return ValueError::none;
      }
      break;
    case 5:
      if (v == "false" || v == "False" || v == "FALSE") {
        value = 0;
        type = DataType::boolean;
        return ValueError::none;
      }
      break;
    default: break;
  }
  const char* first = v.data();
  const char* last = v.data() + v.size();
  const char suffix = v.back();
  if (suffix == 'i') {
    std::int64_t n = 0;
    const auto [ptr, ec] = std::from_chars(first, last - 1, n);
    if (ec == std::errc::result_out_of_range && ptr == last - 1) return ValueError::out_of_range;
    if (ec != std::errc() || ptr != last - 1) return ValueError::invalid;
    value = static_cast<double>(n);
    type = DataType::integer;
    return ValueError::none;
  }
  if (suffix == 'u') {
    std::uint64_t n = 0;
    const auto [ptr, ec] = std::from_chars(first, last - 1, n);
    if (ec == std::errc::result_out_of_range && ptr == last - 1) return ValueError::out_of_range;
    if (ec != std::errc() || ptr != last - 1) return ValueError::invalid;
    value = static_cast<double>(n);
    type = DataType::integer;
    return ValueError::none;
  }
  // A float: [-](digits[.digits]|.digits)[(e|E)[+-]digits]. from_chars
  // would also take "inf" and "nan": those are refused before.
  const std::string_view body = (v[0] == '-') ? v.substr(1) : v;
  if (body.empty() || !((body[0] >= '0' && body[0] <= '9') || body[0] == '.')) {
    if (starts_with_ci(body, "nan") || starts_with_ci(body, "inf")) return ValueError::not_finite;
    return ValueError::invalid;
  }
  double d = 0;
  const auto [ptr, ec] = std::from_chars(first, last, d, std::chars_format::general);
  if (ptr != last) return ValueError::invalid;
  if (ec == std::errc::result_out_of_range) {
    // Overflow is an error; underflow rounds to zero (a denormal or 0), as
    // InfluxDB's ParseFloat does. strtod tells them apart. Rare path.
    const std::string copy(v);
    d = std::strtod(copy.c_str(), nullptr);
    if (!std::isfinite(d)) return ValueError::out_of_range;
  } else if (ec != std::errc()) {
    return ValueError::invalid;
  }
  if (!std::isfinite(d)) return ValueError::not_finite;
  value = d;
  type = DataType::number;
  return ValueError::none;
}

enum class Section { key, field_key, field_value, timestamp };

/// A token: unescaped text either straight in the body or in the scratch
/// buffer (only when it had escapes). Offsets, not pointers, so the scratch
/// buffer may grow.
struct Tok {
  std::size_t off = 0;
  std::size_t len = 0;
  bool scratch = false;
};

struct TagTok {
  Tok key;
  Tok value;
  const char* key_pos = nullptr;
  const char* value_pos = nullptr;
  bool reserved = false;
};

class Parser {
 public:
  Parser(std::string_view body, Precision precision, TimeNs now, std::chrono::nanoseconds max_ahead,
         LineParseResult& out)
      : begin_(body.data()),
        end_(body.data() + body.size()),
        factor_(precision_factor(precision)),
        now_(now),
        max_ahead_(max_ahead),
        out_(out),
        dedup_(16, IndexHash{&out.points}, IndexEq{&out.points}) {}

  void run() {
    const std::size_t newlines = static_cast<std::size_t>(std::count(begin_, end_, '\n'));
    out_.points.reserve(std::min(newlines + 1, kMaxReserve));
    const char* p = begin_;
    while (p < end_) {
      const char* line_start = p;
      while (p < end_ && is_blank(*p)) ++p;
      if (p == end_) break;
      if (*p == '#') {
        const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end_ - p));
        p = nl ? static_cast<const char*>(nl) : end_;
      } else if (!at_eol(p)) {
        ++out_.lines;
        p = parse_line(line_start, p);
      } else if (*p == '\r') {
        ++p;  // the '\r' of a blank "\r\n" line
      }
      if (p < end_) {  // at '\n'
        ++p;
        ++line_no_;
      }
    }
  }

 private:
  struct IndexHash {
    const std::vector<LinePoint>* points;
    std::size_t operator()(std::size_t i) const { return std::hash<std::string_view>{}((*points)[i].tag); }
  };
  struct IndexEq {
    const std::vector<LinePoint>* points;
    bool operator()(std::size_t a, std::size_t b) const { return (*points)[a].tag == (*points)[b].tag; }
  };

  // End of line at p: '\n', "\r\n", a '\r' ending the body, or the end.
  bool at_eol(const char* p) const {
    return p == end_ || *p == '\n' || (*p == '\r' && (p + 1 == end_ || p[1] == '\n'));
  }

  std::string_view view(const Tok& t) const {
    return {t.scratch ? scratch_.data() + t.off : begin_ + t.off, t.len};
  }

  static bool escapable(char c, bool eq) { return c == ',' || c == ' ' || c == '\\' || (eq && c == '='); }

  /// Scans a measurement (kStop = kStopMeasurement) or a key / tag value
  /// (kStopKey) from p; returns where it stopped: at an unescaped space,
  /// comma, (for keys) '=', or the end of the line.
  template <std::uint8_t kStop>
  const char* scan_name(const char* p, Tok& tok) {
    const char* start = p;
    while (p < end_) {
      const auto c = static_cast<unsigned char>(*p);
      if (!(kClass[c] & kStop)) {
        ++p;
        continue;
      }
      if (c == '\\') return scan_name_escaped<kStop>(start, p, tok);
      if (c == '\r' && !at_eol(p)) {
        ++p;
        continue;
      }
      break;
    }
    tok = {static_cast<std::size_t>(start - begin_), static_cast<std::size_t>(p - start), false};
    return p;
  }

  template <std::uint8_t kStop>
  const char* scan_name_escaped(const char* start, const char* p, Tok& tok) {
    constexpr bool kEq = kStop == kStopKey;
    const std::size_t off = scratch_.size();
    scratch_.append(start, p);
    while (p < end_) {
      const auto c = static_cast<unsigned char>(*p);
      if (kClass[c] & kStop) {
        if (c == '\\') {
          if (p + 1 < end_ && escapable(p[1], kEq)) {
            scratch_ += p[1];
            p += 2;
          } else {
            scratch_ += '\\';
            ++p;
          }
          continue;
        }
        if (!(c == '\r' && !at_eol(p))) break;
      }
      scratch_ += static_cast<char>(c);
      ++p;
    }
    tok = {off, scratch_.size() - off, true};
    return p;
  }

  /// Scans an unquoted field value or a timestamp: up to a space, comma or
  /// the end of the line.
  const char* scan_value(const char* p) const {
    while (p < end_) {
      const auto c = static_cast<unsigned char>(*p);
      if (!(kClass[c] & kStopValue) || (c == '\r' && !at_eol(p))) {
        ++p;
        continue;
      }
      break;
    }
    return p;
  }

  /// The closing quote of a string field whose text starts at q, or null
  /// when the body ends first. Linear overall: after a failed search no later
  /// string can open (its `="` would have closed this one), and a successful
  /// search is skipped over.
  const char* find_closing_quote(const char* q) const {
    const char* p = q;
    while (p < end_) {
      const char c = *p;
      if (c == '"') return p;
      if (c == '\\' && p + 1 < end_ && (p[1] == '"' || p[1] == '\\')) {
        p += 2;
        continue;
      }
      ++p;
    }
    return nullptr;
  }

  /// Skips the rest of a rejected line, following its structure (an escaped
  /// space in a key, a quoted string with newlines) so the next line is
  /// found where a well-formed body would have it. Returns at '\n' or the end.
  const char* recover(const char* p, Section s) {
    while (p < end_) {
      const char c = *p;
      if (c == '\n') return p;
      switch (s) {
        case Section::key:
          if (c == '\\' && p + 1 < end_ && p[1] != '\n') {
            p += 2;
          } else if (c == ' ') {
            s = Section::field_key;
            ++p;
            while (p < end_ && is_blank(*p)) ++p;
          } else {
            ++p;
          }
          break;
        case Section::field_key:
          if (c == '\\' && p + 1 < end_ && p[1] != '\n') {
            p += 2;
          } else if (c == '=') {
            ++p;
            s = Section::field_value;
            if (p < end_ && *p == '"') {
              if (const char* close = find_closing_quote(p + 1)) {
                line_no_ += static_cast<std::size_t>(std::count(p + 1, close, '\n'));
                p = close + 1;
              } else {
                ++p;
              }
            }
          } else {
            if (c == ' ') s = Section::timestamp;
            ++p;
          }
          break;
        case Section::field_value:
          if (c == ',') s = Section::field_key;
          if (c == ' ') s = Section::timestamp;
          ++p;
          break;
        case Section::timestamp: {
          const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end_ - p));
          return nl ? static_cast<const char*>(nl) : end_;
        }
      }
    }
    return p;
  }

  /// Rejects the current line: drops its points, records the error.
  void fail(const char* pos, std::string what) {
    out_.points.erase(out_.points.begin() + static_cast<std::ptrdiff_t>(first_point_), out_.points.end());
    std::string msg = "line ";
    msg += std::to_string(line_first_no_);
    msg += ": ";
    msg += what;
    msg += " (column ";
    msg += std::to_string(static_cast<std::size_t>(pos - line_start_) + 1);
    msg += ')';
    out_.errors.push_back(LineError{line_first_no_, std::move(msg)});
  }

  const char* fail_and_skip(const char* pos, std::string what, const char* from, Section s) {
    fail(pos, std::move(what));
    return recover(from, s);
  }

  /// Parses one line whose measurement starts at p; returns at its '\n' or
  /// the end of the body.
  const char* parse_line(const char* line_start, const char* p) {
    line_start_ = line_start;
    line_first_no_ = line_no_;
    first_point_ = out_.points.size();
    line_metadata_.reset();
    scratch_.clear();
    tags_.clear();
    unit_.clear();
    description_.clear();
    quality_ = Quality::good;
    if (dedup_used_) {
      dedup_.clear();
      dedup_used_ = false;
    }

    // Measurement.
    Tok measurement;
    const char* const m_pos = p;
    p = scan_name<kStopMeasurement>(p, measurement);
    if (measurement.len == 0) return fail_and_skip(m_pos, "empty measurement", p, Section::key);
    if (!is_valid_utf8(view(measurement)))
      return fail_and_skip(m_pos, "measurement " + quoted(view(measurement)) + " is not valid UTF-8", p,
                           Section::key);

    // Tag set.
    while (p < end_ && *p == ',') {
      ++p;
      TagTok tag;
      tag.key_pos = p;
      p = scan_name<kStopKey>(p, tag.key);
      if (at_eol(p) || *p != '=') {
        if (tag.key.len == 0) return fail_and_skip(tag.key_pos, "empty tag key", p, Section::key);
        return fail_and_skip(p, "missing '=' after tag key " + quoted(view(tag.key)), p, Section::key);
      }
      if (tag.key.len == 0) return fail_and_skip(tag.key_pos, "empty tag key", p, Section::key);
      ++p;  // '='
      tag.value_pos = p;
      p = scan_name<kStopKey>(p, tag.value);
      if (p < end_ && *p == '=')
        return fail_and_skip(p, "unescaped '=' in the value of tag " + quoted(view(tag.key)), p,
                             Section::key);
      if (tag.value.len == 0)
        return fail_and_skip(tag.value_pos, "empty value for tag " + quoted(view(tag.key)), p, Section::key);
      if (!is_valid_utf8(view(tag.key)))
        return fail_and_skip(tag.key_pos, "tag key " + quoted(view(tag.key)) + " is not valid UTF-8", p,
                             Section::key);
      if (!is_valid_utf8(view(tag.value)))
        return fail_and_skip(
            tag.value_pos,
            "the value of tag " + quoted(view(tag.key)) + " is not valid UTF-8: " + quoted(view(tag.value)),
            p, Section::key);
      tags_.push_back(tag);
    }
    if (at_eol(p)) return fail_and_skip(p, "missing fields", p, Section::key);
    // p is at the space before the fields.
    while (p < end_ && is_blank(*p)) ++p;
    if (at_eol(p)) return fail_and_skip(p, "missing fields", p, Section::key);

    if (!tags_.empty() && !process_tags()) return recover(p, Section::field_key);
    if (!unit_.empty() || !description_.empty())
      line_metadata_ = std::make_shared<const LineMetadata>(LineMetadata{unit_, description_});
    prefix_.clear();
    append_segment(prefix_, view(measurement));
    for (const TagTok& t : tags_)
      if (!t.reserved) append_segment(prefix_, view(t.value));

    // Field set.
    std::size_t ignored = 0;
    for (;;) {
      Tok key;
      const char* const k_pos = p;
      p = scan_name<kStopKey>(p, key);
      if (at_eol(p) || *p != '=') {
        if (key.len == 0) return fail_and_skip(k_pos, "empty field key", p, Section::field_key);
        return fail_and_skip(p, "missing '=' after field key " + quoted(view(key)), p, Section::field_key);
      }
      if (key.len == 0) return fail_and_skip(k_pos, "empty field key", p, Section::field_key);
      if (!is_valid_utf8(view(key)))
        return fail_and_skip(k_pos, "field key " + quoted(view(key)) + " is not valid UTF-8", p,
                             Section::field_key);
      ++p;  // '='
      const char* const v_pos = p;
      if (p < end_ && *p == '"') {
        const char* close = find_closing_quote(p + 1);
        if (close == nullptr) {
          fail(v_pos, "unterminated quoted string in field " + quoted(view(key)));
          const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end_ - p));
          return nl ? static_cast<const char*>(nl) : end_;
        }
        line_no_ += static_cast<std::size_t>(std::count(p + 1, close, '\n'));
        p = close + 1;
        if (!at_eol(p) && *p != ',' && *p != ' ')
          return fail_and_skip(p, "unexpected character after the string of field " + quoted(view(key)), p,
                               Section::field_value);
        ++ignored;
      } else {
        p = scan_value(p);
        const std::string_view text(v_pos, static_cast<std::size_t>(p - v_pos));
        if (text.empty())
          return fail_and_skip(v_pos, "missing value for field " + quoted(view(key)), p,
                               Section::field_value);
        double value = 0;
        DataType type = DataType::number;
        switch (parse_number_value(text, value, type)) {
          case ValueError::none: break;
          case ValueError::invalid:
            return fail_and_skip(v_pos,
                                 "invalid field value " + quoted(text) + " for field " + quoted(view(key)), p,
                                 Section::field_value);
          case ValueError::out_of_range:
            return fail_and_skip(
                v_pos, "field value " + quoted(text) + " out of range for field " + quoted(view(key)), p,
                Section::field_value);
          case ValueError::not_finite:
            return fail_and_skip(v_pos,
                                 "invalid field value " + quoted(text) + " for field " + quoted(view(key)) +
                                     ": NaN and Inf are not supported",
                                 p, Section::field_value);
        }
        if (!add_point(view(key), value, type, k_pos)) return recover(p, Section::field_value);
      }
      if (at_eol(p) || *p == ' ') break;
      ++p;  // ','
    }

    // Timestamp.
    TimeNs ts = now_;
    while (p < end_ && is_blank(*p)) ++p;
    if (!at_eol(p)) {
      const char* const t_pos = p;
      while (p < end_ && !is_blank(*p) && !at_eol(p)) ++p;
      const std::string_view text(t_pos, static_cast<std::size_t>(p - t_pos));
      std::int64_t n = 0;
      const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ptr != text.data() + text.size() || (ec != std::errc() && ec != std::errc::result_out_of_range))
        return fail_and_skip(t_pos, "invalid timestamp " + quoted(text), p, Section::timestamp);
      if (ec == std::errc::result_out_of_range || __builtin_mul_overflow(n, factor_, &ts))
        return fail_and_skip(t_pos, "timestamp out of range: " + quoted(text), p, Section::timestamp);
      if (std::string e = sample_time_error(ts, now_, max_ahead_); !e.empty())
        return fail_and_skip(t_pos, std::move(e), p, Section::timestamp);
      while (p < end_ && is_blank(*p)) ++p;
      if (!at_eol(p)) {
        const char* garbage = p;
        p = recover(p, Section::timestamp);
        const char* shown = p;
        if (shown > garbage && shown[-1] == '\r') --shown;
        fail(garbage, "unexpected text after the timestamp: " +
                          quoted(std::string_view(garbage, static_cast<std::size_t>(shown - garbage))));
        return p;
      }
    }
    if (p < end_ && *p == '\r') ++p;

    for (std::size_t i = first_point_; i < out_.points.size(); ++i) out_.points[i].sample.ts = ts;
    out_.ignored_fields += ignored;
    return p;
  }

  /// Reserved keys, duplicates, and the byte-wise order of the tag set.
  /// False when the line was rejected.
  bool process_tags() {
    for (TagTok& t : tags_) {
      const std::string_view key = view(t.key);
      if (key == "unit" || key == "description") {
        t.reserved = true;
        const std::string_view text = view(t.value);
        if (std::string e = key == "unit" ? unit_error(text) : description_error(text); !e.empty()) {
          fail(t.value_pos, std::move(e));
          return false;
        }
        (key == "unit" ? unit_ : description_).assign(text);
      } else if (key == "quality") {
        t.reserved = true;
        const std::string_view v = view(t.value);
        if (equals_ci(v, "good")) {
          quality_ = Quality::good;
        } else if (equals_ci(v, "uncertain")) {
          quality_ = Quality::uncertain;
        } else if (equals_ci(v, "bad")) {
          quality_ = Quality::bad;
        } else {
          fail(t.value_pos, "invalid quality " + quoted(v) + " (expected good, uncertain or bad)");
          return false;
        }
      }
    }
    if (tags_.size() > 1) {
      std::sort(tags_.begin(), tags_.end(),
                [this](const TagTok& a, const TagTok& b) { return view(a.key) < view(b.key); });
      for (std::size_t i = 1; i < tags_.size(); ++i) {
        if (view(tags_[i].key) == view(tags_[i - 1].key)) {
          fail(std::max(tags_[i].key_pos, tags_[i - 1].key_pos),
               "duplicate tag key " + quoted(view(tags_[i].key)));
          return false;
        }
      }
    }
    return true;
  }

  /// Adds the point of one numeric field; a repeated name overwrites the
  /// earlier point of this line. False when the line was rejected.
  bool add_point(std::string_view field_key, double value, DataType type, const char* k_pos) {
    LinePoint& pt = out_.points.emplace_back();
    pt.tag.reserve(prefix_.size() + 1 + field_key.size());
    pt.tag = prefix_;
    append_segment(pt.tag, field_key);
    if (pt.tag.empty()) {
      fail(k_pos, "empty tag name (measurement, tag values and field key have no usable character)");
      return false;
    }
    if (pt.tag.size() > kMaxTagNameLength) {
      std::string what = "tag name ";
      append_quoted(what, pt.tag);
      what += " is longer than " + std::to_string(kMaxTagNameLength) + " characters";
      fail(k_pos, std::move(what));
      return false;
    }
    pt.sample.value = value;
    pt.sample.quality = quality_;
    pt.type = type;
    pt.metadata = line_metadata_;

    const std::size_t idx = out_.points.size() - 1;
    const std::size_t on_line = idx - first_point_;
    if (on_line == 0) return true;
    if (on_line <= kLinearDedup) {
      for (std::size_t j = first_point_; j < idx; ++j) {
        if (out_.points[j].tag == pt.tag) {
          out_.points[j].sample.value = value;
          out_.points[j].type = type;
          out_.points.pop_back();
          return true;
        }
      }
      return true;
    }
    if (!dedup_used_) {
      dedup_used_ = true;
      for (std::size_t j = first_point_; j < idx; ++j) dedup_.insert(j);
    }
    const auto it = dedup_.find(idx);
    if (it != dedup_.end()) {
      out_.points[*it].sample.value = value;
      out_.points[*it].type = type;
      out_.points.pop_back();
    } else {
      dedup_.insert(idx);
    }
    return true;
  }

  const char* const begin_;
  const char* const end_;
  const TimeNs factor_;
  const TimeNs now_;
  const std::chrono::nanoseconds max_ahead_;
  LineParseResult& out_;

  std::size_t line_no_ = 1;  // physical line of the parse position

  // Per line, reused to avoid allocations.
  const char* line_start_ = nullptr;
  std::size_t line_first_no_ = 1;
  std::size_t first_point_ = 0;
  std::shared_ptr<const LineMetadata> line_metadata_;  // shared by the line's points
  std::string scratch_;
  std::vector<TagTok> tags_;
  std::string prefix_;
  std::string unit_;
  std::string description_;
  Quality quality_ = Quality::good;
  std::unordered_set<std::size_t, IndexHash, IndexEq> dedup_;
  bool dedup_used_ = false;
};

}  // namespace

LineParseResult parse_line_protocol(std::string_view body, Precision precision, TimeNs now,
                                    std::chrono::nanoseconds max_ahead) {
  LineParseResult out;
  Parser parser(body, precision, now, max_ahead, out);
  parser.run();
  return out;
}

}  // namespace tagstream
