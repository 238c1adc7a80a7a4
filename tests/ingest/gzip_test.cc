// inflate_body: gzip / zlib request bodies with a hard output bound.
#include "ingest/gzip.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace tagstream {
namespace {

constexpr int kGzip = 15 + 16;  // deflateInit2 windowBits for a gzip wrapper
constexpr int kZlib = 15;       // zlib wrapper (RFC 1950)
constexpr int kRaw = -15;       // raw deflate, no wrapper

/// Compresses `repeat` copies of `data` as one stream, without ever holding
/// the uncompressed whole in memory.
std::string compress(std::string_view data, int window_bits = kGzip, std::size_t repeat = 1) {
  z_stream strm{};
  EXPECT_EQ(deflateInit2(&strm, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out;
  char buf[16384];
  for (std::size_t i = 0; i < repeat; ++i) {
    const bool last = i + 1 == repeat;
    strm.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    strm.avail_in = static_cast<uInt>(data.size());
    int rc = Z_OK;
    do {
      strm.next_out = reinterpret_cast<Bytef*>(buf);
      strm.avail_out = sizeof buf;
      rc = deflate(&strm, last ? Z_FINISH : Z_NO_FLUSH);
      out.append(buf, sizeof buf - strm.avail_out);
    } while (strm.avail_out == 0 || (last && rc != Z_STREAM_END));
  }
  if (repeat == 0) {  // an empty stream
    strm.next_out = reinterpret_cast<Bytef*>(buf);
    strm.avail_out = sizeof buf;
    EXPECT_EQ(deflate(&strm, Z_FINISH), Z_STREAM_END);
    out.append(buf, sizeof buf - strm.avail_out);
  }
  deflateEnd(&strm);
  return out;
}

/// Deterministic, poorly compressible text of `n` bytes.
std::string sample_text(std::size_t n) {
  std::string s;
  s.reserve(n);
  std::uint32_t x = 12345;
  while (s.size() < n) {
    x = x * 1'103'515'245u + 12'345u;
    s += "boiler" + std::to_string(x % 97) + ".temperature value=" + std::to_string(x >> 8) + "\n";
  }
  s.resize(n);
  return s;
}

// ---------------------------------------------------------------- success

TEST(GzipInflate, RoundTrip) {
  const std::string text = sample_text(300'000);
  const auto r = inflate_body(compress(text), 1 << 20);
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(r.too_large);
  EXPECT_EQ(r.data.size(), 300'000u);
  EXPECT_EQ(r.data, text);
}

TEST(GzipInflate, SmallBody) {
  const auto r = inflate_body(compress(R"([{"tag":"a","value":1}])"), 1024);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.data, R"([{"tag":"a","value":1}])");
}

TEST(GzipInflate, ZlibWrapperIsAutoDetected) {
  const std::string text = sample_text(5000);
  const auto r = inflate_body(compress(text, kZlib), 1 << 20);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.data, text);
}

TEST(GzipInflate, EmptyInputIsEmptyOutput) {
  const auto r = inflate_body("", 1024);
  EXPECT_EQ(r.data, "");
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(r.too_large);
}

TEST(GzipInflate, CompressedEmptyContent) {
  const std::string gz = compress("", kGzip, 0);
  EXPECT_EQ(gz.size(), 20u);  // 10-byte header, empty final block, 8-byte trailer
  const auto r = inflate_body(gz, 0);
  EXPECT_EQ(r.data, "");
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(r.too_large);
}

TEST(GzipInflate, ConcatenatedMembers) {
  const auto r = inflate_body(compress("hello ") + compress("gzip ") + compress("world"), 1024);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.data, "hello gzip world");

  // An empty member in the middle, and a zlib stream after a gzip member.
  const auto mixed = inflate_body(compress("a") + compress("", kGzip, 0) + compress("b", kZlib), 1024);
  EXPECT_EQ(mixed.error, "");
  EXPECT_EQ(mixed.data, "ab");
}

// ---------------------------------------------------------------- the bound

TEST(GzipBound, ExactlyAtTheLimitIsAccepted) {
  const std::string text = sample_text(100'000);
  const std::string gz = compress(text);
  const auto at = inflate_body(gz, 100'000);
  EXPECT_EQ(at.error, "");
  EXPECT_FALSE(at.too_large);
  EXPECT_EQ(at.data, text);

  const auto over = inflate_body(gz, 99'999);
  EXPECT_TRUE(over.too_large);
  EXPECT_EQ(over.error, "decompressed body exceeds 99999 bytes");
  EXPECT_EQ(over.data, "");
}

TEST(GzipBound, ZeroLimitRejectsAnyContent) {
  const auto r = inflate_body(compress("x"), 0);
  EXPECT_TRUE(r.too_large);
  EXPECT_EQ(r.error, "decompressed body exceeds 0 bytes");
}

TEST(GzipBound, LimitAppliesAcrossMembers) {
  const std::string half = std::string(600'000, 'a');
  const auto r = inflate_body(compress(half) + compress(half), 1'000'000);
  EXPECT_TRUE(r.too_large);
  EXPECT_EQ(r.error, "decompressed body exceeds 1000000 bytes");
  EXPECT_EQ(r.data, "");
}

/// Peak resident memory (VmHWM) in kB after resetting it, or nullopt where
/// /proc/self/clear_refs is unavailable.
bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.close();
  return static_cast<bool>(f);
}

std::optional<long> peak_rss_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return std::nullopt;
}

TEST(GzipBound, ZipBombStopsAtTheLimit) {
  // 100 MiB of zeros compressed to about 100 KB; compressed from a 1 MiB
  // buffer so the test itself never holds 100 MiB either.
  const std::string zeros(1 << 20, '\0');
  const std::string bomb = compress(zeros, kGzip, 100);
  EXPECT_LT(bomb.size(), 200'000u);

  const bool can_measure = reset_peak_rss();
  const std::optional<long> before = peak_rss_kb();
  const auto r = inflate_body(bomb, 1 << 20);
  const std::optional<long> after = peak_rss_kb();

  EXPECT_TRUE(r.too_large);
  EXPECT_EQ(r.error, "decompressed body exceeds 1048576 bytes");
  EXPECT_EQ(r.data, "");
  if (can_measure && before && after) {
    // Decoding it all would touch 100 MiB; the bound allows 1 MiB plus
    // a 64 KiB buffer and zlib's 32 KiB window (more under sanitizers).
    EXPECT_LT(*after - *before, 16 * 1024) << "peak RSS grew by " << (*after - *before) << " kB";
  } else {
    std::cout << "[ note ] /proc/self/clear_refs unavailable: peak memory not measured\n";
  }
}

// ---------------------------------------------------------------- errors

TEST(GzipErrors, TruncatedInput) {
  const std::string gz = compress(sample_text(50'000));
  for (std::size_t cut :
       {std::size_t{1}, std::size_t{5}, std::size_t{10}, gz.size() / 2, gz.size() - 4, gz.size() - 1}) {
    const auto r = inflate_body(std::string_view(gz).substr(0, cut), 1 << 20);
    EXPECT_EQ(r.error, "truncated compressed data: unexpected end of input") << "cut at " << cut;
    EXPECT_FALSE(r.too_large);
    EXPECT_EQ(r.data, "");
  }
}

TEST(GzipErrors, TruncatedSecondMember) {
  const std::string second = compress("world");
  const auto r = inflate_body(compress("hello ") + second.substr(0, second.size() - 3), 1024);
  EXPECT_EQ(r.error, "truncated compressed data: unexpected end of input");
  EXPECT_EQ(r.data, "");
}

TEST(GzipErrors, Garbage) {
  const auto r = inflate_body("boiler1.temperature value=81.5", 1024);
  EXPECT_EQ(r.error, "invalid compressed data: incorrect header check");
  EXPECT_FALSE(r.too_large);
  EXPECT_EQ(r.data, "");
  // A gzip magic number followed by a bad compression method.
  EXPECT_EQ(inflate_body(std::string("\x1f\x8b\x09\x00\x00\x00\x00\x00\x00\x03", 10), 1024).error,
            "invalid compressed data: unknown compression method");
}

TEST(GzipErrors, RawDeflateIsNotAccepted) {
  EXPECT_EQ(inflate_body(compress("hello", kRaw), 1024).error,
            "invalid compressed data: incorrect header check");
}

TEST(GzipErrors, CorruptChecksumAndLength) {
  const std::string text = sample_text(10'000);
  std::string bad_crc = compress(text);
  bad_crc[bad_crc.size() - 8] ^= 0x01;  // CRC-32 is the trailer's first 4 bytes
  EXPECT_EQ(inflate_body(bad_crc, 1 << 20).error, "invalid compressed data: incorrect data check");

  std::string bad_len = compress(text);
  bad_len[bad_len.size() - 1] ^= 0x01;  // ISIZE is the last 4 bytes
  EXPECT_EQ(inflate_body(bad_len, 1 << 20).error, "invalid compressed data: incorrect length check");
}

TEST(GzipErrors, TrailingGarbageAfterAMember) {
  const auto r = inflate_body(compress("hello") + "junk", 1024);
  EXPECT_EQ(r.error, "invalid compressed data: incorrect header check");
  EXPECT_EQ(r.data, "");
}

// What a streaming server sends: one gzip member, a sync flush after each
// write, and the trailer only when the stream ends.
std::string gzip_with_sync_flushes(const std::vector<std::string>& writes, bool finish) {
  z_stream strm{};
  EXPECT_EQ(deflateInit2(&strm, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzip, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out;
  auto run = [&](std::string_view in, int flush) {
    strm.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    strm.avail_in = static_cast<uInt>(in.size());
    char buf[4096];
    do {
      strm.next_out = reinterpret_cast<Bytef*>(buf);
      strm.avail_out = sizeof buf;
      deflate(&strm, flush);
      out.append(buf, sizeof buf - strm.avail_out);
    } while (strm.avail_out == 0);
  };
  for (const std::string& w : writes) run(w, Z_SYNC_FLUSH);
  if (finish) run({}, Z_FINISH);
  deflateEnd(&strm);
  return out;
}

TEST(GzipStream, EachSyncFlushedWriteDecodesBeforeTheMemberEnds) {
  const std::string first = "event: data\ndata: 1\n\n", second = sample_text(100000);
  const std::string wire = gzip_with_sync_flushes({first, second}, false);
  const std::string first_wire = gzip_with_sync_flushes({first}, false);
  GzipStreamInflater inflater;
  std::string decoded;
  char scratch[1024];  // smaller than one write's output: pieces come in several calls
  auto sink = [&](std::string_view piece) { decoded.append(piece); };
  EXPECT_EQ(inflater.feed(std::string_view(wire).substr(0, first_wire.size()), scratch, sink),
            GzipStreamInflater::Result::more);
  EXPECT_EQ(decoded, first);
  EXPECT_EQ(inflater.feed(std::string_view(wire).substr(first_wire.size()), scratch, sink),
            GzipStreamInflater::Result::more);
  EXPECT_EQ(decoded, first + second);
  EXPECT_EQ(inflater.total_out(), first.size() + second.size());
}

TEST(GzipStream, ByteByByteToTheTrailerThenEnd) {
  const std::string text = sample_text(5000);
  const std::string wire = gzip_with_sync_flushes({text}, true);
  GzipStreamInflater inflater;
  std::string decoded;
  char scratch[256];
  GzipStreamInflater::Result r = GzipStreamInflater::Result::more;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    ASSERT_EQ(r, GzipStreamInflater::Result::more) << "ended early, at byte " << i;
    r = inflater.feed(std::string_view(wire).substr(i, 1), scratch,
                      [&](std::string_view p) { decoded.append(p); });
  }
  EXPECT_EQ(r, GzipStreamInflater::Result::end);
  EXPECT_EQ(decoded, text);
}

TEST(GzipStream, BytesAfterTheMemberOrGarbageAreErrorsAndResetStartsOver) {
  const std::string wire = gzip_with_sync_flushes({"abc"}, true);
  GzipStreamInflater inflater;
  char scratch[256];
  auto ignore = [](std::string_view) {};
  EXPECT_EQ(inflater.feed(wire + "x", scratch, ignore), GzipStreamInflater::Result::error);
  EXPECT_NE(inflater.error().find("after the end"), std::string::npos) << inflater.error();

  inflater.reset();
  std::string decoded;
  EXPECT_EQ(inflater.feed(wire, scratch, [&](std::string_view p) { decoded.append(p); }),
            GzipStreamInflater::Result::end);
  EXPECT_EQ(decoded, "abc");

  GzipStreamInflater garbage;
  EXPECT_EQ(garbage.feed("this is not gzip at all", scratch, ignore), GzipStreamInflater::Result::error);
  EXPECT_FALSE(garbage.error().empty());
}

}  // namespace
}  // namespace tagstream
