#pragma once
// What this binary is: the release version (CMake's project(VERSION)), the
// git revision it was built from and when, and the build type. Shown by
// `tagstream --version`, /healthz, /api/stats and the tagstream_build_info
// metric, so an operator can tell which build each node runs.
#include <string>
#include <string_view>

namespace tagstream {

struct BuildInfo {
  std::string_view version;     // "0.9.0"
  std::string_view revision;    // short git sha, "-dirty" when the tree had changes; "unknown" outside git
  std::string_view date;        // build day, YYYY-MM-DD (UTC)
  std::string_view build_type;  // CMAKE_BUILD_TYPE: Release, RelWithDebInfo, Debug
};

/// This binary's build. Constant; safe from any thread.
const BuildInfo& build_info();

/// "tagstream 0.9.0 (git 1a2b3c4d5e, built 2026-12-05, RelWithDebInfo)".
std::string version_line();

}  // namespace tagstream
