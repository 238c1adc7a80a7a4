#pragma once
// What one entry of the cluster's shared log holds, as fields of a Redis
// Streams entry: samples under the event ids first..first+n-1 (by tag name:
// tag ids are each node's own), or tag metadata. Decoding never trusts the
// bytes: a malformed entry is refused as a whole, with the reason.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/parsed.h"
#include "core/change.h"
#include "core/tag.h"

namespace tagstream::cluster {

struct NamedSample {
  std::string name;
  Sample sample;
};

/// "NAME\tTS\tVALUE\tQUALITY\n" per sample, in order: tag names cannot
/// hold a tab or a newline, and a value is written in its shortest exact
/// form, so decoding gives back the same double.
std::string encode_samples(std::span<const NamedSample> samples);
Parsed<std::vector<NamedSample>> decode_samples(std::string_view text);

/// A JSON array of [name, unit, description, type] (a description may hold
/// any character).
std::string encode_tags(std::span<const TagInfo> tags);
Parsed<std::vector<TagInfo>> decode_tags(std::string_view text);

/// The event id of a stream entry id "<id>-<n>" (n = 0 for samples).
Parsed<Seq> entry_seq(std::string_view stream_id);

}  // namespace tagstream::cluster
