// `tagstream-bench resolve`: what resolving a tag pattern costs with a large
// registry, in process (no server): the name index (TagRegistry::match)
// against a scan of every name, which is how patterns were resolved before
// the index (BENCHMARKS.md, "Pattern resolution").
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/tag.h"
#include "core/tag_registry.h"
#include "load_commands.h"

namespace tagstream_bench {

namespace {

using Clock = std::chrono::steady_clock;

/// The pre-index resolution: every name through the glob, then sorted.
std::vector<tagstream::TagId> scan_all(const tagstream::TagRegistry& registry,
                                       const std::vector<std::string>& names, std::string_view pattern) {
  std::vector<tagstream::TagId> out;
  for (tagstream::TagId id = 0; id < names.size(); ++id)
    if (tagstream::glob_match(pattern, names[id])) out.push_back(id);
  std::sort(out.begin(), out.end(), [&](auto a, auto b) { return names[a] < names[b]; });
  (void)registry;
  return out;
}

template <class F>
double median_ms(int runs, F&& f, std::size_t& matched) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    matched = f().size();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

void resolve_usage() {
  std::fputs(
      "  resolve [--tags 1000000] [--limit 100000] [--runs 5]\n"
      "      registers --tags tags (area<a>.unit<u>.tag<n>, 100 areas) in process and times pattern\n"
      "      resolution: the name index against a scan of every name\n",
      stderr);
}

int run_resolve(Args& args) {
  const auto tags = static_cast<std::size_t>(args.integer("tags", 1'000'000));
  const auto limit = static_cast<std::size_t>(args.integer("limit", 100'000));
  const int runs = static_cast<int>(args.integer("runs", 5));
  args.check_all_used();
  tagstream::TagRegistry registry;
  std::vector<std::string> names;
  names.reserve(tags);
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < tags; ++i) {
    // Creation order is not name order, as when a plant's tags arrive.
    std::string name = "area" + std::to_string(i % 100) + ".unit" + std::to_string((i / 100) % 100) + ".tag" +
                       std::to_string(i / 10000);
    registry.ensure(tagstream::TagInfo{name, "", "", tagstream::DataType::number});
    names.push_back(std::move(name));
  }
  const double register_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("registered %zu tags in %.2f s\n", tags, register_s);
  const auto t1 = Clock::now();
  (void)registry.match("area0.unit0.*");
  std::printf("first prefix match (sorts the index): %.0f ms\n",
              std::chrono::duration<double, std::milli>(Clock::now() - t1).count());
  for (const char* pattern : {"area1.*", "area1.unit7.*", "*i*", "*.tag7", "*x*"}) {
    std::size_t scanned = 0, indexed = 0, capped = 0;
    const double scan_ms = median_ms(
        runs, [&] { return scan_all(registry, names, pattern); }, scanned);
    const double index_ms = median_ms(
        runs, [&] { return registry.match(pattern); }, indexed);
    const double capped_ms = median_ms(
        runs, [&] { return registry.match(pattern, limit); }, capped);
    std::printf(
        "RESULT resolve pattern=%s matches=%zu scan_ms=%.2f index_ms=%.2f capped_ms=%.2f "
        "capped_matches=%zu\n",
        pattern, scanned, scan_ms, index_ms, capped_ms, capped);
    if (scanned != indexed) std::printf("MISMATCH: scan %zu, index %zu\n", scanned, indexed);
  }
  return 0;
}

}  // namespace tagstream_bench
