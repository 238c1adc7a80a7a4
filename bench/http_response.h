#pragma once
// An incremental reader of one HTTP/1.1 response, for the epoll clients: the
// status line and the few headers the benchmarks need, then the body as
// Content-Length, chunked, or until the connection closes (an SSE stream that
// tagstream sends with Connection: close; nginx sends its streams chunked).
// Content-Encoding is noted, not undone: the body goes out as it came.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace tagstream_bench {

class ResponseReader {
 public:
  enum class Result { more, done, error };

  /// Forgets everything: ready for the next response on the connection.
  void reset();
  /// Feeds received bytes. Body bytes go to `body`. `done` when a response
  /// with a length (or chunked) is complete; bytes after it (pipelining) are
  /// not expected and are an error.
  Result feed(std::string_view bytes, const std::function<void(std::string_view)>& body);

  bool headers_done() const { return state_ != State::headers; }
  int status() const { return status_; }
  const std::string& etag() const { return etag_; }
  bool keep_alive() const { return keep_alive_; }
  /// Content-Encoding: gzip (or x-gzip).
  bool gzip() const { return gzip_; }
  /// Any other Content-Encoding than gzip and identity, as sent.
  const std::string& other_encoding() const { return other_encoding_; }
  std::uint64_t header_bytes() const { return header_bytes_; }
  const std::string& error() const { return error_; }

 private:
  enum class State {
    headers,
    body_length,
    body_until_close,
    chunk_size,
    chunk_data,
    chunk_data_end,
    trailers,
    done
  };
  /// Passes on body bytes up to `remaining_` (a Content-Length or a chunk),
  /// then moves to `after`.
  void take_counted(std::string_view& bytes, const std::function<void(std::string_view)>& body, State after);
  bool parse_headers();
  Result fail(std::string msg);

  State state_ = State::headers;
  std::string head_;  // the header block, and partial chunk-size/trailer lines
  int status_ = 0;
  std::string etag_;
  bool keep_alive_ = true;
  bool gzip_ = false;
  std::string other_encoding_;
  bool chunked_ = false;
  bool has_length_ = false;
  std::uint64_t remaining_ = 0;
  std::uint64_t header_bytes_ = 0;
  std::string error_;
};

}  // namespace tagstream_bench
