#pragma once
#include <cstdint>

#include "core/quality.h"
#include "core/time.h"

namespace tagstream {

/// Tags are numbered densely from 0 by the TagRegistry.
using TagId = std::uint32_t;

/// One reading of one tag. Booleans are carried as 0 / 1.
struct Sample {
  TimeNs ts = 0;
  double value = 0;
  Quality quality = Quality::good;

  friend bool operator==(const Sample&, const Sample&) = default;
};

struct TaggedSample {
  TagId tag = 0;
  Sample sample;
};

}  // namespace tagstream
