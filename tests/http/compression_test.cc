// gzip for HTTP: Accept-Encoding negotiation, and the stream encoder whose
// segments come from one compressor shared by every stream of a thread,
// each primed with what that stream sent last.
#include "http/compression.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

namespace tagstream {
namespace {

HttpRequest with_accept_encoding(const std::string& value) {
  HttpRequest req{boost::beast::http::verb::get, "/", 11};
  if (!value.empty()) req.set(boost::beast::http::field::accept_encoding, value);
  return req;
}

TEST(AcceptsGzip, FollowsTheQValuesAndTheWildcard) {
  EXPECT_FALSE(accepts_gzip(with_accept_encoding("")));
  EXPECT_TRUE(accepts_gzip(with_accept_encoding("gzip")));
  EXPECT_TRUE(accepts_gzip(with_accept_encoding("gzip, deflate, br, zstd")));
  EXPECT_TRUE(accepts_gzip(with_accept_encoding("br;q=1.0, GZIP;q=0.5")));
  EXPECT_TRUE(accepts_gzip(with_accept_encoding("x-gzip")));
  EXPECT_TRUE(accepts_gzip(with_accept_encoding("*")));
  EXPECT_FALSE(accepts_gzip(with_accept_encoding("gzip;q=0")));
  EXPECT_FALSE(accepts_gzip(with_accept_encoding("gzip;q=0.000, *")));
  EXPECT_FALSE(accepts_gzip(with_accept_encoding("identity")));
  EXPECT_FALSE(accepts_gzip(with_accept_encoding("deflate, br")));
  EXPECT_FALSE(accepts_gzip(with_accept_encoding("*;q=0")));
  EXPECT_FALSE(accepts_gzip(with_accept_encoding("gzipped")));
}

/// A client's inflater, fed segment by segment.
class Inflater {
 public:
  Inflater() { EXPECT_EQ(inflateInit2(&z_, 15 + 16), Z_OK); }
  ~Inflater() { inflateEnd(&z_); }
  /// Everything the bytes decode to; `ended` once the trailer checked out.
  std::string feed(const std::string& bytes) {
    std::string out;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z_.avail_in = static_cast<uInt>(bytes.size());
    char buf[4096];
    do {
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof buf;
      const int rc = inflate(&z_, Z_SYNC_FLUSH);
      out.append(buf, sizeof buf - z_.avail_out);
      if (rc == Z_STREAM_END) ended = true;
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        failed = true;
        break;
      }
    } while (z_.avail_out == 0 || (z_.avail_in > 0 && !ended));
    return out;
  }
  bool ended = false;
  bool failed = false;

 private:
  z_stream z_{};
};

FramePtr frame(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

TEST(GzipStreamEncoder, InterleavedStreamsEachDecodeExactlyAndAtOnce) {
  // Three streams written in turns on one thread share its compressor;
  // each segment must decode, whole, as soon as it arrives, and only
  // against its own stream's past.
  std::mt19937 rng(7);
  constexpr int kStreams = 3;
  GzipStreamEncoder encoders[kStreams];
  std::unique_ptr<Inflater> clients[kStreams];
  std::string sent[kStreams];
  std::string received[kStreams];
  for (int s = 0; s < kStreams; ++s) {
    clients[s] = std::make_unique<Inflater>();
    std::string header;
    encoders[s].begin(header);
    EXPECT_EQ(clients[s]->feed(header), "");
  }
  for (int round = 0; round < 400; ++round) {
    const int s = static_cast<int>(rng() % kStreams);
    std::vector<FramePtr> frames;
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < n; ++i) {
      std::string text = "id: " + std::to_string(1764000000000000ULL + round * 10 + i) +
                         "\nevent: data\ndata: {\"points\":[{\"tag\":\"stream" + std::to_string(s) + ".t" +
                         std::to_string(rng() % 50) + "\",\"v\":" + std::to_string(rng() % 100000) +
                         "}]}\n\n";
      if (rng() % 40 == 0)
        text.append(5000 + rng() % 5000, static_cast<char>('a' + rng() % 26));  // a big frame
      sent[s] += text;
      frames.push_back(frame(std::move(text)));
    }
    std::string segment;
    ASSERT_TRUE(encoders[s].append(segment, frames));
    received[s] += clients[s]->feed(segment);
    ASSERT_FALSE(clients[s]->failed) << "stream " << s << " round " << round;
    ASSERT_EQ(received[s], sent[s]) << "stream " << s << " decodes everything sent so far, at once";
  }
  for (int s = 0; s < kStreams; ++s) {
    std::string tail;
    encoders[s].finish(tail);
    EXPECT_EQ(clients[s]->feed(tail), "");
    EXPECT_TRUE(clients[s]->ended) << "the trailer's CRC and length match what was sent";
    EXPECT_FALSE(clients[s]->failed);
  }
}

TEST(GzipStreamEncoder, UpdatesCompressToAFractionOfTheirSize) {
  GzipStreamEncoder encoder;
  std::string wire;
  encoder.begin(wire);
  std::size_t plain = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string text = "id: " + std::to_string(1764000000123456ULL + i * 1000003ULL) +
                             "\nevent: data\ndata: {\"interval\":\"raw\",\"points\":[{\"tag\":\"plant.t000" +
                             std::to_string(i % 50) +
                             ".v\",\"t\":" + std::to_string(1764000000123ULL + i * 1000) +
                             ",\"v\":" + std::to_string(80 + (i * 37) % 100) + ".5,\"q\":\"good\"}]}\n\n";
    plain += text.size();
    const FramePtr f = frame(text);
    ASSERT_TRUE(encoder.append(wire, std::span<const FramePtr>(&f, 1)));
  }
  // One event per segment, each primed with the one before.
  EXPECT_LT(wire.size() * 3, plain) << wire.size() << " compressed vs " << plain;
}

TEST(GzipCompress, RoundTrips) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "{\"tag\":\"boiler" + std::to_string(i % 7) + "\"},";
  const std::string gz = gzip_compress(text);
  ASSERT_FALSE(gz.empty());
  Inflater client;
  EXPECT_EQ(client.feed(gz), text);
  EXPECT_TRUE(client.ended);
  EXPECT_LT(gz.size(), text.size() / 4);
}

}  // namespace
}  // namespace tagstream
