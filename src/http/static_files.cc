#include "http/static_files.h"

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/log.h"
#include "http/compression.h"

namespace tagstream {

namespace fs = std::filesystem;

namespace {

std::string content_type_of(const fs::path& p) {
  const std::string ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

std::size_t StaticFiles::load(const std::string& root, std::size_t max_bytes) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return 0;
  std::size_t total = 0;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const fs::path& p = it->path();
    std::ifstream in(p, std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    StaticFile f;
    f.body = buf.str();
    total += f.body.size();
    if (total > max_bytes) {
      log(LogLevel::warn, "web root {} is larger than {} bytes; the rest is not served", root, max_bytes);
      break;
    }
    f.content_type = content_type_of(p);
    if (f.body.size() > 512 && f.content_type.find("image/png") == std::string::npos) {
      f.gzip_body = gzip_compress(f.body, 9);
      if (f.gzip_body.size() >= f.body.size()) f.gzip_body.clear();
    }
    const std::uint32_t crc = static_cast<std::uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(f.body.data()), static_cast<uInt>(f.body.size())));
    char etag[32];
    std::snprintf(etag, sizeof etag, "\"%08x-%zx\"", crc, f.body.size());
    f.etag = etag;
    const std::string rel = "/" + fs::relative(p, root, ec).generic_string();
    // Vite names built assets by content hash: they never change under
    // the same name.
    f.immutable = rel.starts_with("/assets/");
    files_[rel] = std::move(f);
  }
  return files_.size();
}

const StaticFile* StaticFiles::find(const std::string& path) const {
  auto it = files_.find(path == "/" ? "/index.html" : path);
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace tagstream
