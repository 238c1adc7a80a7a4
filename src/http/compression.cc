#include "http/compression.h"

#include <zlib.h>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <charconv>
#include <optional>

namespace tagstream {

namespace http = boost::beast::http;

namespace {

/// The q value of an Accept-Encoding entry (1 when absent).
double quality_of(const http::param_list& params) {
  for (const auto& [name, value] : params) {
    if (!boost::beast::iequals(name, "q")) continue;
    double q = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), q);
    return ec == std::errc() ? q : 0;
  }
  return 1;
}

// The shared compressor: its window only needs to reach back over the
// dictionary and the segment being written, not the whole stream.
constexpr int kWindowBits = 12;
constexpr int kMemLevel = 4;
// How much of the last frames primes the next segment. An update's
// envelope and keys repeat from one event to the next; more reaches
// further back for little gain and costs time on every write.
constexpr std::size_t kDictionaryBytes = 1024;

struct SegmentCompressor {
  z_stream z{};
  bool ok = false;
  SegmentCompressor() {
    ok = deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -kWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) ==
         Z_OK;
  }
  ~SegmentCompressor() {
    if (ok) deflateEnd(&z);
  }
  SegmentCompressor(const SegmentCompressor&) = delete;
  SegmentCompressor& operator=(const SegmentCompressor&) = delete;
};

/// Runs deflate over what z.next_in holds, growing `out` as needed. With
/// Z_SYNC_FLUSH or Z_FINISH it returns once everything is out.
bool deflate_into(z_stream& z, std::string& out, int flush) {
  while (true) {
    const std::size_t used = out.size();
    const std::size_t room = std::max<std::size_t>(256, z.avail_in / 4 + 64);
    out.resize(used + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z.avail_out = static_cast<uInt>(room);
    const int rc = deflate(&z, flush);
    out.resize(used + room - z.avail_out);
    if (rc == Z_STREAM_ERROR) return false;
    if (rc == Z_STREAM_END) return true;
    if (z.avail_in == 0 && z.avail_out != 0) return true;
  }
}

void append_le32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

bool accepts_gzip(const HttpRequest& req) {
  auto it = req.find(http::field::accept_encoding);
  if (it == req.end()) return false;
  std::optional<double> gzip_q;
  std::optional<double> any_q;
  for (const auto& [coding, params] : http::ext_list(it->value())) {
    if (boost::beast::iequals(coding, "gzip") || boost::beast::iequals(coding, "x-gzip"))
      gzip_q = quality_of(params);
    else if (coding == "*")
      any_q = quality_of(params);
  }
  // A coding named outright wins over the wildcard.
  if (gzip_q) return *gzip_q > 0;
  return any_q && *any_q > 0;
}

std::string gzip_compress(std::string_view data, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out;
  out.reserve(deflateBound(&z, data.size()) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  const bool ok = deflate_into(z, out, Z_FINISH);
  deflateEnd(&z);
  return ok ? out : std::string();
}

void GzipStreamEncoder::begin(std::string& out) const {
  // ID1 ID2, deflate, no flags, no mtime, no extra flags, OS unix.
  static constexpr char kHeader[] = {'\x1f', '\x8b', '\x08', '\x00', '\x00',
                                     '\x00', '\x00', '\x00', '\x00', '\x03'};
  out.append(kHeader, sizeof kHeader);
}

bool GzipStreamEncoder::append(std::string& out, std::span<const FramePtr> frames) {
  if (frames.empty()) return true;
  thread_local SegmentCompressor compressor;
  if (!compressor.ok || deflateReset(&compressor.z) != Z_OK) return false;
  z_stream& z = compressor.z;

  // The dictionary: the last kDictionaryBytes this stream sent, which end
  // the client's window.
  char dictionary[kDictionaryBytes];
  std::size_t length = 0;
  for (int i = 1; i >= 0 && length < kDictionaryBytes; --i) {
    if (!previous_[i]) continue;
    const std::string& f = *previous_[i];
    const std::size_t take = std::min(f.size(), kDictionaryBytes - length);
    // Filled from the end backwards: the newest bytes go last.
    std::copy(f.end() - static_cast<std::ptrdiff_t>(take), f.end(),
              dictionary + kDictionaryBytes - length - take);
    length += take;
  }
  if (length > 0 &&
      deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dictionary + kDictionaryBytes - length),
                           static_cast<uInt>(length)) != Z_OK)
    return false;

  for (const FramePtr& frame : frames) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(frame->data()));
    z.avail_in = static_cast<uInt>(frame->size());
    if (!deflate_into(z, out, Z_NO_FLUSH)) return false;
    crc_ = static_cast<std::uint32_t>(
        crc32(crc_, reinterpret_cast<const Bytef*>(frame->data()), static_cast<uInt>(frame->size())));
    size_ += static_cast<std::uint32_t>(frame->size());
  }
  z.next_in = nullptr;
  z.avail_in = 0;
  if (!deflate_into(z, out, Z_SYNC_FLUSH)) return false;

  if (frames.size() >= 2) {
    previous_[0] = frames[frames.size() - 2];
  } else {
    previous_[0] = std::move(previous_[1]);
  }
  previous_[1] = frames.back();
  return true;
}

void GzipStreamEncoder::finish(std::string& out) const {
  // A final, empty block with fixed codes (BFINAL=1, BTYPE=01, end-of-block):
  // each segment ended byte-aligned, so it starts on a fresh byte.
  out += '\x03';
  out += '\x00';
  append_le32(out, crc_);
  append_le32(out, size_);
}

}  // namespace tagstream
