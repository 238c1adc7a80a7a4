#include "ingest/deadband.h"

#include <algorithm>
#include <cmath>

#include "core/tag.h"

namespace tagstream {

std::string deadband_rule_error(const DeadbandRule& rule) {
  if (rule.pattern.empty()) return "tags: a tag name or pattern is required";
  if (!is_tag_pattern(rule.pattern)) return "tags: \"" + rule.pattern + "\" is not a tag pattern";
  if (rule.absolute < 0) return "absolute: must not be negative";
  if (rule.percent < 0 || rule.percent > 100) return "percent: must be from 0 to 100";
  if (rule.percent > 0 && !(rule.span > 0))
    return "span: percent needs the instrument's span (max - min), > 0";
  if (rule.max_silent < 0) return "max_silent: must not be negative";
  return {};
}

namespace {

// `later - earlier` for later >= earlier, exact over the whole TimeNs range
// (a signed difference overflows for times at opposite ends of it).
std::uint64_t silent_for(TimeNs earlier, TimeNs later) {
  return static_cast<std::uint64_t>(later) - static_cast<std::uint64_t>(earlier);
}

}  // namespace

DeadbandFilter::DeadbandFilter(const TagRegistry& registry, std::vector<DeadbandRule> rules)
    : registry_(registry), rules_(std::move(rules)) {}

DeadbandFilter::TagState& DeadbandFilter::state_locked(TagId tag) {
  if (tag >= tags_.size()) tags_.resize(std::max<std::size_t>(tag + 1, tags_.size() * 2));
  TagState& s = tags_[tag];
  if (s.rule == -2) {
    s.rule = -1;
    const std::string name = registry_.name(tag);
    for (std::size_t i = 0; i < rules_.size(); ++i) {
      if (glob_match(rules_[i].pattern, name)) {
        s.rule = static_cast<int>(i);
        break;
      }
    }
  }
  return s;
}

void DeadbandFilter::filter(std::vector<TaggedSample>& samples) {
  if (rules_.empty()) return;
  std::lock_guard lock(mutex_);
  std::uint64_t dropped = 0;
  auto keep = std::remove_if(samples.begin(), samples.end(), [&](const TaggedSample& ts) {
    TagState& s = state_locked(ts.tag);
    if (s.rule < 0) return false;
    const DeadbandRule& rule = rules_[static_cast<std::size_t>(s.rule)];
    const Sample& v = ts.sample;
    // A late sample (older than the last one passed) goes to history as it
    // is: exception reporting filters the present, not backfill.
    const bool pass =
        !s.has_last || v.ts < s.last.ts || v.quality != s.last.quality ||
        !(std::fabs(v.value - s.last.value) <= rule.band()) ||
        (rule.max_silent > 0 && silent_for(s.last.ts, v.ts) >= static_cast<std::uint64_t>(rule.max_silent));
    if (pass) {
      if (!s.has_last || v.ts >= s.last.ts) s.last = v;
      s.has_last = true;
      return false;
    }
    ++s.suppressed;
    ++dropped;
    return true;
  });
  samples.erase(keep, samples.end());
  if (dropped) suppressed_.fetch_add(dropped, std::memory_order_relaxed);
}

std::uint64_t DeadbandFilter::suppressed(TagId tag) const {
  std::lock_guard lock(mutex_);
  return tag < tags_.size() ? tags_[tag].suppressed : 0;
}

std::vector<std::pair<TagId, std::uint64_t>> DeadbandFilter::most_suppressed(std::size_t limit) const {
  std::vector<std::pair<TagId, std::uint64_t>> out;
  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < tags_.size(); ++i)
      if (tags_[i].suppressed) out.emplace_back(static_cast<TagId>(i), tags_[i].suppressed);
  }
  const auto n = std::min(limit, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), out.end(),
                    [](const auto& a, const auto& b) {
                      return a.second > b.second || (a.second == b.second && a.first < b.first);
                    });
  out.resize(n);
  return out;
}

}  // namespace tagstream
