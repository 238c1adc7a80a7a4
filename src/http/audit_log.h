#pragma once
// The audit trail a plant's SIEM ingests: one JSON object per line for every
// write request, metadata change, sign-in and refused credential, naming
// the token, the client address and the outcome. Never the credential
// itself, nor a query string (it may carry one).
#include <boost/json/object.hpp>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

namespace tagstream {

class AuditLog {
 public:
  /// Appends to `path` ("-": standard error). Throws std::runtime_error when
  /// the file cannot be opened.
  explicit AuditLog(const std::string& path);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  /// Writes `event` with a "time" field first, as one line, and flushes it:
  /// a line is in the file before the request is answered.
  void record(const boost::json::object& event);

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
  bool owned_ = false;
};

}  // namespace tagstream
