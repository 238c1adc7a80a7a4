#pragma once
// The command line of `tagstream watch`: its options and its URL, parsed
// without touching the network so that both can be tested.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/parsed.h"

namespace tagstream {

struct WatchOptions {
  std::string url;
  // Reconnections allowed in the whole run (not reset by a good connection, so
  // a script's run is bounded); unset: unlimited; 0: never reconnect.
  std::optional<std::uint64_t> max_reconnects;
  std::optional<std::uint64_t> count;  // exit 0 after this many `data` events
  std::optional<double> timeout_s;     // exit 0 after this long
  bool quiet = false;                  // print only `data` events
  bool raw = false;                    // print the body bytes as received instead of events
  bool help = false;
};

using WatchArgsResult = Parsed<WatchOptions>;
// args: argv after "watch".
[[nodiscard]] WatchArgsResult parse_watch_args(const std::vector<std::string>& args);

std::string watch_usage();

// Where to connect and what to ask for.
struct WatchUrl {
  std::string host;         // for the resolver: no brackets around an IPv6 address
  std::string port;         // "80" when the URL has none
  std::string host_header;  // as in the URL, e.g. "[::1]:8080"
  std::string target;       // path and query, percent-encoded (brackets as %5B/%5D), never empty
};

using WatchUrlResult = Parsed<WatchUrl>;
// Only http:// URLs. Characters a URL may not contain raw (brackets as in
// `?tags[]=a`, spaces, a stray %) are percent-encoded first: users paste what
// browsers and curl -g accept.
[[nodiscard]] WatchUrlResult parse_watch_url(std::string_view url);

}  // namespace tagstream
