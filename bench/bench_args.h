#pragma once
// Command-line handling shared by the tagstream-bench subcommands: every
// option is --name VALUE or --name=VALUE, and an option nobody asked for is
// an error (a typo must not silently run a different benchmark). An option
// given twice keeps its last value, except where a subcommand reads every
// value (all(): --header).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tagstream_bench {

[[noreturn]] inline void die(const std::string& msg) {
  std::fprintf(stderr, "tagstream-bench: %s\n", msg.c_str());
  std::exit(2);
}

class Args {
 public:
  Args(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      std::string a = argv[i];
      if (!a.starts_with("--")) die("unexpected argument '" + a + "'");
      a = a.substr(2);
      const auto eq = a.find('=');
      if (eq != std::string::npos) {
        values_[a.substr(0, eq)].push_back(a.substr(eq + 1));
      } else if (i + 1 < argc) {
        values_[a].push_back(argv[++i]);
      } else {
        die("--" + a + " needs a value");
      }
    }
  }
  std::optional<std::string> get(const std::string& name) {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    used_.push_back(name);
    return it->second.back();
  }
  /// Every value of a repeatable option, in the order given.
  std::vector<std::string> all(const std::string& name) {
    auto it = values_.find(name);
    if (it == values_.end()) return {};
    used_.push_back(name);
    return it->second;
  }
  std::string str(const std::string& name, std::string def) { return get(name).value_or(std::move(def)); }
  double num(const std::string& name, double def) {
    auto v = get(name);
    if (!v) return def;
    char* end = nullptr;
    const double d = std::strtod(v->c_str(), &end);
    if (v->empty() || *end != '\0' || !std::isfinite(d)) die("--" + name + ": not a number: '" + *v + "'");
    return d;
  }
  std::int64_t integer(const std::string& name, std::int64_t def) {
    auto v = get(name);
    if (!v) return def;
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || end != v->data() + v->size())
      die("--" + name + ": not an integer: '" + *v + "'");
    return n;
  }
  /// An integer option that must lie in [lo, hi].
  std::int64_t bounded(const std::string& name, std::int64_t def, std::int64_t lo, std::int64_t hi) {
    const std::int64_t n = integer(name, def);
    if (n < lo || n > hi) die("--" + name + " must be " + std::to_string(lo) + ".." + std::to_string(hi));
    return n;
  }
  bool flag(const std::string& name, bool def) {
    auto v = get(name);
    if (!v) return def;
    if (*v == "true" || *v == "1" || *v == "yes") return true;
    if (*v == "false" || *v == "0" || *v == "no") return false;
    die("--" + name + " must be true or false");
  }
  void check_all_used() {
    for (const auto& [k, v] : values_)
      if (std::find(used_.begin(), used_.end(), k) == used_.end()) die("unknown option --" + k);
  }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> used_;
};

}  // namespace tagstream_bench
