#include "gzip_inflate.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <vector>

namespace tagstream_bench {

namespace {

// Inflated bytes only live until the scanner has looked at them, and the
// load generator is one thread: one buffer serves every stream.
constexpr std::size_t kOutBuffer = 64 * 1024;
char* out_buffer() {
  static std::vector<char> buffer(kOutBuffer);
  return buffer.data();
}

}  // namespace

struct GzipInflater::Z {
  z_stream s{};
};

GzipInflater::GzipInflater() : z_(std::make_unique<Z>()) {
  // 15 + 16: a gzip wrapper only (no zlib or raw deflate), a 32 KiB window.
  if (inflateInit2(&z_->s, 15 + 16) != Z_OK) {
    error_ = "inflateInit2 failed";
    z_.reset();
  }
}

GzipInflater::~GzipInflater() {
  if (z_) inflateEnd(&z_->s);
}

void GzipInflater::reset() {
  if (!z_) return;
  inflateReset(&z_->s);
  ended_ = false;
  total_out_ = 0;
  error_.clear();
}

GzipInflater::Result GzipInflater::step(std::string_view& in, std::string_view& out, bool& again) {
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
  char* buf = out_buffer();
  s.next_out = reinterpret_cast<Bytef*>(buf);
  s.avail_out = static_cast<uInt>(kOutBuffer);
  const int rc = inflate(&s, Z_NO_FLUSH);
  const std::size_t used = in_len - s.avail_in;
  const std::size_t made = kOutBuffer - s.avail_out;
  in.remove_prefix(used);
  out = std::string_view(buf, made);
  total_out_ += made;
  switch (rc) {
    case Z_STREAM_END:
      ended_ = true;
      if (!in.empty()) {
        error_ = "bytes after the end of the gzip member";
        return Result::error;
      }
      return Result::end;
    case Z_OK:
      again = (!in.empty() || s.avail_out == 0) && (used > 0 || made > 0);
      return Result::more;
    case Z_BUF_ERROR:  // nothing to do until more input arrives
      return Result::more;
    default:
      error_ = std::string("inflate: ") + (s.msg ? s.msg : zError(rc));
      return Result::error;
  }
}

}  // namespace tagstream_bench
