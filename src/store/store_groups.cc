#include <algorithm>
#include <limits>
#include <optional>

#include "store/store.h"

namespace tagstream {

TimeNs group_start(TimeNs t, TimeNs origin, TimeNs width) {
  const __int128 offset = static_cast<__int128>(t) - origin;
  __int128 groups = offset / width;
  if (offset % width != 0 && offset < 0) --groups;
  const __int128 start = origin + groups * width;
  return static_cast<TimeNs>(
      std::clamp<__int128>(start, std::numeric_limits<TimeNs>::min(), std::numeric_limits<TimeNs>::max()));
}

std::vector<HistoryPage> Store::read_groups(const GroupRequest& r) {
  std::vector<HistoryPage> out(r.tags.size());
  const TimeNs width = std::max<TimeNs>(r.group_width, 1);
  for (std::size_t i = 0; i < r.tags.size(); ++i) {
    HistoryPage& groups = out[i];
    HistoryRequest request{r.tags[i], r.interval, r.from, r.to, std::nullopt, 10000};
    while (true) {
      const HistoryPage page = read_history(request);
      for (const Aggregate& a : page) {
        const TimeNs start = group_start(a.start, r.from, width);
        if (groups.empty() || groups.back().start != start) {
          groups.emplace_back();
          groups.back().start = start;
        }
        groups.back().merge(a);
      }
      if (page.size() < request.limit) break;
      request.after = page.back().start;
    }
  }
  return out;
}

}  // namespace tagstream
