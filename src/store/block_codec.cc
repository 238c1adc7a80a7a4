#include "store/block_codec.h"

#include <bit>
#include <cstring>
#include <stdexcept>

namespace tagstream {

namespace {

std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t unzigzag(std::uint64_t v) { return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1); }

/// Appends to a buffer sized for the worst case up front: encoding is on
/// the ingest path, and a capacity check per byte costs more than the work.
class Writer {
 public:
  explicit Writer(std::size_t max_bytes) : out_(max_bytes, '\0'), p_(out_.data()) {}
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void svarint(std::int64_t v) { varint(zigzag(v)); }
  void byte(std::uint8_t b) { *p_++ = static_cast<char>(b); }
  void f64(double d) {
    std::memcpy(p_, &d, 8);
    p_ += 8;
  }
  std::string take() {
    out_.resize(static_cast<std::size_t>(p_ - out_.data()));
    return std::move(out_);
  }

 private:
  std::string out_;
  char* p_;
};

constexpr std::size_t kMaxVarint = 10;

class Reader {
 public:
  explicit Reader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}
  bool done() const { return p_ == end_; }
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
    if (static_cast<std::size_t>(end_ - p_) < n) throw std::runtime_error("store: damaged block (truncated)");
  }
  const char* p_;
  const char* end_;
};

Quality quality_from(std::uint8_t b) {
  if (b > static_cast<std::uint8_t>(Quality::bad)) throw std::runtime_error("store: damaged block (quality)");
  return static_cast<Quality>(b);
}

// A bucket of exactly one sample is common (a tag written once a second, in
// the second tier): it is stored as that sample alone.
bool is_single(const Aggregate& a) {
  const auto bits = [](double d) { return std::bit_cast<std::uint64_t>(d); };
  const std::uint64_t v = bits(a.sum);
  return a.count == 1 && a.first_ts == a.last_ts && bits(a.min) == v && bits(a.max) == v && bits(a.first) == v &&
         bits(a.last) == v;
}

/// One raw point as deltas from the previous one (timestamp and event id),
/// shared by raw blocks and journal records.
struct PointDeltas {
  TimeNs ts = 0;
  Seq seq = 0;

  void put(Writer& w, const RawPoint& p) {
    w.svarint(p.ts - ts);
    w.f64(p.value);
    w.byte(static_cast<std::uint8_t>(p.quality));
    w.svarint(static_cast<std::int64_t>(p.seq - seq));
    ts = p.ts;
    seq = p.seq;
  }
  RawPoint get(Reader& r) {
    RawPoint p;
    ts += r.svarint();
    p.ts = ts;
    p.value = r.f64();
    p.quality = quality_from(r.byte());
    seq += static_cast<Seq>(r.svarint());
    p.seq = seq;
    return p;
  }
};

}  // namespace

std::string encode_block(std::span<const RawPoint> points) {
  Writer w(kMaxVarint + points.size() * (2 * kMaxVarint + 9));
  w.varint(points.size());
  PointDeltas deltas;
  for (const RawPoint& p : points) deltas.put(w, p);
  return w.take();
}

void decode_block(std::string_view blob, std::vector<RawPoint>& out) {
  Reader r(blob);
  const std::uint64_t n = r.varint();
  if (n > blob.size()) throw std::runtime_error("store: damaged block (count)");
  out.reserve(out.size() + n);
  PointDeltas deltas;
  for (std::uint64_t i = 0; i < n; ++i) out.push_back(deltas.get(r));
}

std::string encode_block(std::span<const Aggregate> buckets) {
  Writer w(kMaxVarint + buckets.size() * (4 * kMaxVarint + 41));
  w.varint(buckets.size());
  TimeNs prev = 0;
  for (const Aggregate& a : buckets) {
    w.svarint(a.start - prev);
    prev = a.start;
    const bool single = is_single(a);
    w.varint(a.count << 1 | (single ? 1 : 0));
    w.byte(static_cast<std::uint8_t>(a.quality));
    if (single) {
      w.f64(a.sum);
      w.svarint(a.first_ts - a.start);
      continue;
    }
    w.f64(a.sum);
    w.f64(a.min);
    w.f64(a.max);
    w.f64(a.first);
    w.f64(a.last);
    w.svarint(a.first_ts - a.start);
    w.svarint(a.last_ts - a.start);
  }
  return w.take();
}

void decode_block(std::string_view blob, std::vector<Aggregate>& out) {
  Reader r(blob);
  const std::uint64_t n = r.varint();
  if (n > blob.size()) throw std::runtime_error("store: damaged block (count)");
  out.reserve(out.size() + n);
  TimeNs start = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    Aggregate a;
    start += r.svarint();
    a.start = start;
    const std::uint64_t count_and_flag = r.varint();
    a.count = count_and_flag >> 1;
    a.quality = quality_from(r.byte());
    if (count_and_flag & 1) {
      a.sum = a.min = a.max = a.first = a.last = r.f64();
      a.first_ts = a.last_ts = start + r.svarint();
    } else {
      a.sum = r.f64();
      a.min = r.f64();
      a.max = r.f64();
      a.first = r.f64();
      a.last = r.f64();
      a.first_ts = start + r.svarint();
      a.last_ts = start + r.svarint();
    }
    out.push_back(a);
  }
}

std::string encode_journal(std::span<const StoredSample> samples) {
  Writer w(kMaxVarint + samples.size() * (3 * kMaxVarint + 9));
  w.varint(samples.size());
  PointDeltas deltas;
  for (const StoredSample& s : samples) {
    w.varint(s.tag);
    deltas.put(w, RawPoint{s.sample.ts, s.sample.value, s.sample.quality, s.seq});
  }
  return w.take();
}

void decode_journal(std::string_view blob, std::vector<StoredSample>& out) {
  Reader r(blob);
  const std::uint64_t n = r.varint();
  if (n > blob.size()) throw std::runtime_error("store: damaged journal record (count)");
  out.reserve(out.size() + n);
  PointDeltas deltas;
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t tag = r.varint();
    if (tag > UINT32_MAX) throw std::runtime_error("store: damaged journal record (tag)");
    const RawPoint p = deltas.get(r);
    out.push_back(StoredSample{static_cast<TagId>(tag), p.sample(), p.seq});
  }
}

}  // namespace tagstream
