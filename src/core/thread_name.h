#pragma once
// Names the calling thread, as `top -H`, `ps -L` and perf show it (Linux
// keeps the first 15 characters).
#include <string>

namespace tagstream {

void name_this_thread(const std::string& name);

}  // namespace tagstream
