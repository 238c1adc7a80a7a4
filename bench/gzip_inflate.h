#pragma once
// Inflating gzip response bodies for the load generator: an SSE stream as its
// bytes arrive (one member that normally never ends: each write the server
// makes ends with a sync flush, so everything received so far decodes), and
// a polling answer in one go.
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

/// A whole gzip body (a polling answer) into `out`; false (and why in
/// `error`) unless it is exactly one complete, intact member.
bool gunzip(GzipInflater& inflater, std::string_view in, std::string& out, std::string& error);

}  // namespace tagstream_bench
