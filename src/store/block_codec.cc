#include "store/block_codec.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tagstream {

namespace {

std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// Differences are taken in uint64 so that any two timestamps or event ids,
// however far apart (late samples, merged blocks, garbage on decode), wrap
// instead of overflowing; the decoder's wrapping sum gives back the value.
std::uint64_t u64(std::int64_t v) {
  return static_cast<std::uint64_t>(v);
}
std::int64_t i64(std::uint64_t v) {
  return static_cast<std::int64_t>(v);
}

constexpr std::size_t kMaxVarint = 10;
// A packed header (see Writer::packed) is one varint, or the flags alone
// (one byte) and a varint when the number does not fit beside them.
constexpr std::size_t kMaxPacked = 1 + kMaxVarint;

/// Appends to a buffer sized for the worst case up front: encoding is on
/// the ingest path, and a capacity check per byte costs more than the work.
/// It holds only the cursor, not the buffer, so that the compiler can keep
/// the cursor in a register: stores through a char* could alias a member
/// of an object whose address is taken, such as the string's.
class Writer {
 public:
  explicit Writer(char* p) : p_(p) {}
  char* pos() const { return p_; }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void svarint(std::int64_t v) { varint(zigzag(v)); }
  /// A small number and `bits` flag bits in one varint, so that the common
  /// case (a regular step, flags set) takes one byte: (n + 1) << bits | flags,
  /// or flags alone followed by n when n + 1 does not fit beside them.
  void packed(std::uint64_t n, unsigned flags, int bits) {
    if (n < (~std::uint64_t{0} >> bits)) {
      varint((n + 1) << bits | flags);
    } else {
      varint(flags);
      varint(n);
    }
  }
  void byte(std::uint8_t b) { *p_++ = static_cast<char>(b); }
  void f64(double d) {
    std::memcpy(p_, &d, 8);
    p_ += 8;
  }

 private:
  char* p_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}
  bool done() const { return p_ == end_; }
  std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      need(1);
      const auto b = static_cast<std::uint8_t>(*p_++);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
    throw std::runtime_error("store: damaged block (varint too long)");
  }
  std::int64_t svarint() { return unzigzag(varint()); }
  /// Reads what Writer::packed wrote: returns n, sets `flags`.
  std::uint64_t packed(int bits, unsigned& flags) {
    const std::uint64_t v = varint();
    flags = static_cast<unsigned>(v & ((1u << bits) - 1));
    const std::uint64_t n = v >> bits;
    return n != 0 ? n - 1 : varint();
  }
  std::uint8_t byte() {
    need(1);
    return static_cast<std::uint8_t>(*p_++);
  }
  double f64() {
    need(8);
    double d;
    std::memcpy(&d, p_, 8);
    p_ += 8;
    return d;
  }

 private:
  void need(std::size_t n) const {
    if (remaining() < n) throw std::runtime_error("store: damaged block (truncated)");
  }
  const char* p_;
  const char* end_;
};

Quality quality_from(unsigned b) {
  if (b > static_cast<unsigned>(Quality::bad)) throw std::runtime_error("store: damaged block (quality)");
  return static_cast<Quality>(b);
}
// Two bits in the packed headers; the mask keeps a stray enum value from
// spilling into the neighbouring flags.
unsigned quality_bits(Quality q) {
  return static_cast<unsigned>(q) & 3u;
}

// A bucket of exactly one sample is common (a tag written once a second, in
// the second tier): it is stored as that sample alone.
bool is_single(const Aggregate& a) {
  const auto bits = [](double d) { return std::bit_cast<std::uint64_t>(d); };
  const std::uint64_t v = bits(a.sum);
  return a.count == 1 && a.first_ts == a.last_ts && bits(a.min) == v && bits(a.max) == v &&
         bits(a.first) == v && bits(a.last) == v;
}

// ---------------------------------------------------------------------------
// Version 1: what databases written before version 2 hold. Read only.
//   blob   = varint(count) item*
//   raw    = svarint(ts delta) f64(value) byte(quality) svarint(seq delta)
//   bucket = svarint(start delta) varint(count << 1 | single) byte(quality)
//            single: f64(value) svarint(first_ts - start)
//            else:   f64(sum min max first last) svarint(first_ts - start) svarint(last_ts - start)
//   journal sample = varint(tag) raw

