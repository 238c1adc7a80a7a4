#pragma once
// The JSON of one point, as `data` events, the latest-value and the history
// endpoints all send it. Raw: {"tag","t","v","q"}; aggregated:
// {"tag","t","avg","min","max","first","last","count","q"}; t is epoch
// milliseconds (the bucket's start for aggregates).
#include <string>
#include <string_view>

#include "core/aggregate.h"
#include "core/sample.h"

namespace tagstream {

void append_point_json(std::string& out, std::string_view tag, const Sample& s);
void append_point_json(std::string& out, std::string_view tag, const Aggregate& a);

}  // namespace tagstream
