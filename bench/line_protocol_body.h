#pragma once
// The request bodies of `tagstream-bench ingest`: line protocol in which line
// i of the stream (over all requests) is
//   <measurement>,<tag-key>=d<k> <field>=<value> <timestamp>
// with k = i mod tags (zero-padded, so every line has the same length) and
// timestamp = start + (i div tags) * step: every tag's timestamps increase,
// so nothing overwrites earlier data. A template body is generated once per
// connection and its fixed-width fields are rewritten in place for each
// request, so the client spends little CPU per request.
#include <cstddef>
#include <cstdint>
#include <string>

namespace tagstream_bench {

enum class Signal { ramp, wave };

struct BodySpec {
  std::string measurement = "plant";
  std::string tag_key = "dev";
  std::string field = "v";
  std::int64_t tags = 1000;
  std::int64_t lines_per_request = 5000;
  std::int64_t start = 0;  // in precision units
  std::int64_t step = 1;   // in precision units
  double units_per_second = 1e9;
  Signal signal = Signal::ramp;
};

class BodyWriter {
 public:
  /// Dies unless every timestamp up to round max_rounds has as many digits
  /// as the first (the fields are fixed-width).
  BodyWriter(const BodySpec& spec, std::int64_t max_rounds);

  std::size_t line_length() const { return line_len_; }

  /// Writes lines [first_line, first_line + n) of the stream into body.
  void fill(std::string& body, std::uint64_t first_line, std::size_t n);

 private:
  /// A value in [100.000, 999.999], in thousandths.
  std::uint64_t value_milli(std::uint64_t tag, std::uint64_t round, std::int64_t ts) const;

  BodySpec spec_;
  std::string prefix_;
  int tag_width_ = 1, ts_width_ = 19;
  std::size_t tag_off_ = 0, value_off_ = 0, ts_off_ = 0, line_len_ = 0;
};

}  // namespace tagstream_bench
