#pragma once
// The dashboard's built files, read into memory once at start-up (they are
// small) with a gzip copy and an ETag each, so serving one is a lookup.
// Immutable after load(): safe to read from every thread.
#include <optional>
#include <string>
#include <unordered_map>

namespace tagstream {

struct StaticFile {
  std::string body;
  std::string gzip_body;  // empty when compressing would not help
  std::string content_type;
  std::string etag;
  bool immutable = false;  // a content-hashed asset: cache for a year
};

class StaticFiles {
 public:
  /// Loads every regular file under `root` (at most `max_bytes` in all).
  /// Returns the number of files, or 0 when `root` does not exist.
  std::size_t load(const std::string& root, std::size_t max_bytes = 64 * 1024 * 1024);

  /// The file for a request path; "/" is index.html.
  const StaticFile* find(const std::string& path) const;
  bool empty() const { return files_.empty(); }

 private:
  std::unordered_map<std::string, StaticFile> files_;
};

}  // namespace tagstream
