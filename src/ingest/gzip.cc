#include "ingest/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <memory>

namespace tagstream {

namespace {

constexpr std::size_t kChunk = 64 * 1024;

InflateResult fail(std::string message, bool too_large = false) {
  InflateResult r;
  r.error = std::move(message);
  r.too_large = too_large;
  return r;
}

/// Appends, growing the capacity geometrically but never past `limit`
/// (libstdc++'s own growth would double past it). The caller guarantees
/// data.size() + n <= limit.
void append_bounded(std::string& data, const char* p, std::size_t n, std::size_t limit) {
  if (data.size() + n > data.capacity()) {
    const std::size_t want = std::min(limit, std::max(data.size() + n, data.capacity() * 2));
    std::string bigger;
    bigger.reserve(want);  // a fresh string gets exactly what it asks for
    bigger.append(data);
    data.swap(bigger);
  }
  data.append(p, n);
}

struct InflateGuard {
  z_stream* strm;
  ~InflateGuard() { inflateEnd(strm); }
};

}  // namespace

InflateResult inflate_body(std::string_view compressed, std::size_t max_output) {
  InflateResult result;
  if (compressed.empty()) return result;

  z_stream strm{};
  // 15 + 32: a 32 KiB window, gzip or zlib header detected automatically.
  if (inflateInit2(&strm, 15 + 32) != Z_OK) return fail("cannot initialise zlib");
  InflateGuard guard{&strm};

  const auto* in = reinterpret_cast<const unsigned char*>(compressed.data());
  std::size_t in_left = compressed.size();
  const auto out = std::make_unique<unsigned char[]>(kChunk);

  for (;;) {
    if (strm.avail_in == 0 && in_left > 0) {  // avail_in is 32-bit: feed in slices
      const auto n = static_cast<uInt>(std::min<std::size_t>(in_left, UINT_MAX));
      strm.next_in = const_cast<unsigned char*>(in);
      strm.avail_in = n;
      in += n;
      in_left -= n;
    }
    // Ask for at most one byte more than may still be stored: producing it
    // proves the body is too large without decoding any further.
    const std::size_t room = max_output - result.data.size();
    const std::size_t cap = room >= kChunk ? kChunk : room + 1;
    strm.next_out = out.get();
    strm.avail_out = static_cast<uInt>(cap);

    const int rc = inflate(&strm, Z_NO_FLUSH);
    const std::size_t produced = cap - strm.avail_out;
    if (produced > room) {
      return fail("decompressed body exceeds " + std::to_string(max_output) + " bytes", true);
    }
    if (produced > 0)
      append_bounded(result.data, reinterpret_cast<const char*>(out.get()), produced, max_output);

    switch (rc) {
      case Z_OK: continue;
      case Z_STREAM_END:
        if (strm.avail_in == 0 && in_left == 0) return result;
        // Another member follows (`cat a.gz b.gz`); anything else fails
        // its header check below.
        if (inflateReset(&strm) != Z_OK) return fail("cannot reset zlib");
        continue;
      case Z_BUF_ERROR:
        // No progress possible: the output always has room, so the input
        // ran out before the end of the stream.
        if (strm.avail_in == 0 && in_left == 0)
          return fail("truncated compressed data: unexpected end of input");
        return fail("invalid compressed data: no progress");
      case Z_NEED_DICT: return fail("invalid compressed data: a preset dictionary is required");
      case Z_MEM_ERROR: return fail("out of memory while decompressing");
      default:
        return fail(std::string("invalid compressed data: ") + (strm.msg ? strm.msg : "corrupt stream"));
    }
  }
}

struct GzipStreamInflater::Z {
  z_stream s{};
};

GzipStreamInflater::GzipStreamInflater() : z_(std::make_unique<Z>()) {
  // 15 + 16: a gzip wrapper only (no zlib or raw deflate), a 32 KiB window.
  if (inflateInit2(&z_->s, 15 + 16) != Z_OK) {
    error_ = "inflateInit2 failed";
    z_.reset();
  }
}

GzipStreamInflater::~GzipStreamInflater() {
  if (z_) inflateEnd(&z_->s);
}

void GzipStreamInflater::reset() {
  if (!z_) return;
  inflateReset(&z_->s);
  ended_ = false;
  total_out_ = 0;
  error_.clear();
}

GzipStreamInflater::Result GzipStreamInflater::step(std::string_view& in, std::span<char> scratch,
                                                    std::string_view& out, bool& again) {
  if (!z_) return Result::error;
  if (ended_) {
    if (in.empty()) return Result::end;
    error_ = "bytes after the end of the gzip member";
    return Result::error;
  }
  z_stream& s = z_->s;
  const std::size_t in_len = std::min<std::size_t>(in.size(), UINT_MAX);
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in_len);
  const std::size_t room = std::min<std::size_t>(scratch.size(), UINT_MAX);
  s.next_out = reinterpret_cast<Bytef*>(scratch.data());
  s.avail_out = static_cast<uInt>(room);
  const int rc = inflate(&s, Z_NO_FLUSH);
  const std::size_t used = in_len - s.avail_in;
  const std::size_t made = room - s.avail_out;
  in.remove_prefix(used);
  out = std::string_view(scratch.data(), made);
  total_out_ += made;
  switch (rc) {
    case Z_STREAM_END:
      ended_ = true;
      if (!in.empty()) {
        error_ = "bytes after the end of the gzip member";
        return Result::error;
      }
      return Result::end;
    case Z_OK: again = (!in.empty() || s.avail_out == 0) && (used > 0 || made > 0); return Result::more;
    case Z_BUF_ERROR:  // nothing to do until more input arrives
      return Result::more;
    default: error_ = std::string("inflate: ") + (s.msg ? s.msg : zError(rc)); return Result::error;
  }
}

}  // namespace tagstream
