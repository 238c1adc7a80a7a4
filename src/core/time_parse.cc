#include "core/time_parse.h"

#include <chrono>
#include <cstdint>

namespace tagstream {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

/// Checked a * b + c in int64.
std::optional<std::int64_t> mul_add(std::int64_t a, std::int64_t b, std::int64_t c) {
  std::int64_t product = 0, sum = 0;
  if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
  if (__builtin_add_overflow(product, c, &sum)) return std::nullopt;
  return sum;
}

/// A cursor over the text with fixed-width digit reads.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}

  bool done() const { return pos_ == s_.size(); }
  char peek() const { return done() ? '\0' : s_[pos_]; }
  void skip() { ++pos_; }

  bool eat(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }

  /// Exactly `n` digits.
  std::optional<int> digits(std::size_t n) {
    if (s_.size() - pos_ < n) return std::nullopt;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const char c = s_[pos_ + i];
      if (!is_digit(c)) return std::nullopt;
      v = v * 10 + (c - '0');
    }
    pos_ += n;
    return v;
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

/// "±hh:mm", "±hhmm" or "±hh" after the sign; returns the offset in seconds
/// (east of UTC positive).
std::optional<std::int64_t> parse_offset_after_sign(Cursor& c, int sign) {
  const auto hh = c.digits(2);
  if (!hh || *hh > 23) return std::nullopt;
  int mm = 0;
  if (c.eat(':')) {
    const auto m = c.digits(2);
    if (!m) return std::nullopt;
    mm = *m;
  } else if (!c.done()) {
    const auto m = c.digits(2);
    if (!m) return std::nullopt;
    mm = *m;
  }
  if (mm > 59) return std::nullopt;
  return sign * (static_cast<std::int64_t>(*hh) * 3600 + mm * 60);
}

std::optional<TimeNs> parse_calendar(std::string_view s) {
  using namespace std::chrono;
  Cursor c(s);
  const auto y = c.digits(4);
  if (!y || !c.eat('-')) return std::nullopt;
  const auto mo = c.digits(2);
  if (!mo || !c.eat('-')) return std::nullopt;
  const auto d = c.digits(2);
  if (!d) return std::nullopt;
  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  const std::int64_t days_since_epoch = sys_days{ymd}.time_since_epoch().count();

  int hh = 0, mi = 0, ss = 0;
  std::int64_t frac_ns = 0;
  std::int64_t offset_s = 0;
  if (!c.done()) {
    const char sep = c.peek();
    if (sep != 'T' && sep != 't' && sep != ' ') return std::nullopt;
    c.skip();
    const auto h = c.digits(2);
    if (!h || !c.eat(':')) return std::nullopt;
    const auto m = c.digits(2);
    if (!m) return std::nullopt;
    hh = *h;
    mi = *m;
    if (c.eat(':')) {
      const auto sec = c.digits(2);
      if (!sec) return std::nullopt;
      ss = *sec;
      if (c.peek() == '.' || c.peek() == ',') {
        c.skip();
        int n = 0;
        while (is_digit(c.peek())) {
          if (++n > 9) return std::nullopt;
          frac_ns = frac_ns * 10 + (c.peek() - '0');
          c.skip();
        }
        if (n == 0) return std::nullopt;
        for (int i = n; i < 9; ++i) frac_ns *= 10;
      }
    }
    if (hh > 23 || mi > 59 || ss > 59) return std::nullopt;
    if (!c.done()) {
      const char z = c.peek();
      c.skip();
      std::optional<std::int64_t> off;
      if (z == 'Z' || z == 'z') {
        off = 0;
      } else if (z == '+' || z == ' ') {
        off = parse_offset_after_sign(c, +1);
      } else if (z == '-') {
        off = parse_offset_after_sign(c, -1);
      }
      if (!off || !c.done()) return std::nullopt;
      offset_s = *off;
    }
  }

  // Local wall time minus the offset = UTC. Days span only years 0..9999,
  // so the seconds fit easily; the nanoseconds are computed in 128 bits
  // because the earliest TimeNs has a negative whole second whose scaled
  // value alone would overflow.
  const std::int64_t secs = days_since_epoch * 86'400 + hh * 3600 + mi * 60 + ss - offset_s;
  const __int128 ns = static_cast<__int128>(secs) * kNanosPerSecond + frac_ns;
  if (ns > INT64_MAX || ns < INT64_MIN) return std::nullopt;
  return static_cast<TimeNs>(ns);
}

std::optional<TimeNs> parse_epoch_integer(std::string_view s) {
  const bool negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t magnitude = 0;  // 19 digits fit in uint64
  for (char ch : s) {
    if (!is_digit(ch)) return std::nullopt;
    magnitude = magnitude * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  std::int64_t scale = 1;
  if (s.size() <= 11) {
    scale = kNanosPerSecond;
  } else if (s.size() <= 14) {
    scale = kNanosPerMilli;
  } else if (s.size() <= 17) {
    scale = 1'000;
  }
  // -9223372036854775808 ns is representable but its magnitude is not an
  // int64; it is also not a time anyone types, so it is rejected with the
  // rest of the overflow.
  if (magnitude > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  const auto v = mul_add(static_cast<std::int64_t>(magnitude), scale, 0);
  if (!v) return std::nullopt;
  return negative ? -*v : *v;
}

bool iequals_now(std::string_view s) {
  if (s.size() != 3) return false;
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  return lower(s[0]) == 'n' && lower(s[1]) == 'o' && lower(s[2]) == 'w';
}

std::optional<TimeNs> parse_relative(std::string_view s, TimeNs now) {
  if (s.size() < 3 || !iequals_now(s.substr(0, 3))) return std::nullopt;
  s.remove_prefix(3);
  if (s.empty()) return now;
  const char sign = s.front();
  if (sign != '-' && sign != '+') return std::nullopt;
  s.remove_prefix(1);
  if (s.size() < 2) return std::nullopt;
  const char unit = s.back();
  s.remove_suffix(1);
  std::int64_t unit_ns = 0;
  switch (unit) {
    case 's': unit_ns = kNanosPerSecond; break;
    case 'm': unit_ns = 60 * kNanosPerSecond; break;
    case 'h': unit_ns = 3'600 * kNanosPerSecond; break;
    case 'd': unit_ns = 86'400 * kNanosPerSecond; break;
    case 'w': unit_ns = 7 * 86'400 * kNanosPerSecond; break;
    default: return std::nullopt;
  }
  if (s.size() > 12) return std::nullopt;  // 12 digits of seconds already overflow after scaling
  std::int64_t amount = 0;
  for (char ch : s) {
    if (!is_digit(ch)) return std::nullopt;
    amount = amount * 10 + (ch - '0');
  }
  const auto delta = mul_add(amount, unit_ns, 0);
  if (!delta) return std::nullopt;
  std::int64_t out = 0;
  if (sign == '-' ? __builtin_sub_overflow(now, *delta, &out) : __builtin_add_overflow(now, *delta, &out)) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

std::optional<TimeNs> parse_time(std::string_view text, TimeNs now) {
  const std::string_view s = trim(text);
  if (s.empty()) return std::nullopt;
  if (s.front() == 'n' || s.front() == 'N') return parse_relative(s, now);
  // A calendar date has its first '-' after exactly four digits; anything
  // else starting with a digit or '-' is an epoch integer.
  if (s.size() >= 5 && s[4] == '-' && is_digit(s[0])) return parse_calendar(s);
  return parse_epoch_integer(s);
}

}  // namespace tagstream
