#pragma once
// Decompressing request bodies sent with `Content-Encoding: gzip` (or
// `deflate`), with a hard bound on the output so a zip bomb cannot exhaust
// memory.
#include <cstddef>
#include <string>
#include <string_view>

namespace tagstream {

struct [[nodiscard]] InflateResult {
  std::string data;   // the decompressed bytes; empty on failure
  std::string error;  // non-empty on failure
  bool too_large = false;
};

/// Decodes gzip, and also zlib-wrapped deflate (RFC 1950), auto-detected by
/// zlib's windowBits 15+32. Concatenated members (`cat a.gz b.gz`) decode to
/// the concatenation of their contents. Empty input decodes to empty output
/// (no error). Fails with `too_large` as soon as the output would exceed
/// `max_output` bytes; at most `max_output` bytes (plus a fixed 64 KiB
/// buffer) are ever allocated, however large the stream claims to be.
/// Truncated input, bad checksums, garbage and bytes after the last member
/// are errors.
[[nodiscard]] InflateResult inflate_body(std::string_view compressed, std::size_t max_output);

}  // namespace tagstream
