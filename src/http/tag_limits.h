#pragma once
// Creating tags from HTTP requests within the caps of issue 15: the
// registry's total (--max-tags), per request (--max-new-tags-per-request) and
// per client per minute (--max-new-tags-per-minute). All are checked against
// the request's distinct new names before the first is created, so a refused
// request creates no tag at all.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/tag_registry.h"
#include "http/responses.h"
#include "http/server_context.h"

namespace tagstream {

/// Resolves `hints` to `ids`, creating the new tags, or returns the 429 (with
/// Retry-After and a code naming the limit) to answer instead. `client` is
/// the key the per-minute budget is kept by.
[[nodiscard]] std::optional<HttpResponse> ensure_tags_within_limits(ServerContext& server,
                                                                    const HttpRequest& req,
                                                                    const std::string& client,
                                                                    std::span<const TagHint> hints,
                                                                    std::vector<TagId>& ids);

}  // namespace tagstream
