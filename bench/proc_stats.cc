#include "proc_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include "bench_args.h"

namespace tagstream_bench {

namespace {

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

/// Fields of /proc/PID/stat after the command name, which may itself hold
/// spaces and parentheses: everything after the last ')'.
std::vector<std::string> stat_fields(const std::string& stat) {
  std::vector<std::string> f;
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return f;
  std::istringstream ss(stat.substr(close + 1));
  std::string w;
  while (ss >> w) f.push_back(w);
  return f;  // f[0] is field 3 (state), so field N is f[N - 3]
}

/// The number of a "Key:   1234 kB" line of smaps_rollup or status.
double kib_field(const std::string& text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view line(text.data() + pos, eol - pos);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ':') {
      line.remove_prefix(key.size() + 1);
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      double v = 0;
      std::from_chars(line.data(), line.data() + line.size(), v);
      return v;
    }
    pos = eol + 1;
  }
  return 0;
}

long count_dir_entries(const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (!d) return 0;
  long n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

}  // namespace

ServerProcesses::ServerProcesses(std::vector<pid_t> pids, bool with_children)
    : roots_(std::move(pids)), with_children_(with_children) {}

std::vector<pid_t> ServerProcesses::current() const {
  std::vector<pid_t> out = roots_;
  if (!with_children_) return out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string stat;
    if (!read_file(std::string("/proc/") + e->d_name + "/stat", stat)) continue;
    const auto f = stat_fields(stat);
    if (f.size() < 2) continue;
    const pid_t ppid = static_cast<pid_t>(std::atol(f[1].c_str()));
    if (std::find(roots_.begin(), roots_.end(), ppid) != roots_.end()) out.push_back(std::atoi(e->d_name));
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

ProcSnapshot ServerProcesses::sample() const {
  ProcSnapshot s;
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (pid_t pid : current()) {
    const std::string base = "/proc/" + std::to_string(pid);
    std::string stat, rollup, status;
    if (!read_file(base + "/stat", stat)) continue;
    const auto f = stat_fields(stat);
    if (f.size() < 20) continue;
    ++s.processes;
    // Fields 14 and 15: utime and stime, summed over every thread the
    // process has had (live or exited).
    s.cpu_seconds += (std::atof(f[14 - 3].c_str()) + std::atof(f[15 - 3].c_str())) / ticks;
    s.threads += std::atol(f[20 - 3].c_str());
    if (read_file(base + "/status", status)) s.rss_kib += kib_field(status, "VmRSS");
    if (read_file(base + "/smaps_rollup", rollup)) {
      s.pss_kib += kib_field(rollup, "Pss");
      s.private_kib += kib_field(rollup, "Private_Clean") + kib_field(rollup, "Private_Dirty");
    }
    s.fds += count_dir_entries(base + "/fd");
  }
  return s;
}

std::string ServerProcesses::describe() const {
  std::string out;
  for (pid_t p : current()) {
    if (!out.empty()) out += ',';
    out += std::to_string(p);
  }
  return out;
}

std::vector<pid_t> parse_pid_list(const std::string& text) {
  std::vector<pid_t> pids;
  std::size_t start = 0;
  while (start < text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string part = text.substr(start, comma - start);
    int v = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc() || end != part.data() + part.size() || v <= 0) die("bad pid list '" + text + "'");
    pids.push_back(v);
    start = comma + 1;
  }
  return pids;
}

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace tagstream_bench
