#pragma once
// gzip for HTTP answers: whether a client takes it, whole bodies compressed
// at once, and SSE streams compressed write by write.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "http/responses.h"
#include "hub/sse_frame.h"

namespace tagstream {

/// Whether the request's Accept-Encoding allows gzip (a `gzip;q=0` does not).
[[nodiscard]] bool accepts_gzip(const HttpRequest& req);

/// One complete gzip member; empty if zlib fails.
std::string gzip_compress(std::string_view data, int level = 6);

/// Compresses one SSE stream as a single gzip member without keeping a
/// compressor per stream (zlib's costs ~9 KB even at its smallest, more
/// than an idle stream costs in all).
///
/// Each write becomes a raw deflate segment from a compressor shared by the
/// thread, primed with the tail of what this stream sent last: the client's
/// inflater holds those bytes in its window, so references into them decode
/// exactly, and an update compresses about as well as with a private
/// compressor (to ~30 bytes from ~150). Each segment ends with a sync flush,
/// so the client decodes it as soon as it arrives. Per stream this keeps
/// the last frames sent, a CRC and a length (for the trailer).
class GzipStreamEncoder {
 public:
  /// Appends the gzip header: once, before the first segment.
  void begin(std::string& out) const;
  /// Appends `frames`, compressed as one sync-flushed segment. Returns
  /// false if zlib failed (the stream must then end).
  bool append(std::string& out, std::span<const FramePtr> frames);
  /// Appends the end of the member (a final empty block and the trailer).
  void finish(std::string& out) const;

 private:
  // The frames sent last, oldest first: the dictionary of the next segment.
  FramePtr previous_[2];
  std::uint32_t crc_ = 0;
  std::uint32_t size_ = 0;  // uncompressed length, mod 2^32 as gzip wants
};

}  // namespace tagstream
