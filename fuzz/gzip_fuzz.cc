// inflate_body and GzipStreamInflater. The input is a small header and a
// payload:
//   byte 0     bit 0: the payload is plain data that the target gzips itself
//                     (so the fuzzer reaches deep into valid streams, which
//                     random bytes rarely are), else it is the compressed
//                     body as received; bit 1: flip one byte of the gzipped
//                     data; bits 4-7: compression level
//   bytes 1-2  inflate_body's max_output (little endian, 0..65535)
//   byte 3     the streaming inflater's chunk and scratch size, 1..256
// Invariants: inflate_body never returns more than max_output bytes nor
// holds more capacity than that; a failure returns no data; the streaming
// inflater hands out pieces no larger than its scratch buffer that add up to
// total_out(), and decodes whatever the one-shot path decodes; a gzipped
// payload comes back byte for byte, or as too_large past the limit.
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "ingest/gzip.h"

namespace {

using namespace tagstream;

std::string gzip(std::string_view data, int level) {
  z_stream s{};
  FUZZ_CHECK(deflateInit2(&s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&s, static_cast<uLong>(data.size())), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  FUZZ_CHECK(deflate(&s, Z_FINISH) == Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

struct Streamed {
  GzipStreamInflater::Result result = GzipStreamInflater::Result::more;
  std::string data;
  bool too_large = false;  // stopped keeping output past `keep` bytes
};

/// Feeds all of `in` in pieces of `chunk` bytes, keeping at most `keep` bytes
/// of output: `end` means one whole member and nothing after it.
Streamed stream(GzipStreamInflater& inflater, std::string_view in, std::size_t chunk, std::size_t keep) {
  Streamed s;
  std::vector<char> scratch(chunk);
  std::uint64_t handed_out = 0;
  const std::uint64_t before = inflater.total_out();
  while (true) {
    const std::string_view piece = in.substr(0, chunk);
    in.remove_prefix(piece.size());
    s.result = inflater.feed(piece, scratch, [&](std::string_view out) {
      FUZZ_CHECK(out.size() <= scratch.size());
      handed_out += out.size();
      if (s.data.size() + out.size() > keep) {
        s.too_large = true;
      } else {
        s.data.append(out);
      }
    });
    // After `end` the rest of the input, if any, is fed too: it must be refused.
    if (s.result == GzipStreamInflater::Result::error || in.empty() || s.too_large) break;
  }
  FUZZ_CHECK(inflater.total_out() - before == handed_out);
  if (s.result == GzipStreamInflater::Result::error) FUZZ_CHECK(!inflater.error().empty());
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  const bool compress_here = data[0] & 1;
  const bool corrupt = data[0] & 2;
  const int level = std::min(data[0] >> 4, 9);
  const std::size_t max_output = data[1] | (std::size_t{data[2]} << 8);
  const std::size_t chunk = std::size_t{data[3]} + 1;
  const std::string_view payload(reinterpret_cast<const char*>(data + 4), size - 4);

  std::string body(payload);
  if (compress_here) {
    body = gzip(payload, level);
    if (corrupt) body[payload.size() % body.size()] ^= 0x5a;
  }

  const InflateResult r = inflate_body(body, max_output);
  FUZZ_CHECK(r.data.size() <= max_output);
  // libstdc++ never allocates a heap buffer smaller than twice its inline
  // capacity (30 bytes), so a limit under that cannot be met exactly.
  FUZZ_CHECK(r.data.capacity() <= std::max<std::size_t>(max_output, 2 * std::string().capacity()));
  if (!r.error.empty()) FUZZ_CHECK(r.data.empty());
  if (r.too_large) FUZZ_CHECK(!r.error.empty());
  if (compress_here && !corrupt) {
    if (payload.size() <= max_output) {
      FUZZ_CHECK(r.error.empty() && r.data == payload);
    } else {
      FUZZ_CHECK(r.too_large);
    }
  }

  // The streaming inflater never needs to keep more than the one-shot path
  // would give; output past that is a bomb the one-shot path refused.
  GzipStreamInflater inflater;
  const std::size_t keep = std::max<std::size_t>(max_output, body.size()) + 1;
  const Streamed s = stream(inflater, body, chunk, keep);
  if (s.result == GzipStreamInflater::Result::end && !s.too_large && r.error.empty()) {
    FUZZ_CHECK(s.data == r.data);
  }
  if (s.result == GzipStreamInflater::Result::end && !s.too_large && s.data.size() <= max_output) {
    // One whole gzip member: the one-shot path decodes it the same way.
    FUZZ_CHECK(r.error.empty() && r.data == s.data);
  }
  if (compress_here && !corrupt && payload.size() < keep) {
    FUZZ_CHECK(s.result == GzipStreamInflater::Result::end && s.data == payload);
  }

  // A reset inflater decodes the same input the same way, in one piece.
  inflater.reset();
  FUZZ_CHECK(inflater.total_out() == 0);
  const Streamed again = stream(inflater, body, std::max<std::size_t>(body.size(), 1), keep);
  if (!s.too_large && !again.too_large) {
    FUZZ_CHECK(again.result == s.result);
    FUZZ_CHECK(again.data == s.data);
  }
  return 0;
}