/// One v1 raw point as deltas from the previous one (timestamp and event
/// id), shared by raw blocks and journal records.
struct PointDeltasV1 {
  std::uint64_t ts = 0;
  std::uint64_t seq = 0;

  RawPoint get(Reader& r) {
    RawPoint p;
    ts += u64(r.svarint());
    p.ts = i64(ts);
    p.value = r.f64();
    p.quality = quality_from(r.byte());
    seq += u64(r.svarint());
    p.seq = seq;
    return p;
  }
};

void decode_raw_v1(Reader& r, std::uint64_t n, std::vector<RawPoint>& out) {
  PointDeltasV1 deltas;
  for (std::uint64_t i = 0; i < n; ++i) out.push_back(deltas.get(r));
}

void decode_buckets_v1(Reader& r, std::uint64_t n, std::vector<Aggregate>& out) {
  std::uint64_t start = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    Aggregate a;
    start += u64(r.svarint());
    a.start = i64(start);
    const std::uint64_t count_and_flag = r.varint();
    a.count = count_and_flag >> 1;
    a.quality = quality_from(r.byte());
    if (count_and_flag & 1) {
      a.sum = a.min = a.max = a.first = a.last = r.f64();
      a.first_ts = a.last_ts = i64(start + u64(r.svarint()));
    } else {
      a.sum = r.f64();
      a.min = r.f64();
      a.max = r.f64();
      a.first = r.f64();
      a.last = r.f64();
      a.first_ts = i64(start + u64(r.svarint()));
      a.last_ts = i64(start + u64(r.svarint()));
    }
    out.push_back(a);
  }
}

void decode_journal_v1(Reader& r, std::uint64_t n, std::vector<StoredSample>& out) {
  PointDeltasV1 deltas;
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t tag = r.varint();
    if (tag > UINT32_MAX) throw std::runtime_error("store: damaged journal record (tag)");
    const RawPoint p = deltas.get(r);
    out.push_back(StoredSample{static_cast<TagId>(tag), p.sample(), p.seq});
  }
}

// ---------------------------------------------------------------------------
// Version 2. A v1 blob starts with its count, never 0 (blocks and journal
// records are never empty), so a leading 0 byte marks a versioned blob:
//   blob = 0x00 0x02 varint(count) byte(k) item*
// Values are decimal-scaled: a value v is stored as the integer m = v * 10^k
// when m / 10^k gives back v bit for bit (plant values are mostly decimals
// with few digits), as svarint(m - previous m), else raw as f64 behind a
// flag. k is one per blob. Timestamps and event ids of a series are
// delta-of-delta: a regular series costs a byte or less for each.
//   raw    = packed(zigzag(seq dd), 4 flags: quality:2 | raw value | ts dd is 0) [svarint(ts dd)] value
//   bucket = packed(zigzag(start dd), 5 flags: quality:2 | single | raw first | offsets unchanged)
//            single: value [svarint(first_ts offset - previous first_ts offset)]
//            else:   byte(raw flags: min | max | last | sum) varint(count) first min max last
//                    sum = raw ? f64 : svarint(m(sum) - count * m(last)) svarint(ulps off m(sum) / 10^k)
//                    [svarint(first_ts offset - previous) svarint(last_ts - first_ts - previous)]
//            first follows the previous bucket's last (or single value), min, max and last follow
//            first, and the sum is near count * last. (A raw value leaves the reference where it was.)
//   journal sample = packed(zigzag(seq delta), 5 flags: quality:2 | raw value | same ts | tag + 1)
//                    [svarint(tag delta)] [svarint(ts delta)] value
//            samples of many tags interleave, so timestamps are plain deltas.
// "packed" is Writer::packed; [x] is left out when the flag says so.

constexpr std::uint8_t kVersion2 = 2;
// The largest k the encoder uses; the decoder takes any k whose 10^k is an
// exact double, so a later encoder may use more.
constexpr int kMaxScale = 9;
constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
constexpr std::size_t kV2Header = 2 + kMaxVarint + 1;

