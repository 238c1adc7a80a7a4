#include "http/layout_store.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tagstream {

namespace fs = std::filesystem;

namespace {
constexpr std::string_view kSuffix = ".json";
}

bool is_valid_layout_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxLayoutNameLength || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

LayoutStore::LayoutStore(std::string dir) : dir_(std::move(dir)) {}

std::string LayoutStore::path_of(std::string_view name) const {
  return (fs::path(dir_) / (std::string(name) + std::string(kSuffix))).string();
}

std::vector<LayoutStore::Entry> LayoutStore::list() const {
  if (shared_) return shared_->list();
  std::vector<Entry> out;
  if (!enabled()) return out;
  std::lock_guard lock(mutex_);
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string file = p.filename().string();
    if (!file.ends_with(kSuffix)) continue;
    const std::string name = file.substr(0, file.size() - kSuffix.size());
    if (!is_valid_layout_name(name)) continue;
    std::error_code sec;
    const auto size = fs::file_size(p, sec);
    if (sec) continue;
    const auto mtime = fs::last_write_time(p, sec);
    const auto sys = std::chrono::file_clock::to_sys(mtime);
    out.push_back({name, static_cast<std::size_t>(size),
                   std::chrono::duration_cast<std::chrono::milliseconds>(sys.time_since_epoch()).count()});
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

std::optional<std::string> LayoutStore::load(std::string_view name) const {
  if (!enabled() || !is_valid_layout_name(name)) return std::nullopt;
  if (shared_) return shared_->load(name);
  std::lock_guard lock(mutex_);
  std::ifstream in(path_of(name), std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(kMaxLayoutBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxLayoutBytes) return std::nullopt;  // not written by save(): not served
  return text;
}

LayoutStore::SaveResult LayoutStore::save(std::string_view name, std::string_view json) {
  if (!enabled()) return SaveResult::unavailable;
  if (shared_) return shared_->save(name, json);
  std::lock_guard lock(mutex_);
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return SaveResult::failed;
  const std::string path = path_of(name);
  const bool exists = fs::exists(path, ec);
  if (!exists) {
    std::size_t count = 0;
    for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().filename().string().ends_with(kSuffix)) ++count;
    if (count >= kMaxLayouts) return SaveResult::too_many;
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(json.data(), static_cast<std::streamsize>(json.size()));
    out.flush();
    if (!out) {
      fs::remove(tmp, ec);
      return SaveResult::failed;
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return SaveResult::failed;
  }
  return exists ? SaveResult::replaced : SaveResult::created;
}

bool LayoutStore::remove(std::string_view name) {
  if (!enabled() || !is_valid_layout_name(name)) return false;
  if (shared_) return shared_->remove(name);
  std::lock_guard lock(mutex_);
  std::error_code ec;
  return fs::remove(path_of(name), ec);
}

}  // namespace tagstream
