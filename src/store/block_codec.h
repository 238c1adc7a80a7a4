#pragma once
// Compact binary encodings of the SQLite store's blobs: a block of one tag's
// raw points or of one tier's buckets (sorted by time), and a journal record
// of one committed batch. Encoders write version 2 (timestamps and ids as
// delta-of-delta or delta varints, decimal values as scaled integers, small
// fields packed into flag bits; see block_codec.cc); decoders read it and
// version 1, which databases written before it hold. Values are kept
// bit-exact. Decoders throw std::runtime_error on a damaged blob.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/aggregate.h"
#include "core/sample.h"
#include "store/store.h"

namespace tagstream {

/// One stored raw sample with the live event id it was given (0 for late).
struct RawPoint {
  TimeNs ts = 0;
  double value = 0;
  Quality quality = Quality::good;
  Seq seq = 0;

  Sample sample() const { return Sample{ts, value, quality}; }
  friend bool operator==(const RawPoint&, const RawPoint&) = default;
};

inline TimeNs key_of(const RawPoint& p) {
  return p.ts;
}
inline TimeNs key_of(const Aggregate& a) {
  return a.start;
}

std::string encode_block(std::span<const RawPoint> points);
std::string encode_block(std::span<const Aggregate> buckets);
void decode_block(std::string_view blob, std::vector<RawPoint>& out);
void decode_block(std::string_view blob, std::vector<Aggregate>& out);

/// A batch of samples as one journal record, and back (appended to `out`).
std::string encode_journal(std::span<const StoredSample> samples);
void decode_journal(std::string_view blob, std::vector<StoredSample>& out);

}  // namespace tagstream