/// True, with `m` set to v * p rounded, if that is within 2^53 (so that
/// the double of m is exact and differences of two fit an int64).
bool scaled(double v, double p, std::int64_t& m) {
#if defined(__SSE2__)
  // One instruction: rounds to nearest, and gives INT64_MIN (failed below)
  // for NaN and out of range. llround is a library call.
  m = _mm_cvtsd_si64(_mm_set_sd(v * p));
#else
  const double x = v * p;
  if (!(std::fabs(x) < 0x1p53)) return false;
  m = static_cast<std::int64_t>(x < 0 ? x - 0.5 : x + 0.5);
#endif
  return static_cast<std::uint64_t>(m) + (std::uint64_t{1} << 53) < (std::uint64_t{1} << 54);
}

/// True, with `m` set, if m / 10^k is v bit for bit. The check is the
/// decoder's own division, so whatever passes decodes exactly; -0.0 and
/// non-decimal values fail and are stored raw.
bool scales(double v, int k, std::int64_t& m) {
  const double p = kPow10[k];
  return scaled(v, p, m) &&
         std::bit_cast<std::uint64_t>(static_cast<double>(m) / p) == std::bit_cast<std::uint64_t>(v);
}

/// The decimal scale k of a blob being encoded. The encoder guesses k from
/// the first items and encodes in one pass; a value that needs more digits
/// stops it (grow()), and the blob is encoded again with the k that suits
/// every remaining value. Values that fit no k up to kMaxScale are searched
/// for only kMaxMisses times per pass, so that a blob of arbitrary doubles
/// costs little more than one check per value.
class Scale {
 public:
  Scale(int k, bool may_grow) : k_(k), may_grow_(may_grow) {}
  int k() const { return k_; }
  int grow() const { return grow_; }

  /// For encoding: true with `m` set if v is stored scaled, false if raw
  /// (then grow() may ask for a larger k).
  bool fit(double v, std::int64_t& m) {
    if (scales(v, k_, m)) return true;
    if (may_grow_) grow_ = std::max(grow_, larger(v));  // a bucket fits several values
    return false;
  }
  /// For finding k: raises k as far as v needs.
  void widen(double v) {
    std::int64_t m;
    if (!scales(v, k_, m)) k_ = std::max(k_, larger(v));
  }

 private:
  static constexpr int kMaxMisses = 8;
  // The smallest k above k_ at which v scales, or 0. Smaller ones are not
  // tried: a v that scales at some k scales at every larger one too, until
  // m passes 2^53.
  int larger(double v) {
    if (misses_ >= kMaxMisses) return 0;
    std::int64_t m;
    for (int k = k_ + 1; k <= kMaxScale; ++k)
      if (scales(v, k, m)) return k;
    ++misses_;
    return 0;
  }

  int k_;
  bool may_grow_;
  int grow_ = 0;
  int misses_ = 0;
};

/// Delta-of-delta of a timestamp or event id series: 0 for a regular step.
/// The first item's delta is its value, and the second's is taken from 0.
struct DeltaOfDelta {
  std::uint64_t prev = 0;
  std::uint64_t delta = 0;
  bool started = false;

  std::int64_t next(std::uint64_t v) {
    const std::uint64_t d = v - prev;
    const std::uint64_t dd = d - delta;
    prev = v;
    delta = started ? d : 0;
    started = true;
    return i64(dd);
  }
  std::uint64_t undo(std::int64_t dd) {
    const std::uint64_t d = delta + u64(dd);
    prev += d;
    delta = started ? d : 0;
    started = true;
    return prev;
  }
};

/// A run of scaled values, each stored as the difference from a reference
/// (the previous value, mostly).
struct ValueDeltas {
  std::int64_t ref = 0;

  // Decoding side; wrapping, since garbage may hold any difference.
  double get(Reader& r, bool raw, double pow10, bool follow = true) {
    if (raw) return r.f64();
    const std::int64_t m = i64(u64(ref) + u64(r.svarint()));
    if (follow) ref = m;
    return static_cast<double>(m) / pow10;
  }
  // Encoding side: m is within 2^53, so no difference overflows.
  void put(Writer& w, bool scaled, std::int64_t m, double v, bool follow = true) {
    if (!scaled) return w.f64(v);
    w.svarint(m - ref);
    if (follow) ref = m;
  }
};

struct RawCoderV2 {
  // Header, ts, value (a varint or 8 raw bytes).
  static constexpr std::size_t kMaxBytes = kMaxPacked + 2 * kMaxVarint;
  static constexpr int kFlagBits = 4;
  static constexpr unsigned kRaw = 4, kTsRegular = 8;

