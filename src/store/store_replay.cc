#include "store/store_replay.h"

#include <algorithm>
#include <map>
#include <utility>

#include "core/log.h"
#include "store/store.h"
#include "store/store_writer.h"

namespace tagstream {

namespace {
// Rows read per step of the scan: a stream over few tags may have to skip
// many rows of others before its page is full.
constexpr std::size_t kScanRows = 4096;
}  // namespace

ReplayResult StoreReplay::read(const ReplayRequest& request) const {
  ReplayResult result;
  try {
    if (request.after < store_.retained_after()) return result;  // removed by retention
    // Only what is committed is complete; the rest is asked again later.
    const Seq upto = shared_ ? request.upto : std::min(request.upto, writer_.committed_seq());
    if (upto <= request.after) {
      result.ok = true;
      result.reached = request.after;
      return result;
    }
    // Scan in steps until enough points for this stream are found.
    Seq cursor = request.after;
    std::map<std::pair<TagId, TimeNs>, std::size_t> bucket_slot;
    while (result.points.size() < request.limit && cursor < upto) {
      const auto rows = store_.read_changes(cursor, upto, kScanRows);
      for (const StoredSample& row : rows) {
        cursor = row.seq;
        if (!std::binary_search(request.tags.begin(), request.tags.end(), row.tag)) continue;
        ReplayPoint p{row.tag, row.seq, row.sample, {}};
        if (request.interval == Interval::raw) {
          result.points.push_back(p);
        } else {
          // One point per bucket: its state now, which includes every
          // change the stream missed.
          const TimeNs start = bucket_start(row.sample.ts, request.interval);
          auto [it, fresh] = bucket_slot.try_emplace({row.tag, start}, result.points.size());
          if (fresh) result.points.push_back(p);
        }
        if (result.points.size() >= request.limit) break;
      }
      if (rows.size() < kScanRows) {
        if (result.points.size() < request.limit) cursor = upto;
        break;
      }
    }
    if (request.interval != Interval::raw) {
      for (ReplayPoint& p : result.points) {
        const TimeNs start = bucket_start(p.sample.ts, request.interval);
        p.bucket = store_.read_bucket(p.tag, request.interval, start)
                       .value_or(aggregate_of(p.sample, request.interval));
      }
    }
    result.reached = cursor;
    result.ok = true;
  } catch (const std::exception& e) {
    log(LogLevel::error, "replay from the store failed: {}", e.what());
    result = ReplayResult{};
  }
  return result;
}

}  // namespace tagstream
