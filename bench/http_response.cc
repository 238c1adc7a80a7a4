#include "http_response.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tagstream_bench {

namespace {

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  return false;
}

}  // namespace

void ResponseReader::reset() {
  state_ = State::headers;
  head_.clear();
  status_ = 0;
  etag_.clear();
  keep_alive_ = true;
  gzip_ = false;
  other_encoding_.clear();
  chunked_ = false;
  has_length_ = false;
  remaining_ = 0;
  header_bytes_ = 0;
  error_.clear();
}

ResponseReader::Result ResponseReader::fail(std::string msg) {
  error_ = std::move(msg);
  return Result::error;
}

bool ResponseReader::parse_headers() {
  // head_ holds the block up to and including the blank line.
  std::string_view block(head_);
  auto eol = block.find("\r\n");
  const std::string_view status_line = block.substr(0, eol);
  // "HTTP/1.1 200 OK"
  if (!status_line.starts_with("HTTP/1.")) return false;
  const auto sp = status_line.find(' ');
  if (sp == std::string_view::npos || status_line.size() < sp + 4) return false;
  std::from_chars(status_line.data() + sp + 1, status_line.data() + sp + 4, status_);
  keep_alive_ = status_line.starts_with("HTTP/1.1");
  block.remove_prefix(eol + 2);
  while (!block.empty()) {
    eol = block.find("\r\n");
    if (eol == std::string_view::npos || eol == 0) break;
    const std::string_view line = block.substr(0, eol);
    block.remove_prefix(eol + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      has_length_ = true;
      std::from_chars(value.data(), value.data() + value.size(), remaining_);
    } else if (iequals(name, "transfer-encoding")) {
      chunked_ = icontains(value, "chunked");
    } else if (iequals(name, "connection")) {
      if (icontains(value, "close")) keep_alive_ = false;
      if (icontains(value, "keep-alive")) keep_alive_ = true;
    } else if (iequals(name, "content-encoding")) {
      if (iequals(value, "gzip") || iequals(value, "x-gzip"))
        gzip_ = true;
      else if (!value.empty() && !iequals(value, "identity"))
        other_encoding_ = std::string(value);
    } else if (iequals(name, "etag")) {
      etag_ = std::string(value);
    }
  }
  return true;
}

void ResponseReader::take_counted(std::string_view& bytes, const std::function<void(std::string_view)>& body,
                                  State after) {
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, bytes.size()));
  body(bytes.substr(0, n));
  bytes.remove_prefix(n);
  remaining_ -= n;
  if (remaining_ == 0) state_ = after;
}

ResponseReader::Result ResponseReader::feed(std::string_view bytes,
                                            const std::function<void(std::string_view)>& body) {
  while (!bytes.empty()) {
    switch (state_) {
      case State::headers: {
        // Look for the blank line, also across the previous feed's end.
        const std::size_t before = head_.size();
        head_.append(bytes);
        const std::size_t from = before >= 3 ? before - 3 : 0;
        const auto end = head_.find("\r\n\r\n", from);
        if (end == std::string::npos) {
          if (head_.size() > kMaxHeaderBytes) return fail("response header block too large");
          return Result::more;
        }
        const std::size_t block_len = end + 4;
        const std::size_t used = block_len - before;
        head_.resize(block_len);
        header_bytes_ = block_len;
        if (!parse_headers()) return fail("bad status line: " + head_.substr(0, head_.find('\r')));
        head_.clear();
        bytes.remove_prefix(used);
        const bool no_body = status_ == 204 || status_ == 304 || (status_ >= 100 && status_ < 200);
        if (no_body || (has_length_ && remaining_ == 0 && !chunked_)) {
          state_ = State::done;
        } else if (chunked_) {
          state_ = State::chunk_size;
        } else if (has_length_) {
          state_ = State::body_length;
        } else {
          state_ = State::body_until_close;
          keep_alive_ = false;
        }
        break;
      }
      case State::body_length: take_counted(bytes, body, State::done); break;
      case State::body_until_close: body(bytes); return Result::more;
      case State::chunk_size:
      case State::trailers: {
        const auto eol = bytes.find('\n');
        if (eol == std::string_view::npos) {
          head_.append(bytes);
          if (head_.size() > 4096) return fail("chunk header too long");
          return Result::more;
        }
        head_.append(bytes.substr(0, eol + 1));
        bytes.remove_prefix(eol + 1);
        std::string_view line = trim(std::string_view(head_).substr(0, head_.size() - 1));
        if (state_ == State::trailers) {
          if (line.empty()) state_ = State::done;
          head_.clear();
          break;
        }
        std::uint64_t size = 0;
        auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
        if (ec != std::errc() || p == line.data()) return fail("bad chunk size");
        head_.clear();
        if (size == 0) {
          state_ = State::trailers;
        } else {
          remaining_ = size;
          state_ = State::chunk_data;
        }
        break;
      }
      case State::chunk_data: take_counted(bytes, body, State::chunk_data_end); break;
      case State::chunk_data_end: {
        // The CRLF after a chunk's data (maybe split over feeds).
        const char c = bytes.front();
        bytes.remove_prefix(1);
        if (c == '\n')
          state_ = State::chunk_size;
        else if (c != '\r')
          return fail("missing CRLF after chunk");
        break;
      }
      case State::done: return fail("bytes after the end of the response");
    }
  }
  return state_ == State::done ? Result::done : Result::more;
}

}  // namespace tagstream_bench