  explicit RawCoderV2(Scale s) : scale(s) {}

  Scale scale;
  DeltaOfDelta ts, seq;
  ValueDeltas values;

  template <class F>
  static void each_value(const RawPoint& p, F&& f) {
    f(p.value);
  }

  bool put(Writer& w, const RawPoint& p) {
    std::int64_t m;
    const bool scaled = scale.fit(p.value, m);
    if (scale.grow()) return false;
    const std::int64_t ts_dd = ts.next(u64(p.ts));
    const unsigned flags = quality_bits(p.quality) | (scaled ? 0 : kRaw) | (ts_dd == 0 ? kTsRegular : 0);
    w.packed(zigzag(seq.next(p.seq)), flags, kFlagBits);
    if (ts_dd != 0) w.svarint(ts_dd);
    values.put(w, scaled, m, p.value);
    return true;
  }

  RawPoint get(Reader& r, double pow10) {
    RawPoint p;
    unsigned flags;
    p.seq = seq.undo(unzigzag(r.packed(kFlagBits, flags)));
    p.quality = quality_from(flags & 3);
    p.ts = i64(ts.undo(flags & kTsRegular ? 0 : r.svarint()));
    p.value = values.get(r, flags & kRaw, pow10);
    return p;
  }
};

struct BucketCoderV2 {
  // Header, raw flags, count, four values, the sum's two varints, two offsets.
  static constexpr std::size_t kMaxBytes = kMaxPacked + 1 + (1 + 4 + 2 + 2) * kMaxVarint;
  static constexpr int kFlagBits = 5;
  static constexpr unsigned kSingle = 4, kRawFirst = 8, kSameOffsets = 16;
  static constexpr unsigned kRawMin = 1, kRawMax = 2, kRawLast = 4, kRawSum = 8;

  explicit BucketCoderV2(Scale s) : scale(s) {}

  Scale scale;
  DeltaOfDelta start;
  ValueDeltas values;
  std::uint64_t first_offset = 0;  // first_ts - start of the previous bucket
  std::uint64_t span = 0;          // last_ts - first_ts of the previous full bucket

  template <class F>
  static void each_value(const Aggregate& a, F&& f) {
    if (is_single(a)) return f(a.sum);
    f(a.first);
    f(a.min);
    f(a.max);
    f(a.last);
  }

  bool put(Writer& w, const Aggregate& a) {
    const std::int64_t start_dd = start.next(u64(a.start));
    const std::uint64_t offset = u64(a.first_ts) - u64(a.start);
    const unsigned quality = quality_bits(a.quality);
    if (is_single(a)) {
      std::int64_t m;
      const bool scaled = scale.fit(a.sum, m);
      if (scale.grow()) return false;
      const bool same = offset == first_offset;
      w.packed(zigzag(start_dd), quality | kSingle | (scaled ? 0 : kRawFirst) | (same ? kSameOffsets : 0),
               kFlagBits);
      values.put(w, scaled, m, a.sum);
      if (!same) w.svarint(i64(offset - first_offset));
      first_offset = offset;
      return true;
    }
    std::int64_t first, min, max, last;
    const bool scaled_first = scale.fit(a.first, first);
    const bool scaled_min = scale.fit(a.min, min);
    const bool scaled_max = scale.fit(a.max, max);
    const bool scaled_last = scale.fit(a.last, last);
    if (scale.grow()) return false;
    const std::uint64_t new_span = u64(a.last_ts) - u64(a.first_ts);
    const bool same = offset == first_offset && new_span == span;
    // The sum of decimals is rarely a short decimal itself: rounding
    // accumulates over the additions. It is stored as the nearest one, m,
    // and how many units in the last place the sum is off that (its bits
    // less m / 10^k's, wrapping: exact whatever the sum): a few, one byte.
    // It does not take part in choosing k.
    std::int64_t sum;
    const bool scaled_sum = scaled(a.sum, kPow10[scale.k()], sum);
    w.packed(zigzag(start_dd), quality | (scaled_first ? 0 : kRawFirst) | (same ? kSameOffsets : 0),
             kFlagBits);
    w.byte(static_cast<std::uint8_t>((scaled_min ? 0 : kRawMin) | (scaled_max ? 0 : kRawMax) |
                                     (scaled_last ? 0 : kRawLast) | (scaled_sum ? 0 : kRawSum)));
    w.varint(a.count);
    values.put(w, scaled_first, first, a.first);
    values.put(w, scaled_min, min, a.min, false);
    values.put(w, scaled_max, max, a.max, false);
    values.put(w, scaled_last, last, a.last);
    if (scaled_sum) {
      w.svarint(i64(u64(sum) - a.count * u64(values.ref)));
      const double near = static_cast<double>(sum) / kPow10[scale.k()];
      w.svarint(i64(std::bit_cast<std::uint64_t>(a.sum) - std::bit_cast<std::uint64_t>(near)));
    } else {
      w.f64(a.sum);
    }
    if (!same) {
      w.svarint(i64(offset - first_offset));
      w.svarint(i64(new_span - span));
    }
    first_offset = offset;
    span = new_span;
    return true;
  }

