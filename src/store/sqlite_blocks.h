#pragma once
// The SQLite store's block tables as both of its sides read them: one table
// per tier, each row one block of a tag's time-sorted items (see
// sqlite_store.h), and the read that merges blocks with the unflushed
// overlay.
#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "core/interval.h"
#include "store/block_codec.h"
#include "store/sqlite_db.h"

namespace tagstream {

/// Block table of each tier, indexed like Interval: raw first.
inline constexpr std::array<const char*, kIntervalCount> kBlockTables = {
    "blocks_raw", "blocks_second", "blocks_minute", "blocks_hour", "blocks_day"};
inline constexpr std::size_t kRawTable = 0;

/// The blocks of a tag (?1) from the one holding a time (?2) on, in time
/// order: columns id, start_ts, end_ts, count, data.
inline std::string block_range_sql(const char* table) {
  // Callers stop at the first block starting after their range: a
  // condition on start_ts here would scan every later block of the tag.
  return std::string("SELECT id, start_ts, end_ts, count, data FROM ") + table +
         " WHERE tag = ?1 AND end_ts >= ?2 ORDER BY end_ts";
}

/// Merges two runs sorted by key; on equal keys `newer` wins.
template <class Item>
std::vector<Item> merge_runs(const std::vector<Item>& older, const std::vector<Item>& newer) {
  std::vector<Item> out;
  out.reserve(older.size() + newer.size());
  std::size_t i = 0, j = 0;
  while (i < older.size() || j < newer.size()) {
    if (j == newer.size() || (i < older.size() && key_of(older[i]) < key_of(newer[j]))) {
      out.push_back(older[i++]);
    } else {
      if (i < older.size() && key_of(older[i]) == key_of(newer[j])) ++i;
      out.push_back(newer[j++]);
    }
  }
  return out;
}

/// Items with key in [from, to] of one tag: blocks (through a statement of
/// block_range_sql) merged with the unflushed overlay (copied first: a
/// flush between the copy and the block read then shows the same items
/// twice, never none), at most `limit`.
template <class Item>
std::vector<Item> read_merged(sqlite::Statement& range, TagId tag, TimeNs from, TimeNs to,
                              std::vector<Item> overlay, std::size_t limit) {
  std::vector<Item> stored, block;
  {
    sqlite::ResetOnExit guard{range};
    range.bind(1, static_cast<std::int64_t>(tag)).bind(2, from);
    // Blocks of a tag never overlap, so they come in time order.
    while (stored.size() < limit && range.step()) {
      if (range.i64(1) > to) break;
      block.clear();
      decode_block(range.blob(4), block);
      for (const Item& it : block)
        if (key_of(it) >= from && key_of(it) <= to) stored.push_back(it);
    }
  }
  std::vector<Item> out = merge_runs(stored, overlay);
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace tagstream
