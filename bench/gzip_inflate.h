#pragma once
// Inflating a gzip-encoded SSE stream for the load generator as its bytes
// arrive: one member that normally never ends (each write the server makes
// ends with a sync flush, so everything received so far decodes). Whole
// answers are inflated by tagstream's own inflate_body (ingest/gzip.h), which
// has no way to hand out the output of an unfinished member.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tagstream_bench {

class GzipInflater {
 public:
  enum class Result { more, end, error };

  GzipInflater();
  ~GzipInflater();
  GzipInflater(const GzipInflater&) = delete;
  GzipInflater& operator=(const GzipInflater&) = delete;

  /// Ready for the next member (a new response on the connection), keeping
  /// zlib's allocations.
  void reset();
  /// Inflates `in`, handing the output to on_out in pieces (views of a
  /// buffer shared by every inflater of the thread: copy what must outlive
  /// the call). `end` once the member's trailer is in (its CRC checked);
  /// bytes after it are an error, since one response carries one member.
  template <class OnOut>
  Result feed(std::string_view in, OnOut&& on_out) {
    while (true) {
      std::string_view out;
      bool again = false;
      const Result r = step(in, out, again);
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
  Result step(std::string_view& in, std::string_view& out, bool& again);

  struct Z;
  std::unique_ptr<Z> z_;
  bool ended_ = false;
  std::uint64_t total_out_ = 0;
  std::string error_;
};

}  // namespace tagstream_bench
