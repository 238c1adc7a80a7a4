#pragma once
#include <boost/json/value.hpp>
#include <string>

namespace tagstream {

/// Serializes like boost::json::serialize, but writes doubles in their
/// shortest plain form (0.1, 30) instead of Boost.JSON's 1E-1 / 3E1, which
/// is valid JSON but reads badly in curl and logs.
std::string json_text(const boost::json::value& v);

}  // namespace tagstream
