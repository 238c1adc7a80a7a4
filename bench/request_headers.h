#pragma once
// --header 'Name: value' (repeatable): extra request headers for the
// subcommands that make requests, e.g. 'Authorization: Bearer <key or JWT>'
// for a server with authentication on (bench/auth.sh, bench/soak.sh).
#include <boost/beast/http/message.hpp>
#include <string>
#include <utility>
#include <vector>

#include "bench_args.h"

namespace tagstream_bench {

struct RequestHeaders {
  std::vector<std::pair<std::string, std::string>> list;

  /// Every --header of the command line; dies on one that is not
  /// 'Name: value' (a token name, no CR or LF anywhere).
  static RequestHeaders from_args(Args& args) {
    RequestHeaders h;
    for (const std::string& text : args.all("header")) {
      const auto colon = text.find(':');
      if (colon == std::string::npos || colon == 0) die("--header must be 'Name: value': '" + text + "'");
      std::string name = text.substr(0, colon);
      std::string value = text.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
      if (name.find_first_not_of(
              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_!#$%&'*+.^`|~") !=
          std::string::npos)
        die("--header: bad header name '" + name + "'");
      if (value.find_first_of("\r\n") != std::string::npos) die("--header: no line breaks in values");
      h.list.emplace_back(std::move(name), std::move(value));
    }
    return h;
  }

  /// "Name: value\r\n" lines, for requests written by hand.
  std::string raw() const {
    std::string out;
    for (const auto& [name, value] : list) out += name + ": " + value + "\r\n";
    return out;
  }

  /// Sets them on a Beast request (replacing a header of the same name).
  template <class Request>
  void apply(Request& req) const {
    for (const auto& [name, value] : list) req.set(name, value);
  }
};

}  // namespace tagstream_bench
