#pragma once
// Decompressing gzip: request bodies sent with `Content-Encoding: gzip` (or
// `deflate`), whole and with a hard bound on the output so a zip bomb cannot
// exhaust memory; and a gzip stream as its bytes arrive, for the clients that
// read tagstream's own gzip-encoded SSE streams (the tests and the load
// generator).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
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

/// Inflates one gzip member as its bytes arrive: an SSE stream is one member
/// that normally never ends, and each write the server makes ends with a
/// sync flush, so everything received so far decodes. Not thread safe.
class GzipStreamInflater {
 public:
  enum class Result { more, end, error };

  GzipStreamInflater();
  ~GzipStreamInflater();
  GzipStreamInflater(const GzipStreamInflater&) = delete;
  GzipStreamInflater& operator=(const GzipStreamInflater&) = delete;

  /// Ready for the next member (a new response on the connection), keeping
  /// zlib's allocations.
  void reset();
  /// Inflates `in` into `scratch`, handing each piece to on_out as a view of
  /// `scratch` (copy what must outlive the call; many inflaters may share
  /// one scratch buffer). `end` once the member's trailer is in, its CRC
  /// checked; bytes after it are an error, as one response carries one
  /// member.
  template <class OnOut>
  [[nodiscard]] Result feed(std::string_view in, std::span<char> scratch, OnOut&& on_out) {
    while (true) {
      std::string_view out;
      bool again = false;
      const Result r = step(in, scratch, out, again);
      if (!out.empty()) on_out(out);
      if (r != Result::more || !again) return r;
    }
  }
  /// Decoded bytes so far, this member.
  std::uint64_t total_out() const { return total_out_; }
  const std::string& error() const { return error_; }

 private:
  /// One inflate() call: consumes from `in`, points `out` at what it made;
  /// `again` when another call can make more (input left, or the output
  /// buffer was filled).
  Result step(std::string_view& in, std::span<char> scratch, std::string_view& out, bool& again);

  struct Z;
  std::unique_ptr<Z> z_;
  bool ended_ = false;
  std::uint64_t total_out_ = 0;
  std::string error_;
};

}  // namespace tagstream
