#include "core/build_info.h"

#include "tagstream_build_revision.h"  // generated: TAGSTREAM_REVISION, TAGSTREAM_BUILD_DATE

namespace tagstream {

const BuildInfo& build_info() {
  static const BuildInfo info{TAGSTREAM_VERSION, TAGSTREAM_REVISION, TAGSTREAM_BUILD_DATE,
                              TAGSTREAM_BUILD_TYPE};
  return info;
}

std::string version_line() {
  const BuildInfo& b = build_info();
  std::string line = "tagstream ";
  line += b.version;
  line += " (git ";
  line += b.revision;
  line += ", built ";
  line += b.date;
  line += ", ";
  line += b.build_type;
  line += ")";
  return line;
}

}  // namespace tagstream