  Aggregate get(Reader& r, double pow10) {
    Aggregate a;
    unsigned flags;
    const std::int64_t start_dd = unzigzag(r.packed(kFlagBits, flags));
    a.start = i64(start.undo(start_dd));
    a.quality = quality_from(flags & 3);
    if (flags & kSingle) {
      a.count = 1;
      a.sum = a.min = a.max = a.first = a.last = values.get(r, flags & kRawFirst, pow10);
      if (!(flags & kSameOffsets)) first_offset += u64(r.svarint());
      a.first_ts = a.last_ts = i64(u64(a.start) + first_offset);
      return a;
    }
    const unsigned raw = r.byte();
    if (raw > 15) throw std::runtime_error("store: damaged block (bucket flags)");
    a.count = r.varint();
    a.first = values.get(r, flags & kRawFirst, pow10);
    a.min = values.get(r, raw & kRawMin, pow10, false);
    a.max = values.get(r, raw & kRawMax, pow10, false);
    a.last = values.get(r, raw & kRawLast, pow10);
    if (raw & kRawSum) {
      a.sum = r.f64();
    } else {
      const double near = static_cast<double>(i64(u64(r.svarint()) + a.count * u64(values.ref))) / pow10;
      a.sum = std::bit_cast<double>(std::bit_cast<std::uint64_t>(near) + u64(r.svarint()));
    }
    if (!(flags & kSameOffsets)) {
      first_offset += u64(r.svarint());
      span += u64(r.svarint());
    }
    a.first_ts = i64(u64(a.start) + first_offset);
    a.last_ts = i64(u64(a.first_ts) + span);
    return a;
  }
};

struct JournalCoderV2 {
  // Header, tag, ts, value.
  static constexpr std::size_t kMaxBytes = kMaxPacked + 3 * kMaxVarint;
  static constexpr int kFlagBits = 5;
  static constexpr unsigned kRaw = 4, kSameTs = 8, kNextTag = 16;

  explicit JournalCoderV2(Scale s) : scale(s) {}

  Scale scale;
  std::uint64_t ts = 0;
  std::uint64_t seq = 0;
  TagId tag = UINT32_MAX;  // so that a record starting at tag 0 starts with "the next tag"
  ValueDeltas values;

  template <class F>
  static void each_value(const StoredSample& s, F&& f) {
    f(s.sample.value);
  }

  bool put(Writer& w, const StoredSample& s) {
    std::int64_t m;
    const bool scaled = scale.fit(s.sample.value, m);
    if (scale.grow()) return false;
    const bool next_tag = s.tag == static_cast<TagId>(tag + 1);
    const bool same_ts = u64(s.sample.ts) == ts;
    const unsigned flags = quality_bits(s.sample.quality) | (scaled ? 0 : kRaw) | (same_ts ? kSameTs : 0) |
                           (next_tag ? kNextTag : 0);
    w.packed(zigzag(i64(s.seq - seq)), flags, kFlagBits);
    if (!next_tag) w.svarint(static_cast<std::int64_t>(s.tag) - static_cast<std::int64_t>(tag));
    if (!same_ts) w.svarint(i64(u64(s.sample.ts) - ts));
    values.put(w, scaled, m, s.sample.value);
    tag = s.tag;
    ts = u64(s.sample.ts);
    seq = s.seq;
    return true;
  }

