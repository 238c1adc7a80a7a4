#include "http/audit_log.h"

#include <stdexcept>

#include "core/json_text.h"
#include "core/time.h"

namespace tagstream {

AuditLog::AuditLog(const std::string& path) {
  if (path == "-") {
    file_ = stderr;
    return;
  }
  file_ = std::fopen(path.c_str(), "a");
  if (!file_) throw std::runtime_error("cannot open audit log " + path);
  owned_ = true;
}

AuditLog::~AuditLog() {
  if (owned_) std::fclose(file_);
}

void AuditLog::record(const boost::json::object& event) {
  boost::json::object line;
  line.reserve(event.size() + 1);
  line["time"] = format_iso8601(now_ns());
  for (const auto& field : event) line.insert(field);
  std::string text = json_text(line);
  text += '\n';
  std::lock_guard lock(mutex_);
  std::fwrite(text.data(), 1, text.size(), file_);
  std::fflush(file_);
}

}  // namespace tagstream