  StoredSample get(Reader& r, double pow10) {
    StoredSample s;
    unsigned flags;
    seq += u64(unzigzag(r.packed(kFlagBits, flags)));
    s.seq = seq;
    s.sample.quality = quality_from(flags & 3);
    if (flags & kNextTag) {
      ++tag;
    } else {
      const std::uint64_t t = tag + u64(r.svarint());
      if (t > UINT32_MAX) throw std::runtime_error("store: damaged journal record (tag)");
      tag = static_cast<TagId>(t);
    }
    s.tag = tag;
    if (!(flags & kSameTs)) ts += u64(r.svarint());
    s.sample.ts = i64(ts);
    s.sample.value = values.get(r, flags & kRaw, pow10);
    return s;
  }
};

/// Encodes items with a v2 Coder, guessing k from the first few items and
/// encoding again, at most once, if a later value needs more digits.
template <class Coder, class Item>
std::string encode_v2(std::span<const Item> items) {
  // Not zero-filled: only the bytes written are read, and copied out.
  const auto out = std::make_unique_for_overwrite<char[]>(kV2Header + items.size() * Coder::kMaxBytes);
  Scale guess(0, false);
  for (std::size_t i = 0; i < std::min<std::size_t>(items.size(), 4); ++i)
    Coder::each_value(items[i], [&](double v) { guess.widen(v); });
  int k = guess.k();
  for (bool may_grow = true;; may_grow = false) {
    Writer w(out.get());
    w.byte(0);
    w.byte(kVersion2);
    w.varint(items.size());
    w.byte(static_cast<std::uint8_t>(k));
    Coder coder(Scale(k, may_grow));
    std::size_t i = 0;
    while (i < items.size() && coder.put(w, items[i])) ++i;
    if (i == items.size()) return std::string(out.get(), w.pos());
    // The items before i all scaled at k, so only the rest can ask for more.
    Scale wider(coder.scale.grow(), false);
    for (; i < items.size(); ++i) Coder::each_value(items[i], [&](double v) { wider.widen(v); });
    k = wider.k();
  }
}

/// Decodes a blob of either version: `v1(reader, count, out)` for v1.
template <class Coder, class Item, class DecodeV1>
void decode_any(std::string_view blob, std::vector<Item>& out, DecodeV1 v1) {
  Reader r(blob);
  if (blob.size() >= 2 && blob[0] == '\0') {
    r.byte();
    if (r.byte() != kVersion2) throw std::runtime_error("store: damaged block (unknown version)");
    const std::uint64_t n = r.varint();
    const unsigned k = r.byte();
    if (k >= std::size(kPow10)) throw std::runtime_error("store: damaged block (scale)");
    // Every item takes at least one byte: bounds the reservation.
    if (n > r.remaining()) throw std::runtime_error("store: damaged block (count)");
    out.reserve(out.size() + n);
    Coder coder(Scale(0, false));
    const double pow10 = kPow10[k];
    for (std::uint64_t i = 0; i < n; ++i) out.push_back(coder.get(r, pow10));
    if (!r.done()) throw std::runtime_error("store: damaged block (trailing bytes)");
    return;
  }
  // v1; a lone 0 is what v1 made of an empty span.
  const std::uint64_t n = r.varint();
  if (n > blob.size()) throw std::runtime_error("store: damaged block (count)");
  out.reserve(out.size() + n);
  v1(r, n, out);
}

}  // namespace

std::string encode_block(std::span<const RawPoint> points) {
  return encode_v2<RawCoderV2>(points);
}

void decode_block(std::string_view blob, std::vector<RawPoint>& out) {
  decode_any<RawCoderV2>(blob, out, decode_raw_v1);
}

std::string encode_block(std::span<const Aggregate> buckets) {
  return encode_v2<BucketCoderV2>(buckets);
}

void decode_block(std::string_view blob, std::vector<Aggregate>& out) {
  decode_any<BucketCoderV2>(blob, out, decode_buckets_v1);
}

std::string encode_journal(std::span<const StoredSample> samples) {
  return encode_v2<JournalCoderV2>(samples);
}

void decode_journal(std::string_view blob, std::vector<StoredSample>& out) {
  decode_any<JournalCoderV2>(blob, out, decode_journal_v1);
}

}  // namespace tagstream
